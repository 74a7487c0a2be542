/** @odoo-module **/
import {registry} from "@web/core/registry";

// From the invitation (reset-password) page, through Microsoft's consent page
// (answered by the test harness), back into the web client.
registry.category("web_tour.tours").add("oec_auth_azure_invitation", {
    test: true,
    steps: () => [
        {
            content: "the reset-password page offers Microsoft Azure",
            trigger: ".o_auth_oauth_providers a:has(i.fa-windows):contains(Microsoft Azure)",
        },
        {
            content: "signed in: the web client is loaded",
            trigger: ".o_main_navbar",
            timeout: 30000,
            isCheck: true,
        },
    ],
});
