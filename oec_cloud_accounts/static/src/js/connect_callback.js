/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0). */
// The script of the page the OAuth callback serves (template
// oec_cloud_accounts.connect_fragment_page), not part of any asset bundle.
// Microsoft answers in the URL fragment, which only the browser sees: post it
// to the same URL, same-origin (the session cookie the state is bound to comes
// with it), in the page's form that holds Odoo's CSRF token, and clear the
// address bar. A file, not an inline script, so that a strict
// Content-Security-Policy lets it run.
(function () {
    "use strict";
    var form = document.getElementById("o_cloud_callback_form");
    var fragment = window.location.hash.substring(1);
    if (!fragment) {
        window.location = form.dataset.backUrl;
        return;
    }
    form.action = window.location.pathname;
    new URLSearchParams(fragment).forEach(function (value, name) {
        if (name === "csrf_token") {
            return;
        }
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = value;
        form.appendChild(input);
    });
    window.history.replaceState(null, "", window.location.pathname);
    form.submit();
})();
