# -*- coding: utf-8 -*-
"""One plan per run: playbooks/site.yml (the zones and verify stages, after the preflight) and playbooks/render.yml
normalise the matrix once and prove it once.

The core appends each step it runs to the file named by NETZONE_TRACE_FILE (module_utils/_common/trace.py), from
whichever process runs it (filters in Ansible's workers, modules in their own processes), so the count covers the
whole run. No cluster: the zones stage renders, and the verify stage probes a load balancer address on 127.0.30.0/24
where nothing listens (loopback only)."""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PY = "/usr/bin/python3"
MATRIX = {"services": {"http": ["80/tcp"]},
          "peers": {"load_balancers": {"from_group": "loadbalancers"},
                    "api_server": {"from_group": "microk8s", "services": ["kube_api"]}},
          "zones": {"ingress": {"needs": ["api_server"]}, "frontend": {}, "backend": {}},
          "flows": [{"from": "load_balancers", "to": "ingress", "services": ["http"]},
                    {"from": "ingress", "to": "frontend", "services": ["http"]},
                    {"from": "frontend", "to": "backend", "services": ["http"]}],
          "vhosts": [{"name": "shop.example.com", "exposure": "public", "service": "web"}]}


def _inventory(tmp_path):
    local = {"ansible_connection": "local", "ansible_python_interpreter": PY}
    inv = {"all": {"vars": {"netzone_matrix": MATRIX},
                   "children": {"loadbalancers": {"hosts": {"lb1": dict(local, netzone_address="127.0.30.1")}},
                                "microk8s": {"hosts": {"node1": dict(local, netzone_address="127.0.30.5")}}}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    return str(path)


def _run(tmp_path, playbook, *extra):
    trace = tmp_path / "trace"
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               NETZONE_TRACE_FILE=str(trace))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", _inventory(tmp_path),
           os.path.join(ROOT, "playbooks", playbook), "-e", "netzone_render_dir=%s" % (tmp_path / "out"),
           "-e", "netzone_kubeconfig=%s" % (tmp_path / "no-kubeconfig.yaml")] + list(extra)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    steps = collections.Counter(trace.read_text().split()) if trace.exists() else collections.Counter()
    return proc, steps


def test_site_zones_and_verify_normalise_and_prove_once(tmp_path):
    proc, steps = _run(tmp_path, "site.yml", "--tags", "zones,verify")
    assert "NOT APPLIED to any cluster" in proc.stdout
    assert (tmp_path / "out" / "report.html").is_file() and (tmp_path / "out" / "plan" / "networkpolicy.yml").is_file()
    assert (steps["normalise"], steps["prove"]) == (1, 1), steps


def test_render_normalises_and_proves_once(tmp_path):
    proc, steps = _run(tmp_path, "render.yml")
    assert "Proven:" in proc.stdout
    assert (steps["normalise"], steps["prove"]) == (1, 1), steps
