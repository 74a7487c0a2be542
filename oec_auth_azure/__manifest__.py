# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Microsoft Entra ID Sign-in",
    "summary": "Sign in to Odoo with Microsoft Entra ID (Azure AD), hardened beyond auth_oauth",
    "version": "17.0.1.1.0",
    "category": "Hidden/Tools",
    "website": "https://github.com/oec-sh/odoo-azure",
    "author": "OEC Azure contributors",
    "license": "LGPL-3",
    "depends": ["auth_oauth", "auth_signup"],
    "external_dependencies": {"python": ["PyJWT", "cryptography", "requests"]},
    "data": [
        "security/ir.model.access.csv",
        "data/auth_oauth_data.xml",
        "data/ir_cron_data.xml",
        "views/auth_oauth_provider_views.xml",
        "views/oec_azure_signin_log_views.xml",
        "views/res_config_settings_views.xml",
        "views/login_templates.xml",
        "views/signin_templates.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "oec_auth_azure/static/tests/tours/*.js",
        ],
    },
    "uninstall_hook": "uninstall_hook",
    "installable": True,
}
