# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lockout checks and the service audit, on plain objects."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "apiserver"))

import harness  # noqa: E402  pylint: disable=import-error,wrong-import-position
import pytest  # noqa: E402

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError  # noqa: E402

from ansible_collections.netzone.segmentation.plugins.module_utils._model import service_audit as audit  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model import guard  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests  # noqa: E402
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import (  # noqa: E402
    default_matrix,
    normalize_matrix,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_matrix  # noqa: E402

MATRIX = normalize_matrix(None, harness.INVENTORY)


def test_cni_missing_not_ready_and_present():
    assert "no policy-enforcing CNI is running" in guard.check_cni([])[0]
    ds = harness.platform_objects()[0]
    assert guard.check_cni([ds]) == []
    idle = copy.deepcopy(ds)
    idle["status"]["numberReady"] = 0
    assert guard.check_cni([idle]) == ["kube-system/calico-node (Calico) has no ready pod: the NetworkPolicies "
                                       "would not be enforced until it runs"]
    other = copy.deepcopy(ds)
    other["metadata"]["name"] = "flannel"
    assert guard.check_cni([other])


def test_ingress_on_host_network_is_refused():
    ok = harness.platform_objects()[2]
    assert guard.check_ingress_host_network([ok], "ingress") == []
    host = copy.deepcopy(ok)
    host["spec"]["template"]["spec"]["hostNetwork"] = True
    problems = guard.check_ingress_host_network([host], "ingress")
    assert len(problems) == 1 and "ingress/nginx-ingress-microk8s-controller runs on the host network" in problems[0]
    assert guard.check_ingress_host_network([host], "other") == []


def test_dns_pods_must_match_the_dns_peer():
    coredns = harness.platform_objects()[3]
    assert guard.check_dns_pods(MATRIX, [coredns]) == []
    relabeled = copy.deepcopy(coredns)
    relabeled["metadata"]["labels"] = {"k8s-app": "coredns"}
    assert "every zone would lose DNS" in guard.check_dns_pods(MATRIX, [relabeled])[0]


def test_plan_that_cuts_dns_or_the_api_server_is_refused():
    manifests = compile_manifests(MATRIX)
    assert guard.check_plan(MATRIX, verify_matrix(MATRIX, manifests)) == []
    no_dns = [m for m in manifests if not (m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == "netzone-allow-dns"
                                           and m["metadata"]["namespace"] == "backend")]
    problems = guard.check_plan(MATRIX, verify_matrix(MATRIX, no_dns))
    assert problems and all(p.startswith("zone 'backend' would lose DNS") for p in problems)
    raw = default_matrix()
    raw["zones"]["ingress"] = {}
    no_api = normalize_matrix(raw, harness.INVENTORY)
    problems = guard.check_plan(no_api, verify_matrix(no_api))
    assert problems == ["zone 'ingress' needs the API server (port 16443) but no flow opens it: add 'api_server' to "
                        "the zone's needs"]
    no_api_policy = [m for m in manifests if m["metadata"]["name"] != "netzone-egress-to-api-server"]
    problems = guard.check_plan(MATRIX, verify_matrix(MATRIX, no_api_policy))
    assert problems and problems[0].startswith("zone 'ingress' would lose the API server (16443/TCP is denied)")


def test_load_balancer_addresses_must_be_inventory_hosts():
    assert guard.check_load_balancers(MATRIX, harness.INVENTORY) == []
    raw = default_matrix()
    raw["peers"]["load_balancers"] = {"cidrs": ["127.0.0.2/32", "127.0.0.9/32"]}
    with pytest.raises(MatrixError, match=r"peer 'load_balancers' would let addresses that are not the load "
                                          r"balancers' \(127.0.0.9/32\)"):
        normalize_matrix(raw, harness.INVENTORY)      # the matrix refuses it where it knows the load balancers
    unknown = {"groups": {k: v for k, v in harness.INVENTORY["groups"].items() if k != "loadbalancers"},
               "addresses": harness.INVENTORY["addresses"]}
    wrong = normalize_matrix(raw, unknown)            # the guard sees the real ones
    problems = guard.check_load_balancers(wrong, harness.INVENTORY)
    assert problems == [
        "load balancer lb2 (127.0.0.3) is not admitted into the ingress zone (load_balancers): it could not reach "
        "the cluster",
        "peer 'load_balancers' admits 127.0.0.9/32 into the ingress zone, where no host of inventory group "
        "'loadbalancers' has an address: addresses that are not the load balancers' (narrow the peer, or name it "
        "in guards.ingress_exemptions with its reason)"]
    assert "has no host in group 'loadbalancers'" in guard.check_load_balancers(MATRIX, {"groups": {}})[0]
    # the first four ranges beyond the load balancers are named, then "..."
    for extra, shown in ((4, "127.0.0.9/32, 127.0.0.11/32, 127.0.0.13/32, 127.0.0.15/32"),
                         (5, "127.0.0.9/32, 127.0.0.11/32, 127.0.0.13/32, 127.0.0.15/32, ...")):
        raw["peers"]["load_balancers"] = {"cidrs": ["127.0.0.2/31"] + ["127.0.0.%d/32" % (9 + 2 * i) for i in range(extra)]}
        problems = guard.check_load_balancers(normalize_matrix(raw, unknown), harness.INVENTORY)
        assert problems == [
            "peer 'load_balancers' admits %s into the ingress zone, where no host of inventory group 'loadbalancers' "
            "has an address: addresses that are not the load balancers' (narrow the peer, or name it in "
            "guards.ingress_exemptions with its reason)" % shown]


def test_audit_finds_node_ports_and_load_balancers_and_flags_exemptions():
    services = [
        {"metadata": {"namespace": "a", "name": "plain"}, "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}},
        {"metadata": {"namespace": "b", "name": "np"}, "spec": {"type": "NodePort", "ports": [
            {"port": 80, "nodePort": 30080, "protocol": "TCP"}]}},
        {"metadata": {"namespace": "a", "name": "lb"}, "spec": {"type": "LoadBalancer", "ports": [
            {"port": 443, "nodePort": 31443}]}},
        {"metadata": {"namespace": "c", "name": "default-type"}, "spec": {"ports": [{"port": 80}]}},
        {"metadata": {"namespace": "c", "name": "no-external"}, "spec": {"ports": [{"port": 80}], "externalIPs": []}},
        {"metadata": {"namespace": "c", "name": "external"}, "spec": {"ports": [{"port": 80}],
                                                                      "externalIPs": ["192.0.2.10", "192.0.2.11"]}},
        {"metadata": {"namespace": "c", "name": "another-np"}, "spec": {"type": "NodePort", "ports": [
            {"port": 81, "nodePort": 30081}]}},
    ]
    found = audit.findings(services, exempt_namespaces=["b"])
    assert [(f["namespace"], f["name"], f["type"], f["node_ports"], f["external_ips"], f["exempt"]) for f in found] == [
        ("a", "lb", "LoadBalancer", [31443], [], False), ("b", "np", "NodePort", [30080], [], True),
        ("c", "another-np", "NodePort", [30081], [], False),
        ("c", "external", "ClusterIP", [], ["192.0.2.10", "192.0.2.11"], False)]
    found = [f for f in found if f["name"] != "another-np"]
    assert audit.summary(found) == ["a/lb (LoadBalancer, node ports 31443)", "b/np (NodePort, node ports 30080) [exempt]",
                                    "c/external (ClusterIP, external IPs 192.0.2.10, 192.0.2.11)"]


def _lb_matrix(cidrs, exempt=()):
    """The parts of a normalised matrix the load balancer check reads, written out."""
    return {"guards": {"ingress_from": ["lbs", "not-a-peer"], "ingress_exemptions": [{"peer": p} for p in exempt]},
            "peers": {"lbs": {"cidrs": cidrs}}}


def test_load_balancer_check_messages_written_out():
    inventory = {"groups": {"lb": ["lb1", "lb2", "lb3"]},
                 "addresses": {"lb1": "192.0.2.10", "lb2": "192.0.2.11", "lb3": "lb3.example.com"}}
    cidrs = [{"cidr": "192.0.2.10/32", "except": []}, {"cidr": "192.0.2.0/29", "except": ["192.0.2.4/30"]},
             {"cidr": "198.51.100.0/30", "except": []}]
    assert guard.check_load_balancers(_lb_matrix(cidrs), inventory, "lb") == [
        "load balancer lb2 (192.0.2.11) is not admitted into the ingress zone (lbs): it could not reach the cluster",
        "inventory host 'lb3' of group 'lb' has no IP address (set ansible_host)",
        "peer 'lbs' admits 192.0.2.0/30, 198.51.100.0/30 into the ingress zone, where no host of "
        "inventory group 'lb' has an address: addresses that are not the load balancers' (narrow the peer, or name "
        "it in guards.ingress_exemptions with its reason)"]
    # an address inside a block but in its except is not admitted; an exempt peer may be wider
    cidrs = [{"cidr": "192.0.2.0/24", "except": ["192.0.2.11/32"]}]
    assert guard.check_load_balancers(_lb_matrix(cidrs, exempt=["lbs"]), inventory, "lb") == [
        "load balancer lb2 (192.0.2.11) is not admitted into the ingress zone (lbs): it could not reach the cluster",
        "inventory host 'lb3' of group 'lb' has no IP address (set ansible_host)"]
    # more than four blocks beyond the load balancers: the first four, then "..."
    cidrs = [{"cidr": "198.51.100.%d/32" % (2 * i), "except": []} for i in range(5)]
    assert guard.check_load_balancers(_lb_matrix(cidrs), {"groups": {"lb": ["192.0.2.10"]}}, "lb") == [
        "load balancer 192.0.2.10 (192.0.2.10) is not admitted into the ingress zone (lbs): it could not reach the "
        "cluster",
        "peer 'lbs' admits 198.51.100.0/32, 198.51.100.2/32, 198.51.100.4/32, 198.51.100.6/32, ... into the ingress "
        "zone, where no host of inventory group 'lb' has an address: addresses that are not the load balancers' "
        "(narrow the peer, or name it in guards.ingress_exemptions with its reason)"]
    assert guard.check_load_balancers({"guards": {"ingress_from": []}, "peers": {}}, {}, "lb") == []


def test_plan_check_messages_written_out():
    matrix = {"guards": {"ingress_zone": "ingress"}, "zones": {"ingress": {}, "web": {}}, "peers": {},
              "flows": [], "cluster": {"api_server_port": 16443}}
    proof = {"mismatches": [
        {"kind": "missing", "from": "web", "to": "kube-dns", "port": 53, "protocol": "UDP", "explanation": "no rule"},
        {"kind": "extra", "from": "web", "to": "kube-dns", "port": 54, "protocol": "UDP", "explanation": "open"},
        {"kind": "missing", "from": "web", "to": "api", "port": 16443, "protocol": "TCP", "explanation": "denied"},
        {"kind": "missing", "from": "web", "to": "db", "port": 5432, "protocol": "TCP", "explanation": "denied"}]}
    assert guard.check_plan(matrix, proof, "api", {"web", "ingress"}) == [
        "zone 'web' would lose DNS (53/UDP to the DNS pods is denied): no rule",
        "zone 'web' would lose the API server (16443/TCP is denied): denied",
        "zones 'ingress', 'web' need the API server, but the matrix has no peer 'api'"]
    matrix["peers"]["api"] = {}
    matrix["flows"] = [{"from": "web", "to": "api"}]
    assert guard.check_plan(matrix, {"mismatches": []}, "api", {"web", "ingress", "gone"}) == [
        "zone 'ingress' needs the API server (port 16443) but no flow opens it: add 'api' to the zone's needs"]
    assert guard.check_plan(matrix, {"mismatches": []}, "api") == [
        "zone 'ingress' needs the API server (port 16443) but no flow opens it: add 'api' to the zone's needs"]
    assert guard.check_plan(dict(matrix, guards={}), {"mismatches": []}, "api") == []


def test_only_missing_dns_and_api_server_cells_are_lockouts():
    matrix = normalize_matrix(None, harness.INVENTORY)

    def missing(to, port, protocol="TCP", kind="missing"):
        return {"kind": kind, "from": "backend", "to": to, "port": port, "protocol": protocol, "explanation": "why"}

    found = guard.check_plan(matrix, {"mismatches": [
        missing("proxy", 3128), missing("kube-dns", 53, "UDP"), missing("kube-dns", 53, "TCP", kind="extra"),
        missing("api_server", 16443), missing("zzz", 1)]}, api_zones=[])
    assert found == ["zone 'backend' would lose DNS (53/UDP to the DNS pods is denied): why",
                     "zone 'backend' would lose the API server (16443/TCP is denied): why"]
