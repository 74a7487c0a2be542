"""The cloud-init (``#cloud-config``) that turns a fresh Ubuntu VM into an Odoo 17 host.

PostgreSQL, Odoo 17 from Odoo's official nightly package repository, nginx as
the reverse proxy (websocket and longpolling routes to the gevent port), the
ufw firewall and unattended security upgrades. Azure runs it once, at the
first boot.

The host is safe when it first answers: Odoo gets a master password (only its
hash is sent), its database manager is closed (``list_db = False``), it trusts
the proxy's headers (``proxy_mode``), its workers fit the VM, and a server with
a DNS name gets a Let's Encrypt certificate (certbot's nginx plugin, renewed by
the certbot package's systemd timer), HTTP redirecting to HTTPS.
"""

import base64
import hashlib

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
admin_passwd = {admin_passwd}
db_host = False
db_port = False
db_user = odoo
db_password = False
list_db = False
proxy_mode = True
http_interface = 127.0.0.1
gevent_port = 8072
workers = {workers}
max_cron_threads = {cron_threads}
limit_memory_soft = {limit_memory_soft}
limit_memory_hard = {limit_memory_hard}
limit_time_cpu = 600
limit_time_real = 1200
limit_request = 65536
"""

# certbot, tried again while a new DNS name spreads to Let's Encrypt's resolvers
CERTBOT_SCRIPT = """\
#!/bin/sh
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    certbot "$@" && exit 0
    echo "certbot attempt $attempt failed; trying again in 30 s" >&2
    sleep 30
done
exit 1
"""
CERTBOT_PATH = "/usr/local/sbin/oec-certbot"
# odoo.conf waits here until the odoo package (its user) is installed
CONF_STAGED = "/etc/odoo/odoo.conf.oec"

# Odoo's admin_passwd hash (odoo.tools.config: passlib's pbkdf2_sha512, 600000 rounds)
PASSWORD_ROUNDS = 600_000
# workers (Odoo's deployment guide): 2 per vCPU + 1, as many as the memory holds once PostgreSQL and
# the system have theirs, each worker counted at WORKER_MB
RESERVED_MB = 1024
WORKER_MB = 300

UNATTENDED = """\
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APT::Periodic::AutocleanInterval "7";
"""


def master_password_hash(password):
    """The ``admin_passwd`` value for ``password``, as Odoo writes it (pbkdf2_sha512). The salt comes
    from the (random) password itself, so the same password always gives the same cloud-init: a VM
    request sent again after a lost answer is the same request."""
    salt = hashlib.sha256(b"oec-admin-passwd:" + password.encode()).digest()[:16]
    checksum = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PASSWORD_ROUNDS)
    # passlib's modular crypt format: $pbkdf2-sha512$rounds$salt$checksum, in its "adapted base64"
    return "$pbkdf2-sha512$%d$%s$%s" % (PASSWORD_ROUNDS, _ab64(salt), _ab64(checksum))


def _ab64(data):
    return base64.b64encode(data).decode().rstrip("=").replace("+", ".")


def odoo_sizing(vcpus, memory_gb):
    """{"workers", "cron_threads", "limit_memory_soft", "limit_memory_hard"} for a VM."""
    budget_mb = max(int(memory_gb * 1024) - RESERVED_MB, 0)
    workers = max(1, min(2 * max(vcpus, 1) + 1, budget_mb // WORKER_MB))
    cron_threads = 2 if workers >= 6 else 1
    per_process_mb = max(budget_mb, 512) // (workers + cron_threads)
    soft_mb = min(max(per_process_mb, 256), 2048)
    return {
        "workers": workers,
        "cron_threads": cron_threads,
        "limit_memory_soft": soft_mb * 1024 * 1024,
        "limit_memory_hard": soft_mb * 5 // 4 * 1024 * 1024,
    }


def cloud_config(host_name, admin_passwd, vcpus=2, memory_gb=4.0, https=False, email=None):
    """The ``#cloud-config`` document, as text. ``host_name``: the public
    name nginx answers for (``_`` for any); ``admin_passwd``: the master
    password's hash (:func:`master_password_hash`); ``vcpus`` and ``memory_gb``
    size Odoo's workers; ``https``: obtain a Let's Encrypt certificate for
    ``host_name`` (which must resolve to the VM), registered with ``email``
    when given. Without it only HTTP (port 80) is served."""
    if not admin_passwd or admin_passwd == "admin":
        raise ValueError("the master password must be set, and not Odoo's default")
    if https and not host_name:
        raise ValueError("HTTPS needs a host name")
    sizing = odoo_sizing(vcpus, memory_gb)
    packages = ["postgresql", "nginx", "ufw", "unattended-upgrades", "gnupg", "curl"]
    if https:
        packages += ["certbot", "python3-certbot-nginx"]
    document = {
        "package_update": True,
        "package_upgrade": True,
        "packages": packages,
        "write_files": [
            {
                "path": "/etc/nginx/sites-available/odoo",
                "permissions": "0644",
                "content": NGINX_SITE.format(server_name=host_name or "_"),
            },
            {
                "path": CONF_STAGED,
                "permissions": "0640",
                "content": ODOO_CONF.format(admin_passwd=admin_passwd, **sizing),
            },
            {
                "path": "/etc/apt/apt.conf.d/20auto-upgrades",
                "permissions": "0644",
                "content": UNATTENDED,
            },
            *([{"path": CERTBOT_PATH, "permissions": "0755", "content": CERTBOT_SCRIPT}] if https else []),
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
            [
                "sh",
                "-c",
                "install -m 0640 -o odoo -g odoo %s /etc/odoo/odoo.conf && rm %s"
                % (CONF_STAGED, CONF_STAGED),
            ],
            # the package started Odoo with its own configuration: restart it with ours
            ["systemctl", "enable", "odoo"],
            ["systemctl", "restart", "odoo"],
            ["ln", "-sf", "/etc/nginx/sites-available/odoo", "/etc/nginx/sites-enabled/odoo"],
            ["rm", "-f", "/etc/nginx/sites-enabled/default"],
            ["systemctl", "reload", "nginx"],
            ["ufw", "allow", "OpenSSH"],
            ["ufw", "allow", "http"],
            *([["ufw", "allow", "https"]] if https else []),
            ["ufw", "--force", "enable"],
            *(_certbot_commands(host_name, email) if https else []),
            ["systemctl", "enable", "--now", "unattended-upgrades"],
        ],
        "final_message": "Odoo 17 host ready after $UPTIME seconds",
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=200)


def _certbot_commands(host_name, email):
    account = ["-m", email] if email else ["--register-unsafely-without-email"]
    return [
        [
            CERTBOT_PATH,
            "--nginx",
            "--non-interactive",
            "--agree-tos",
            *account,
            "-d",
            host_name,
            "--redirect",
        ],
        # renewal: the certbot package's timer (twice a day, renews 30 days before expiry)
        ["systemctl", "enable", "--now", "certbot.timer"],
    ]


def custom_data(text):
    """Azure's osProfile.customData: the document in base64."""
    return base64.b64encode(text.encode()).decode()
