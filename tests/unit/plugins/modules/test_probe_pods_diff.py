# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""probe_pods' diff against the test API server: the probe objects before and after a run.

The test API server runs no pod; a stand-in kubelet (a thread here) gives this run's responders an address and
its probers a termination message, so a run completes. Its probe results say every probe went unanswered: the
tests are about the objects the run leaves, never about what the probes found (``fail_on_mismatch: false``).
"""

from __future__ import annotations

import json
import re
import threading
from unittest import mock

import harness  # pylint: disable=import-error
import pytest
from ansible.module_utils import basic

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ApiError
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.probe_pods import ProbeRun

from ansible_collections.netzone.segmentation.plugins.module_utils._model import live_probe as lp
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan
from ansible_collections.netzone.segmentation.plugins.modules import probe_pods, zone_policies

LABELS = {lp.MANAGED_BY[0]: lp.MANAGED_BY[1], lp.RUN_LABEL: "deadbeef", lp.ROLE_LABEL: "responder"}
STALE = [
    {"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "y"},
     "metadata": {"name": "netzone-probe-deadbeef", "namespace": "frontend", "labels": dict(LABELS)}},
    harness.pod("frontend", "netzone-probe-deadbeef-r", "10.1.7.7", labels=dict(LABELS)),
]
# Not the module's: an unlabelled pod in a zone namespace, a labelled one outside the zone namespaces.
OTHERS = [harness.pod("frontend", "shop-web", "10.1.7.8"),
          harness.pod("kube-system", "netzone-probe-deadbeef-r", "10.1.7.9", labels=dict(LABELS))]


def args(api, **extra):
    out = {"plan": build_plan(default_matrix(), harness.INVENTORY), "kubeconfig": api.kubeconfig,
           "program": "print('probe')", "timeout": 30, "fail_on_mismatch": False}
    out.update(extra)
    return out


class Kubelet:
    """Runs this run's probe pods, as far as the API shows: a responder Running with an address, a prober
    Succeeded with a termination message of as many results (all 0) as its targets ConfigMap lists."""

    def __init__(self, api):
        self.api, self.done = api, threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(5)

    def _loop(self):
        store, count = self.api.store, 0
        while not self.done.wait(0.05):
            with store.lock:
                for (plural, namespace, name), obj in list(store.objects.items()):
                    labels = obj["metadata"].get("labels") or {}
                    run = labels.get(lp.RUN_LABEL)
                    if plural != "pods" or not run or run == "deadbeef" or (obj.get("status") or {}).get("phase"):
                        continue
                    if labels[lp.ROLE_LABEL] == "responder":
                        count += 1
                        obj["status"] = {"phase": "Running", "podIP": "10.1.8.%d" % count}
                    else:
                        targets = store.objects[("configmaps", namespace, "netzone-probe-%s-targets" % run)]
                        many = len(json.loads(targets["data"]["targets.json"]))
                        obj["status"] = {"phase": "Succeeded", "containerStatuses": [{"name": "probe", "state": {
                            "terminated": {"exitCode": 0, "message": lp.encode_results([False] * many)}}}]}
                    del name


def _zones(api, run_module):
    assert not run_module(zone_policies.main, {"plan": build_plan(default_matrix(), harness.INVENTORY),
                                               "kubeconfig": api.kubeconfig})["failed"]


def _probe_objects(api):
    return sorted((kind, ns, name) for kind, plural in (("Pod", "pods"), ("ConfigMap", "configmaps"))
                  for (ns, name), obj in api.objects(plural).items()
                  if (obj["metadata"].get("labels") or {}).get(lp.MANAGED_BY[0]) == lp.MANAGED_BY[1])


def test_the_diff_shows_an_earlier_runs_leftovers_removed(apiserver, run_module):
    _zones(apiserver, run_module)
    harness.load(apiserver, STALE + OTHERS)
    with Kubelet(apiserver):
        result = run_module(probe_pods.main, args(apiserver), diff=True)
    assert not result["failed"], result.get("msg")
    assert result["probes"] > 0 and result["cleanup_errors"] == [] and result["changed"] is False
    assert result["diff"] == {
        "before": {"probe_objects": ["ConfigMap frontend/netzone-probe-deadbeef", "Pod frontend/netzone-probe-deadbeef-r"]},
        "after": {"probe_objects": []}}
    # what the diff says is what the store holds: only the labelled pod outside the zones is left of the module's
    assert _probe_objects(apiserver) == [("Pod", "kube-system", "netzone-probe-deadbeef-r")]
    assert ("frontend", "shop-web") in apiserver.objects("pods")


def test_a_clean_run_has_an_empty_diff(apiserver, run_module):
    _zones(apiserver, run_module)
    with Kubelet(apiserver):
        result = run_module(probe_pods.main, args(apiserver), diff=True)
    assert not result["failed"], result.get("msg")
    assert result["diff"] == {"before": {"probe_objects": []}, "after": {"probe_objects": []}}
    assert _probe_objects(apiserver) == []


def test_a_failed_run_still_gives_its_diff(apiserver, run_module):
    """No kubelet: the responders never run, the run fails at its deadline and deletes what it made."""
    _zones(apiserver, run_module)
    harness.load(apiserver, STALE)
    result = run_module(probe_pods.main, args(apiserver, timeout=1), diff=True)
    assert result["failed"] and "did not run within 1s" in result["msg"]
    assert result["diff"]["before"]["probe_objects"] == ["ConfigMap frontend/netzone-probe-deadbeef",
                                                         "Pod frontend/netzone-probe-deadbeef-r"]
    assert result["diff"]["after"] == {"probe_objects": []}
    assert _probe_objects(apiserver) == []


def test_no_diff_unless_asked_and_none_in_check_mode(apiserver, run_module):
    _zones(apiserver, run_module)
    with Kubelet(apiserver):
        plain = run_module(probe_pods.main, args(apiserver))
    assert not plain["failed"] and "diff" not in plain
    apiserver.recorder.reset()
    checked = run_module(probe_pods.main, args(apiserver), check_mode=True, diff=True)
    assert (checked["skipped"], checked["msg"]) == (True, "check mode: no probe pod created") and "diff" not in checked
    assert apiserver.recorder.snapshot()["writes"] == 0


def test_the_program_is_required_and_nothing_runs_without_it(apiserver, run_module):
    given = args(apiserver)
    del given["program"]
    apiserver.recorder.reset()
    result = run_module(probe_pods.main, given)
    assert (result["failed"], result["msg"]) == (True, "missing required arguments: program")
    assert apiserver.recorder.snapshot()["total"] == 0


def test_probe_pods_runs_as_a_script(run_script):
    code, result = run_script(probe_pods, {"plan": {}, "kubeconfig": "/nonexistent"})
    assert (code, result) == (1, {"failed": True, "msg": "missing required arguments: program"})


class _Refusing:
    """An API whose listings in the backend namespace answer ``status``; elsewhere one object of each kind."""

    def __init__(self, status):
        self.status = status

    def request(self, method, path, query=None, body=None):
        assert method == "GET" and query == {"labelSelector": "app.kubernetes.io/managed-by=netzone-verify"}, body
        if "/namespaces/backend/" in path:
            raise ApiError(self.status, "X", "refused")
        return {"items": [{"metadata": {"name": "netzone-probe-r1"}}]}


def _run(status):
    matrix = {"zones": {"a": {"namespace": "frontend"}, "b": {"namespace": "backend"}}}
    return ProbeRun(_Refusing(status), matrix, "", "image", "r2", timeout=30, probe_timeout=1.0, settle=3.0)


def test_leftovers_skip_a_namespace_that_is_not_there_and_raise_on_any_other_error():
    assert _run(404).leftovers() == ["ConfigMap frontend/netzone-probe-r1", "Pod frontend/netzone-probe-r1"]
    with pytest.raises(ApiError) as caught:
        _run(403).leftovers()
    assert caught.value.status == 403


def test_no_diff_when_what_is_left_cannot_be_listed():
    """After a failed run the module reports the run's error; a listing that fails too gives no diff."""
    assert probe_pods._diff(_run(403), ["Pod frontend/x"]) == {}  # pylint: disable=protected-access
    assert probe_pods._diff(_run(404), None) == {}  # pylint: disable=protected-access
    assert probe_pods._diff(_run(404), ["Pod frontend/x"]) == {"diff": {  # pylint: disable=protected-access
        "before": {"probe_objects": ["Pod frontend/x"]},
        "after": {"probe_objects": ["ConfigMap frontend/netzone-probe-r1", "Pod frontend/netzone-probe-r1"]}}}


def test_warnings_name_what_could_not_be_deleted_and_only_that(apiserver, run_module):
    _zones(apiserver, run_module)
    original = ProbeRun.cleanup

    def cleanup(self, run_id=None):
        done = original(self, run_id)
        return done + ["/api/v1/namespaces/db/pods: 403 Forbidden: no"] if run_id is None else done

    def cleanup_own(self, run_id=None):
        done = original(self, run_id)
        return done + ["/api/v1/namespaces/db/configmaps: 500 InternalError: x"] if run_id is not None else done

    with Kubelet(apiserver), mock.patch.object(basic.AnsibleModule, "warn", autospec=True) as warn:
        clean = run_module(probe_pods.main, args(apiserver))
        with mock.patch.object(ProbeRun, "cleanup", cleanup):
            stale = run_module(probe_pods.main, args(apiserver))
        with mock.patch.object(ProbeRun, "cleanup", cleanup_own):
            own = run_module(probe_pods.main, args(apiserver))
    assert not clean["failed"] and not stale["failed"] and not own["failed"]
    assert own["cleanup_errors"] == ["/api/v1/namespaces/db/configmaps: 500 InternalError: x"]
    assert [c.args[1] for c in warn.call_args_list] == [
        "deleting an earlier run's probe objects failed: /api/v1/namespaces/db/pods: 403 Forbidden: no",
        "deleting this run's probe objects failed: /api/v1/namespaces/db/configmaps: 500 InternalError: x"]


def test_the_options_defaults_reach_the_run(apiserver, run_module):
    _zones(apiserver, run_module)
    plain = {key: value for key, value in args(apiserver).items() if key not in ("timeout", "fail_on_mismatch")}
    with Kubelet(apiserver), mock.patch.object(probe_pods, "ProbeRun", wraps=ProbeRun) as spy:
        result = run_module(probe_pods.main, plain)
    assert result["failed"] and result["msg"].startswith("9 of 400 probes differ from the matrix")
    assert spy.call_args.kwargs == {"timeout": 180, "probe_timeout": 1.0, "settle": 3.0}
    assert spy.call_args.args[3] == "docker.io/library/python:3.12-alpine"
    # the run id: eight hex digits, so that "netzone-probe-<id>-targets" stays a short DNS label
    assert re.fullmatch("[0-9a-f]{8}", spy.call_args.args[4]) and result["run_id"] == spy.call_args.args[4]


def test_probes_that_differ_from_the_matrix_fail_the_task_with_the_first_five(apiserver, run_module):
    _zones(apiserver, run_module)
    with Kubelet(apiserver):
        result = run_module(probe_pods.main, args(apiserver, fail_on_mismatch=True))
    assert result["failed"] and result["changed"] is False
    # the stand-in kubelet reports every probe unanswered: the probes the matrix allows are the mismatches
    assert result["msg"] == (
        "9 of 400 probes differ from the matrix; first: backend -> backend 80/TCP: no answer, the matrix says "
        "allowed | backend -> backend 8080/TCP: no answer, the matrix says allowed | backend -> db 5432/TCP: no "
        "answer, the matrix says allowed | backend -> proxy 3128/TCP: no answer, the matrix says allowed | db -> db "
        "5432/TCP: no answer, the matrix says allowed")
    assert len(result["mismatches"]) == 9 and result["probes"] == 400
