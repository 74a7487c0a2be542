"""The cloud-init (``#cloud-config``) that turns a fresh Ubuntu VM into an Odoo 17 host.

PostgreSQL, Odoo 17 from Odoo's official nightly package repository, nginx as
the reverse proxy (websocket and longpolling routes to the gevent port), the
ufw firewall (SSH, HTTP, HTTPS) and unattended security upgrades. Azure runs it
once, at the first boot.
"""

import base64

import yaml

ODOO_REPOSITORY = "https://nightly.odoo.com/17.0/nightly/deb/"
ODOO_KEY = "https://nightly.odoo.com/odoo.key"
KEYRING = "/usr/share/keyrings/odoo-archive-keyring.gpg"

NGINX_SITE = """\
upstream odoo {{
    server 127.0.0.1:8069;
}}
upstream odoochat {{
    server 127.0.0.1:8072;
}}
map $http_upgrade $connection_upgrade {{
    default upgrade;
    ''      close;
}}
server {{
    listen 80;
    listen [::]:80;
    server_name {server_name};
    client_max_body_size 200m;
    proxy_read_timeout 720s;
    proxy_connect_timeout 720s;
    proxy_send_timeout 720s;
    proxy_set_header X-Forwarded-Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Real-IP $remote_addr;

    location /websocket {{
        proxy_pass http://odoochat;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
    }}
    location /longpolling {{
        proxy_pass http://odoochat;
    }}
    location / {{
        proxy_redirect off;
        proxy_pass http://odoo;
    }}
    gzip on;
    gzip_types text/css text/plain text/xml application/xml application/javascript application/json;
}}
"""

ODOO_CONF = """\
[options]
db_host = False
db_port = False
db_user = odoo
db_password = False
proxy_mode = True
workers = {workers}
max_cron_threads = 1
gevent_port = 8072
http_interface = 127.0.0.1
list_db = True
"""

UNATTENDED = """\
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APT::Periodic::AutocleanInterval "7";
"""


def cloud_config(host_name, vcpus=2):
    """The ``#cloud-config`` document, as text. ``host_name``: the public
    name nginx answers for (``_`` for any); ``vcpus``: sizes Odoo's workers."""
    workers = max(2, vcpus * 2 + 1)
    document = {
        "package_update": True,
        "package_upgrade": True,
        "packages": [
            "postgresql",
            "nginx",
            "ufw",
            "unattended-upgrades",
            "gnupg",
            "curl",
        ],
        "write_files": [
            {
                "path": "/etc/nginx/sites-available/odoo",
                "permissions": "0644",
                "content": NGINX_SITE.format(server_name=host_name or "_"),
            },
            {
                "path": "/etc/odoo/odoo.conf.oec",
                "permissions": "0640",
                "content": ODOO_CONF.format(workers=workers),
            },
            {
                "path": "/etc/apt/apt.conf.d/20auto-upgrades",
                "permissions": "0644",
                "content": UNATTENDED,
            },
        ],
        "runcmd": [
            # Odoo's official nightly repository, its key in a keyring of its own
            ["sh", "-c", "curl -fsSL %s | gpg --dearmor -o %s" % (ODOO_KEY, KEYRING)],
            [
                "sh",
                "-c",
                "echo 'deb [signed-by=%s] %s ./' > /etc/apt/sources.list.d/odoo.list"
                % (KEYRING, ODOO_REPOSITORY),
            ],
            ["apt-get", "update"],
            ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "odoo"],
            ["sh", "-c", "cp /etc/odoo/odoo.conf.oec /etc/odoo/odoo.conf && chown odoo: /etc/odoo/odoo.conf"],
            ["systemctl", "enable", "--now", "odoo"],
            ["ln", "-sf", "/etc/nginx/sites-available/odoo", "/etc/nginx/sites-enabled/odoo"],
            ["rm", "-f", "/etc/nginx/sites-enabled/default"],
            ["systemctl", "reload", "nginx"],
            ["ufw", "allow", "OpenSSH"],
            ["ufw", "allow", "http"],
            ["ufw", "allow", "https"],
            ["ufw", "--force", "enable"],
            ["systemctl", "enable", "--now", "unattended-upgrades"],
        ],
        "final_message": "Odoo 17 host ready after $UPTIME seconds",
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=200)


def custom_data(text):
    """Azure's osProfile.customData: the document in base64."""
    return base64.b64encode(text.encode()).decode()
