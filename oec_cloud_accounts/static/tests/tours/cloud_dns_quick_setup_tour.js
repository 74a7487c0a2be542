/** @odoo-module */
import {registry} from "@web/core/registry";

// Account form > DNS Quick Setup > pick a zone > the zone's form shows the
// name servers to set at the registrar, its records (with the A record of the
// server that existed before the zone was picked) and as many record sets as
// it lists > Check delegation.
registry.category("web_tour.tours").add("oec_cloud_accounts_dns_quick_setup", {
    test: true,
    steps: () => [
        {
            content: "Open DNS Quick Setup on the account",
            trigger: ".o_cloud_dns_quick_setup:visible",
        },
        {
            content: "Pick the zone tour.test",
            trigger: ".o_data_row:contains('tour.test') button[name=action_select]",
        },
        {
            content: "The zone's form: the Azure name servers to set at the registrar",
            trigger: ".o_cloud_dns_name_servers:contains(ns1-01.azure-dns.com)",
            isCheck: true,
        },
        {
            content: "Its records, A and the read-only others",
            trigger: ".o_field_widget[name=record_ids] tr:contains(www):contains(20.1.2.3)",
            isCheck: true,
        },
        {
            content: "The server erp.tour.test, made before the zone was picked, has its A record",
            trigger: ".o_field_widget[name=record_ids] tr:contains(erp):contains(20.30.40.50)",
            isCheck: true,
        },
        {
            content: "Record Sets counts the five listed: SOA, NS, TXT and the two A records",
            trigger: ".o_field_widget[name=record_count]:contains(5)",
            isCheck: true,
        },
        {
            content: "Check the delegation",
            trigger: ".o_cloud_dns_check_delegation",
        },
        {
            content: "The local resolver gives Azure's name servers: delegated",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains(Delegated), .o_statusbar_status button.dropdown-toggle:not(.o_arrow_button):visible:contains(Delegated)",
            timeout: 20000,
            isCheck: true,
        },
    ],
});
