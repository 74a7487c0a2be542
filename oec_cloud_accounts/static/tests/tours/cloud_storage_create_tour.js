/** @odoo-module */
import {loginSteps} from "@oec_cloud_accounts/../tests/tours/tour_login";
import {registry} from "@web/core/registry";

// Account form > Storage Quick Setup > create a storage account > the window
// shows Azure at work and moves on by itself to the container once Azure is
// done (the test runs the scheduled action meanwhile, as Odoo's cron would) >
// Test Access > the backup settings, already saved, survive leaving the form.
registry.category("web_tour.tours").add("oec_cloud_accounts_storage_create", {
    test: true,
    steps: () => [
        ...loginSteps("admin"),
        {
            content: "Open Storage Quick Setup on the account",
            trigger: ".o_form_statusbar .o_cloud_storage_quick_setup:visible",
        },
        {
            content: "Name a new storage account",
            trigger: ".o_field_widget[name=new_account_name] input",
            run: "text oectournew",
        },
        {
            content: "Create it",
            trigger: "footer button.o_cloud_storage_create",
        },
        {
            content: "Azure at work, with a progress bar (unless Azure was already done)",
            trigger: ".o_cloud_storage_creating .o_progressbar, .o_cloud_storage_created",
            isCheck: true,
        },
        {
            content: "Without a click, the window moves on to the container once Azure is done",
            trigger: ".o_cloud_storage_created:contains(oectournew)",
            timeout: 20000,
            isCheck: true,
        },
        {
            content: "Test access (a new container, odoo-backups)",
            trigger: "footer button.o_cloud_storage_setup_test",
        },
        {
            content: "The backup settings of this database on it, already saved",
            trigger: ".o_form_saved .o_field_widget[name=storage_id] input:propValue(oectournew / odoo-backups)",
            timeout: 20000,
            isCheck: true,
        },
        {
            content: "Leave them by the breadcrumb",
            trigger: ".o_breadcrumb .breadcrumb-item:first-child a",
        },
        {
            content: "Back on the account",
            trigger: ".o_form_statusbar .o_cloud_storage_quick_setup:visible",
            isCheck: true,
        },
    ],
});
