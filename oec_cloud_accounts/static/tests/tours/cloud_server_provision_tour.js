/** @odoo-module */
import {loginSteps} from "@oec_cloud_accounts/../tests/tours/tour_login";
import {registry} from "@web/core/registry";

// Servers > Provision from Cloud > account > region > size, name and key >
// Provision: the form shows the steps and refreshes itself until Running
// (the test runs the scheduled action meanwhile, as Odoo's cron would).
registry.category("web_tour.tours").add("oec_cloud_accounts_provision", {
    test: true,
    steps: () => [
        ...loginSteps("admin"),
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
            content: "Open Provision from Cloud",
            trigger: ".o_cloud_provision:visible",
        },
        {
            content: "Step 1: the only active account and its subscription are chosen: Next",
            trigger: ".o_cloud_next_regions",
        },
        {
            content: "Step 2: East US is proposed first: Next",
            trigger: ".o_cloud_next_sizes",
        },
        {
            content: "Step 3: Standard_B2s is proposed with its price",
            trigger: ".o_field_widget[name=size_option_id]",
            isCheck: true,
        },
        {
            content: "Name the server",
            trigger: ".o_field_widget[name=name] input",
            run: "text Tour ERP",
        },
        {
            content: "Paste the SSH public key",
            trigger: ".o_field_widget[name=ssh_public_key] textarea",
            run: "text ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE6StTmp6A2Qe2//mNhI43TZcNC/JV27eZffqEwx0i9N tour@laptop",
        },
        {
            content: "Provision: the request returns at once, on the server's form",
            trigger: ".o_cloud_provision_go",
        },
        {
            content: "The form shows the current step while Azure works",
            trigger: ".o_cloud_server_progress .o_cloud_server_step",
            isCheck: true,
        },
        {
            content: "It refreshes itself until the server is Running",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains(Running), .o_statusbar_status button.dropdown-toggle:not(.o_arrow_button):visible:contains(Running)",
            timeout: 60000,
            isCheck: true,
        },
    ],
});
