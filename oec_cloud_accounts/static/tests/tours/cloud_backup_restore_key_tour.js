/** @odoo-module */
import {registry} from "@web/core/registry";

// Restore an encrypted backup in the web client: the private key is typed into the wizard (a
// field with no column), saved with the form, and handed to the server in the Restore button's
// context; the restore process starts from that request. The test hands the key and the new
// database's name to the browser in a cookie (standing for a person's typing: never in a URL nor
// in the test's log), which the first step reads and deletes.
function takeTestValues() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("oec_test_restore="));
    document.cookie = "oec_test_restore=; max-age=0; path=/";
    window.oecTestRestore = JSON.parse(atob(cookie.slice("oec_test_restore=".length)));
}
registry.category("web_tour.tours").add("oec_cloud_accounts_restore_with_key", {
    test: true,
    steps: () => [
        {
            content: "The backup says it is encrypted, and that a download is encrypted too",
            trigger: ".o_form_view .o_cloud_backup_encrypted:contains('envelope.py decrypt')",
            run: takeTestValues,
        },
        {
            content: "Restore",
            trigger: ".o_form_view button.o_cloud_backup_restore",
        },
        {
            content: "The new database's name",
            trigger: "div[name=db_name] input",
            run(actions) {
                actions.text(window.oecTestRestore.name);
            },
        },
        {
            content: "The private key",
            trigger: "div[name=private_key] textarea",
            run(actions) {
                actions.text(window.oecTestRestore.key);
            },
        },
        {
            content: "Restore with it",
            trigger: ".modal-footer button.o_cloud_restore_confirm",
        },
        {
            content: "The restore runs (the dialog closed, the form reloaded)",
            trigger: "body:not(:has(.modal)) .o_form_view .o_cloud_backup_progress:contains('Restoring into')",
            isCheck: true,
        },
    ],
});
