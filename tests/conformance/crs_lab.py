# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set up and tear down the load balancer role on this machine for the CRS runner and the benchmark.

``LbLab`` saves the configuration the role changes (``/etc/haproxy``, ``/etc/nginx``, ``/etc/default/haproxy``,
rsyslog's and nftables' files), whether the role's firewall table was loaded and which of the services ran,
converges the role with the given variables through ``ansible-playbook`` (the checkout seen as the installed
collection), and on ``teardown()`` stops what it started and puts everything back (the role's ``inet netzone_lb``
table, which lets only HAProxy's user reach the nodes' port, included). ``StandinBackend`` is an HTTP server in a
thread that answers 200 to any request (a cluster node).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from http_standin import AnyMethodHandler, StandinServer  # noqa: E402  pylint: disable=wrong-import-position,import-error

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
SAVED_PATHS = ("etc/haproxy", "etc/nginx", "etc/default/haproxy", "etc/rsyslog.d", "etc/nftables.conf",
               "etc/nftables.d")
ROLE_DIRS = ("/etc/haproxy/netzone", "/etc/nginx/netzone", "/etc/nginx/netzone-staging")
# The role's host firewall: its file, and its table loaded into this machine's (root) network namespace.
FIREWALL_FILE = "/etc/nftables.d/netzone_lb.nft"
FIREWALL_TABLE = ("inet", "netzone_lb")
ROLE_FILES = ("/etc/rsyslog.d/48-netzone-haproxy.conf", FIREWALL_FILE)
SERVICES = ("rsyslog", "haproxy", "nginx")


def ansible_env():
    """The environment of tools/env.sh: the venv first on PATH, the checkout as the installed collection."""
    env = dict(os.environ)
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([
        os.path.join(ROOT, "build", "collections"),
        *glob.glob(os.path.join(ROOT, ".venv", "lib", "python3.*", "site-packages")),
    ])
    env["PYTHONPATH"] = os.path.join(ROOT, "build", "collections")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


class _AnyHandler(AnyMethodHandler):

    def answer(self):
        self.read_body()
        self.reply(b"netzone stand-in node\n", "text/plain")


class StandinBackend(StandinServer):
    """A threaded HTTP server on ``address:port`` that answers 200 to every request."""

    def __init__(self, address, port):
        super().__init__(address, port, _AnyHandler)


class LbLab:
    """The role converged on this machine with ``role_vars``; ``teardown()`` restores the previous state."""

    def __init__(self, role_vars, name="lab"):
        self.role_vars = role_vars
        self.workdir = tempfile.mkdtemp(prefix="netzone-%s-" % name)
        self.running_before = []
        self.saved = None
        self.table_before = False

    def _service(self, name, action):
        return subprocess.run(["service", name, action], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, check=False)

    @staticmethod
    def _table_loaded():
        return subprocess.run(["nft", "list", "table", *FIREWALL_TABLE], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, check=False).returncode == 0

    def setup(self):
        if os.geteuid() != 0:
            raise SystemExit("must run as root (it installs and configures HAProxy and nginx)")
        self.running_before = [s for s in SERVICES if self._service(s, "status").returncode == 0]
        self.table_before = shutil.which("nft") is not None and self._table_loaded()
        present = [p for p in SAVED_PATHS if os.path.exists("/" + p)]
        if present:
            self.saved = os.path.join(self.workdir, "before.tar")
            subprocess.run(["tar", "-cpf", self.saved, "-C", "/"] + present, check=True)
        vars_file = os.path.join(self.workdir, "vars.json")
        with open(vars_file, "w", encoding="utf-8") as handle:
            json.dump(self.role_vars, handle)
        playbook = os.path.join(self.workdir, "play.yml")
        with open(playbook, "w", encoding="utf-8") as handle:
            handle.write("- name: Converge the load balancer role\n  hosts: localhost\n  gather_facts: false\n"
                         "  roles:\n    - role: netzone.segmentation.loadbalancer\n")
        result = subprocess.run(
            [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
             "-e", "ansible_python_interpreter=/usr/bin/python3", "-e", "@" + vars_file, playbook],
            cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if result.returncode != 0:
            self.teardown()
            raise SystemExit("converging the loadbalancer role failed:\n" + result.stdout[-4000:])
        # The converge may only have reloaded services that ran before: restart them on the new configuration.
        for service in SERVICES:
            self._service(service, "restart")

    def teardown(self):
        for service in SERVICES:
            self._service(service, "stop")
        if self.saved:
            for path in ROLE_DIRS:
                shutil.rmtree(path, ignore_errors=True)
            for path in ROLE_FILES:
                if os.path.exists(path):
                    os.unlink(path)
            subprocess.run(["tar", "-xpf", self.saved, "-C", "/"], check=False)
        # The role's firewall table (it lets only HAProxy's user reach the nodes' port): removed, or the one
        # loaded before put back from its restored file.
        if shutil.which("nft") is not None:
            if self.table_before:
                if os.path.exists(FIREWALL_FILE):
                    subprocess.run(["nft", "-f", FIREWALL_FILE], check=False)
            elif self._table_loaded():
                subprocess.run(["nft", "delete", "table", *FIREWALL_TABLE], check=False)
        for service in self.running_before:
            self._service(service, "start")
        shutil.rmtree(self.workdir, ignore_errors=True)


DIRECT_NGINX_CONF = """
user www-data;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
load_module modules/ngx_http_modsecurity_module.so;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    server_tokens off;
    # As the role's WAF hop: every header as sent, whole bodies up to the role's limits.
    underscores_in_headers on;
    ignore_invalid_headers off;
    merge_slashes off;
    client_max_body_size {body_limit};
    client_body_buffer_size {body_nofiles_limit};
    modsecurity on;
    modsecurity_rules_file {rules};
    server {{
        listen {address}:{port} ssl;
        ssl_certificate {pem};
        ssl_certificate_key {pem};
        location / {{
            proxy_pass http://{node};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""


class DirectWaf:
    """nginx + ModSecurity + the CRS alone: a second nginx (its own configuration, pid and error log in a
    temporary directory) that terminates TLS itself on ``address:port`` and runs the ModSecurity rules the
    role rendered (``rules``: its waf-rules.conf, the CRS included) in front of ``node`` — no HAProxy."""

    def __init__(self, address, port, node, pem, rules="/etc/nginx/netzone/waf-rules.conf",
                 body_limit=13107200, body_nofiles_limit=1048576):
        self.workdir = tempfile.mkdtemp(prefix="netzone-crs-direct-")
        self.conf = os.path.join(self.workdir, "nginx.conf")
        self.error_log = os.path.join(self.workdir, "error.log")
        with open(self.conf, "w", encoding="utf-8") as handle:
            handle.write(DIRECT_NGINX_CONF.format(dir=self.workdir, address=address, port=port,
                                                  node="%s:%d" % node, pem=pem, rules=rules,
                                                  body_limit=body_limit, body_nofiles_limit=body_nofiles_limit))
        open(self.error_log, "a", encoding="utf-8").close()

    def start(self):
        result = subprocess.run(["nginx", "-c", self.conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, check=False)
        if result.returncode != 0:
            raise SystemExit("the direct WAF (nginx -c %s) did not start:\n%s" % (self.conf, result.stdout))
        return self

    def stop(self):
        pidfile = os.path.join(self.workdir, "nginx.pid")
        if os.path.exists(pidfile):
            with open(pidfile, encoding="ascii") as handle:
                pid = int(handle.read().strip() or 0)
            if pid > 0:
                try:
                    os.kill(pid, 15)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.workdir, ignore_errors=True)
