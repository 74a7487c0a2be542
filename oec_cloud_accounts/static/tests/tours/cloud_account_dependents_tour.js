/** @odoo-module */
import {registry} from "@web/core/registry";

// Disconnect on an account that servers, a DNS zone, a storage location and a
// backup policy depend on: the confirmation lists them and what becomes of
// them; afterwards the server's buttons are refused at once ("Reconnect the
// account"), and Archive and Delete name what must go first.
registry.category("web_tour.tours").add("oec_cloud_accounts_disconnect_dependents", {
    test: true,
    steps: () => [
        {
            content: "Disconnect",
            trigger: ".o_form_view button.o_cloud_disconnect",
        },
        ...[
            "Servers (1): Tour ERP. They keep running",
            "DNS zones (1): tour.example.test. Kept as last read",
            "Storage locations (1): oectour / odoo-backups",
            "Backup policies (1): Nightly. Paused",
        ].map((line) => ({
            content: "The confirmation lists the dependents and what happens to them: " + line,
            trigger: `.modal-body .o_cloud_disconnect_summary:contains('${line}')`,
            isCheck: true,
        })),
        {
            content: "Confirm",
            trigger: ".modal-footer .o_cloud_disconnect_confirm",
        },
        {
            content: "The account is disconnected",
            trigger: ".o_notification:contains('The tokens were deleted from Odoo')",
            isCheck: true,
        },
        {
            content: "Open its servers",
            trigger: ".o_form_view:not(:has(button.o_cloud_disconnect)) button[name=action_view_servers]",
        },
        {
            content: "Open the server",
            trigger: ".o_kanban_record:contains('Tour ERP')",
        },
        {
            content: "The server says its account needs Reconnect",
            trigger: ".o_form_view .o_cloud_reconnect_needed:visible",
            isCheck: true,
        },
        {
            content: "Refresh",
            trigger: ".o_form_view button[name=action_refresh_state]",
        },
        {
            content: "Refused at once: reconnect the account first",
            trigger: ".modal-body:contains('Reconnect the account Tour Account first: it is disconnected')",
            isCheck: true,
        },
        {
            content: "Close the message",
            trigger: ".modal-footer .btn-primary",
        },
        {
            content: "Back to the account",
            trigger: "body:not(:has(.modal)) .o_breadcrumb .breadcrumb-item:contains('Tour Account')",
        },
        {
            content: "The account's form again",
            trigger: ".o_form_view button[name=action_view_servers]",
            isCheck: true,
        },
        {
            content: "Actions",
            trigger: ".o_cp_action_menus .dropdown-toggle",
        },
        {
            content: "Delete",
            trigger: ".o-dropdown--menu .dropdown-item:contains('Delete')",
        },
        {
            content: "Confirm the deletion",
            trigger: ".modal-footer .btn-primary",
        },
        {
            content: "Odoo names what must go first, not a database constraint",
            trigger:
                ".modal-body:contains('cannot be deleted while these depend on it'):contains('Servers (1): Tour ERP'):not(:contains('fkey'))",
            isCheck: true,
        },
        {
            content: "Close the message",
            trigger: ".modal-footer .btn-primary",
        },
        {
            content: "Actions",
            trigger: "body:not(:has(.modal)) .o_cp_action_menus .dropdown-toggle",
        },
        {
            content: "Archive",
            trigger: ".o-dropdown--menu .dropdown-item:contains('Archive')",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer .btn-primary",
        },
        {
            content: "Archiving is refused too, with the list",
            trigger: ".modal-body:contains('cannot be archived while these depend on it'):contains('Backup policies (1): Nightly')",
            isCheck: true,
        },
    ],
});

// Add Account with the Microsoft account of an archived card: that card is
// back, Active, and no second one is made.
registry.category("web_tour.tours").add("oec_cloud_accounts_connect_archived", {
    test: true,
    steps: () => [
        {
            content: "No card: the account is archived",
            trigger: ".o_view_nocontent",
            isCheck: true,
        },
        {
            content: "On a narrow screen the control panel buttons are in a dropdown",
            trigger: ".o_control_panel_main_buttons",
            run() {
                const toggle = document.querySelector(".o_control_panel_collapsed_create.dropdown-toggle");
                if (toggle && toggle.offsetParent) {
                    toggle.click();
                }
            },
        },
        {
            content: "Open the Add Account dialog",
            trigger: ".o_cloud_add_account:visible",
        },
        {
            content: "Choose Microsoft Azure: the browser leaves for the consent page",
            trigger: ".o_cloud_connect_azure",
        },
        {
            content: "Back from Microsoft: the notification names the account already connected",
            trigger: ".o_notification:contains('was already connected')",
            timeout: 30000,
            isCheck: true,
        },
        {
            content: "The card is back, Active",
            trigger: ".o_cloud_account_card:has(.o_cloud_cap_compute):contains('Active')",
            isCheck: true,
        },
    ],
});
