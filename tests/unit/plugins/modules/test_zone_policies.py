# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zone_policies against the test API server: the four runs, diff, prune, faults, bad input."""

from __future__ import annotations

import harness  # pylint: disable=import-error

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._model.egress_workload import compile_egress
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix
from ansible_collections.netzone.segmentation.plugins.modules import zone_policies


def args(api, **extra):
    out = {"matrix": default_matrix(), "inventory": harness.INVENTORY, "kubeconfig": api.kubeconfig}
    out.update(extra)
    return out


def test_check_real_idempotent_check_idempotent(apiserver, run_module):
    first_check = run_module(zone_policies.main, args(apiserver), check_mode=True)
    assert first_check["changed"] and first_check["counts"]["create"] == 40 and not first_check["failed"]
    assert apiserver.objects("networkpolicies") == {}
    real = run_module(zone_policies.main, args(apiserver))
    assert real["changed"] and real["counts"] == {"create": 40, "update": 0, "delete": 0, "adopt": 0}
    assert len(apiserver.objects("networkpolicies")) == 26
    apiserver.recorder.reset()
    again_check = run_module(zone_policies.main, args(apiserver), check_mode=True)
    again = run_module(zone_policies.main, args(apiserver))
    for result in (again_check, again):
        assert result["changed"] is False and result["actions"] == [] and result["unchanged"] == 40
        assert result["requests"] == 10   # one LIST per kind
    assert apiserver.recorder.snapshot()["writes"] == 0


def test_manifests_input_diff_and_prune(apiserver, run_module):
    matrix = normalize_matrix(None, harness.INVENTORY)
    manifests = compile_manifests(matrix) + compile_egress(matrix)
    run_module(zone_policies.main, {"manifests": manifests, "kubeconfig": apiserver.kubeconfig})
    raw = default_matrix()
    raw["vhosts"] = []
    result = run_module(zone_policies.main, args(apiserver, matrix=raw), diff=True)
    assert result["actions"] == [{"action": "delete", "kind": "Ingress", "namespace": "frontend",
                                  "name": "netzone-shop.example.com"}]
    assert result["diff"][0]["before"]["spec"]["rules"][0]["host"] == "shop.example.com"
    assert result["diff"][0]["after"] is None
    assert apiserver.objects("ingresses") == {}


def test_kinds_limits_what_is_read_and_pruned(apiserver, run_module):
    run_module(zone_policies.main, args(apiserver))
    apiserver.recorder.reset()
    manifests = [m for m in compile_manifests(normalize_matrix(None, harness.INVENTORY)) if m["kind"] == "Namespace"]
    result = run_module(zone_policies.main, {"manifests": manifests, "kinds": ["Namespace"],
                                             "kubeconfig": apiserver.kubeconfig})
    assert result["changed"] is False and result["requests"] == 1
    assert len(apiserver.objects("networkpolicies")) == 26


def test_api_failure_reports_progress_and_a_rerun_converges(apiserver, run_module):
    apiserver.recorder.fail_after = 3
    failed = run_module(zone_policies.main, args(apiserver))
    assert failed["failed"] and failed["status"] == 500 and failed["changed"] is True
    assert len(failed["actions"]) == 3
    assert "3 change(s) were applied before it; the next run continues from there" in failed["msg"]
    apiserver.recorder.fail_after = None
    done = run_module(zone_policies.main, args(apiserver))
    assert done["counts"]["create"] == 37 and not done["failed"]
    assert run_module(zone_policies.main, args(apiserver))["changed"] is False


def test_bad_matrix_is_one_clear_message(apiserver, run_module):
    raw = default_matrix()
    raw["flows"].append({"from": "frontend", "to": "bakend", "services": ["http"]})
    result = run_module(zone_policies.main, args(apiserver, matrix=raw))
    assert result["failed"] and result["msg"].startswith("flows[6].to: unknown zone or peer 'bakend'")
    assert apiserver.recorder.snapshot()["total"] == 0


def test_unreachable_api_fails_cleanly(run_module):
    result = run_module(zone_policies.main, {"matrix": default_matrix(), "inventory": harness.INVENTORY,
                                             "host": "http://127.0.0.1:9", "request_timeout": 2})
    assert result["failed"] and "cannot be reached" in result["msg"] and result["requests"] == 1


def test_bad_kubeconfig_fails_cleanly(tmp_path, run_module):
    path = tmp_path / "kubeconfig"
    path.write_text("not: [a kubeconfig")
    result = run_module(zone_policies.main, {"matrix": {}, "inventory": harness.INVENTORY, "kubeconfig": str(path)})
    assert result["failed"] and result["msg"].startswith("cannot load kubeconfig %s" % path)
