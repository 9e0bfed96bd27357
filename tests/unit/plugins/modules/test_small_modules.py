# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The own code of the small modules: cluster_access (against the test API server, and a port nobody listens
on), microk8s_token (a ``microk8s`` script in tmp_path that records its arguments: no snapd here), and the
cluster_access action plugin (what it fills in before the module runs)."""

from __future__ import annotations

import importlib
import os
import socket
from unittest import mock

import pytest

from ansible_collections.netzone.segmentation.plugins.action import cluster_access as access_action
from ansible_collections.netzone.segmentation.plugins.modules import cluster_access, microk8s_token

URL_A = "192.0.2.11:25000/4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c"
URL_B = "198.51.100.11:25000/4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c"
ADD_NODE = '{"token": "4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92/6d1a4f0e2b7c", "urls": ["%s", "%s"]}' % (URL_A, URL_B)


# ---------------------------------------------------------------------------------------------------------
# cluster_access

def test_cluster_access_reachable(run_module, apiserver):
    result = run_module(cluster_access.main, {"kubeconfig": apiserver.kubeconfig, "render_dir": "/srv/render"})
    assert result == {"changed": False, "failed": False, "reachable": True, "reason": "",
                      "kubeconfig": apiserver.kubeconfig, "render_dir": "/srv/render"}


def test_cluster_access_probe_uses_the_timeout(run_module, apiserver):
    with mock.patch.object(cluster_access, "connect", wraps=cluster_access.connect) as spy:
        run_module(cluster_access.main, {"kubeconfig": apiserver.kubeconfig, "request_timeout": 3.5}, check_mode=True)
        run_module(cluster_access.main, {"kubeconfig": apiserver.kubeconfig})
    assert spy.call_args_list == [mock.call({"kubeconfig": apiserver.kubeconfig, "request_timeout": 3.5}),
                                  mock.call({"kubeconfig": apiserver.kubeconfig, "request_timeout": 10})]


def test_cluster_access_not_asked_to_probe(run_module, apiserver):
    result = run_module(cluster_access.main, {"kubeconfig": apiserver.kubeconfig, "probe": False})
    assert result == {"changed": False, "failed": False, "reachable": False, "kubeconfig": apiserver.kubeconfig,
                      "reason": "the API server did not answer: it was not asked (probe=false)", "render_dir": ""}


def test_cluster_access_no_nodes_no_probe(run_module, apiserver):
    with mock.patch.object(cluster_access, "_probe") as probe:
        result = run_module(cluster_access.main, {"kubeconfig": apiserver.kubeconfig, "has_nodes": False,
                                                  "node_group": "k8s"})
    assert probe.call_args_list == []
    assert result == {"changed": False, "failed": False, "reachable": False, "kubeconfig": apiserver.kubeconfig,
                      "reason": "the inventory has no host in group 'k8s'", "render_dir": ""}
    result = run_module(cluster_access.main, {"has_nodes": False})
    assert result["reason"] == "the inventory has no host in group 'microk8s'"


def test_cluster_access_missing_kubeconfig(run_module, tmp_path):
    missing = str(tmp_path / "kubeconfig")
    with mock.patch.object(cluster_access, "_probe") as probe:
        result = run_module(cluster_access.main, {"kubeconfig": missing})
        directory = run_module(cluster_access.main, {"kubeconfig": str(tmp_path)})
        unset = run_module(cluster_access.main, {})
    assert probe.call_args_list == []
    assert result == {"changed": False, "failed": False, "reachable": False, "kubeconfig": missing, "render_dir": "",
                      "reason": "no kubeconfig at %s (the cluster stage writes it; or set netzone_kubeconfig)" % missing}
    assert directory["reason"] == ("no kubeconfig at %s (the cluster stage writes it; or set netzone_kubeconfig)"
                                   % tmp_path)
    assert (unset["kubeconfig"], unset["reason"]) == (
        "", "no kubeconfig at  (the cluster stage writes it; or set netzone_kubeconfig)")


def test_cluster_access_server_down(run_module, tmp_path):
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:%d\n"
        "contexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {}\n"
        % port)
    result = run_module(cluster_access.main, {"kubeconfig": str(kubeconfig), "request_timeout": 2})
    assert (result["changed"], result["reachable"]) == (False, False)
    assert result["reason"].startswith("the API server did not answer: ")
    assert "127.0.0.1:%d" % port in result["reason"] or "Connection refused" in result["reason"]


def test_cluster_access_without_the_kubernetes_client(run_module, apiserver):
    with mock.patch.object(cluster_access, "HAS_KUBERNETES", False):
        result = run_module(cluster_access.main, {"kubeconfig": apiserver.kubeconfig})
    assert result["reason"] == "the API server did not answer: the kubernetes Python client is not installed"
    assert result["reachable"] is False


# ---------------------------------------------------------------------------------------------------------
# microk8s_token

@pytest.fixture
def microk8s_bin(tmp_path):
    """A ``microk8s`` that records its arguments in ``calls`` and prints ``answer`` (exit code in ``rc``)."""
    script = tmp_path / "microk8s"
    script.write_text('#!/bin/sh\necho "$@" >> "%s/calls"\ncat "%s/answer"\nexit $(cat "%s/rc")\n'
                      % (tmp_path, tmp_path, tmp_path))
    script.chmod(0o755)
    (tmp_path / "answer").write_text(ADD_NODE)
    (tmp_path / "rc").write_text("0")
    return tmp_path


def _calls(directory):
    path = directory / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_token_urls_in_the_order_given_or_the_preferred_first(run_module, microk8s_bin):
    plain = run_module(microk8s_token.main, {"bin_dir": str(microk8s_bin)})
    preferred = run_module(microk8s_token.main, {"bin_dir": str(microk8s_bin), "prefer_address": "198.51.100.11"})
    assert plain == {"changed": True, "failed": False, "urls": [URL_A, URL_B]}
    assert preferred == {"changed": True, "failed": False, "urls": [URL_B, URL_A]}
    assert _calls(microk8s_bin) == ["add-node --format json"] * 2


def test_token_ttl(run_module, microk8s_bin):
    run_module(microk8s_token.main, {"bin_dir": str(microk8s_bin), "ttl": 3600})
    run_module(microk8s_token.main, {"bin_dir": str(microk8s_bin), "ttl": 0})
    run_module(microk8s_token.main, {"bin_dir": str(microk8s_bin), "ttl": -1})
    assert _calls(microk8s_bin) == ["add-node --format json --token-ttl 3600", "add-node --format json --token-ttl 0",
                                    "add-node --format json"]
    refused = run_module(microk8s_token.main, {"bin_dir": str(microk8s_bin), "ttl": -2})
    assert refused == {"failed": True, "msg": "microk8s_token: ttl must be -1 (MicroK8s' default: valid for one join) "
                                              "or a number of seconds, got -2"}
    assert len(_calls(microk8s_bin)) == 3


def test_token_check_mode_issues_nothing(run_module, microk8s_bin):
    result = run_module(microk8s_token.main, {"bin_dir": str(microk8s_bin)}, check_mode=True)
    assert result == {"changed": True, "failed": False, "urls": []}
    assert _calls(microk8s_bin) == []


def test_token_failures_are_one_message(run_module, microk8s_bin):
    (microk8s_bin / "answer").write_text("not json")
    garbled = run_module(microk8s_token.main, {"bin_dir": str(microk8s_bin)})
    assert garbled == {"failed": True, "msg": "cannot read the output of 'microk8s add-node --format json': 'not json'"}
    (microk8s_bin / "answer").write_text("error: the cluster is not ready")
    (microk8s_bin / "rc").write_text("2")
    failed = run_module(microk8s_token.main, {"bin_dir": str(microk8s_bin)})
    assert failed == {"failed": True, "msg": "'%s/microk8s add-node --format json' failed (exit 2): error: the cluster "
                                             "is not ready" % microk8s_bin}
    missing = run_module(microk8s_token.main, {"bin_dir": str(microk8s_bin / "nowhere")})
    assert missing == {"failed": True, "msg": "MicroK8s is not installed on this host (%s/nowhere/microk8s not found): "
                                              "run the role without check mode to install it, or point "
                                              "microk8s_bin_dir at the snap's bin directory" % microk8s_bin}


def test_modules_run_as_scripts(run_script):
    assert run_script(microk8s_token, {"_ansible_check_mode": True}) == (0, {"changed": True, "urls": []})
    assert run_script(cluster_access, {"probe": False, "has_nodes": False}) == (0, {
        "changed": False, "reachable": False, "reason": "the inventory has no host in group 'microk8s'",
        "kubeconfig": "", "render_dir": ""})


# ---------------------------------------------------------------------------------------------------------
# the cluster_access action plugin

class _Templar:
    def template(self, value):
        return value.replace("{{ here }}", "/srv/play") if isinstance(value, str) else value


def _action(args):
    task = mock.Mock()
    task.args = args
    action = access_action.ActionModule(task, mock.Mock(), mock.Mock(), loader=None, templar=_Templar(),
                                        shared_loader_obj=None)
    calls = []

    def execute(module_name, module_args, task_vars):
        calls.append((module_name, module_args))
        return {"reachable": True}

    action._execute_module = execute
    return action, calls


def _run_action(args, task_vars):
    action, calls = _action(args)
    with mock.patch.object(access_action.ActionBase, "run", return_value={"base": 1}):
        result = action.run(task_vars=task_vars)
    return result, calls


def test_action_fills_in_the_paths_and_the_nodes(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    result, calls = _run_action({}, {"playbook_dir": "{{ here }}", "groups": {"microk8s": ["n1"]}})
    assert result == {"base": 1, "reachable": True}
    assert calls == [("netzone.segmentation.cluster_access",
                      {"kubeconfig": "/srv/play/microk8s-kubeconfig.yaml", "render_dir": str(tmp_path / "build"),
                       "node_group": "microk8s", "has_nodes": True})]


def test_action_keeps_what_the_task_gave_and_looks_at_its_group(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    _result, calls = _run_action({"kubeconfig": "/etc/kube", "render_dir": "out", "node_group": "k8s", "probe": False},
                                 {"groups": {"microk8s": ["n1"], "k8s": []}, "netzone_kubeconfig": "/ignored"})
    assert calls[0][1] == {"kubeconfig": "/etc/kube", "render_dir": str(tmp_path / "out"), "node_group": "k8s",
                           "probe": False, "has_nodes": False}


def test_action_reads_the_play_variables(monkeypatch):
    monkeypatch.setenv("HOME", "/home/ops")
    _result, calls = _run_action({}, {"playbook_dir": "/srv/play", "netzone_kubeconfig": "{{ here }}/kc",
                                      "netzone_render_dir": "~/render"})
    assert calls[0][1] == {"kubeconfig": "/srv/play/kc", "render_dir": "/home/ops/render", "node_group": "microk8s",
                           "has_nodes": False}
    _result, calls = _run_action({}, {"playbook_dir": "/srv/play", "microk8s_kubeconfig_dest": "/etc/mk8s.conf"})
    assert calls[0][1]["kubeconfig"] == "/etc/mk8s.conf"
    _result, calls = _run_action({}, None)
    assert calls[0][1]["has_nodes"] is False and os.path.isabs(calls[0][1]["render_dir"])


# Every module's file, run as Ansible runs it (``python module.py ARGS_FILE``): its ``if __name__ ==
# "__main__"`` calls main(), which answers in JSON. An option no module has stops each one at argument
# checking, before it reads or changes anything (a mutated ``__name__`` check leaves the output empty).
MODULE_NAMES = ("cluster_access", "cluster_guard", "dns_plan", "microk8s_addons", "microk8s_info", "microk8s_join",
                "microk8s_token", "probe_pods", "reachability", "render", "service_audit", "zone_policies")


def test_the_module_list_is_every_module():
    folder = os.path.dirname(cluster_access.__file__)
    assert sorted(name[:-3] for name in os.listdir(folder) if name.endswith(".py") and name != "__init__.py") == \
        sorted(MODULE_NAMES)


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_every_module_runs_as_a_script(run_script, name):
    module = importlib.import_module("ansible_collections.netzone.segmentation.plugins.modules." + name)
    code, result = run_script(module, {"no_such_option": 1})
    assert code == 1
    assert result["failed"] is True
    # Argument checking answers first: a missing required option, else the unknown one.
    assert result["msg"].startswith(("missing required arguments: ", "one of the following is required: ",
                                     "Unsupported parameters for (basic.py) module: no_such_option.")), result["msg"]
