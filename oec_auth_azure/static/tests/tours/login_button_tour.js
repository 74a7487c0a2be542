/** @odoo-module **/
import {registry} from "@web/core/registry";

// The login page's Microsoft Azure button goes through this module's authorize
// route (signed state, nonce), Microsoft's consent page (answered by the test
// harness) and back into the web client.
registry.category("web_tour.tours").add("oec_auth_azure_login_button", {
    test: true,
    url: "/web/login",
    steps: () => [
        {
            content: "the login page offers Microsoft Azure, through oec_auth_azure's authorize route",
            trigger:
                ".o_auth_oauth_providers a[href^='/oec_auth_azure/authorize/']:has(i.fa-windows):contains(Microsoft Azure)",
        },
        {
            content: "signed in: the web client is loaded",
            trigger: ".o_main_navbar",
            timeout: 30000,
            isCheck: true,
        },
    ],
});
