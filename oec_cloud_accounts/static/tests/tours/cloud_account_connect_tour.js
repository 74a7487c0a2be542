/** @odoo-module */
import {registry} from "@web/core/registry";

// Add Account > Microsoft Azure > (the emulator's consent page, answered by
// the test through the browser) > back on the kanban: the card is Active
// with the three capability badges.
registry.category("web_tour.tours").add("oec_cloud_accounts_connect", {
    test: true,
    steps: () => [
        {
            content: "On a narrow screen the control panel buttons are in a dropdown",
            trigger: ".o_control_panel_main_buttons",
            run() {
                const toggle = document.querySelector(
                    ".o_control_panel_collapsed_create.dropdown-toggle"
                );
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
            content: "Back from Microsoft: the account card is Active with its badges",
            trigger:
                ".o_cloud_account_card:has(.o_cloud_cap_compute):has(.o_cloud_cap_storage):has(.o_cloud_cap_dns):contains(Active)",
            timeout: 30000,
            isCheck: true,
        },
    ],
});
