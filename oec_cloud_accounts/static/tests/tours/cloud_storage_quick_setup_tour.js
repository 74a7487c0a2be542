/** @odoo-module */
import {loginSteps} from "@oec_cloud_accounts/../tests/tours/tour_login";
import {registry} from "@web/core/registry";

// Account form > Storage Quick Setup > select a storage account > a new
// container "odoo-backups" > Test Access > the backup settings of this
// database on that location > Save > Back up now > the backup's form refreshes
// itself until Done (the test runs the scheduled action meanwhile, as Odoo's
// cron would).
registry.category("web_tour.tours").add("oec_cloud_accounts_storage_quick_setup", {
    test: true,
    steps: () => [
        ...loginSteps("admin"),
        {
            content: "Open Storage Quick Setup on the account",
            trigger: ".o_form_statusbar .o_cloud_storage_quick_setup:visible",
        },
        {
            content: "Select the storage account oectourstore",
            trigger: ".o_data_row:contains('oectourstore') button.o_cloud_storage_select",
        },
        {
            content: "A new container, named odoo-backups by default",
            trigger: ".o_field_widget[name=new_container] input:propValue(odoo-backups)",
            isCheck: true,
        },
        {
            content: "Test access",
            trigger: "footer button.o_cloud_storage_setup_test",
        },
        {
            content: "Access works: the backup settings come next, on that location",
            trigger: ".o_field_widget[name=storage_id] input:propValue(oectourstore / odoo-backups)",
            timeout: 20000,
            isCheck: true,
        },
        {
            content: "Daily at 03:00",
            trigger: ".o_field_widget[name=schedule_time] input",
            run: "text 03:00",
        },
        {
            content: "Save the policy",
            trigger: ".o_form_button_save",
        },
        {
            content: "Back up now: the request returns at once, on the backup's form",
            trigger: ".o_form_saved .o_cloud_backup_now:visible",
        },
        {
            content: "The backup's form (what happens while it runs, unless it is already Done)",
            trigger: ".o_cloud_backup_progress, .o_statusbar_status .o_arrow_button_current:contains(Done), .o_statusbar_status button.dropdown-toggle:not(.o_arrow_button):visible:contains(Done)",
            isCheck: true,
        },
        {
            content: "It refreshes itself until the backup is Done",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains(Done), .o_statusbar_status button.dropdown-toggle:not(.o_arrow_button):visible:contains(Done)",
            timeout: 60000,
            isCheck: true,
        },
        {
            content: "Its chatter says where it went and its SHA-256",
            trigger: ".o-mail-Message:contains(Backup written to)",
            isCheck: true,
        },
    ],
});
