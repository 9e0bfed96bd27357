# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service_audit module's own code against the test API server: each mode's result and whole message, the
warnings, an API failure and an unreachable server (each one message), check mode the same and read-only."""

from __future__ import annotations

from unittest import mock

import harness  # pylint: disable=import-error
from ansible.module_utils import basic

from ansible_collections.netzone.segmentation.plugins.modules import service_audit

SERVICES = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "shop"},
     "spec": {"ports": [{"port": 5432}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext", "namespace": "default"},
     "spec": {"ports": [{"port": 80}], "externalIPs": ["192.0.2.10"]}},
]
WEB = {"namespace": "shop", "name": "web", "type": "NodePort", "node_ports": [30080], "external_ips": [],
       "ports": [{"port": 80, "protocol": "TCP", "node_port": 30080}], "exempt": False}
EXT = {"namespace": "default", "name": "ext", "type": "ClusterIP", "node_ports": [], "external_ips": ["192.0.2.10"],
       "ports": [{"port": 80, "protocol": "TCP", "node_port": None}], "exempt": False}


def test_fail_mode_one_message_with_every_violation(apiserver, run_module):
    harness.load(apiserver, SERVICES)
    result = run_module(service_audit.main, {"kubeconfig": apiserver.kubeconfig})
    assert result == {"failed": True, "changed": False, "services": [EXT, WEB], "violations": 2,
                      "msg": "2 Service(s) open node ports or external IPs and bypass the load balancer: "
                             "default/ext (ClusterIP, external IPs 192.0.2.10); shop/web (NodePort, node ports 30080)"}


def test_fail_mode_fails_as_ansible_runs_it(apiserver, run_script):
    """The mode read from JSON (a new string, not this file's constant) still fails the task."""
    harness.load(apiserver, SERVICES)
    rc, result = run_script(service_audit, {"kubeconfig": apiserver.kubeconfig, "mode": "fail"})
    assert (rc, result["failed"], result["violations"]) == (1, True, 2)


def test_exempt_namespaces_pass_in_fail_mode(apiserver, run_module):
    harness.load(apiserver, SERVICES)
    result = run_module(service_audit.main, {"kubeconfig": apiserver.kubeconfig,
                                             "exempt_namespaces": ["shop", "default"]}, check_mode=True)
    assert result == {"failed": False, "changed": False, "violations": 0,
                      "services": [dict(EXT, exempt=True), dict(WEB, exempt=True)]}
    assert apiserver.recorder.snapshot()["writes"] == 0


def test_warn_mode_warns_once_per_violation(apiserver, run_module):
    harness.load(apiserver, SERVICES)
    with mock.patch.object(basic.AnsibleModule, "warn", autospec=True) as warn:
        result = run_module(service_audit.main, {"kubeconfig": apiserver.kubeconfig, "mode": "warn",
                                                 "exempt_namespaces": ["default"]})
    assert result == {"failed": False, "changed": False, "violations": 1, "services": [dict(EXT, exempt=True), WEB]}
    assert [c[0][1] for c in warn.call_args_list] == [
        "Service bypasses the load balancer: shop/web (NodePort, node ports 30080)"]


def test_report_mode_neither_fails_nor_warns(apiserver, run_module):
    harness.load(apiserver, SERVICES)
    with mock.patch.object(basic.AnsibleModule, "warn", autospec=True) as warn:
        result = run_module(service_audit.main, {"kubeconfig": apiserver.kubeconfig, "mode": "report"})
    assert result == {"failed": False, "changed": False, "violations": 2, "services": [EXT, WEB]}
    assert warn.call_args_list == []


def test_a_clean_cluster_passes_quietly(apiserver, run_module):
    with mock.patch.object(basic.AnsibleModule, "warn", autospec=True) as warn:
        result = run_module(service_audit.main, {"kubeconfig": apiserver.kubeconfig, "mode": "warn"})
    assert result == {"failed": False, "changed": False, "violations": 0, "services": []}
    assert warn.call_args_list == []


def test_an_api_failure_is_one_message_with_its_status(apiserver, run_module):
    harness.call(apiserver.server, "POST", "/_test/fail-after", query="?n=0&verbs=all")
    try:
        result = run_module(service_audit.main, {"kubeconfig": apiserver.kubeconfig})
    finally:
        harness.call(apiserver.server, "DELETE", "/_test/faults")
    assert (result["failed"], result["status"]) == (True, 500)
    assert result == {"failed": True, "status": 500, "msg": "service audit: 500 InternalError: Internal error "
                                                            "occurred: injected fault (test apiserver)"}


def test_an_unreachable_server_is_one_message(run_module):
    result = run_module(service_audit.main, {"host": "http://127.0.0.1:9", "request_timeout": 2})
    assert (result["failed"], result["status"]) == (True, 0) and sorted(result) == ["failed", "msg", "status"]
    assert result["msg"].startswith("service audit: 0 Unreachable: the Kubernetes API at http://127.0.0.1:9 cannot be "
                                    "reached: ")


def test_a_kubeconfig_that_cannot_be_loaded_is_one_message(run_module, tmp_path):
    result = run_module(service_audit.main, {"kubeconfig": str(tmp_path / "kc")})
    assert result == {"failed": True, "msg": "service audit: cannot load kubeconfig %s: Invalid kube-config file. "
                                             "No configuration found." % (tmp_path / "kc")}


def test_without_the_kubernetes_client(run_module):
    with mock.patch.object(service_audit, "HAS_KUBERNETES", False), \
            mock.patch.object(service_audit, "KUBERNETES_IMPORT_ERROR", "tb"):
        result = run_module(service_audit.main, {})
    assert result["failed"] is True and result["exception"] == "tb"
    assert result["msg"].startswith("Failed to import the required Python library (kubernetes) on ")


def test_runs_as_a_script(run_script):
    """As Ansible runs it, against a port nobody listens on."""
    rc, result = run_script(service_audit, {"host": "http://127.0.0.1:9", "request_timeout": 2})
    assert (rc, result["failed"], result["status"]) == (1, True, 0)
    assert result["msg"].startswith("service audit: 0 Unreachable: the Kubernetes API at http://127.0.0.1:9 cannot be "
                                    "reached: ")
