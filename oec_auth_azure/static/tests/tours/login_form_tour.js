/** @odoo-module **/
import {registry} from "@web/core/registry";

registry.category("web_tour.tours").add("oec_auth_azure_login_form", {
    test: true,
    url: "/web/login",
    steps: () => [
        {
            content: "the login form shows a login field",
            trigger: "form.oe_login_form input[name='login']",
            run: "text admin",
        },
        {
            content: "type the password",
            trigger: "form.oe_login_form input[name='password']",
            run: "text admin",
        },
        {
            content: "submit the form",
            trigger: "form.oe_login_form button[type='submit']",
        },
        {
            content: "the web client is loaded",
            trigger: ".o_main_navbar",
            isCheck: true,
        },
    ],
});
