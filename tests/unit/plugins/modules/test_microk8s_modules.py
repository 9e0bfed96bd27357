# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The microk8s_* modules: commands issued, check mode, diff and failure messages, on real output formats."""

from __future__ import annotations

import json
import os
import sys
from unittest import mock

import pytest
from ansible.module_utils import basic

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "support"))
from module_args import patch_module_args  # noqa: E402  pylint: disable=import-error,wrong-import-position

from ansible_collections.netzone.segmentation.plugins.modules import (
    microk8s_addons, microk8s_info, microk8s_join, microk8s_token)

FIXTURES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "microk8s"))


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


class FakeCommands:
    """Answers run_command from a table of (argv tail) -> (rc, out, err) and records every call."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, module, argv, *args, **kwargs):  # bound as AnsibleModule.run_command
        tail = " ".join(argv[1:])
        self.calls.append(tail)
        for key, answer in self.answers.items():
            if tail.startswith(key):
                return answer() if callable(answer) else answer
        raise AssertionError("unexpected command %r" % tail)


@pytest.fixture
def bins(tmp_path):
    for name in ("microk8s", "snap"):
        path = tmp_path / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return tmp_path


def run(module, args, fake, monkeypatch, capsys):
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, *a, **k: fake(self, argv))
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


STATUS = "status --format yaml --wait-ready --timeout 300"


def addon_answers(status_file, rc=0):
    return {
        "status --format yaml": lambda: (rc, fixture(status_file), ""),
        "enable ": (0, "Enabling\n", ""),
        "disable ": (0, "Disabling\n", ""),
    }


def test_addons_check_mode_issues_nothing_and_shows_diff(bins, tmp_path, monkeypatch, capsys):
    fake = FakeCommands(addon_answers("status-fresh.yaml"))
    state = tmp_path / "state.json"
    result = run(microk8s_addons, {"addons": [{"name": "dns"}, {"name": "ingress"}], "dns_upstream": ["192.0.2.53"],
                                   "bin_dir": str(bins), "state_file": str(state), "_ansible_check_mode": True,
                                   "_ansible_diff": True}, fake, monkeypatch, capsys)
    assert result["changed"] is True
    assert result["enabled"] == ["dns:192.0.2.53", "ingress"]
    assert result["reenabled"] == ["dns"]
    assert [c for c in fake.calls if c.startswith(("enable", "disable"))] == []
    assert not state.exists()
    assert result["diff"]["after"]["enabled"] == ["dns", "ha-cluster", "helm", "helm3", "ingress"]


def test_addons_enable_then_rerun_then_removal(bins, tmp_path, monkeypatch, capsys):
    state = tmp_path / "common" / "state.json"
    args = {"addons": [{"name": "dns"}, {"name": "ingress"}, {"name": "rbac"}, {"name": "metrics-server"}],
            "bin_dir": str(bins), "state_file": str(state)}
    fake = FakeCommands(addon_answers("status-fresh.yaml"))
    umask = os.umask(0o022)
    try:
        result = run(microk8s_addons, args, fake, monkeypatch, capsys)
    finally:
        os.umask(umask)
    assert [c for c in fake.calls if c.startswith("enable")] == ["enable ingress", "enable rbac", "enable metrics-server"]
    # the directory it made is readable by all, as the snap's own common directory is
    assert oct(state.parent.stat().st_mode & 0o7777) == "0o755"
    # the state file, as an operator reads it on the node: sorted, two spaces of indent
    assert state.read_text() == ('{\n  "managed": {\n    "dns": "",\n    "ingress": "",\n    "metrics-server": "",\n'
                                 '    "rbac": ""\n  }\n}\n')
    assert result["changed"] is True

    fake = FakeCommands(addon_answers("status-addons.yaml"))
    result = run(microk8s_addons, args, fake, monkeypatch, capsys)
    assert result["changed"] is False
    assert fake.calls == [STATUS]

    args["addons"] = [{"name": "dns"}, {"name": "ingress"}, {"name": "rbac"}]
    fake = FakeCommands(addon_answers("status-addons.yaml"))
    result = run(microk8s_addons, dict(args, _ansible_diff=True), fake, monkeypatch, capsys)
    assert [c for c in fake.calls if c.startswith(("enable", "disable"))] == ["disable metrics-server"]
    assert result["disabled"] == ["metrics-server"]
    # status-addons.yaml lists seven enabled addons; the diff shows metrics-server gone
    assert result["diff"]["before"]["enabled"] == ["dns", "ha-cluster", "helm", "helm3", "ingress", "metrics-server", "rbac"]
    assert result["diff"]["after"]["enabled"] == ["dns", "ha-cluster", "helm", "helm3", "ingress", "rbac"]


def test_addons_unknown_name_fails_with_what_to_do(bins, tmp_path, monkeypatch, capsys):
    fake = FakeCommands(addon_answers("status-fresh.yaml"))
    result = run(microk8s_addons, {"addons": [{"name": "ingres"}], "bin_dir": str(bins),
                                   "state_file": str(tmp_path / "s.json")}, fake, monkeypatch, capsys)
    assert result["failed"] is True
    assert "MicroK8s does not know ingres" in result["msg"]


def test_join_stops_on_agent_refusal(bins, monkeypatch, capsys):
    fake = FakeCommands({"join ": (6, fixture("join-invalid-token.txt"), "")})
    urls = ["192.0.2.11:25000/4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c",
            "198.51.100.11:25000/4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c"]
    result = run(microk8s_join, {"urls": urls, "bin_dir": str(bins)}, fake, monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("microk8s join failed (exit 6): Connection failed. Invalid token (500).")
    assert len(fake.calls) == 1


def test_join_worker_success(bins, monkeypatch, capsys):
    fake = FakeCommands({"join ": (0, fixture("join-worker.txt"), "")})
    result = run(microk8s_join, {"urls": ["192.0.2.11:25000/4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c"], "worker": True,
                                 "bin_dir": str(bins)}, fake, monkeypatch, capsys)
    assert result["changed"] is True and result["url"] == "192.0.2.11:25000"
    assert fake.calls == ["join 192.0.2.11:25000/4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c --worker"]


def test_join_check_mode_runs_nothing(bins, monkeypatch, capsys):
    fake = FakeCommands({})
    result = run(microk8s_join, {"urls": [], "bin_dir": str(bins), "_ansible_check_mode": True}, fake, monkeypatch, capsys)
    assert result["changed"] is True and fake.calls == []


def test_token_orders_urls(bins, monkeypatch, capsys):
    fake = FakeCommands({"add-node --format json": (0, fixture("add-node.json"), "")})
    result = run(microk8s_token, {"bin_dir": str(bins), "prefer_address": "198.51.100.11"}, fake, monkeypatch, capsys)
    assert result["urls"][0].startswith("198.51.100.11:25000/4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/")
    assert fake.calls == ["add-node --format json"]


def test_info_snap_absent_plans_install(bins, monkeypatch, capsys):
    fake = FakeCommands({"list microk8s": (1, "", fixture("snap-list-not-installed.stderr"))})
    result = run(microk8s_info, {"snap_bin": str(bins / "snap"), "channel": "1.31", "hold": True}, fake, monkeypatch, capsys)
    assert result["snap"]["action"] == "install" and result["snap"]["hold_action"] == "hold"
    assert result["changed"] is False


def test_info_without_snapd_says_what_to_install(tmp_path, monkeypatch, capsys):
    result = run(microk8s_info, {"snap_bin": str(tmp_path / "snap"), "channel": "1.31"}, FakeCommands({}), monkeypatch, capsys)
    assert result["failed"] is True
    assert "no snapd on this host" in result["msg"] and "apt-get install snapd" in result["msg"]


def test_info_waits_for_calico_and_fails_with_the_reason(bins, monkeypatch, capsys):
    monkeypatch.setattr(microk8s_info.time, "sleep", lambda seconds: None)
    fake = FakeCommands({
        "kubectl get nodes -o json": (0, fixture("nodes-three.json"), ""),
        "kubectl get pods": (0, fixture("calico-pods-partial.json"), ""),
    })
    result = run(microk8s_info, {"gather": ["calico"], "bin_dir": str(bins), "wait": True, "retries": 2, "delay": 1},
                 fake, monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("after 3 checks 1 s apart: Calico is not running on every node")
    assert fake.calls.count("kubectl get pods -n kube-system -l k8s-app=calico-node -o json") == 3
    # without wait it looks once and reports what it saw, without failing
    fake = FakeCommands({
        "kubectl get nodes -o json": (0, fixture("nodes-three.json"), ""),
        "kubectl get pods": (0, fixture("calico-pods-partial.json"), ""),
    })
    looked = run(microk8s_info, {"gather": ["calico"], "bin_dir": str(bins)}, fake, monkeypatch, capsys)
    assert "failed" not in looked and (looked["cluster_ready"]["ok"], looked["cluster_ready"]["attempts"]) == (False, 1)


def test_info_join_plan_and_kubeconfig(bins, monkeypatch, capsys):
    fake = FakeCommands({
        "kubectl get nodes -o json": (0, fixture("nodes-single.json"), ""),
        "config": (0, fixture("client.config"), ""),
    })
    result = run(microk8s_info, {"gather": ["nodes", "kubeconfig"], "bin_dir": str(bins), "api_address": "198.51.100.10",
                                 "hosts": [{"host": "cp1", "name": "node1"}, {"host": "wk1", "name": "node3", "role": "worker"}]},
                 fake, monkeypatch, capsys)
    assert result["join"]["joiners"] == [{"host": "wk1", "name": "node3", "role": "worker"}]
    assert "server: https://198.51.100.10:16443" in result["kubeconfig"]


def test_addons_reenable_dns_that_microk8s_enabled_without_the_upstream(bins, tmp_path, monkeypatch, capsys):
    fake = FakeCommands(addon_answers("status-fresh.yaml"))
    result = run(microk8s_addons, {"addons": [{"name": "dns"}], "dns_upstream": ["192.0.2.53", "192.0.2.54"],
                                   "bin_dir": str(bins), "state_file": str(tmp_path / "s.json")}, fake, monkeypatch, capsys)
    assert fake.calls == [STATUS, "disable dns", "enable dns:192.0.2.53,192.0.2.54"]
    assert result["reenabled"] == ["dns"] and result["changed"] is True


@pytest.mark.parametrize("status_file,rc,expected", [
    ("status-not-ready.yaml", 1, "addons cannot be read: MicroK8s on node1 is not ready after waiting 300 s"),
    ("status-not-ready-no-ha.yaml", 1, "addons cannot be read: MicroK8s on node1 is not ready after waiting 300 s"),
    ("status-stopped.txt", 0, "addons cannot be read: MicroK8s is stopped on node1"),
])
def test_addons_on_a_node_that_is_not_ready_say_what_to_do(bins, tmp_path, monkeypatch, capsys, status_file, rc, expected):
    fake = FakeCommands(addon_answers(status_file, rc))
    result = run(microk8s_addons, {"addons": [{"name": "dns"}], "bin_dir": str(bins), "host_label": "node1",
                                   "state_file": str(tmp_path / "s.json")}, fake, monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(expected), result["msg"]
    assert "cannot read the output" not in result["msg"]
    assert fake.calls == [STATUS]


@pytest.mark.parametrize("status_file,rc,state", [
    ("status-fresh.yaml", 0, "ready"), ("status-community.yaml", 0, "ready"), ("status-not-ready.yaml", 1, "not-ready"),
    ("status-stopped.txt", 0, "stopped"),
])
def test_info_status_reports_the_state_without_waiting(bins, monkeypatch, capsys, status_file, rc, state):
    fake = FakeCommands({"status --format yaml": (rc, fixture(status_file), "")})
    result = run(microk8s_info, {"gather": ["status"], "bin_dir": str(bins)}, fake, monkeypatch, capsys)
    assert result["status"]["state"] == state
    assert fake.calls == ["status --format yaml"]


def test_info_status_waits_ready_and_fails_with_what_to_do(bins, monkeypatch, capsys):
    fake = FakeCommands({"status --format yaml": (1, fixture("status-not-ready.yaml"), "")})
    result = run(microk8s_info, {"gather": ["status"], "bin_dir": str(bins), "ready_timeout": 60, "host_label": "node2"},
                 fake, monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("MicroK8s on node2 is not ready after waiting 60 s (it says: microk8s is not running.")
    assert fake.calls == ["status --format yaml --wait-ready --timeout 60"]


def test_info_kubectl_on_a_stopped_node_says_start_it(bins, monkeypatch, capsys):
    fake = FakeCommands({"kubectl get nodes": (1, "", fixture("status-stopped.txt"))})
    result = run(microk8s_info, {"gather": ["nodes"], "bin_dir": str(bins), "host_label": "node1"}, fake, monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("MicroK8s is stopped on node1") and "Run 'microk8s start' on node1" in result["msg"]


def test_info_waits_name_their_bound(bins, monkeypatch, capsys):
    monkeypatch.setattr(microk8s_info.time, "sleep", lambda seconds: None)
    fake = FakeCommands({
        "kubectl get nodes -o json": (0, fixture("nodes-drained.json"), ""),
        "kubectl get pods": (0, fixture("calico-pods-ready.json"), ""),
        "status --format yaml": (1, fixture("status-not-ready-no-ha.yaml"), ""),
    })
    result = run(microk8s_info, {"gather": ["calico"], "bin_dir": str(bins), "wait": True, "retries": 1, "delay": 2,
                                 "bound_label": "microk8s_calico_retries"}, fake, monkeypatch, capsys)
    assert result["msg"].startswith("after 2 checks 2 s apart: ")
    assert result["msg"].endswith("If the nodes are only slow, raise microk8s_calico_retries and re-run the play.")
    slept = []
    monkeypatch.setattr(microk8s_info.time, "sleep", slept.append)
    result = run(microk8s_info, {"gather": ["calico"], "bin_dir": str(bins), "wait": True}, fake, monkeypatch, capsys)
    assert result["msg"].startswith("after 31 checks 10 s apart: ") and slept == [10] * 30   # retries 30, delay 10
    result = run(microk8s_info, {"gather": ["status"], "bin_dir": str(bins), "ready_timeout": 300,
                                 "bound_label": "microk8s_wait_ready_timeout", "host_label": "node1"}, fake, monkeypatch, capsys)
    assert "not ready after waiting 300 s (microk8s_wait_ready_timeout)" in result["msg"]
    assert "if it is only slow, raise microk8s_wait_ready_timeout and re-run the play." in result["msg"]


def test_join_without_a_url_and_an_unreachable_first_address_tries_the_next(bins, monkeypatch, capsys):
    result = run(microk8s_join, {"urls": [], "bin_dir": str(bins)}, FakeCommands({}), monkeypatch, capsys)
    assert (result["failed"], result["msg"]) == (True, "microk8s_join: no join URL (was the token issued in check mode?)")
    urls = ["192.0.2.11:25000/4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c",
            "198.51.100.11:25000/4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c"]
    fake = FakeCommands({"join 192.0.2.11": (1, "Contacting cluster at 192.0.2.11\ntimed out\n", ""),
                         "join 198.51.100.11": (1, "Connection refused\n", "")})
    result = run(microk8s_join, {"urls": urls, "bin_dir": str(bins)}, fake, monkeypatch, capsys)
    hint = " Open TCP 25000 (cluster agent), 16443 (API server) and 19001 (dqlite) between the nodes."
    assert result["attempts"] == ["microk8s join failed (exit 1): timed out" + hint,
                                  "microk8s join failed (exit 1): Connection refused" + hint]
    assert result["msg"] == "microk8s join failed (exit 1): Connection refused" + hint
    assert fake.calls == ["join " + urls[0], "join " + urls[1]]


def test_token_check_mode_issues_nothing_and_a_ttl_is_passed(bins, monkeypatch, capsys):
    fake = FakeCommands({})
    result = run(microk8s_token, {"bin_dir": str(bins), "_ansible_check_mode": True}, fake, monkeypatch, capsys)
    assert (result["changed"], result["urls"], fake.calls) == (True, [], [])
    fake = FakeCommands({"add-node --format json --token-ttl 600": (0, fixture("add-node.json"), "")})
    result = run(microk8s_token, {"bin_dir": str(bins), "ttl": 600}, fake, monkeypatch, capsys)
    assert result["changed"] is True and fake.calls == ["add-node --format json --token-ttl 600"]
    fake = FakeCommands({"add-node --format json": (0, "not json", "")})
    result = run(microk8s_token, {"bin_dir": str(bins)}, fake, monkeypatch, capsys)
    assert result["failed"] is True and fake.calls == ["add-node --format json"]
    assert result["msg"] == "cannot read the output of 'microk8s add-node --format json': 'not json'"


def test_info_names_a_node_name_that_resolves_elsewhere_and_what_a_gather_needs(bins, monkeypatch, capsys):
    fake = FakeCommands({"hosts node1": (0, "192.0.2.99     node1\n", ""), "hosts node2": (0, "192.0.2.12 node2\n", ""),
                         "hosts node3": (2, "", "")})
    result = run(microk8s_info, {"gather": [], "host_label": "cp1",
                                 "resolve": [{"name": "node1", "address": "192.0.2.11"},
                                             {"name": "node2", "address": "192.0.2.12"},
                                             {"name": "node3", "address": "192.0.2.13"}]}, fake, monkeypatch, capsys)
    assert result["resolution_problems"] == [
        "cp1: node name 'node1' resolves to 192.0.2.99, MicroK8s needs it to resolve to the node address 192.0.2.11 on "
        "every node: add '192.0.2.11 node1' to /etc/hosts (or DNS), or set microk8s_node_address/microk8s_node_name "
        "for that host",
        "cp1: node name 'node3' does not resolve, MicroK8s needs it to resolve to the node address 192.0.2.13 on every "
        "node: add '192.0.2.13 node3' to /etc/hosts (or DNS), or set microk8s_node_address/microk8s_node_name for that "
        "host"]
    assert fake.calls == ["hosts node1", "hosts node2", "hosts node3"]
    result = run(microk8s_info, {"gather": ["snap"], "snap_bin": str(bins / "snap")}, FakeCommands({}), monkeypatch, capsys)
    assert (result["failed"], result["msg"]) == (True, "gather snap needs channel")
    result = run(microk8s_info, {"gather": ["kubeconfig"], "bin_dir": str(bins)}, FakeCommands({}), monkeypatch, capsys)
    assert (result["failed"], result["msg"]) == (True, "gather kubeconfig needs api_address")


def test_join_never_shows_the_token_in_its_result(bins, monkeypatch, capsys):
    url = "192.0.2.11:25000/4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c"
    fake = FakeCommands({"join ": (1, "Contacting cluster at 192.0.2.11\nConnection failed. Invalid token (500). "
                                      "Join URL was %s\n" % url, "")})
    result = run(microk8s_join, {"urls": [url], "bin_dir": str(bins)}, fake, monkeypatch, capsys)
    text = json.dumps(result)
    assert result["failed"] is True and "Join URL was 192.0.2.11:25000/********/********" in result["msg"]
    assert "4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92" not in text and "6d1a4f0e2b7c" not in text


def test_addons_warn_when_the_args_of_an_enabled_addon_change(bins, tmp_path, monkeypatch, capsys):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"managed": {"dns": "192.0.2.53", "ingress": "", "rbac": ""}}))
    args = {"addons": [{"name": "dns", "args": "192.0.2.54"}, {"name": "ingress"}, {"name": "rbac"}],
            "bin_dir": str(bins), "state_file": str(state)}
    fake = FakeCommands(addon_answers("status-addons.yaml"))
    with mock.patch.object(basic.AnsibleModule, "warn", autospec=True) as warn:
        result = run(microk8s_addons, args, fake, monkeypatch, capsys)
    assert result["args_changed"] == ["dns"] and [c for c in fake.calls if c.startswith(("enable", "disable"))] == []
    assert [c.args[1] for c in warn.call_args_list] == [
        "addon dns: its args changed to '192.0.2.54' but MicroK8s cannot change them while it is enabled: run "
        "'microk8s disable dns' on the node and re-run the play"]


def test_addons_name_a_state_file_they_cannot_read(bins, tmp_path, monkeypatch, capsys):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    args = {"addons": [{"name": "dns"}], "bin_dir": str(bins), "state_file": str(state)}
    result = run(microk8s_addons, args, FakeCommands(addon_answers("status-addons.yaml")), monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("cannot read %s (Expecting property name enclosed in double quotes: " % state)
    assert result["msg"].endswith("): remove it and re-run; addons are then only enabled, never disabled, until the next run")


def test_required_options_are_refused_by_ansible_before_anything_runs(bins, monkeypatch, capsys):
    fake = FakeCommands({})
    join = run(microk8s_join, {"bin_dir": str(bins)}, fake, monkeypatch, capsys)
    addons = run(microk8s_addons, {"addons": [{"args": "x"}], "bin_dir": str(bins)}, fake, monkeypatch, capsys)
    info = run(microk8s_info, {"gather": ["nodes"], "bin_dir": str(bins), "resolve": [{"name": "n1"}]}, fake,
               monkeypatch, capsys)
    hosts = run(microk8s_info, {"gather": ["nodes"], "bin_dir": str(bins), "hosts": [{"name": "n1"}]}, fake,
                monkeypatch, capsys)
    assert (hosts["failed"], hosts["msg"]) == (True, "missing required arguments: host found in hosts")
    assert (join["failed"], join["msg"]) == (True, "missing required arguments: urls")
    assert (addons["failed"], addons["msg"]) == (True, "missing required arguments: name found in addons")
    assert (info["failed"], info["msg"]) == (True, "missing required arguments: address found in resolve")
    assert fake.calls == []


def test_join_runs_as_a_script(bins, run_script):
    code, result = run_script(microk8s_join, {"urls": [], "bin_dir": str(bins)})
    assert (code, result) == (1, {"failed": True, "msg": "microk8s_join: no join URL (was the token issued in check mode?)"})


def test_addons_of_a_repository_show_by_their_own_name_in_the_diff(bins, tmp_path, monkeypatch, capsys):
    args = {"addons": [{"name": "community/cloudnative-pg"}], "bin_dir": str(bins), "state_file": str(tmp_path / "s.json"),
            "_ansible_check_mode": True, "_ansible_diff": True}
    result = run(microk8s_addons, args, FakeCommands(addon_answers("status-community.yaml")), monkeypatch, capsys)
    assert "cloudnative-pg" not in result["diff"]["before"]["enabled"]
    assert "cloudnative-pg" in result["diff"]["after"]["enabled"]


def test_an_addon_of_a_repository_that_is_disabled_leaves_the_diff_by_its_own_name(bins, tmp_path, monkeypatch, capsys):
    state = tmp_path / "s.json"
    state.write_text('{"managed": {"community/argocd": "", "dns": ""}}')
    args = {"addons": [{"name": "dns"}], "bin_dir": str(bins), "state_file": str(state),
            "_ansible_check_mode": True, "_ansible_diff": True}
    result = run(microk8s_addons, args, FakeCommands(addon_answers("status-community.yaml")), monkeypatch, capsys)
    assert result["disabled"] == ["community/argocd"]
    assert "argocd" in result["diff"]["before"]["enabled"] and "argocd" not in result["diff"]["after"]["enabled"]


def test_addons_enabling_again_what_someone_disabled_is_a_change(bins, tmp_path, monkeypatch, capsys):
    """The state file already names ingress (enabled by an earlier run); someone disabled it since. The run
    enables it again: a change, though the state file stays as it was."""
    state = tmp_path / "state.json"
    state.write_text('{\n  "managed": {\n    "dns": "",\n    "ingress": ""\n  }\n}\n')
    args = {"addons": [{"name": "dns"}, {"name": "ingress"}], "bin_dir": str(bins), "state_file": str(state)}
    fake = FakeCommands(addon_answers("status-fresh.yaml"))
    result = run(microk8s_addons, args, fake, monkeypatch, capsys)
    assert [c for c in fake.calls if c.startswith(("enable", "disable"))] == ["enable ingress"]
    assert (result["changed"], result["enabled"], result["disabled"]) == (True, ["ingress"], [])
    assert state.read_text() == '{\n  "managed": {\n    "dns": "",\n    "ingress": ""\n  }\n}\n'
