/** @odoo-module */

// A tour that starts on /web/login?redirect=... logs in through the form, so
// that the test's own thread runs no query while the tour runs (its scheduled
// action runs beside the browser, on the same test cursor).
export function loginSteps(login, password = login) {
    return [
        {
            content: "Log in as " + login,
            trigger: ".oe_login_form input[name='login']",
            run: "text " + login,
        },
        {
            content: "Password",
            trigger: ".oe_login_form input[name='password']",
            run: "text " + password,
        },
        {
            content: "Submit",
            trigger: ".oe_login_form button[type='submit']",
        },
    ];
}
