/** @odoo-module */
import {registry} from "@web/core/registry";
import {session} from "@web/session";

// After Add Account or Reconnect the OAuth callback opens the web client:
// the notification it left in the session (ir.http session_info) is shown
// once, naming the account.
export const cloudConnectNoticeService = {
    dependencies: ["notification"],
    start(env, {notification}) {
        const notice = session.oec_cloud_notice;
        if (notice) {
            delete session.oec_cloud_notice;
            notification.add(notice.message, {title: notice.title, type: "success"});
        }
    },
};

registry.category("services").add("oec_cloud_connect_notice", cloudConnectNoticeService);
