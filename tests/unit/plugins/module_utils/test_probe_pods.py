# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A probe run's failure paths, against a recording API: pods that never start, probers that never report.

The whole run against a real kube-apiserver and real pods is the molecule ``cluster`` scenario
(``verify_probe_pods``); what a real server cannot do on demand (pods stuck Pending, a prober that dies without
a result) is played here by an API that records the requests and answers the pod listings as told.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ApiError
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.probe_pods import ProbeError, ProbeRun
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix

from test_egress import INVENTORY

SELECTOR = "app.kubernetes.io/managed-by=netzone-verify,netzone.io/probe-run=r1"


class Api:
    """Records every request; a pod listing answers the pods created so far, each with ``status(pod)``."""

    def __init__(self, status):
        self.status = status
        self.requests = []
        self.created = {}

    def request(self, method, path, query=None, body=None):
        self.requests.append((method, path, query, body))
        if method == "POST":
            self.created.setdefault(path, []).append(body)
            return body
        if method == "GET":
            wanted = dict(part.split("=", 1) for part in query["labelSelector"].split(","))
            return {"items": [dict(obj, status=self.status(obj)) for obj in self.created.get(path, [])
                              if all(obj["metadata"]["labels"].get(k) == v for k, v in wanted.items())]}
        return {}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def probe_run(api, clock, timeout=3):
    matrix = normalize_matrix(None, INVENTORY)
    return ProbeRun(api, matrix, "print('probe')", "python:3-slim", "r1", timeout=timeout, probe_timeout=1.0, settle=3.0,
                    clock=clock, sleep=clock.sleep)


def test_pods_that_never_start_end_the_run_at_its_deadline_and_are_deleted():
    api, clock = Api(lambda pod: {"phase": "Pending"}), Clock()
    with pytest.raises(ProbeError) as err:
        probe_run(api, clock).run()
    assert str(err.value) == ("the probe pods did not run within 3s: backend responder: Pending, db responder: Pending, "
                              "frontend responder: Pending, ingress responder: Pending, proxy responder: Pending")
    assert clock.now == 103.0
    deletes = [(path, query) for method, path, query, _body in api.requests if method == "DELETE"]
    assert deletes == [("/api/v1/namespaces/%s/%s" % (ns, kind), {"labelSelector": SELECTOR, "gracePeriodSeconds": "0"})
                       for ns in ("backend", "db", "frontend", "ingress", "proxy") for kind in ("pods", "configmaps")]


@pytest.mark.parametrize("phase", ["Succeeded", "Unknown"])
def test_responders_that_have_an_address_but_do_not_run_are_not_waited_out(phase):
    """A responder that already ended (or whose node stopped answering) keeps its pod IP: it answers no probe,
    so the run waits for Running and ends at its deadline rather than probing it."""
    api, clock = Api(lambda pod: {"phase": phase, "podIP": "10.1.1.9"}), Clock()
    with pytest.raises(ProbeError) as err:
        probe_run(api, clock).run()
    assert str(err.value) == ("the probe pods did not run within 3s: backend responder: {0}, db responder: {0}, "
                              "frontend responder: {0}, ingress responder: {0}, proxy responder: {0}".format(phase))
    assert [m for m, path, _q, _b in api.requests if m == "POST" and path.endswith("/pods")] == ["POST"] * 5


def test_probers_that_die_without_a_result_are_named_and_read_their_own_config_maps():
    def status(pod):
        if pod["metadata"]["labels"]["netzone.io/probe"] == "responder":
            return {"phase": "Running", "podIP": "10.1.0.%d" % (len(pod["metadata"]["namespace"]) + 10)}
        return {"phase": "Failed", "containerStatuses": [{"state": {"terminated": {"exitCode": 2, "message": ""}}}]}

    api, clock = Api(status), Clock()
    with pytest.raises(ProbeError) as err:
        probe_run(api, clock, timeout=30).run()
    assert str(err.value) == "probe pods did not report: " + "; ".join(
        "%s/netzone-probe-r1-p (Failed, exit 2): not a probe result for 80 probes: ''" % ns
        for ns in ("backend", "db", "frontend", "ingress", "proxy"))
    probers = [body for method, _path, _query, body in api.requests
               if method == "POST" and body["kind"] == "Pod" and body["metadata"]["name"] == "netzone-probe-r1-p"]
    assert [p["spec"]["volumes"] for p in probers] == 5 * [[{"name": "program", "configMap": {"name": "netzone-probe-r1"}},
                                                            {"name": "targets",
                                                             "configMap": {"name": "netzone-probe-r1-targets"}}]]


def test_cleanup_reports_what_it_could_not_delete_and_skips_what_is_gone():
    class Refusing(Api):
        def request(self, method, path, query=None, body=None):
            if method == "DELETE" and path.startswith("/api/v1/namespaces/db/"):
                raise ApiError(403, "Forbidden", "no deletecollection here")
            if method == "DELETE" and path == "/api/v1/namespaces/proxy/pods":
                raise ApiError(404, "NotFound", "namespaces \"proxy\" not found")
            if method == "DELETE" and path == "/api/v1/namespaces/frontend/configmaps":
                raise ApiError(500, "InternalError", "etcd timed out")
            return super().request(method, path, query, body)

    api, clock = Refusing(lambda pod: {"phase": "Pending"}), Clock()
    assert probe_run(api, clock).cleanup("r1") == [
        "/api/v1/namespaces/db/pods: 403 Forbidden: no deletecollection here",
        "/api/v1/namespaces/db/configmaps: 403 Forbidden: no deletecollection here",
        "/api/v1/namespaces/frontend/configmaps: 500 InternalError: etcd timed out"]


def test_responders_listen_on_the_tcp_and_udp_probe_ports_apart():
    api, clock = Api(lambda pod: {"phase": "Running", "podIP": "10.1.0.9"}), Clock()
    probe_run(api, clock).responders()
    commands = {body["metadata"]["namespace"]: body["spec"]["containers"][0]["command"]
                for method, _path, _query, body in api.requests if method == "POST" and body["kind"] == "Pod"}
    assert sorted(commands) == ["backend", "db", "frontend", "ingress", "proxy"]
    # the example matrix's service ports and the port above each: DNS on both protocols, the rest TCP (HTTP,
    # HTTPS, the egress proxy, PostgreSQL, the payments origination, the API server)
    assert commands["db"][-6:] == ["--tcp", "53,54,80,81,443,444,3128,3129,5432,5433,8080,8081,16443,16444",
                                   "--udp", "53,54", "--lifetime", "3"]


def test_a_whole_run_reports_its_judged_probes_and_how_long_it_took():
    """Responders Pending for four polls, then Running; probers report every probe unanswered."""
    polls = {"n": 0}

    def status(pod):
        role = pod["metadata"]["labels"]["netzone.io/probe"]
        if role == "responder":
            polls["n"] += 1
            return {"phase": "Running", "podIP": "10.1.0.7"} if polls["n"] > 20 else {"phase": "Pending"}
        cm = [o for o in api.created["/api/v1/namespaces/%s/configmaps" % pod["metadata"]["namespace"]]
              if o["metadata"]["name"] == "netzone-probe-r1-targets"][0]
        count = len(json.loads(cm["data"]["targets.json"]))
        return {"phase": "Succeeded", "containerStatuses": [{"state": {"terminated": {
            "exitCode": 0, "message": "netzone-probe/1 " + "0" * count}}}]}

    api, clock = Api(status), Clock()
    clock.now = 3.0
    result = probe_run(api, clock, timeout=60).run()
    assert (result["seconds"], result["run_id"], result["cleanup_errors"], result["probes"]) == (4.0, "r1", [], 400)
    assert len(result["mismatches"]) == 9
    probers = [body for method, _path, _query, body in api.requests
               if method == "POST" and body["kind"] == "Pod" and body["metadata"]["name"] == "netzone-probe-r1-p"]
    assert len(probers) == 5 and probers[0]["spec"]["containers"][0]["command"] == [
        "python3", "/netzone/netzone_probe.py", "probe", "--targets", "/netzone-targets/targets.json",
        "--result", "/dev/termination-log", "--timeout", "1.0", "--settle", "3.0"]


def test_every_probe_pod_is_admitted_by_restricted_pod_security():
    """Zones may enforce restricted: each pod the run creates passes it (the collection's Pod Security checks,
    held to upstream's test data in test_pod_security.py), on every policy version."""
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import pod_security  # pylint: disable=import-outside-toplevel

    api, clock = Api(lambda pod: {"phase": "Running", "podIP": "10.1.0.9"}), Clock()
    probe_run(api, clock).responders()
    pods = [body for method, _path, _query, body in api.requests if method == "POST" and body["kind"] == "Pod"]
    assert len(pods) == 5
    # the whole spec of one (its command and ports are checked above): no API token, no service links, gone
    # at the run's deadline without a grace period, an unprivileged user, a read-only root, no capability
    spec = dict(pods[0]["spec"], containers=[{k: v for k, v in pods[0]["spec"]["containers"][0].items()
                                              if k not in ("command", "ports")}])
    assert (pods[0]["metadata"]["namespace"], spec) == ("backend", {
        "restartPolicy": "Never", "activeDeadlineSeconds": 3, "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": 0, "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                            "seccompProfile": {"type": "RuntimeDefault"},
                            "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
        "containers": [{"name": "probe", "image": "python:3-slim",
                        "volumeMounts": [{"name": "program", "mountPath": "/netzone", "readOnly": True}],
                        "terminationMessagePolicy": "File",
                        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}}],
        "volumes": [{"name": "program", "configMap": {"name": "netzone-probe-r1"}}]})
    for pod in pods:
        for version in ("v1.25", "latest"):
            assert pod_security.evaluate("restricted", version, pod["metadata"], pod["spec"]) == [], version


def test_the_pods_states_are_named_zone_by_zone_then_role_by_role():
    from ansible_collections.netzone.segmentation.plugins.module_utils._k8s import probe_pods  # pylint: disable=import-outside-toplevel

    pods = {("db", "responder"): {"status": {"phase": "Running"}}, ("backend", "responder"): {"status": {"phase": "Running"}},
            ("db", "prober"): {"status": {"phase": "Pending"}}, ("backend", "prober"): {}}
    assert probe_pods._states(pods) == ("backend prober: ?, backend responder: Running, db prober: Pending, "
                                        "db responder: Running")
    assert probe_pods._states({}) == "none"


def test_only_running_dns_pods_with_an_address_are_probed():
    api, clock = Api(lambda pod: pod["status"]), Clock()
    for name, status in (("dns-a", {"phase": "Running", "podIP": "10.1.1.2"}), ("dns-b", {"phase": "Pending"}),
                         ("dns-c", {"phase": "Running"}), ("dns-d", {"phase": "Failed", "podIP": "10.1.1.5"}),
                         ("dns-e", {})):
        api.created.setdefault("/api/v1/namespaces/kube-system/pods", []).append(
            {"metadata": {"name": name, "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}}, "status": status})
    assert probe_run(api, clock).dns_pods() == [{"namespace": "kube-system", "name": "dns-a", "ip": "10.1.1.2"}]
    assert api.requests[-1][2] == {"labelSelector": "k8s-app=kube-dns"}
