# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A wildcard vhost's host ACL, as the role prints it, in a real HAProxy on loopback: ``*.apps.example.com``
selects exactly one label before ``apps.example.com``; the exact names beside it match as strings.

The HAProxy configuration parser reads backslashes itself, so the regex the role prints has none; this test is
what shows that HAProxy reads it as intended. Skipped where HAProxy is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import haproxy_routing, normalize_vhosts

HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
pytestmark = pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")

# The frontend's lines that pick the vhost, as haproxy.cfg.j2 prints them (same variable, same ACL forms).
CONFIG = """global
\tmaxconn 100
defaults
\tmode http
\ttimeout connect 1s
\ttimeout client 5s
\ttimeout server 5s
frontend fe
\tbind 127.0.0.1:{port}
\thttp-request set-var(txn.nz_host) req.hdr(host),host_only,lower,regsub(\\.$,)
{acls}
{picks}
\thttp-request return status 200 content-type text/plain lf-string "%[var(txn.nz_vhost)]" if {{ var(txn.nz_vhost) -m found }}
\thttp-request return status 404 content-type text/plain string "none"
"""


def _config(port):
    vhosts = normalize_vhosts([{"name": "*.apps.example.com", "aliases": ["apps.example.com"], "service": "apps"},
                               {"name": "shop.example.com", "service": "web"}], None)
    routes = haproxy_routing(vhosts, {"public": {"address": "127.0.0.1", "https_port": 443, "http_port": 80}})
    acls, picks = [], []
    for route in routes["exposures"][0]["vhosts"]:
        if route["hosts"]:
            acls.append("\tacl %s_host var(txn.nz_host) -m str %s" % (route["id"], route["hosts"]))
        if route["host_regex"]:
            acls.append("\tacl %s_host var(txn.nz_host) -m reg %s" % (route["id"], route["host_regex"]))
        picks.append("\thttp-request set-var(txn.nz_vhost) str(%s) if %s" % (route["id"], route["match"]))
    return CONFIG.format(port=port, acls="\n".join(acls), picks="\n".join(picks))


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ask(port, host):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
        conn.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host).encode())
        data = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n\r\n", 1)[1].decode()


def test_wildcard_vhost_in_real_haproxy(tmp_path):
    port = _free_port()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(_config(port), encoding="utf-8")
    check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    proc = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _attempt in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        answers = {host: _ask(port, host) for host in (
            "tenant.apps.example.com", "Tenant.Apps.Example.Com.", "a-1.apps.example.com:8443", "apps.example.com",
            "shop.example.com", "deep.tenant.apps.example.com", "tenantXapps.example.com", "xapps.example.com",
            "tenant.apps.example.com.evil")}
    finally:
        proc.terminate()
        proc.wait(10)
    assert answers == {
        "tenant.apps.example.com": "vh0", "Tenant.Apps.Example.Com.": "vh0", "a-1.apps.example.com:8443": "vh0",
        "apps.example.com": "vh0", "shop.example.com": "vh1", "deep.tenant.apps.example.com": "none",
        "tenantXapps.example.com": "none", "xapps.example.com": "none", "tenant.apps.example.com.evil": "none"}
