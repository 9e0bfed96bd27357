# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters' own code: argument checks and defaults, what they hand the core (spied, the real core still
runs), how a core error becomes one filter error, and the warnings they show. The core is tested under
tests/unit/plugins/module_utils; here every expectation is written out by hand."""

from __future__ import annotations

from unittest import mock

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netzone.segmentation.plugins.filter import haproxy_routing as routing_plugin
from ansible_collections.netzone.segmentation.plugins.filter import lb_firewall as firewall_plugin
from ansible_collections.netzone.segmentation.plugins.filter import lb_settings as settings_plugin
from ansible_collections.netzone.segmentation.plugins.filter import plan as plan_plugin
from ansible_collections.netzone.segmentation.plugins.filter import plan_compact as compact_plugin
from ansible_collections.netzone.segmentation.plugins.filter import port_conflicts as ports_plugin
from ansible_collections.netzone.segmentation.plugins.filter import reachability as reach_plugin
from ansible_collections.netzone.segmentation.plugins.filter import report_sections as sections_plugin
from ansible_collections.netzone.segmentation.plugins.filter import verify_matrix as verify_plugin
from ansible_collections.netzone.segmentation.plugins.filter import vrrp_instances as vrrp_plugin
from ansible_collections.netzone.segmentation.plugins.filter import zone_manifests as manifests_plugin
from ansible_collections.netzone.segmentation.plugins.filter.matrix import FilterModule as MatrixFilters
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import NetzoneError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix
from ansible_collections.netzone.segmentation.plugins.plugin_utils import filter_support
from ansible_collections.netzone.segmentation.plugins.plugin_utils import matrix_input

GROUPS = {"all": ["lb1", "n1"], "loadbalancers": ["lb1"], "microk8s": ["n1"], "ungrouped": []}
HOSTVARS = {"lb1": {"ansible_host": "10.0.0.11"}, "n1": {"ansible_host": "node1.example", "netzone_address": "10.0.0.21"}}
NORMALISED = MatrixFilters().filters()["matrix"](None, groups=GROUPS, hostvars=HOSTVARS)


def _error(call, *args, **kwargs):
    with pytest.raises(AnsibleFilterError) as info:
        call(*args, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------------------------------------------------
# plugin_utils

def test_every_filter_is_registered_under_its_name():
    for plugin, name in ((routing_plugin, "haproxy_routing"), (firewall_plugin, "lb_firewall"),
                         (settings_plugin, "lb_settings"), (plan_plugin, "plan"), (compact_plugin, "plan_compact"), (ports_plugin, "port_conflicts"),
                         (reach_plugin, "reachability"), (sections_plugin, "report_sections"),
                         (verify_plugin, "verify_matrix"), (vrrp_plugin, "vrrp_instances"),
                         (manifests_plugin, "zone_manifests")):
        filters = plugin.FilterModule().filters()
        assert list(filters) == [name]
    assert vrrp_plugin.FilterModule().filters()["vrrp_instances"] is vrrp_plugin.vrrp_instances_filter


def test_run_turns_a_core_error_into_one_filter_error_and_passes_the_rest():
    def core(a, b=0):
        if a == "bad":
            raise NetzoneError("flows[3].to: unknown zone 'bakend'")
        return (a, b)

    assert filter_support.run("x", core, "good", b=2) == ("good", 2)
    assert _error(filter_support.run, "plan", core, "bad") == "netzone.segmentation.plan: flows[3].to: unknown zone 'bakend'"
    with pytest.raises(ZeroDivisionError):  # not a core error: not hidden
        filter_support.run("x", lambda: 1 // 0)
    assert isinstance(filter_support.filter_error("a", "b"), AnsibleFilterError)


def test_inventory_from_addresses_and_passthrough():
    given = {"groups": {}, "addresses": {}}
    assert filter_support.inventory_from(GROUPS, HOSTVARS, inventory=given) is given
    assert filter_support.inventory_from() is None
    assert filter_support.inventory_from(None, HOSTVARS) is None
    view = filter_support.inventory_from({"lbs": ["b", "a"], "nodes": None, "c": ["c"]},
                                         {"a": {"netzone_address": "192.0.2.1", "ansible_host": "198.51.100.1"},
                                          "b": {"ansible_host": "198.51.100.2"}, "c": {"netzone_address": ""}})
    assert view == {"groups": {"lbs": ["b", "a"], "nodes": [], "c": ["c"]},
                    "addresses": {"a": "192.0.2.1", "b": "198.51.100.2", "c": "c"}}
    assert list(view["addresses"]) == ["a", "b", "c"]
    assert filter_support.inventory_from({"g": ["h1"]}) == {"groups": {"g": ["h1"]}, "addresses": {"h1": "h1"}}
    assert _error(filter_support.inventory_from, ["lb1"]) == (
        "groups must be a mapping of group name to hosts (pass the 'groups' variable)")


@pytest.mark.parametrize("data", [None, [], {}, {"cluster": {"dns": {}}},
                                  dict(NORMALISED, cluster={"no_dns": 1}), dict(NORMALISED, cluster=["dns"]),
                                  {k: v for k, v in NORMALISED.items() if k != "guards"},
                                  {k: v for k, v in NORMALISED.items() if k != "cluster"}])
def test_require_normalized_refuses_what_the_user_wrote(data):
    assert _error(matrix_input.require_normalized, "plan", data) == (
        "netzone.segmentation.plan: expects a normalised matrix: write "
        "'netzone_matrix | netzone.segmentation.matrix | netzone.segmentation.plan'")


def test_require_normalized_returns_the_matrix_itself():
    assert matrix_input.require_normalized("plan", NORMALISED) is NORMALISED


# ---------------------------------------------------------------------------------------------------------
# report_sections

@pytest.mark.parametrize("kwargs, message", [
    ({"loadbalancers": {}}, "loadbalancers must be a list"),
    ({"audit": []}, "audit must be a mapping"),
    ({"live": "yes"}, "live must be a mapping"),
    ({"guardrail": []}, "guardrail must be a mapping"),
])
def test_report_sections_argument_types(kwargs, message):
    assert _error(sections_plugin.report_sections, NORMALISED, **kwargs) == "netzone.segmentation.report_sections: " + message


def test_report_sections_hands_the_core_copies_and_defaults():
    with mock.patch.object(sections_plugin, "_sections", wraps=sections_plugin._sections) as spy:
        out = sections_plugin.report_sections(NORMALISED)
        assert spy.call_args == mock.call(NORMALISED, [], {}, {}, None)
        lbs = [{"name": "lb1", "public_address": "203.0.113.10", "internal_address": "10.20.0.10"}]
        sections_plugin.report_sections(NORMALISED, loadbalancers=lbs, audit={"a": 1}, live={"b": 2})
        assert spy.call_args == mock.call(NORMALISED, lbs, {"a": 1}, {"b": 2}, None)
        proof = {"ok": False, "rows": []}
        mismatch = sections_plugin.report_sections(NORMALISED, guardrail=proof)
        assert spy.call_args == mock.call(NORMALISED, [], {}, {}, proof)
        assert spy.call_args[0][4] is not proof  # a copy
    assert mismatch[4]["title"] == "Cluster-wide guardrails" and "Proven on a probe cluster: MISMATCH." in mismatch[4]["markdown"]
    assert [s["title"] for s in out] == ["Live check", "Guardrails", "DNS records to publish", "NodePort audit",
                                         "Cluster-wide guardrails", "WAF and TLS in force", "Egress"]
    assert _error(sections_plugin.report_sections, {"zones": {}}) == (
        "netzone.segmentation.report_sections: expects a normalised matrix: write "
        "'netzone_matrix | netzone.segmentation.matrix | netzone.segmentation.report_sections'")


# ---------------------------------------------------------------------------------------------------------
# vrrp_instances

def _facts(*entries):
    """Ansible facts with interface ``name`` holding ``address/netmask`` and secondaries."""
    facts = {"interfaces": []}
    for name, primary, secondaries in entries:
        facts["interfaces"].append(name)
        facts[name] = {"ipv4": {"address": primary, "netmask": "255.255.255.0"},
                       "ipv4_secondaries": [{"address": a, "netmask": "255.255.255.0"} for a in secondaries]}
    return facts


LB1 = {"name": "lb-1", "interfaces": [{"name": "eth0", "address": "203.0.113.11", "prefix": 24}]}
LB2 = {"name": "lb-2", "interfaces": [{"name": "eth0", "address": "203.0.113.12", "prefix": 24}]}
VRRP = vrrp_plugin.FilterModule().filters()["vrrp_instances"]


def test_vrrp_instances_defaults():
    assert VRRP("lb-1", hosts=[LB1, LB2], vips={"public": "203.0.113.10"}, router_ids={"public": 51}) == [
        {"name": "NZ_PUBLIC", "exposure": "public", "interface": "eth0", "vip_interface": "eth0",
         "vip": "203.0.113.10", "prefix": 24, "router_id": 51, "priority": 150, "state": "MASTER", "preempt": True,
         "advert_int": 1, "unicast_src": "203.0.113.11", "unicast_peers": ["203.0.113.12"]}]


def test_vrrp_instances_settings_are_passed_on():
    out = VRRP("lb-2", hosts=[LB1, LB2], vips={"public": "203.0.113.10"}, router_ids={"public": 7}, preempt=False,
               advert_int=3)
    assert out == [
        {"name": "NZ_PUBLIC", "exposure": "public", "interface": "eth0", "vip_interface": "eth0",
         "vip": "203.0.113.10", "prefix": 24, "router_id": 7, "priority": 140, "state": "BACKUP", "preempt": False,
         "advert_int": 3, "unicast_src": "203.0.113.12", "unicast_peers": ["203.0.113.11"]}]
    with mock.patch.object(vrrp_plugin, "vrrp_instances", wraps=vrrp_plugin.vrrp_instances) as spy:
        VRRP("lb-1", hosts=[LB1, LB2], vips={"public": "203.0.113.10"}, router_ids={"public": 51})
        VRRP("lb-1", hosts=[LB1, LB2], vips={"public": "203.0.113.10"}, router_ids={"public": 51},
             network="203.0.113.0/24")
    hosts = [dict(LB1, priority=None), dict(LB2, priority=None)]
    assert spy.call_args_list == [
        mock.call(hosts[0], hosts, {"vips": {"public": "203.0.113.10"}, "router_ids": {"public": 51},
                                    "preempt": True, "advert_int": 1, "network": ""}),
        mock.call(hosts[0], hosts, {"vips": {"public": "203.0.113.10"}, "router_ids": {"public": 51},
                                    "preempt": True, "advert_int": 1, "network": "203.0.113.0/24"})]


def test_vrrp_instances_interfaces_from_facts_without_the_held_vip():
    hosts = [{"name": "lb-1", "facts": _facts(("eth0", "203.0.113.11", ["203.0.113.10", "203.0.113.99"]))},
             {"name": "lb-2", "priority": 200, "facts": _facts(("eth0", "203.0.113.12", []))}]
    with mock.patch.object(vrrp_plugin, "vrrp_instances", wraps=vrrp_plugin.vrrp_instances) as spy:
        out = VRRP("lb-1", hosts=hosts, vips={"public": "203.0.113.10"}, router_ids={"public": 51})
    one = {"name": "lb-1", "priority": None, "interfaces": [
        {"name": "eth0", "address": "203.0.113.11", "prefix": 24}, {"name": "eth0", "address": "203.0.113.99", "prefix": 24}]}
    two = {"name": "lb-2", "priority": 200, "interfaces": [{"name": "eth0", "address": "203.0.113.12", "prefix": 24}]}
    assert spy.call_args[0][:2] == (one, [one, two])
    assert [(i["priority"], i["state"], i["unicast_peers"]) for i in out] == [(150, "BACKUP", ["203.0.113.12"])]


def test_vrrp_instances_matches_the_name_by_value_and_takes_the_first():
    # a name built at run time (as Ansible's templating does) is equal to, not the same object as, the hosts'
    name = "".join(["lb", "-1"])
    twin = {"name": "lb-1", "interfaces": [{"name": "eth9", "address": "203.0.113.99", "prefix": 24}]}
    with mock.patch.object(vrrp_plugin, "vrrp_instances", wraps=vrrp_plugin.vrrp_instances) as spy:
        VRRP(name, hosts=[LB1, LB2, twin], vips={"public": "203.0.113.10"}, router_ids={"public": 51})
    assert spy.call_args[0][0] == dict(LB1, priority=None)


def test_vrrp_instances_picks_its_own_host_whatever_the_order():
    out = VRRP("lb-1", hosts=[LB2, LB1], vips={"public": "203.0.113.10"}, router_ids={"public": 51})
    assert [(i["unicast_src"], i["unicast_peers"], i["priority"]) for i in out] == [
        ("203.0.113.11", ["203.0.113.12"], 140)]
    assert _error(VRRP, "lb-0", hosts=[LB1, LB2], vips={"public": "203.0.113.10"}, router_ids={"public": 51}) == (
        "netzone.segmentation.vrrp_instances: host lb-0 is not one of the load balancers ['lb-1', 'lb-2']")


def test_vrrp_instances_for_a_host_that_is_not_a_load_balancer():
    assert _error(VRRP, "lb-9", hosts=[LB1], vips={"public": "203.0.113.10"}, router_ids={"public": 51}) == (
        "netzone.segmentation.vrrp_instances: host lb-9 is not one of the load balancers ['lb-1']")
    assert VRRP("lb-1", hosts=[LB1]) == []
    assert _error(VRRP, "lb-1") == "netzone.segmentation.vrrp_instances: host lb-1 is not one of the load balancers []"


@pytest.mark.parametrize("hosts", [{"name": "lb-1"}, ["lb-1"], [LB1, "lb-2"]])
def test_vrrp_instances_hosts_must_be_a_list_of_mappings(hosts):
    assert _error(VRRP, "lb-1", hosts=hosts) == "netzone.segmentation.vrrp_instances: hosts must be a list of mappings"


# ---------------------------------------------------------------------------------------------------------
# reachability

OBJECTS = [
    {"kind": "Namespace", "metadata": {"name": "shop", "labels": {"kubernetes.io/metadata.name": "shop"}}},
    {"kind": "Pod", "metadata": {"namespace": "shop", "name": "web", "labels": {"app": "web"}},
     "status": {"podIP": "10.1.0.5"}},
    {"kind": "Pod", "metadata": {"namespace": "shop", "name": "db", "labels": {"app": "db"}},
     "status": {"podIP": "10.1.0.6"}},
]
REACH = reach_plugin.FilterModule().filters()["reachability"]


def test_reachability_default_port_and_no_row_from_a_pod_to_itself():
    assert REACH(OBJECTS) == [
        {"from": "shop/web", "to": "shop/db", "port": 80, "protocol": "TCP", "allowed": True},
        {"from": "shop/db", "to": "shop/web", "port": 80, "protocol": "TCP", "allowed": True},
    ]


def test_reachability_ports_and_explanations():
    rows = REACH(OBJECTS, sources=["shop/web"], destinations=["shop/db"], ports=["53/udp", 443], explain="yes")
    assert [(r["port"], r["protocol"], r["allowed"], sorted(r)) for r in rows] == [
        (53, "UDP", True, ["allowed", "explanation", "from", "port", "protocol", "to"]),
        (443, "TCP", True, ["allowed", "explanation", "from", "port", "protocol", "to"])]
    assert all(isinstance(r["explanation"], str) and r["explanation"] for r in rows)
    rows = REACH(OBJECTS, sources=["shop/web"], destinations=["shop/db"], ports=[443], explain=0)
    assert rows == [{"from": "shop/web", "to": "shop/db", "port": 443, "protocol": "TCP", "allowed": True}]


def test_reachability_names_the_bad_port():
    assert _error(REACH, OBJECTS, ports=[80, "http"]).startswith(
        "netzone.segmentation.reachability: ports[1]: invalid port ")


# ---------------------------------------------------------------------------------------------------------
# plan

def _raw_with_host_bits():
    raw = default_matrix()
    raw["peers"]["office"] = {"cidr": "192.0.2.5/24"}
    return raw


def test_plan_passes_every_argument_to_the_core():
    with mock.patch.object(plan_plugin, "build_plan", wraps=plan_plugin.build_plan) as spy:
        plan_plugin.plan(None, groups=GROUPS, hostvars=HOSTVARS)
        with pytest.raises(AnsibleFilterError):
            plan_plugin.plan({"zones": {}}, groups={"g": ["h"]}, overrides={"o": 1}, extra_policies=[2], egress={"e": 3},
                             guard={"g": 4}, reuse={"r": 5})
    assert spy.call_args_list == [
        mock.call(None, {"groups": GROUPS, "addresses": {"lb1": "10.0.0.11", "n1": "10.0.0.21"}},
                  None, None, None, None, None),
        mock.call({"zones": {}}, {"groups": {"g": ["h"]}, "addresses": {"h": "h"}}, {"o": 1}, [2], {"e": 3}, {"g": 4},
                  {"r": 5})]


def test_plan_compact_keeps_what_the_digest_covers_and_names_a_value_that_is_not_a_plan():
    built = plan_plugin.plan(None, groups=GROUPS, hostvars=HOSTVARS)
    small = compact_plugin.plan_compact(built)
    assert "cells" not in small["proof"] and "rows" not in small["guardrail"]
    assert (small["digest"], small["manifests"]) == (built["digest"], built["manifests"])
    assert _error(compact_plugin.plan_compact, {"manifests": []}) == (
        "netzone.segmentation.plan_compact: plan: not a plan: build it with the netzone.segmentation.plan filter")


def test_plan_shows_each_warning_once_and_none_for_a_reused_plan():
    with mock.patch.object(plan_plugin.display, "warning") as warning:
        built = plan_plugin.plan(_raw_with_host_bits(), groups=GROUPS, hostvars=HOSTVARS)
        assert warning.call_args_list == [
            mock.call("netzone.segmentation.plan: peers.office.cidr: 192.0.2.5/24 has host bits set; "
                      "it is taken as 192.0.2.0/24")]
        assert plan_plugin.plan(_raw_with_host_bits(), groups=GROUPS, hostvars=HOSTVARS, reuse=built) is built
        assert len(warning.call_args_list) == 1
        plan_plugin.plan(None, inventory={"groups": GROUPS, "addresses": {"lb1": "10.0.0.11", "n1": "10.0.0.21"}})
        assert len(warning.call_args_list) == 1


def test_plan_core_error():
    message = _error(plan_plugin.FilterModule().filters()["plan"],
                     {"zones": {"a": {}}, "flows": [{"from": "a", "to": "bakend", "services": ["x"]}]})
    assert message.startswith("netzone.segmentation.plan: flows[0].to: unknown zone or peer 'bakend'")


# ---------------------------------------------------------------------------------------------------------
# zone_manifests and verify_matrix

def test_zone_manifests_grouping():
    flat = manifests_plugin.zone_manifests(NORMALISED)
    kinds = sorted({o["kind"] for o in flat})
    by_kind = manifests_plugin.zone_manifests(NORMALISED, group_by="kind")
    assert sorted(by_kind) == kinds
    assert [o for k in kinds for o in by_kind[k]] == sorted(flat, key=lambda o: kinds.index(o["kind"]))
    by_zone = manifests_plugin.zone_manifests(NORMALISED, group_by="zone")
    assert sum(len(v) for v in by_zone.values()) == len(flat) and sorted(by_zone)[:2] == ["backend", "cluster"]
    assert manifests_plugin.zone_manifests(NORMALISED, group_by="".join(["no", "ne"])) == flat  # by value
    assert _error(manifests_plugin.zone_manifests, NORMALISED, group_by="colour") == (
        "netzone.segmentation.zone_manifests: group_by must be none, kind or zone, got 'colour'")
    assert _error(manifests_plugin.zone_manifests, NORMALISED, group_by=None) == (
        "netzone.segmentation.zone_manifests: group_by must be none, kind or zone, got None")


def test_verify_matrix_table_switch_and_manifests():
    with mock.patch.object(verify_plugin, "_verify", wraps=verify_plugin._verify) as spy:
        proven = verify_plugin.verify_matrix(NORMALISED)
        without = verify_plugin.verify_matrix(NORMALISED, manifests=[], table=0)
    assert spy.call_args_list == [mock.call(NORMALISED, None), mock.call(NORMALISED, [])]
    assert proven["mismatches"] == [] and isinstance(proven["table"], list) and proven["table"]
    assert "table" not in without and without["mismatches"]


# ---------------------------------------------------------------------------------------------------------
# lb_settings, lb_firewall, haproxy_routing, port_conflicts

def test_lb_settings_passes_its_arguments_and_shows_each_warning():
    checked = {"problems": [], "warnings": ["w1", "w2"]}
    with mock.patch.object(settings_plugin, "check_settings", return_value=checked) as core, \
            mock.patch.object(settings_plugin.display, "warning") as warning:
        assert settings_plugin.lb_settings({"s": 1}, [{"name": "n"}]) is checked
        assert core.call_args == mock.call({"s": 1}, [{"name": "n"}], None, (), None)
        settings_plugin.lb_settings({}, [], group="microk8s", tls_profiles=["modern", "old"], listeners={"l": 1})
        assert core.call_args == mock.call({}, [], "microk8s", ("modern", "old"), {"l": 1})
    assert warning.call_args_list == [mock.call("netzone.segmentation.lb_settings: w1"),
                                      mock.call("netzone.segmentation.lb_settings: w2")] * 2


def test_lb_firewall_defaults_and_peers():
    with mock.patch.object(firewall_plugin, "firewall_rules", wraps=firewall_plugin.firewall_rules) as spy:
        firewall_plugin.lb_firewall(None)
        firewall_plugin.lb_firewall([{"unicast_peers": ["192.0.2.12", "192.0.2.9"]}, {"unicast_peers": ["192.0.2.12"]}],
                                    nodes=[{"name": "n1", "address": "192.0.2.21"}], node_port=8080, user="www",
                                    guard_nodes=False)
        firewall_plugin.lb_firewall([])
    assert spy.call_args_list == [
        mock.call(None, [], 80, "haproxy", True),
        mock.call(["192.0.2.9", "192.0.2.12"], [{"name": "n1", "address": "192.0.2.21"}], 8080, "www", False),
        mock.call([], [], 80, "haproxy", True)]


def test_haproxy_routing_defaults_and_error():
    with mock.patch.object(routing_plugin, "_haproxy_routing", return_value={"r": 1}) as core:
        assert routing_plugin.haproxy_routing([{"v": 1}], {"public": {}}) == {"r": 1}
        routing_plugin.haproxy_routing([], {}, default_vhost="shop", request_headers=["X-A"])
    assert core.call_args_list == [mock.call([{"v": 1}], {"public": {}}, "", []),
                                   mock.call([], {}, "shop", ["X-A"])]
    with mock.patch.object(routing_plugin, "_haproxy_routing", side_effect=NetzoneError("listeners.public: bad")):
        assert _error(routing_plugin.haproxy_routing, [], {}) == "netzone.segmentation.haproxy_routing: listeners.public: bad"


def test_port_conflicts_own_programs():
    listening = [{"address": "0.0.0.0", "port": 443, "name": "nginx", "pid": 20, "protocol": "tcp"}]
    wanted = [{"address": "*", "port": 443, "what": "public HTTPS frontend", "var": "loadbalancer_public_https_port"}]
    conflict = {"want": "*:443", "what": "public HTTPS frontend", "var": "loadbalancer_public_https_port",
                "local": "0.0.0.0:443", "owner": "'nginx' (pid 20)"}
    assert ports_plugin.port_conflicts(listening, wanted) == [conflict]
    assert ports_plugin.port_conflicts(listening, wanted, own_programs=["haproxy", "nginx"]) == []
    with mock.patch.object(ports_plugin, "_port_conflicts", return_value=[]) as core:
        ports_plugin.port_conflicts([], [])
        ports_plugin.port_conflicts([], [], ["a"])
    assert core.call_args_list == [mock.call([], [], ()), mock.call([], [], ("a",))]
