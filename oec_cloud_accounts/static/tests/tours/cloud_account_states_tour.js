/** @odoo-module */
import {registry} from "@web/core/registry";

const openAddAccount = [
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
];

// Add Account with a Microsoft account that already has a (disconnected)
// card: back on the kanban, that card is Active again, and a notification
// says so; no second card appears.
registry.category("web_tour.tours").add("oec_cloud_accounts_connect_again", {
    test: true,
    steps: () => [
        {
            content: "The existing card is disconnected",
            trigger: ".o_cloud_account_card:contains(Disconnected)",
            isCheck: true,
        },
        ...openAddAccount,
        {
            content: "Back from Microsoft: the notification names the account already connected",
            trigger: ".o_notification:contains(was already connected)",
            timeout: 30000,
            isCheck: true,
        },
        {
            content: "The same card is Active again, with its badges, and it is the only one",
            trigger:
                ".o_kanban_renderer:not(:has(.o_cloud_account_card:contains(Disconnected))) .o_cloud_account_card:has(.o_cloud_cap_compute):contains(Active)",
            isCheck: true,
        },
    ],
});

// A disconnected account offers no capability and no action that needs Azure:
// only Reconnect (and Delete from the action menu).
registry.category("web_tour.tours").add("oec_cloud_accounts_disconnected", {
    test: true,
    steps: () => [
        {
            content: "The card shows capabilities as unknown, Reconnect, and no refresh icon",
            trigger:
                ".o_cloud_account_card:contains(Disconnected):has(.o_cloud_capabilities_unknown):has(.o_cloud_reconnect):not(:has(.o_cloud_refresh)):not(:has(.o_cloud_cap_compute))",
        },
        {
            content: "The form: capabilities unknown",
            trigger: ".o_form_view .o_cloud_capabilities_unknown:visible",
            isCheck: true,
        },
        {
            content: "The form: no Refresh, Disconnect, Use or Register button; Reconnect is there",
            trigger:
                ".o_form_view:has(button[name=action_reconnect]):not(:has(button[name=action_refresh])):not(:has(button[name=action_confirm_disconnect])):not(:has(button[name=action_set_default])):not(:has(button[name=action_register_provider]))",
            isCheck: true,
        },
    ],
});
