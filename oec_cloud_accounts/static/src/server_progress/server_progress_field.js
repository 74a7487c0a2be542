/** @odoo-module */
import {ProgressBarField, progressBarField} from "@web/views/fields/progress_bar/progress_bar_field";
import {onMounted, onWillUnmount} from "@odoo/owl";
import {registry} from "@web/core/registry";

// How often the form asks the server again while Azure works (the scheduled
// action advances the server meanwhile; the web request never waits for Azure).
const RELOAD_MS = 3000;

export class CloudServerProgressField extends ProgressBarField {
    setup() {
        super.setup();
        onMounted(() => {
            this.timer = setInterval(() => this.reload(), RELOAD_MS);
        });
        onWillUnmount(() => clearInterval(this.timer));
    }

    async reload() {
        const record = this.props.record;
        if (!record.data.in_progress || record.dirty || document.hidden) {
            return;
        }
        await record.load();
    }
}

registry.category("fields").add("cloud_server_progress", {
    ...progressBarField,
    component: CloudServerProgressField,
});
