# -*- coding: utf-8 -*-
"""The proof: zero mismatches for the default and for random valid matrices; broken policies are caught."""

from __future__ import annotations

import copy
import ipaddress
import itertools

import pytest
import yaml

from hypothesis import given, settings

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import (
    PROBE_LABEL,
    cell_table,
    port_intervals,
    representative_cluster,
    verify_cluster,
    verify_matrix,
)

from matrix_strategies import valid_matrix

INVENTORY = {"groups": {"loadbalancers": ["lb1", "lb2"], "microk8s": ["n1", "n2", "n3"]},
             "addresses": {"lb1": "10.0.0.11", "lb2": "10.0.0.12", "n1": "10.0.0.21", "n2": "10.0.0.22",
                           "n3": "10.0.0.23"}}


def _matrix():
    return normalize_matrix(None, INVENTORY)


def test_default_matrix_is_proven():
    matrix = _matrix()
    result = verify_matrix(matrix)
    assert result["mismatches"] == []
    assert result["summary"]["missing"] == result["summary"]["extra"] == 0
    cells = {(c["from"], c["to"]): c for c in result["cells"]}
    assert cells[("frontend", "backend")]["expected"] == ["80/TCP", "8080/TCP"]
    assert cells[("frontend", "backend")]["actual"] == ["80/TCP", "8080/TCP"]
    assert cells[("frontend", "@internet")]["expected"] == cells[("frontend", "@internet")]["actual"] == []
    assert cells[("proxy", "@internet")]["actual"] == ["80/TCP", "443/TCP", "8080/TCP"]
    # the cloud metadata service is not the internet: even the proxy zone does not reach it
    assert result["summary"]["outside"]["@metadata"] == "169.254.169.254"
    for zone in matrix["zones"]:
        assert cells[(zone, "@metadata")]["expected"] == cells[(zone, "@metadata")]["actual"] == []
    assert cells[("proxy", "@private")]["actual"] == []
    assert cells[("load_balancers", "ingress")]["actual"] == ["80/TCP", "8080/TCP"]
    assert cells[("@internet", "ingress")]["actual"] == []
    assert cells[("db", "kube-dns")]["actual"] == ["53/TCP", "53/UDP"]
    # every zone pair is a cell; per protocol, the intervals tile 1-65535 and each is decided
    zones = sorted(matrix["zones"])
    assert all((a, b) in cells for a in zones for b in zones)
    probes = result["summary"]["probe_ports"]
    assert probes[:5] == ["1-52/TCP", "53/TCP", "54-79/TCP", "80/TCP", "81-442/TCP"]
    assert "1-65535/SCTP" in probes and "1-52/UDP" in probes and "54-65535/UDP" in probes
    for proto in ("TCP", "UDP", "SCTP"):
        spans = [tuple(int(x) for x in p.split("/")[0].split("-")) for p in probes if p.endswith("/" + proto)]
        spans = [(s[0], s[-1]) for s in spans]
        assert spans[0][0] == 1 and spans[-1][1] == 65535
        assert all(a[1] + 1 == b[0] for a, b in zip(spans, spans[1:]))
    assert result["summary"]["intervals"]["SCTP"] == 1


def test_missing_policy_is_reported_with_explanation():
    matrix = _matrix()
    manifests = [m for m in compile_manifests(matrix)
                 if not (m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == "netzone-ingress-from-frontend")]
    result = verify_matrix(matrix, manifests)
    missing = [(m["from"], m["to"], m["port"]) for m in result["mismatches"] if m["kind"] == "missing"]
    assert sorted(missing) == [("frontend", "backend", 80), ("frontend", "backend", 8080)]
    assert all(m["kind"] == "missing" for m in result["mismatches"])
    assert result["mismatches"][0]["explanation"] == (
        "denied: ingress of backend/probe-0 is isolated by backend/netzone-ingress-from-backend, "
        "backend/netzone-default-deny (no rule matches TCP/80 from frontend/probe-0)")
    # every pair of the cell is wrong; at most 10 are listed
    pairs = {(c["from"], c["to"]): c["pairs"] for c in result["cells"]}[("frontend", "backend")]
    assert pairs > 10
    for mismatch in result["mismatches"]:
        assert mismatch["bad_pair_count"] == pairs and len(mismatch["bad_pairs"]) == 10


def test_extra_flow_is_reported():
    matrix = _matrix()
    manifests = compile_manifests(matrix)
    leak = copy.deepcopy([m for m in manifests if m["kind"] == "NetworkPolicy"
                          and m["metadata"]["namespace"] == "frontend"][0])
    leak["metadata"]["name"] = "leak"
    leak["spec"] = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}
    result = verify_matrix(matrix, manifests + [leak])
    extra = {(m["from"], m["to"]) for m in result["mismatches"] if m["kind"] == "extra" and m["side"] == "end-to-end"}
    assert ("frontend", "@internet") in extra
    assert ("frontend", "db") not in extra  # db's ingress still isolates it end to end
    # but frontend's egress alone is now wider than the matrix: it alone would stand if db's ingress went
    alone = [m for m in result["mismatches"] if (m["from"], m["to"]) == ("frontend", "db")]
    assert alone and all((m["side"], m["zone"], m["kind"]) == ("egress", "frontend", "extra") for m in alone)
    assert "(egress of frontend alone): allowed, expected denied" in alone[0]["text"]
    assert "frontend/leak" in alone[0]["explanation"]
    assert all(m["kind"] == "extra" for m in result["mismatches"])
    assert "frontend/leak" in [m for m in result["mismatches"] if m["to"] == "@internet"][0]["explanation"]


def test_cell_table_rows():
    matrix = _matrix()
    rows = cell_table(matrix, verify_matrix(matrix))
    row = [r for r in rows if (r["from"], r["to"], r["service"]) == ("backend", "db", "postgres")][0]
    assert row["expected"] == row["actual"] == "all" and row["status"] == "ok"
    assert all(r["status"] == "ok" for r in rows)


def test_cell_table_statuses_of_partial_and_unwanted_services():
    """A service the matrix allows on all its ports but the policies on some is 'missing'; one it does not
    allow but the policies do on some port is 'extra'."""
    matrix = _matrix()
    manifests = copy.deepcopy(compile_manifests(matrix))
    allow = [m for m in manifests if m["kind"] == "NetworkPolicy" and m["metadata"]["namespace"] == "backend"
             and m["metadata"]["name"] == "netzone-ingress-from-frontend"][0]
    allow["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 80}]
    leak = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "leak", "namespace": "db"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
                {"ports": [{"port": 80}]}, {"to": [{"namespaceSelector": {}}], "ports": [{"port": 8080}]}]}}
    rows = {(r["from"], r["to"], r["service"]): r for r in cell_table(matrix, verify_matrix(matrix, manifests + [leak]))}
    row = rows[("frontend", "backend", "http")]
    assert (row["expected"], row["actual"], row["status"]) == ("all", "some", "missing")
    row = rows[("db", "internet", "http")]
    assert (row["expected"], row["actual"], row["status"]) == ("none", "some", "extra")
    row = rows[("db", "@unmanaged", "http")]
    assert (row["expected"], row["actual"], row["status"]) == ("none", "all", "extra")
    assert rows[("backend", "db", "postgres")]["status"] == "ok"


def test_cell_table_rows_of_a_missing_service_and_of_a_service_allowed_beyond_the_matrix():
    """A service expected on all its ports and allowed on none is 'missing'; a service the matrix allows on
    some of its ports (80 of web's 80 and 8443) and the policies on all is 'extra'.  Pairs with nothing
    expected and nothing allowed get no row."""
    raw = default_matrix()
    raw["services"]["web"] = ["80/tcp", "8443/tcp"]
    matrix = normalize_matrix(raw, INVENTORY)
    manifests = [m for m in copy.deepcopy(compile_manifests(matrix))
                 if not (m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == "netzone-ingress-from-backend"
                         and m["metadata"]["namespace"] == "db")]
    allow = [m for m in manifests if m["kind"] == "NetworkPolicy" and m["metadata"]["namespace"] == "backend"
             and m["metadata"]["name"] == "netzone-ingress-from-frontend"][0]
    allow["spec"]["ingress"][0]["ports"].append({"protocol": "TCP", "port": 8443})
    egress = [m for m in manifests if m["kind"] == "NetworkPolicy" and m["metadata"]["namespace"] == "frontend"
              and m["metadata"]["name"] == "netzone-egress-to-backend"][0]
    egress["spec"]["egress"][0]["ports"].append({"protocol": "TCP", "port": 8443})
    rows = cell_table(matrix, verify_matrix(matrix, manifests))
    by_key = {(r["from"], r["to"], r["service"]): r for r in rows}
    row = by_key[("backend", "db", "postgres")]
    assert (row["expected"], row["actual"], row["status"]) == ("all", "none", "missing")
    row = by_key[("frontend", "backend", "web")]
    assert (row["expected"], row["actual"], row["status"]) == ("some", "all", "extra")
    assert not [r for r in rows if r["expected"] == r["actual"] == "none"]
    assert ("frontend", "db", "postgres") not in by_key


def test_port_intervals_cut_at_a_container_port_of_1():
    """A named container port at 1 or 65535 cuts the intervals there like any other port."""
    matrix = _matrix()
    pods = [{"namespace": "db", "name": "a", "ports": [{"name": "low", "containerPort": 1, "protocol": "SCTP"},
                                                       {"name": "high", "containerPort": 65535, "protocol": "SCTP"}]}]
    sctp = [k for k in port_intervals(matrix, (), pods) if k[2] == "SCTP"]
    assert sctp == [(1, 1, "SCTP"), (2, 65534, "SCTP"), (65535, 65535, "SCTP")]


def test_partial_lists_the_ports_only_some_pairs_reach():
    """A port that some pods of a cell reach and others do not is ``partial``, not ``actual``."""
    matrix = _matrix()
    leak = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "leak", "namespace": "db"},
            "spec": {"podSelector": {"matchExpressions": [{"key": PROBE_LABEL, "operator": "DoesNotExist"}]},
                     "policyTypes": ["Egress"], "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"port": 8080}]}]}}
    result = verify_matrix(matrix, manifests=compile_manifests(matrix) + [leak])
    cell = {(c["from"], c["to"]): c for c in result["cells"]}[("db", "@unmanaged")]
    assert (cell["actual"], cell["partial"], cell["status"]) == ([], ["8080/TCP"], "extra")
    ok = {(c["from"], c["to"]): c for c in result["cells"]}[("frontend", "backend")]
    assert ok["partial"] == [] and ok["actual"] == ["80/TCP", "8080/TCP"]


def test_a_range_split_by_other_services_is_expected_whole():
    """A service range (8000-8100) that other services' ports (8050, 8080) cut into intervals is expected on
    every one of them, the inner ones included."""
    raw = default_matrix()
    raw["services"].update(web=["8000-8100/tcp"], metrics=["8050/tcp"])
    raw["flows"] += [{"from": "frontend", "to": "db", "services": ["web"]},
                     {"from": "backend", "to": "db", "services": ["metrics"]}]
    matrix = normalize_matrix(raw, INVENTORY)
    result = verify_matrix(matrix)
    assert result["mismatches"] == []
    cells = {(c["from"], c["to"]): c for c in result["cells"]}
    assert cells[("frontend", "db")]["expected"] == ["8000-8049/TCP", "8050/TCP", "8051-8079/TCP", "8080/TCP",
                                                     "8081-8100/TCP"]
    assert cells[("backend", "db")]["expected"] == ["5432/TCP", "8050/TCP"]


def test_a_dns_port_range_split_by_other_services_is_expected_whole():
    """DNS ports given as a range (1000-2000/UDP) that a service port (1500/UDP) cuts into three intervals:
    every zone is expected to reach the DNS pods on all three, and the compiled policies are proven."""
    raw = default_matrix()
    raw["cluster"]["dns"] = {"ports": ["1000-2000/udp"]}
    raw["services"]["stats"] = ["1500/udp"]
    raw["flows"].append({"from": "backend", "to": "db", "services": ["stats"]})
    matrix = normalize_matrix(raw, INVENTORY)
    result = verify_matrix(matrix)
    assert result["mismatches"] == []
    cells = {(c["from"], c["to"]): c for c in result["cells"]}
    assert cells[("db", "kube-dns")]["expected"] == cells[("db", "kube-dns")]["actual"] == [
        "1000-1499/UDP", "1500/UDP", "1501-2000/UDP"]


def test_an_extra_policy_read_from_yaml_with_an_in_selector_is_caught():
    """A user's policy file (YAML, so its operator strings are not the collection's own) that opens db's
    egress to the pods ``app In [debug]`` is an extra flow: the proof's cluster has a pod that matches it."""
    matrix = _matrix()
    leak = yaml.safe_load("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: debug-out, namespace: db}
spec:
  podSelector:
    matchExpressions: [{key: app, operator: In, values: [debug]}]
  policyTypes: [Egress]
  egress: [{}]
""")
    result = verify_matrix(matrix, manifests=compile_manifests(matrix) + [leak])
    extra = [m for m in result["mismatches"] if (m["from"], m["to"]) == ("db", "@internet")]
    assert extra and extra[0]["kind"] == "extra" and "db/debug-out" in extra[0]["explanation"]


def test_probe_pods_take_the_pod_cidr_hosts_in_order():
    """Probe pods get the pod CIDR's host addresses in order: never its network or broadcast address."""
    matrix = _matrix()
    pods = representative_cluster(matrix, compile_manifests(matrix))["pods"]
    hosts = itertools.islice(ipaddress.ip_network(matrix["cluster"]["pod_cidr"]).hosts(), len(pods))
    assert [p["ip"] for p in pods] == [str(h) for h in hosts]
    assert pods[0]["ip"] == "10.1.0.1"


def test_a_pod_cidr_too_small_for_the_probes_is_named():
    raw = default_matrix()
    raw["cluster"]["pod_cidr"] = "10.1.0.0/30"
    matrix = normalize_matrix(raw, INVENTORY)
    with pytest.raises(MatrixError, match=r"^cluster.pod_cidr: 10.1.0.0/30 is too small for the representative cluster$"):
        verify_matrix(matrix)


def test_named_probes_skip_addresses_of_the_cluster():
    """An internet or private candidate inside the pod or service CIDR is passed over."""
    raw = default_matrix()
    raw["cluster"]["pod_cidr"] = "1.1.1.0/24"
    raw["cluster"]["service_cidr"] = "10.254.0.0/16"
    matrix = normalize_matrix(raw, INVENTORY)
    outside = representative_cluster(matrix, compile_manifests(matrix))["outside"]
    assert [str(a) for a in outside["@internet"]] == ["8.8.4.4"]
    assert [str(a) for a in outside["@private"]] == ["172.31.254.254"]


def test_a_block_probe_that_is_also_a_named_probe_is_probed_once():
    """1.1.1.1 is both the @internet probe and the address just below the peer block 1.1.1.2/31: it is
    probed once, as @internet."""
    raw = default_matrix()
    raw["peers"]["resolvers"] = {"cidr": "1.1.1.2/31"}
    matrix = normalize_matrix(raw, INVENTORY)
    outside = representative_cluster(matrix, compile_manifests(matrix))["outside"]
    assert [str(a) for a in outside["@internet"]] == ["1.1.1.1"]
    flat = [str(a) for addrs in outside.values() for a in addrs]
    assert flat.count("1.1.1.1") == 1
    assert [str(a) for a in outside["internet+resolvers"]] == ["1.1.1.2", "1.1.1.3"]


def test_the_internet_probe_is_an_address_only_the_internet_peer_holds():
    """@internet stands for addresses the matrix takes for the internet: a candidate held by a peer that is
    not the internet (1.1.1.1/32 'resolvers') or cut out of the internet peer is passed over."""
    raw = default_matrix()
    raw["peers"]["resolvers"] = {"cidr": "1.1.1.1/32"}
    cut = default_matrix()
    cut["peers"]["internet"]["except"] = cut["peers"]["internet"]["except"] + ["1.1.1.0/24"]
    for changed in (raw, cut):
        matrix = normalize_matrix(changed, INVENTORY)
        outside = representative_cluster(matrix, compile_manifests(matrix))["outside"]
        assert [str(a) for a in outside["@internet"]] == ["8.8.4.4"]


def test_outside_probes_stay_inside_the_address_family():
    """The probes just outside a CIDR that ends at the top of the IPv4 space (0.0.0.0/0, 224.0.0.0/4) stop
    at 255.255.255.255: an IPv4-only matrix gets IPv4 probes only, both ends of the space included."""
    matrix = _matrix()
    outside = representative_cluster(matrix, compile_manifests(matrix))["outside"]
    addresses = [a for addrs in outside.values() for a in addrs]
    assert {a.version for a in addresses} == {4}
    assert {"0.0.0.0", "255.255.255.255"} <= {str(a) for a in addresses}


def test_outside_probes_sit_on_both_sides_of_each_block():
    """For a peer's block the proof probes its first and last address and the addresses just outside it."""
    matrix = _matrix()
    outside = representative_cluster(matrix, compile_manifests(matrix))["outside"]
    addresses = {str(a) for addrs in outside.values() for a in addrs}
    assert {"192.0.1.255", "192.0.2.0", "192.0.2.255", "192.0.3.0"} <= addresses


def test_outside_probes_stop_at_the_top_of_the_ipv6_space():
    """A peer block that ends at ffff:...:ffff gets probes up to that address, none past the end of the space."""
    raw = default_matrix()
    raw["peers"]["external_db"]["cidrs"] = ["192.0.2.0/24", "ffff::/16"]
    matrix = normalize_matrix(raw, INVENTORY)
    outside = representative_cluster(matrix, compile_manifests(matrix))["outside"]
    addresses = {str(a) for addrs in outside.values() for a in addrs}
    assert {"fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} <= addresses
    assert verify_matrix(matrix)["mismatches"] == []


def test_outside_probes_of_an_ipv6_block_low_in_the_space_are_ipv6():
    """A block near the bottom of the IPv6 space (``::100/120``) is probed with IPv6 addresses, never with the
    IPv4 addresses of the same numbers."""
    raw = default_matrix()
    raw["peers"]["external_db"]["cidrs"] = ["192.0.2.0/24", "::100/120"]
    matrix = normalize_matrix(raw, INVENTORY)
    outside = representative_cluster(matrix, compile_manifests(matrix))["outside"]
    addresses = {str(a) for addrs in outside.values() for a in addrs}
    assert {"::ff", "::100", "::1ff", "::200"} <= addresses
    assert not {"0.0.0.255", "0.0.1.0", "0.0.1.255", "0.0.2.0"} & addresses


def test_cells_count_ordered_pairs_of_distinct_pods():
    """A cell's ``pairs`` is the number of ordered (source, destination) pod pairs, a pod never with itself."""
    matrix = _matrix()
    result = verify_matrix(matrix)
    cluster = representative_cluster(matrix, compile_manifests(matrix))
    # the pods of each zone endpoint (the proxy zone's are the egress proxies and "proxy:other-pods")
    per_zone = {name: len(refs) for name, refs in cluster["members"].items() if cluster["classes"][name][0] == "zone"}
    assert sum(per_zone.values()) == sum(1 for p in cluster["pods"] if p["namespace"] in {
        spec["namespace"] for spec in matrix["zones"].values()})
    cells = {(c["from"], c["to"]): c["pairs"] for c in result["cells"]}
    assert per_zone["frontend"] > 1
    for zone, count in per_zone.items():
        assert cells[(zone, zone)] == count * (count - 1), zone
    assert cells[("frontend", "backend")] == per_zone["frontend"] * per_zone["backend"]


def test_summary_counts_missing_and_extra_apart():
    """The proof's summary counts each kind of mismatch by itself."""
    matrix = _matrix()
    manifests = compile_manifests(matrix)
    # one rule removed: only "missing" mismatches
    cut = copy.deepcopy(manifests)
    allow = next(m for m in cut if m["kind"] == "NetworkPolicy" and m["spec"].get("ingress"))
    allow["spec"]["ingress"] = []
    result = verify_matrix(matrix, manifests=cut)
    kinds = [m["kind"] for m in result["mismatches"]]
    assert kinds and set(kinds) == {"missing"}
    assert (result["summary"]["missing"], result["summary"]["extra"]) == (len(kinds), 0)
    # db opened to every pod of the cluster: only "extra" mismatches
    opened = copy.deepcopy(manifests)
    opened.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "open-db", "namespace": matrix["zones"]["db"]["namespace"]},
                   "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                            "ingress": [{"from": [{"namespaceSelector": {}}]}]}})
    result = verify_matrix(matrix, manifests=opened)
    kinds = [m["kind"] for m in result["mismatches"]]
    assert kinds and set(kinds) == {"extra"}
    assert (result["summary"]["missing"], result["summary"]["extra"]) == (0, len(kinds))


@settings(max_examples=300, deadline=None)
@given(valid_matrix())
def test_random_valid_matrices_are_proven(raw):
    matrix = normalize_matrix(raw)
    result = verify_matrix(matrix)
    assert result["mismatches"] == [], result["mismatches"][:3]
    assert result["summary"]["cells"] > 0


def _live_pods(matrix, skip=()):
    pods = []
    n = 10
    for zone, spec in sorted(matrix["zones"].items()):
        if zone in skip:
            continue
        for i in range(3):
            n += 1
            pods.append({"namespace": spec["namespace"], "name": "%s-%d" % (zone, i), "labels": {"app": zone},
                         "ip": "10.1.0.%d" % n, "ports": []})
    pods.append({"namespace": "kube-system", "name": "coredns-1", "labels": {"k8s-app": "kube-dns"},
                 "ip": "10.1.1.2", "ports": []})
    return pods


def test_live_cluster_check():
    matrix = _matrix()
    manifests = compile_manifests(matrix)
    namespaces = {m["metadata"]["name"]: m["metadata"]["labels"] for m in manifests if m["kind"] == "Namespace"}
    policies = [m for m in manifests if m["kind"] == "NetworkPolicy"]
    result = verify_cluster(matrix, namespaces, _live_pods(matrix, skip=("proxy",)), policies)
    assert result["mismatches"] == []
    assert result["summary"]["no_pods"] > 0
    # a pair that expects nothing but has no pods to check is still listed, as unknown
    rows = [r for r in cell_table(matrix, result) if (r["from"], r["to"]) == ("proxy", "db")]
    assert rows and all((r["expected"], r["actual"], r["status"]) == ("none", "unknown", "no-pods") for r in rows)
    cells = {(c["from"], c["to"]): c for c in result["cells"]}
    assert cells[("frontend", "backend")]["pairs"] == 9
    assert cells[("backend", "proxy")]["status"] == "no-pods"
    # one foreign policy that opens one pod: the live check names the pods involved
    leak = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "debug", "namespace": "db"},
            "spec": {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}}
    result = verify_cluster(matrix, namespaces, _live_pods(matrix), policies + [leak])
    extra = [m for m in result["mismatches"] if m["from"] == "frontend" and m["to"] == "db"]
    # frontend's egress is still isolated, so end to end nothing changes; db's ingress alone is too wide
    assert extra and all((m["side"], m["zone"], m["kind"]) == ("ingress", "db", "extra") for m in extra)
    assert all("db/debug" in m["explanation"] for m in extra)
    # but kube-system is not policed: its DNS pod now reaches every db pod on every port
    extra = [m for m in result["mismatches"] if m["from"] == "kube-dns" and m["to"] == "db" and m["port"] == 80]
    assert extra and extra[0]["kind"] == "extra" and extra[0]["bad_pair_count"] == 3
    assert extra[0]["src"] == "kube-system/coredns-1" and "db/debug" in extra[0]["explanation"]
    assert {m["from"] for m in result["mismatches"] if m["side"] == "end-to-end"} == {"kube-dns"}


def test_a_mismatch_inside_a_zone_names_two_different_pods():
    """A policy that opens db to itself: every db -> db mismatch names a pair of two db pods, never a pod and
    itself (a pod's traffic to itself is not a pair the cells count)."""
    matrix = _matrix()
    manifests = compile_manifests(matrix)
    namespaces = {m["metadata"]["name"]: m["metadata"]["labels"] for m in manifests if m["kind"] == "Namespace"}
    policies = [m for m in manifests if m["kind"] == "NetworkPolicy"]
    leak = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "debug", "namespace": "db"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": [{"from": [{"podSelector": {}}]}], "egress": [{"to": [{"podSelector": {}}]}]}}
    result = verify_cluster(matrix, namespaces, _live_pods(matrix), policies + [leak])
    inside = [m for m in result["mismatches"] if (m["from"], m["to"]) == ("db", "db")]
    assert len(inside) > 5
    assert {(m["src"], m["dst"], m["bad_pair_count"], m["kind"]) for m in inside} == {("db/db-0", "db/db-1", 6, "extra")}


@pytest.mark.parametrize("expression", [
    {"key": "app", "operator": "NotIn", "values": ["legacy"]},
    {"key": "app", "operator": "DoesNotExist"},
    {"key": "app", "operator": "In", "values": ["web", "api"]},
    {"key": "app", "operator": "Exists"},
])
def test_an_allow_narrowed_by_a_selector_expression_is_caught(expression):
    """The matrix lets every frontend pod reach backend; an allow whose peer selector leaves out the pods on
    the other side of one expression (e.g. ``app NotIn [legacy]`` leaves out ``app: legacy``) is a missing
    flow, which the proof finds: its cluster has a pod on each side of every expression."""
    matrix = _matrix()
    manifests = copy.deepcopy(compile_manifests(matrix))
    allow = [m for m in manifests if m["kind"] == "NetworkPolicy" and m["metadata"]["namespace"] == "backend"
             and m["metadata"]["name"] == "netzone-ingress-from-frontend"][0]
    allow["spec"]["ingress"][0]["from"][0]["podSelector"] = {"matchExpressions": [expression]}
    result = verify_matrix(matrix, manifests)
    assert {(m["kind"], m["from"], m["to"], m["port"]) for m in result["mismatches"]} == {
        ("missing", "frontend", "backend", 80), ("missing", "frontend", "backend", 8080)}
    # only the pairs whose source the selector leaves out are wrong, each counted once
    pairs = {(c["from"], c["to"]): c["pairs"] for c in result["cells"]}[("frontend", "backend")]
    for mismatch in result["mismatches"]:
        assert 0 < mismatch["bad_pair_count"] < pairs
        assert len(mismatch["bad_pairs"]) == min(10, mismatch["bad_pair_count"])


@pytest.mark.parametrize("key, text", [((80, 80, "TCP"), "80/TCP"), ((5433, 65535, "UDP"), "5433-65535/UDP"),
                                       ((1, 2, "SCTP"), "1-2/SCTP")])
def test_interval_text(key, text):
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import interval_text  # pylint: disable=import-outside-toplevel

    assert interval_text(key) == text


@pytest.mark.parametrize("raw, sides", [
    ({}, [{}]),
    ({"matchLabels": {"app": "web"}}, [{"app": "web"}]),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]}, [{"tier": "a"}]),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, [{"tier": "netzone-proof"}]),
    # a negative expression: one label set that breaks it, then the one that matches
    ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["z", "y"]}]},
     [{"env": "y"}, {"app": "web"}]),
    ({"matchExpressions": [{"key": "debug", "operator": "DoesNotExist"}]}, [{"debug": "netzone-proof"}, {}]),
    # In on a key matchLabels already sets: the label stays, and the selector cannot match
    ({"matchLabels": {"tier": "x"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]}, []),
    ({"matchLabels": {"tier": "x"}, "matchExpressions": [{"key": "tier", "operator": "Exists"}]}, [{"tier": "x"}]),
])
def test_selector_sides_one_label_set_that_matches_and_one_per_negative_expression(raw, sides):
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.netpol_model import _parse_selector  # pylint: disable=import-outside-toplevel
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import _selector_sides  # pylint: disable=import-outside-toplevel

    assert _selector_sides(_parse_selector(raw, "podSelector")) == sides


def test_the_garbage_collector_is_left_as_it_was_found():
    import gc  # pylint: disable=import-outside-toplevel
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import _no_cyclic_gc  # pylint: disable=import-outside-toplevel

    was = gc.isenabled()
    try:
        gc.enable()
        with _no_cyclic_gc():
            assert not gc.isenabled()
        assert gc.isenabled()
        gc.disable()
        with _no_cyclic_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_address_probes_stop_at_the_cluster_cidrs():
    """The addresses just outside the pod and service CIDRs are probed; those inside are pods and Services, never
    outside addresses."""
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import proof  # pylint: disable=import-outside-toplevel

    matrix = normalize_matrix(None, INVENTORY)
    assert (matrix["cluster"]["pod_cidr"], matrix["cluster"]["service_cidr"]) == ("10.1.0.0/16", "10.152.183.0/24")
    probes = {str(a) for a in proof._address_probes(matrix, [])}
    assert {"10.0.255.255", "10.2.0.0", "10.152.182.255", "10.152.184.0"} <= probes
    assert not {"10.1.0.0", "10.1.255.255", "10.152.183.0", "10.152.183.255"} & probes


def test_the_proof_of_manifests_read_from_json_is_the_proof_of_the_compiled_ones():
    """What a live cluster or a plan file gives is parsed text, not this code's own strings: the same result."""
    import json  # pylint: disable=import-outside-toplevel

    matrix = normalize_matrix(default_matrix(), INVENTORY)
    manifests = compile_manifests(matrix)
    assert verify_matrix(matrix, json.loads(json.dumps(manifests))) == verify_matrix(matrix, manifests)


def test_a_missing_port_range_is_explained_at_its_first_port():
    """The explanation of a wrong interval is the engine's verdict on its first port (when that one is wrong)."""
    matrix = normalize_matrix({"services": {"app": ["9000-9002/tcp"]}, "zones": {"api": {}, "db": {}},
                               "flows": [{"from": "api", "to": "db", "services": ["app"]}],
                               "vhosts": [], "guards": {"internet_egress_zones": [], "ingress_zone": None}})
    manifests = [m for m in compile_manifests(matrix)
                 if not (m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == "netzone-ingress-from-api")]
    result = verify_matrix(matrix, manifests)
    missing = [m for m in result["mismatches"] if m["kind"] == "missing" and m["side"] == "end-to-end"]
    assert [(m["from"], m["to"], m["interval"]) for m in missing] == [("api", "db", "TCP 9000\u20139002")]
    assert missing[0]["explanation"] == (
        "denied: ingress of db/probe-0 is isolated by db/netzone-default-deny "
        "(no rule matches TCP/9000 from api/probe-0)")
