# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load balancer's port check names the WAF's own nginx on a re-run, whatever its PID.

The real programs: Debian's nginx listening on the WAF hop (127.0.0.1:8081) in a PID and network namespace of
its own (``unshare --pid --mount-proc --net``), so its PID is small, as on a host where it started at boot;
community.general's listen_ports_facts run there with the arguments the role gives it (read from
``roles/loadbalancer/tasks/ports.yml``); the role's port_conflicts filter on what it gathered.

netstat prints "PID/program" cut to 19 characters: "3/nginx: master process" becomes "3/nginx: master pro",
one word too many for listen_ports_facts' parser, which then names no program, and the role would stop on its
own nginx ("already in use by an unknown program"). It did, in the ha scenario, whenever nginx's PID was under
1000. The role gathers with ss, which names it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.ports import port_conflicts

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WAF_HOP = {"address": "127.0.0.1", "port": 8081, "what": "the WAF hop", "var": "loadbalancer_waf_port"}
NGINX_CONF = """daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{}}
http {{ access_log off; server {{ listen 127.0.0.1:8081; return 200; }} }}
"""
# In the namespaces: nginx in the background, listen_ports_facts once nginx listens, then nginx ends.
SCRIPT = """set -e
ip link set lo up
/usr/sbin/nginx -c {dir}/nginx.conf -p {dir} &
for i in $(seq 100); do ss -Hltn 'sport = :8081' | grep -q LISTEN && break; sleep 0.1; done
"$PYTHON" -m {module} {dir}/args.json > {dir}/facts.json 2> {dir}/module.err || true
kill -QUIT $(cat {dir}/nginx.pid)
wait
"""

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not os.path.exists("/usr/sbin/nginx"),
    reason="needs root, unshare and Debian's nginx (make deps installs them)")


def _role_gather_args():
    """The arguments of the role's listen_ports_facts task."""
    with open(os.path.join(ROOT, "roles", "loadbalancer", "tasks", "ports.yml"), encoding="utf-8") as handle:
        tasks = yaml.safe_load(handle)
    found = [task["community.general.listen_ports_facts"] for task in tasks
             if "community.general.listen_ports_facts" in task]
    assert len(found) == 1, found
    return found[0] or {}


def _gather(tmp_path, args):
    """tcp_listen as listen_ports_facts gathers it (with ``args``) beside an nginx whose PID is small."""
    (tmp_path / "nginx.conf").write_text(NGINX_CONF.format(dir=tmp_path))
    (tmp_path / "args.json").write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    # As a module (-m), not a file: the file's own directory on sys.path would put community.general's
    # pkgutil module in place of the standard library's.
    script = SCRIPT.format(dir=tmp_path, module="ansible_collections.community.general.plugins.modules.listen_ports_facts")
    done = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "--net", "bash", "-c", script],
                          capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, PYTHON=sys.executable, PYTHONPATH=os.pathsep.join(sys.path)))
    assert done.returncode == 0, done.stderr
    out = (tmp_path / "facts.json").read_text()
    assert out, (tmp_path / "module.err").read_text()
    facts = json.loads(out)
    assert not facts.get("failed"), facts
    return facts["ansible_facts"]["tcp_listen"]


def test_the_role_names_its_own_nginx_whatever_its_pid(tmp_path):
    args = _role_gather_args()
    listening = _gather(tmp_path, args)
    hop = [(held["address"], held["port"], held["name"]) for held in listening if held["port"] == 8081]
    # Not vacuous: the socket is seen, named, and its PID is one netstat's column cuts.
    assert hop and set(hop) == {("127.0.0.1", 8081, "nginx")}, listening
    assert all(0 < held["pid"] < 1000 for held in listening if held["port"] == 8081), listening
    assert port_conflicts(listening, [WAF_HOP], ["haproxy", "nginx"]) == []
    # Another program on the same port is still a conflict, named.
    assert port_conflicts(listening, [WAF_HOP], ["haproxy"]) == [
        {"want": "127.0.0.1:8081", "what": "the WAF hop", "var": "loadbalancer_waf_port", "local": "127.0.0.1:8081",
         "owner": "'nginx' (pid %d)" % [held["pid"] for held in listening if held["port"] == 8081][0]}]


@pytest.mark.skipif(not shutil.which("netstat"), reason="net-tools (netstat) is not installed")
def test_with_netstat_the_same_nginx_is_an_unknown_program(tmp_path):
    """Why the role names ss: what netstat would have made of the same listener."""
    listening = _gather(tmp_path, dict(_role_gather_args(), command="netstat"))
    assert [(held["name"], held["pid"]) for held in listening if held["port"] == 8081] == [("", 0)]
    assert [c["owner"] for c in port_conflicts(listening, [WAF_HOP], ["haproxy", "nginx"])] == ["an unknown program"]
