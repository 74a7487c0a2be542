# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Cloud Accounts: Microsoft Azure",
    "summary": "Connect Azure accounts by OAuth: status, subscriptions, capabilities, tokens kept alive; "
    "Azure DNS zones and A records",
    "version": "17.0.1.0.0",
    "category": "Productivity",
    "website": "https://github.com/oec-sh/odoo-azure",
    "author": "OEC Azure contributors",
    "license": "LGPL-3",
    "depends": ["base_setup", "mail"],
    "external_dependencies": {
        "python": [
            "msal",
            "azure-core",
            "azure-mgmt-resource",
            "azure-mgmt-subscription",
            "azure-mgmt-dns",
            "dnspython",
            "cryptography",
        ]
    },
    "data": [
        "security/cloud_accounts_security.xml",
        "security/ir.model.access.csv",
        "data/cloud_azure_environment_data.xml",
        "data/ir_cron_data.xml",
        "views/cloud_account_views.xml",
        "views/cloud_account_subscription_views.xml",
        "views/cloud_azure_environment_views.xml",
        "views/cloud_dns_zone_views.xml",
        "views/res_config_settings_views.xml",
        "views/connect_templates.xml",
        "wizards/cloud_account_connect_views.xml",
        "views/menus.xml",
    ],
    "assets": {
        "web.assets_tests": ["oec_cloud_accounts/static/tests/tours/*.js"],
    },
    "uninstall_hook": "uninstall_hook",
    "installable": True,
    "application": True,
}
