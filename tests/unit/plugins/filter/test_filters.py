# -*- coding: utf-8 -*-
"""The four filters: thin wrappers that translate arguments and turn core errors into filter errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netzone.segmentation.plugins.filter.matrix import FilterModule as MatrixFilters
from ansible_collections.netzone.segmentation.plugins.filter.zone_manifests import FilterModule as PolicyFilters
from ansible_collections.netzone.segmentation.plugins.filter.reachability import FilterModule as ReachFilters
from ansible_collections.netzone.segmentation.plugins.filter.verify_matrix import FilterModule as VerifyFilters

matrix = MatrixFilters().filters()["matrix"]
network_policies = PolicyFilters().filters()["zone_manifests"]
reachability = ReachFilters().filters()["reachability"]
verify_matrix = VerifyFilters().filters()["verify_matrix"]

GROUPS = {"all": ["lb1", "n1"], "loadbalancers": ["lb1"], "microk8s": ["n1"], "ungrouped": []}
HOSTVARS = {"lb1": {"ansible_host": "10.0.0.11"}, "n1": {"ansible_host": "node1.example", "netzone_address": "10.0.0.21"}}


def _normalised():
    return matrix(None, groups=GROUPS, hostvars=HOSTVARS)


def test_matrix_resolves_groups_from_hostvars():
    m = _normalised()
    assert m["peers"]["load_balancers"]["cidrs"] == [{"cidr": "10.0.0.11/32", "except": []}]
    assert m["peers"]["api_server"]["cidrs"] == [{"cidr": "10.0.0.21/32", "except": []}]  # netzone_address wins


def test_matrix_error_names_filter_and_path():
    with pytest.raises(AnsibleFilterError) as info:
        matrix({"zones": {"a": {}}, "flows": [{"from": "a", "to": "bakend", "services": ["x"]}]})
    assert str(info.value).startswith("netzone.segmentation.matrix: flows[0].to: unknown zone or peer 'bakend'")


def test_network_policies_needs_normalised_input():
    with pytest.raises(AnsibleFilterError, match="expects a normalised matrix"):
        network_policies({"zones": {"a": {}}})
    with pytest.raises(AnsibleFilterError, match="group_by must be none, kind or zone"):
        network_policies(_normalised(), group_by="colour")


def test_network_policies_grouping():
    m = _normalised()
    flat = network_policies(m)
    by_kind = network_policies(m, group_by="kind")
    assert len(flat) == sum(len(v) for v in by_kind.values())
    assert sorted(network_policies(m, group_by="zone"))[0] == "backend"


def test_reachability_table_over_objects():
    objects = network_policies(_normalised()) + [
        {"kind": "Pod", "metadata": {"namespace": "frontend", "name": "web-1", "labels": {"app": "web"}},
         "status": {"podIP": "10.1.0.5"}},
        {"kind": "Pod", "metadata": {"namespace": "backend", "name": "api-1", "labels": {"app": "api"}},
         "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
         "status": {"podIP": "10.1.0.6"}},
    ]
    rows = reachability(objects, sources=["frontend/web-1", "ip:203.0.113.9"], destinations=["backend/api-1"],
                        ports=["8080/tcp", 22], explain=True)
    verdicts = {(r["from"], r["port"]): r["allowed"] for r in rows}
    assert verdicts == {("frontend/web-1", 8080): True, ("frontend/web-1", 22): False,
                        ("ip:203.0.113.9", 8080): False, ("ip:203.0.113.9", 22): False}
    assert all("explanation" in r for r in rows)


def test_reachability_bad_input():
    with pytest.raises(AnsibleFilterError, match=r"^netzone.segmentation.reachability: ports\[0\]: invalid port"):
        reachability([], ports=["http"])
    with pytest.raises(AnsibleFilterError, match=r"objects\[0\]: must be a Kubernetes object"):
        reachability(["nope"])


def test_verify_matrix_filter():
    m = _normalised()
    proof = verify_matrix(m)
    assert proof["mismatches"] == [] and proof["table"]
    broken = [o for o in network_policies(m) if o["metadata"]["name"] != "netzone-egress-to-backend"]
    proof = verify_matrix(m, manifests=broken, table=False)
    assert {x["kind"] for x in proof["mismatches"]} == {"missing"} and "table" not in proof


def test_inventory_filter():
    from ansible_collections.netzone.segmentation.plugins.filter.inventory import FilterModule as InventoryFilters
    inventory = InventoryFilters().filters()["inventory"]
    view = inventory(GROUPS, HOSTVARS)
    assert view == {"groups": {"all": ["lb1", "n1"], "loadbalancers": ["lb1"], "microk8s": ["n1"], "ungrouped": []},
                    "addresses": {"lb1": "10.0.0.11", "n1": "10.0.0.21"}}
    with pytest.raises(AnsibleFilterError, match="groups must be a mapping"):
        inventory(["lb1"], HOSTVARS)


def test_lb_firewall_filter():
    from ansible_collections.netzone.segmentation.plugins.filter.lb_firewall import FilterModule as FirewallFilters
    lb_firewall = FirewallFilters().filters()["lb_firewall"]
    instances = [{"unicast_peers": ["192.0.2.12"]}, {"unicast_peers": ["198.51.100.12"]}]
    rules = lb_firewall(instances, nodes=[{"name": "n1", "address": "192.0.2.21"}], node_port=8080)
    assert (rules["vrrp"], rules["vrrp_peers4"], rules["nodes4"], rules["node_port"]) == (
        True, ["192.0.2.12", "198.51.100.12"], ["192.0.2.21"], 8080)
    assert lb_firewall(None, nodes=[])["vrrp"] is False
    message = "netzone.segmentation.lb_firewall: loadbalancer_firewall_guard_nodes: node n1 .* not an IP address"
    with pytest.raises(AnsibleFilterError, match=message):
        lb_firewall(None, nodes=[{"name": "n1", "address": "node-1"}])


def test_guardrail_proof_filter():
    from ansible_collections.netzone.segmentation.plugins.filter.guardrail_proof import FilterModule as GuardrailFilters
    guardrail_proof = GuardrailFilters().filters()["guardrail_proof"]
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix
    raw = default_matrix()
    raw.setdefault("guards", {})["unmanaged_internet"] = "deny"
    m = matrix(raw, groups=GROUPS, hostvars=HOSTVARS)
    proof = guardrail_proof(m)
    assert proof["ok"] and proof["stage"] == "deny"
    # the manifests about to be applied without their AdminNetworkPolicy: the unmanaged namespace gets the internet
    without = [o for o in network_policies(m) if o["kind"] != "AdminNetworkPolicy"]
    proof = guardrail_proof(m, manifests=without)
    assert not proof["ok"]
    assert {(r["namespace"], r["internet"]) for r in proof["rows"] if not r["ok"]} == {("default", "allowed")}
    with pytest.raises(AnsibleFilterError, match="guardrail_proof"):
        guardrail_proof({"zones": {}})


def test_reachability_without_sources_leaves_out_a_pod_to_itself():
    objects = [{"kind": "Namespace", "metadata": {"name": "web"}},
               {"kind": "Pod", "metadata": {"namespace": "web", "name": "a"}, "status": {"podIP": "10.1.0.5"}},
               {"kind": "Pod", "metadata": {"namespace": "web", "name": "b"}, "status": {"podIP": "10.1.0.6"}}]
    assert reachability(objects) == [
        {"from": "web/a", "to": "web/b", "port": 80, "protocol": "TCP", "allowed": True},
        {"from": "web/b", "to": "web/a", "port": 80, "protocol": "TCP", "allowed": True}]


def test_a_given_inventory_wins_and_no_groups_is_no_inventory():
    from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import inventory_from  # pylint: disable=import-outside-toplevel

    given = {"groups": {"lb": ["x"]}, "addresses": {"x": "192.0.2.1"}}
    assert inventory_from(GROUPS, HOSTVARS, given) is given
    assert inventory_from() is None
    assert inventory_from({"lb": ["x", "y"], "none": None}, {"x": {}}) == {
        "groups": {"lb": ["x", "y"], "none": []}, "addresses": {"x": "x", "y": "y"}}


def test_egress_workload_filter_refuses_files_that_are_not_a_mapping():
    from ansible_collections.netzone.segmentation.plugins.filter.egress_workload import FilterModule as EgressFilters  # pylint: disable=import-outside-toplevel

    egress_workload = EgressFilters().filters()["egress_workload"]
    with pytest.raises(AnsibleFilterError) as info:
        egress_workload(_normalised(), files=["ca.pem"])
    assert str(info.value) == "netzone.segmentation.egress_workload: files must be a mapping of path to file content"


def test_egress_workload_filter_takes_any_positive_number_of_replicas():
    from ansible_collections.netzone.segmentation.plugins.filter.egress_workload import FilterModule as EgressFilters  # pylint: disable=import-outside-toplevel

    egress_workload = EgressFilters().filters()["egress_workload"]
    for replicas in (1, 3):
        deployments = [o for o in egress_workload(_normalised(), secrets="omit", replicas=replicas) if o["kind"] == "Deployment"]
        assert deployments and {d["spec"]["replicas"] for d in deployments} == {replicas}
    for bad in (0, -1, True, "2"):
        with pytest.raises(AnsibleFilterError) as info:
            egress_workload(_normalised(), replicas=bad)
        assert str(info.value) == "netzone.segmentation.egress_workload: replicas must be a positive integer, got %r" % (bad,)
