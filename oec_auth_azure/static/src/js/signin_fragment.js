/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0). */
// The script of the page /auth_oauth/signin serves (template
// oec_auth_azure.signin_fragment_page). Microsoft answers in the URL
// fragment, which only the browser sees: post it to the same URL (never as a
// query string, which lands in access logs and history) and clear the
// address bar. A file, not an inline script, so that a strict
// Content-Security-Policy lets it run.
(function () {
    "use strict";
    var fragment = window.location.hash.substring(1);
    if (!fragment) {
        window.location = "/web/login";
        return;
    }
    var form = document.createElement("form");
    form.method = "POST";
    form.action = window.location.pathname;
    new URLSearchParams(fragment).forEach(function (value, name) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = value;
        form.appendChild(input);
    });
    window.history.replaceState(null, "", window.location.pathname);
    document.body.appendChild(form);
    form.submit();
})();
