# -*- coding: utf-8 -*-
"""playbooks/render.yml end to end with ansible-playbook: four runs (check, real, check again, real again),
a bad matrix and a mismatch that write nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOK = os.path.join(ROOT, "playbooks", "render.yml")
INVENTORY = {"all": {"hosts": {"localhost": {"ansible_connection": "local"}},
                     "children": {"loadbalancers": {"hosts": {"lb1": {"ansible_host": "10.0.0.11"}}},
                                  "microk8s": {"hosts": {"n1": {"ansible_host": "10.0.0.21"}}}}}}


def _run(tmp_path, *extra):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory), PLAYBOOK,
           "-e", "netzone_render_dir=%s" % (tmp_path / "out")] + list(extra)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    recap = re.search(r"localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", proc.stdout)
    assert recap, proc.stdout + proc.stderr
    return proc, int(recap.group(2)), int(recap.group(3))


def test_four_runs(tmp_path):
    out = tmp_path / "out"
    proc, changed, failed = _run(tmp_path, "--check")
    assert (failed, changed) == (0, 1) and not out.exists()
    proc, changed, failed = _run(tmp_path)
    assert (failed, changed) == (0, 1), proc.stdout
    assert re.search(r"(?m)^    msg: 'Proven: [1-9][0-9]* cells, 0 mismatches\. Report: /\S+/report\.html'$", proc.stdout), \
        proc.stdout
    manifests = list(yaml.safe_load_all((out / "manifests" / "all.yaml").read_text()))
    assert {m["kind"] for m in manifests} >= {"Namespace", "NetworkPolicy", "Ingress", "ValidatingAdmissionPolicy"}
    assert sorted(p.name for p in (out / "manifests").iterdir()) == [
        "all.yaml", "backend.yaml", "cluster.yaml", "db.yaml", "frontend.yaml", "ingress.yaml", "proxy.yaml"]
    html = (out / "report.html").read_text()
    assert 'id="cells"' in html
    # the whole verdict (a substring "PROVEN" would also match "NOT PROVEN")
    assert re.findall(r'<p id="verdict" class="verdict (\w+)">(PROVEN|NOT PROVEN)[^<]* \(\d+ cells over \d+ endpoints; '
                      r'(\d+) missing, (\d+) extra\)</p>', html) == [("proven", "PROVEN", "0", "0")]
    report_md = (out / "report.md").read_text()
    assert "| load_balancers | ingress | http | all | all | ok |" in report_md
    assert "The live cluster was not checked (render.yml works offline)" in report_md
    assert "## Egress" in report_md and "| zone | proxy (HTTPS_PROXY) | domains | ports | mode |" in report_md
    proc, changed, failed = _run(tmp_path, "--check")
    assert (failed, changed) == (0, 0)
    proc, changed, failed = _run(tmp_path)
    assert (failed, changed) == (0, 0)


def test_bad_matrix_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"netzone_matrix": {"zones": {"web": {}, "api": {}},
                                                      "services": {"http": ["80/tcp"]},
                                                      "flows": [{"from": "web", "to": "apii", "services": ["http"]}]}}))
    proc, changed, failed = _run(tmp_path, "-e", "@%s" % bad)
    assert failed == 1
    assert "netzone.segmentation.plan: flows[0].to: unknown zone or peer 'apii' (did you mean 'api'?)" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "out").exists()


def _render_play(tmp_path, render_args):
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "__plan": "{{ {} | netzone.segmentation.plan(inventory={'groups': {'loadbalancers': ['lb1'], "
                           "'microk8s': ['n1']}, 'addresses': {'lb1': '10.0.0.11', 'n1': '10.0.0.21'}}) }}"},
        "tasks": [{"name": "Render", "netzone.segmentation.render": dict({"dest": str(tmp_path / "out")}, **render_args)}]}]))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           str(play)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_render_module_refuses_mismatches(tmp_path):
    """The module itself refuses to write a proof with mismatches (defence behind the playbook's assert)."""
    proc = _render_play(tmp_path, {"plan": "{{ __plan }}", "proof": {
        "mismatches": [{"explanation": "denied: ingress of backend/probe-b is isolated"}]}})
    assert proc.returncode == 2, proc.stdout
    assert "the policies do not allow exactly the matrix (1 mismatches); nothing was written" in proc.stdout
    assert not (tmp_path / "out").exists()


def test_render_module_refuses_a_changed_plan(tmp_path):
    """A plan whose manifests changed after the proof (here: one more NetworkPolicy) is not written."""
    extra = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "open", "namespace": "db"}, "spec": {"podSelector": {}, "ingress": [{}]}}
    proc = _render_play(tmp_path, {"plan": "{{ __plan | combine({'manifests': __plan.manifests + [%r]}) }}" % (extra,)})
    assert proc.returncode == 2, proc.stdout
    assert "the plan changed after it was built and proven" in proc.stdout
    assert not (tmp_path / "out").exists()


def test_relative_render_dir_and_diff(tmp_path):
    """A relative netzone_render_dir is relative to where ansible-playbook runs, the printed path is that one, and
    --diff shows the content written; a second run changes nothing and warns about nothing."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory), PLAYBOOK,
           "-e", "netzone_render_dir=rel/out", "--diff"]
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = tmp_path / "rel" / "out" / "report.html"
    assert report.is_file()
    assert "Report: %s" % report in proc.stdout
    assert "+++ after: %s" % (tmp_path / "rel" / "out" / "manifests" / "db.yaml") in proc.stdout
    assert "+kind: NetworkPolicy" in proc.stdout
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and "changed=0" in proc.stdout, proc.stdout
    assert "WARNING" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
