/** @odoo-module **/
import {registry} from "@web/core/registry";

// An administrator maps the app role "Odoo.Sales" to an Odoo group on the
// Microsoft provider's form.
registry.category("web_tour.tours").add("oec_auth_azure_role_mapping", {
    test: true,
    steps: () => [
        {
            content: "the provider form explains the Azure side",
            trigger: "div[name='oec_azure_mapping_ids']",
            extra_trigger: ".o_form_view:contains(Enterprise applications)",
            isCheck: true,
        },
        {
            content: "add a mapping line",
            trigger: "div[name='oec_azure_mapping_ids'] .o_field_x2many_list_row_add a",
        },
        {
            content: "the app role's value",
            trigger: "div[name='oec_azure_mapping_ids'] .o_selected_row [name='value'] input",
            run: "text Odoo.Sales",
        },
        {
            content: "the Odoo group it gives",
            trigger: "div[name='oec_azure_mapping_ids'] .o_selected_row [name='group_ids'] input",
            run: "text Azure tour: Sales",
        },
        {
            content: "pick it",
            trigger: ".o-autocomplete--dropdown-item > a:contains('Azure tour: Sales')",
        },
        {
            content: "save the provider",
            trigger: ".o_form_button_save",
        },
        {
            content: "saved",
            trigger: ".o_form_saved",
            isCheck: true,
        },
    ],
});

// The sign-in log shows the group given at the sign-in.
registry.category("web_tour.tours").add("oec_auth_azure_signin_log", {
    test: true,
    steps: () => [
        {
            content: "the last Microsoft sign-in gave the mapped group",
            trigger: ".o_data_row:first:contains(Signed in):contains('Azure tour: Sales')",
            isCheck: true,
        },
    ],
});
