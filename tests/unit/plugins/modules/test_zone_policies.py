# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zone_policies against the test API server: the four runs, diff, prune, faults, bad input."""

from __future__ import annotations

import copy
from unittest import mock

from ansible.module_utils import basic

import harness  # pylint: disable=import-error

from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan
from ansible_collections.netzone.segmentation.plugins.modules import zone_policies


def args(api, matrix=None, **extra):
    """What the zones role passes: the plan of the matrix (default: the article's)."""
    out = {"plan": build_plan(matrix or default_matrix(), harness.INVENTORY), "kubeconfig": api.kubeconfig}
    out.update(extra)
    return out


def test_check_real_idempotent_check_idempotent(apiserver, run_module):
    first_check = run_module(zone_policies.main, args(apiserver), check_mode=True)
    assert first_check["changed"] and first_check["counts"]["create"] == 43 and not first_check["failed"]
    assert apiserver.objects("networkpolicies") == {}
    real = run_module(zone_policies.main, args(apiserver))
    assert real["changed"] and real["counts"] == {"create": 43, "update": 0, "delete": 0, "adopt": 0}
    assert len(apiserver.objects("networkpolicies")) == 26
    apiserver.recorder.reset()
    again_check = run_module(zone_policies.main, args(apiserver), check_mode=True)
    again = run_module(zone_policies.main, args(apiserver))
    for result in (again_check, again):
        assert result["changed"] is False and result["actions"] == [] and result["unchanged"] == 43
        assert result["requests"] == 12   # one LIST per kind, and the discovery of the AdminNetworkPolicy API
    assert apiserver.recorder.snapshot()["writes"] == 0


def test_a_cluster_without_the_admin_policy_api_still_reports_its_changes(apiserver, run_module):
    """The warn stage's AdminNetworkPolicy is left out where its API is not served (and said so), and the task
    still reports what it applied: a true "skipped" key would make Ansible show the whole task as skipped."""
    apiserver.store.unserved_groups.add("policy.networking.k8s.io")
    with mock.patch.object(basic.AnsibleModule, "warn", autospec=True) as warn:
        result = run_module(zone_policies.main, args(apiserver))
    assert [c.args[1] for c in warn.call_args_list] == [
        "AdminNetworkPolicy netzone-unmanaged-no-internet was not applied: this cluster does not serve its API "
        "(Calico 3.29+, MicroK8s 1.33+); in the warn stage it would change no verdict"]
    assert not result["failed"] and result["changed"] is True and "skipped" not in result
    assert result["not_applied"] == ["AdminNetworkPolicy netzone-unmanaged-no-internet"]
    assert result["counts"] == {"create": 42, "update": 0, "delete": 0, "adopt": 0}
    assert len(apiserver.objects("networkpolicies")) == 26


def test_diff_and_prune(apiserver, run_module):
    run_module(zone_policies.main, args(apiserver))
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
    result = run_module(zone_policies.main, args(apiserver, kinds=["Namespace"]))
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
    assert done["counts"]["create"] == 40 and not done["failed"]
    assert run_module(zone_policies.main, args(apiserver))["changed"] is False


def test_only_a_proven_unchanged_plan_is_applied(apiserver, run_module):
    """Never applied unproven: a plan with a mismatch, with an offline check's problem, changed after it was built,
    or no plan at all is refused before any request."""
    good = build_plan(default_matrix(), harness.INVENTORY)
    opened = copy.deepcopy(good)             # a policy slipped in after the proof: db open to everything
    opened["manifests"].append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                "metadata": {"name": "open", "namespace": "db"},
                                "spec": {"podSelector": {}, "ingress": [{}]}})
    extra = build_plan(default_matrix(), harness.INVENTORY, extra_policies=[opened["manifests"][-1]])
    no_lb = build_plan(default_matrix(), harness.INVENTORY, guard_settings={"load_balancer_group": "nobody"})
    cases = [(opened, "plan.digest: the plan changed after it was built and proven"),
             (dict(good, proof={"cells": [], "summary": {}}), "plan.digest: the plan changed after it was built"),
             (extra, "plan.proof: the policies do not allow exactly the matrix"),
             (no_lb, "plan.checks: refused, it would lock the platform out: load_balancers: the inventory has no host"),
             ({"manifests": good["manifests"]}, "plan: not a plan")]
    assert extra["proof"]["mismatches"] and no_lb["problems"]
    for plan, message in cases:
        result = run_module(zone_policies.main, {"plan": plan, "kubeconfig": apiserver.kubeconfig})
        assert result["failed"] and result["msg"].startswith(message), result["msg"]
    assert apiserver.recorder.snapshot()["total"] == 0


def test_unreachable_api_fails_cleanly(run_module):
    result = run_module(zone_policies.main, {"plan": build_plan(default_matrix(), harness.INVENTORY),
                                             "host": "http://127.0.0.1:9", "request_timeout": 2})
    assert result["failed"] and "cannot be reached" in result["msg"] and result["requests"] == 1


def test_bad_kubeconfig_fails_cleanly(tmp_path, run_module):
    path = tmp_path / "kubeconfig"
    path.write_text("not: [a kubeconfig")
    result = run_module(zone_policies.main, {"plan": build_plan({}, harness.INVENTORY), "kubeconfig": str(path)})
    assert result["failed"] and result["msg"].startswith("cannot load kubeconfig %s" % path)


def test_a_changed_plan_fails_with_an_empty_result_and_no_plan_at_all_is_refused_by_ansible(apiserver, run_module):
    bad = args(apiserver)
    bad["plan"]["manifests"].pop()
    result = run_module(zone_policies.main, bad)
    digest = result.pop("msg")
    assert digest.startswith("plan.digest: the plan changed after it was built and proven")
    assert result == {"failed": True, "changed": False, "actions": [], "unchanged": 0, "counts": {}, "requests": 0}
    missing = run_module(zone_policies.main, {"kubeconfig": apiserver.kubeconfig})
    assert (missing["failed"], missing["msg"]) == (True, "missing required arguments: plan")


def test_the_options_defaults_reach_the_syncer(apiserver, run_module):
    with mock.patch.object(zone_policies, "Syncer", wraps=zone_policies.Syncer) as spy:
        assert not run_module(zone_policies.main, args(apiserver))["failed"]
    assert spy.call_args.kwargs == {"dry_run": False, "conflict_retries": 3, "terminating_timeout": 120}
    # prune the objects no longer computed, but never a namespace unless asked
    done = {"changed": False, "actions": [], "unchanged": 0, "diff": [], "skipped": []}
    with mock.patch.object(zone_policies.Syncer, "sync", autospec=True, return_value=done) as sync:
        run_module(zone_policies.main, args(apiserver))
    assert (sync.call_args.kwargs["prune"], sync.call_args.kwargs["prune_namespaces"]) == (True, False)
