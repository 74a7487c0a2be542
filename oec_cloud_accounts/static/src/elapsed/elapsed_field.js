/** @odoo-module */
import {Component, onMounted, onWillUnmount, useState} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {formatDateTime} from "@web/core/l10n/dates";
import {registry} from "@web/core/registry";
import {sprintf} from "@web/core/utils/strings";
import {standardFieldProps} from "@web/views/fields/standard_field_props";

const {DateTime} = luxon;

/**
 * The time since ``seconds`` ago, in one format whatever its length:
 * "15 s", "5 min 03 s", "1 h 05 min".
 */
export function formatElapsed(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const secs = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    if (hours) {
        return sprintf(_t("%(hours)s h %(minutes)s min"), {hours, minutes: pad(minutes)});
    }
    if (minutes) {
        return sprintf(_t("%(minutes)s min %(seconds)s s"), {minutes, seconds: pad(secs)});
    }
    return sprintf(_t("%(seconds)s s"), {seconds: secs});
}

/**
 * A datetime field (when an operation started) shown as the time elapsed
 * since, ticking every second in the browser while the view shows it; its
 * tooltip gives the start. The view hides it once the operation ends.
 */
export class CloudElapsedField extends Component {
    static template = "oec_cloud_accounts.CloudElapsedField";
    static props = {...standardFieldProps};

    setup() {
        this.state = useState({now: DateTime.now()});
        onMounted(() => {
            this.timer = setInterval(() => (this.state.now = DateTime.now()), 1000);
        });
        onWillUnmount(() => clearInterval(this.timer));
    }

    get started() {
        return this.props.record.data[this.props.name];
    }

    get text() {
        return formatElapsed(this.state.now.diff(this.started, "seconds").seconds);
    }

    get title() {
        return sprintf(_t("Started on %s"), formatDateTime(this.started));
    }
}

registry.category("fields").add("cloud_elapsed", {
    component: CloudElapsedField,
    displayName: _t("Elapsed time"),
    supportedTypes: ["datetime"],
});
