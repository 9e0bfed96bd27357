# -*- coding: utf-8 -*-
"""The matrix validator: the article's default, normalisation, path-naming errors, and a fuzz test."""

from __future__ import annotations

import copy
import ipaddress
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._common.validators import _distance
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import (
    default_matrix,
    normalize_matrix,
)

from matrix_strategies import junk, valid_matrix

INVENTORY = {"groups": {"loadbalancers": ["lb1", "lb2"], "microk8s": ["n1", "n2", "n3"]},
             "addresses": {"lb1": "10.0.0.11", "lb2": "10.0.0.12", "n1": "10.0.0.21", "n2": "10.0.0.22",
                           "n3": "10.0.0.23"}}


def test_default_is_the_article_model():
    m = normalize_matrix(None, INVENTORY)
    assert sorted(m["zones"]) == ["backend", "db", "frontend", "ingress", "proxy"]
    pairs = {(f["from"], f["to"]): f["services"] for f in m["flows"]}
    assert pairs[("load_balancers", "ingress")] == ["http"]
    assert pairs[("ingress", "api_server")] == ["kube_api"]          # zones.ingress.needs
    assert pairs[("backend", "backend")] == ["http"]                 # intra_zone
    assert pairs[("proxy", "internet")] == ["egress-upstream", "http", "https"]   # + derived from egress
    assert pairs[("backend", "proxy")] == ["egress-proxy-backend"]                  # derived: its own port
    assert not any(dst == "internet" for (src, dst) in pairs if src != "proxy")
    assert m["peers"]["load_balancers"]["cidrs"] == [{"cidr": "10.0.0.11/32", "except": []},
                                                     {"cidr": "10.0.0.12/32", "except": []}]
    assert m["services"]["kube_api"] == [{"port": 16443, "end_port": None, "protocol": "TCP"}]
    # internet = everything but the IANA special-purpose ranges (the cluster's own CIDRs and the inventory's
    # private addresses fall inside 10/8 and collapse into it; multicast and reserved collapse into 224/3)
    assert m["peers"]["internet"]["cidrs"] == [{"cidr": "0.0.0.0/0", "except": [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3"]}]
    assert m["peers"]["internet"]["internet"] is True


def _in_peer(peer, address):
    addr = ipaddress.ip_address(address)
    return any(addr.version == ipaddress.ip_network(b["cidr"]).version and addr in ipaddress.ip_network(b["cidr"])
               and not any(addr in ipaddress.ip_network(e) for e in b["except"]) for b in peer["cidrs"])


@pytest.mark.parametrize("address", ["169.254.169.254", "100.64.0.1", "0.0.0.1", "127.0.0.1", "224.0.0.251",
                                     "239.255.255.250", "240.0.0.1", "255.255.255.255", "198.18.0.1",
                                     "192.0.0.170", "10.1.2.3", "172.20.0.1", "192.168.1.1"])
def test_internet_is_never_special_purpose_space(address):
    internet = normalize_matrix(None, INVENTORY)["peers"]["internet"]
    assert not _in_peer(internet, address)
    assert _in_peer(internet, "1.1.1.1") and _in_peer(internet, "8.8.8.8")


def test_internet_excludes_the_inventory_hosts_even_public_ones():
    inventory = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1", "n2"], "all": ["lb1", "n1", "n2", "x"]},
                 "addresses": {"lb1": "5.6.7.8", "n1": "9.9.9.1", "n2": "2a01:4f8::21", "x": "name.example"}}
    m = normalize_matrix(None, inventory)
    internet = m["peers"]["internet"]
    for address in ("5.6.7.8", "9.9.9.1"):
        assert not _in_peer(internet, address)
    assert _in_peer(internet, "9.9.9.2")
    reasons = {(e["cidr"], e["reason"]) for e in internet["exclusions"]}
    assert ("5.6.7.8/32", "inventory host lb1") in reasons
    assert ("169.254.0.0/16", "IANA special-purpose: link local, cloud metadata 169.254.169.254 (RFC 3927)") in reasons
    assert ("10.152.183.0/24", "the cluster's service CIDR") in reasons
    # the same inventory seen from a matrix that also has ::/0: the v6 node goes out there
    raw = default_matrix()
    raw["peers"]["internet"]["cidrs"] = ["::/0"]
    internet = normalize_matrix(raw, inventory)["peers"]["internet"]
    for address in ("::1", "fe80::1", "fd00:ec2::254", "fc00::1", "ff02::1", "::ffff:169.254.169.254",
                    "64:ff9b::a9fe:a9fe", "2001:db8::1", "2a01:4f8::21", "169.254.169.254"):
        assert not _in_peer(internet, address), address
    assert _in_peer(internet, "2a00:1450::1") and _in_peer(internet, "8.8.8.8")


def test_an_internet_peer_that_is_one_inventory_host_is_that_host():
    """A block around a host loses the host; a block that is the host itself names it on purpose, and cutting it
    out would leave nothing: it stays, with no exception."""
    inventory = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1"]},
                 "addresses": {"lb1": "5.6.7.8", "n1": "9.9.9.1"}}
    raw = default_matrix()
    raw["peers"]["node"] = {"cidrs": ["9.9.9.1/32"], "internet": True}
    raw["peers"]["around"] = {"cidrs": ["9.9.9.0/24"], "internet": True}
    peers = normalize_matrix(raw, inventory)["peers"]
    assert (peers["node"]["cidrs"], peers["node"]["exclusions"]) == ([{"cidr": "9.9.9.1/32", "except": []}], [])
    assert (peers["around"]["cidrs"], peers["around"]["exclusions"]) == (
        [{"cidr": "9.9.9.0/24", "except": ["9.9.9.1/32"]}], [{"cidr": "9.9.9.1/32", "reason": "inventory host n1"}])


def test_internet_peer_inside_special_space_is_refused():
    raw = default_matrix()
    raw["peers"]["cgnat"] = {"cidrs": ["100.64.1.0/24"], "internet": True}
    with pytest.raises(MatrixError) as err:
        normalize_matrix(raw, INVENTORY)
    assert str(err.value).startswith("peers.cgnat.cidrs[0]: 100.64.1.0/24 is special-purpose address space "
                                     "(100.64.0.0/10 shared address space")
    raw["peers"]["cgnat"]["internet"] = False      # as an ordinary peer it is fine
    assert normalize_matrix(raw, INVENTORY)["peers"]["cgnat"]["cidrs"] == [{"cidr": "100.64.1.0/24", "except": []}]


def test_cluster_cidrs_are_cut_out_of_wide_peers():
    raw = default_matrix()
    raw["cluster"]["pod_cidr"] = "44.0.0.0/16"
    m = normalize_matrix(raw, INVENTORY)
    assert "44.0.0.0/16" in m["peers"]["internet"]["cidrs"][0]["except"]
    raw["peers"]["internet"]["include_cluster"] = True
    m = normalize_matrix(raw, INVENTORY)
    assert "44.0.0.0/16" not in m["peers"]["internet"]["cidrs"][0]["except"]


def test_normalisation_is_order_independent():
    raw = default_matrix()
    shuffled = copy.deepcopy(raw)
    shuffled["flows"].reverse()
    shuffled["zones"] = dict(reversed(list(shuffled["zones"].items())))
    assert normalize_matrix(raw, INVENTORY) == normalize_matrix(shuffled, INVENTORY)


def test_ports_forms():
    raw = default_matrix()
    raw["services"]["mixed"] = [80, "53/udp", "8000-8010/tcp", {"port": 9000, "end_port": 9001, "protocol": "sctp"}, "7-7"]
    m = normalize_matrix(raw, INVENTORY)
    assert m["services"]["mixed"] == [
        {"port": 9000, "end_port": 9001, "protocol": "SCTP"},
        {"port": 7, "end_port": None, "protocol": "TCP"},
        {"port": 80, "end_port": None, "protocol": "TCP"},
        {"port": 8000, "end_port": 8010, "protocol": "TCP"},
        {"port": 53, "end_port": None, "protocol": "UDP"},
    ]


def test_flow_lists_expand_and_merge():
    raw = default_matrix()
    raw["flows"].append({"from": ["frontend", "backend"], "to": "db", "services": ["postgres"]})
    raw["flows"].append({"from": "backend", "to": "db", "services": ["http"]})
    m = normalize_matrix(raw, INVENTORY)
    pairs = {(f["from"], f["to"]): f["services"] for f in m["flows"]}
    assert pairs[("frontend", "db")] == ["postgres"]
    assert pairs[("backend", "db")] == ["http", "postgres"]


def test_flow_to_a_peer_takes_its_default_services():
    raw = default_matrix()
    raw["flows"].append({"from": "backend", "to": "api_server"})
    m = normalize_matrix(raw, INVENTORY)
    assert {"from": "backend", "to": "api_server", "services": ["kube_api"]} in m["flows"]


def test_no_hint_beyond_two_edits():
    with pytest.raises(MatrixError) as info:
        normalize_matrix(_mutate(("flows", 3, "to"), "xbakcend"), INVENTORY)
    assert str(info.value) == "flows[3].to: unknown zone or peer 'xbakcend'"


def test_api_server_port_takes_the_whole_range():
    for port in (1, 65535):
        raw = default_matrix()
        raw["cluster"]["api_server_port"] = port
        assert normalize_matrix(raw, INVENTORY)["cluster"]["api_server_port"] == port


def test_ingress_host_ports_take_the_whole_range():
    raw = default_matrix()
    raw["guards"] = {"ingress_host_ports": [1, 65535]}
    assert normalize_matrix(raw, INVENTORY)["guards"]["ingress_host_ports"] == [1, 65535]


def _mutate(path, value):
    raw = default_matrix()
    target = raw
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


@pytest.mark.parametrize("path, value, message", [
    (("flows", 3, "to"), "bakend", "flows[3].to: unknown zone or peer 'bakend' (did you mean 'backend'?)"),
    (("flows", 0, "services"), ["htp"], "flows[0].services[0]: unknown service 'htp' (did you mean 'http'?)"),
    (("flows", 1, "from"), KeyError, "flows[1].from: is required"),
    (("flows", 1, "to"), KeyError, "flows[1].to: is required"),
    (("flows", 0, "services"), KeyError, "flows[0].services: is required (the destination has no default services)"),
    (("services", "http"), ["80/tcp", "99999/tcp"], "services.http[1]: port 99999 out of range 1-65535"),
    (("services", "http"), ["8000-70000/tcp"], "services.http[0]: port 70000 out of range 1-65535"),
    (("services", "http"), ["8000-65536/tcp"], "services.http[0]: port 65536 out of range 1-65535"),
    (("services", "http"), ["80/icmp"], "services.http[0]: unknown protocol 'icmp' (expected tcp, udp or sctp)"),
    (("services", "http"), ["90-80/tcp"], "services.http[0]: range 90-80 ends before it starts"),
    (("services", "http"), [], "services.http: must list at least one port"),
    (("peers", "external_db", "cidrs"), ["192.0.2.0/33"], "peers.external_db.cidrs[0]: invalid CIDR '192.0.2.0/33'"),
    (("peers", "internet", "except"), ["198.51.100.0/24", "::/0"],
     "peers.internet.except[1]: ::/0 is not strictly inside 0.0.0.0/0"),
    (("peers", "external_db"), {"description": "x"}, "peers.external_db: needs 'cidr', 'cidrs' or 'from_group'"),
    (("zones", "db", "namespace"), "backend", "zones.db.namespace: namespace 'backend' is already used by zone 'backend'"),
    (("zones", "db", "namespace"), "kube-system",
     "zones.db.namespace: 'kube-system' is reserved: the collection never writes policies there"),
    (("zones", "db", "namespace"), "Bad_NS", "zones.db.namespace: 'Bad_NS' is not a namespace name"),
    (("zones", "db", "colour"), "red", "zones.db.colour: unknown key"),
    (("zones", "ingress", "needs"), ["api_servr"], "zones.ingress.needs[0]: unknown peer 'api_servr' (did you mean 'api_server'?)"),
    (("zones",), {}, "zones: must define at least one zone"),
    (("guards",), {"ingress_zone": "ingres"}, "guards.ingress_zone: unknown zone 'ingres' (did you mean 'ingress'?)"),
    (("guards",), {"ingress_from": ["load_balancrs"]},
     "guards.ingress_from[0]: unknown zone or peer 'load_balancrs' (did you mean 'load_balancers'?)"),
    (("guards",), {"internet_egress_zones": ["proxy", "prxy"]},
     "guards.internet_egress_zones[1]: unknown zone 'prxy' (did you mean 'proxy'?)"),
    (("zones", "db", "namespace"), "d" * 64, "zones.db.namespace: '%s' is not a namespace name" % ("d" * 64)),
    (("services", "s" * 64), ["80/tcp"], "services.%s: '%s' is not a service name" % ("s" * 64, "s" * 64)),
    (("zones", "db", "labels"), {"netzone.io/zone": "x"}, "zones.db.labels.netzone.io/zone: is set by the collection"),
    (("zones", "db", "labels"), {"tier": "bad value!"},
     "zones.db.labels.tier: invalid label value 'bad value!' (at most 63 letters, digits, '-', '_', '.')"),
    (("peers", "external_db"), {"except": ["192.0.2.0/25"]}, "peers.external_db.except: needs a 'cidr' to be taken from"),
    (("peers", "external_db"), {"cidr": "192.0.2.0/24", "except": ["192.0.2.0/25", "192.0.2.128/25"]},
     "peers.external_db: the except list covers all of 192.0.2.0/24: nothing is left of this block"),
    (("zones", "ingress", "needs"), ["external_db"],
     "zones.ingress.needs[0]: peer 'external_db' has no default 'services'; write a flow instead"),
    (("zones", "internet"), {"namespace": "web"},
     "zones.internet: 'internet' is both a zone and a peer (names must differ, '-' and '_' alike)"),
    (("zones", "external-db"), {"namespace": "web"},
     "zones.external-db: 'external-db' is both a zone and a peer (names must differ, '-' and '_' alike)"),
    (("vhosts", 0, "zone"), "frontnd", "vhosts[0].zone: unknown zone 'frontnd'"),
    (("cluster", "api_server_port"), "16443", "cluster.api_server_port: expected an integer, got a string"),
    (("cluster", "api_server_port"), 70000, "cluster.api_server_port: port 70000 out of range 1-65535"),
    (("guards", ), {"nodeports": "maybe"}, "guards.nodeports: expected one of 'deny', 'warn' (staged rollout), got 'maybe'"),
    (("flows", 5), {"from": "frontend", "to": "internet", "services": ["https"]},
     "flows[5]: zone 'frontend' may not reach the internet peer 'internet' directly"),
    (("flows", 0), {"from": "backend", "to": "ingress", "services": ["http"]},
     "flows[0]: only 'load_balancers' may reach the ingress zone 'ingress' (guards.ingress_from)"),
    (("flows", 4), {"from": "internet", "to": "external_db", "services": ["http"]},
     "flows[4]: flow internet -> external_db joins two peers outside the cluster"),
    (("cluster", "dns"), {"pod_labels": {}}, "cluster.dns.pod_labels: must select the DNS pods (e.g. {k8s-app: kube-dns})"),
    (("cluster", "dns"), {"ports": []}, "cluster.dns.ports: must list at least one port"),
    (("zones", "db", "labels"), {"bad key!": "x"}, "zones.db.labels['bad key!']: invalid label key"),
    (("peers", "external-db"), {"cidr": "192.0.2.0/24"},
     "peers.external_db: 'external-db' and 'external_db' differ only by '-' and '_' (policy names would clash)"),
    (("peers", "external_db"), {"cidrs": [{"cidr": "192.0.2.0/24", "exept": []}]},
     "peers.external_db.cidrs[0].exept: unknown key (expected one of: cidr, except)"),
    (("guards",), {"ingress_host_ports": [443, 70000]}, "guards.ingress_host_ports[1]: port 70000 out of range 1-65535"),
    (("guards",), {"ingress_host_ports": [0]}, "guards.ingress_host_ports[0]: port 0 out of range 1-65535"),
    # a hint for a name two edits away ('bakcend': two letters swapped)
    (("flows", 3, "to"), "bakcend", "flows[3].to: unknown zone or peer 'bakcend' (did you mean 'backend'?)"),
])
def test_errors_name_the_path(path, value, message):
    with pytest.raises(MatrixError) as info:
        normalize_matrix(_mutate(path, value), INVENTORY)
    assert str(info.value).startswith(message)


def test_lockout_load_balancers_cut_from_ingress():
    raw = default_matrix()
    raw["flows"] = [f for f in raw["flows"] if f["to"] != "ingress"]
    with pytest.raises(MatrixError, match=r"^guards.ingress_from: no flow from 'load_balancers' into the ingress "
                                          r"zone 'ingress': the platform would be unreachable"):
        normalize_matrix(raw, INVENTORY)


@pytest.mark.parametrize("inventory, message", [
    (None, "peers.api_server.from_group: no inventory was given to resolve group 'microk8s'"),
    ({"groups": {"loadbalancers": ["lb1"]}, "addresses": {"lb1": "10.0.0.1"}},
     "peers.api_server.from_group: inventory group 'microk8s' is missing or empty"),
    ({"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1"]}, "addresses": {"lb1": "10.0.0.1"}},
     "peers.api_server.from_group: host 'n1' of group 'microk8s' has no IP address ('n1')"),
])
def test_group_resolution_errors(inventory, message):
    with pytest.raises(MatrixError) as info:
        normalize_matrix(None, inventory)
    assert str(info.value).startswith(message)


_PATH = re.compile(r"^(netzone_matrix|inventory|cluster|services|peers|zones|flows|vhosts|guards|egress)([.\[ ]|: ).*: .+|"
                   r"^(netzone_matrix|cluster|services|peers|zones|flows|vhosts|guards|egress): .+")


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


ALL_PATHS = [p for p in _paths(default_matrix()) if p]


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS), junk), min_size=1, max_size=3))
def test_fuzz_mutated_default_never_tracebacks(mutations):
    """Thousands of broken matrices: each is either accepted or refused with one path-naming MatrixError."""
    raw = default_matrix()
    for path, value in mutations:
        target = raw
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        normalize_matrix(raw, INVENTORY)
    except MatrixError as exc:
        assert _PATH.match(str(exc)) and "\n" not in str(exc).split(": ", maxsplit=1)[0], str(exc)


@settings(max_examples=1500, deadline=None)
@given(junk)
def test_fuzz_arbitrary_input_never_tracebacks(raw):
    try:
        normalize_matrix(raw if raw is not None else {}, INVENTORY)
    except MatrixError as exc:
        assert _PATH.match(str(exc)) and "\n" not in str(exc).split(": ", maxsplit=1)[0], str(exc)


@settings(max_examples=200, deadline=None)
@given(valid_matrix())
def test_random_valid_matrices_validate(raw):
    m = normalize_matrix(raw)
    assert set(m["zones"]) == set(raw["zones"])
    for flow in m["flows"]:
        assert flow["services"] == sorted(set(flow["services"]))


@pytest.mark.parametrize("raw, message", [({"zones": {1: {}}}, "zones: expected string keys, got an integer (1)"),
                                          ({"services": {None: ["80/tcp"]}}, "services: expected string keys, got null (None)")])
def test_non_string_keys_are_named(raw, message):
    """A mapping key that is not a string gets one error naming the mapping and the key's type (found by
    mutation testing: the message's formatting was never checked)."""
    with pytest.raises(MatrixError) as info:
        normalize_matrix(raw)
    assert str(info.value) == message


def test_overrides_go_into_the_raw_matrix_and_are_validated_with_it():
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import with_overrides

    raw = default_matrix()
    merged = with_overrides(raw, {"guards": {"nodeports": "warn"}, "cluster": {}})
    assert merged["guards"]["nodeports"] == "warn" and raw == default_matrix()  # the input is not changed
    assert normalize_matrix(merged, INVENTORY)["guards"]["nodeports"] == "warn"
    # An empty matrix is the article's model, with the overrides in it.
    assert with_overrides({}, {"guards": {"nodeports": "warn"}}) == merged
    assert with_overrides(None) == default_matrix()
    with pytest.raises(MatrixError, match=r"^guards\.nodeport_exempt_namespaces\[0\]: 'Bad_NS' is not a namespace name"):
        normalize_matrix(with_overrides({}, {"guards": {"nodeport_exempt_namespaces": ["Bad_NS"]}}), INVENTORY)
    with pytest.raises(MatrixError, match=r"^overrides\.guards: expected an object"):
        with_overrides({}, {"guards": ["warn"]})


def test_overrides_read_every_value_of_a_lazy_mapping():
    """Ansible hands filters mappings that compute their values when read: the result holds plain values."""
    from collections.abc import Mapping

    from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import with_overrides

    class Lazy(Mapping):
        def __init__(self, data):
            self._data = data
            self.reads = 0

        def __getitem__(self, key):
            self.reads += 1
            value = self._data[key]
            return Lazy(value) if isinstance(value, dict) else value

        def __iter__(self):
            return iter(self._data)

        def __len__(self):
            return len(self._data)

    lazy = Lazy(default_matrix())
    merged = with_overrides(lazy, {"guards": {"nodeports": "warn"}})
    assert isinstance(merged, dict) and isinstance(merged["zones"], dict) and lazy.reads >= len(default_matrix())
    assert normalize_matrix(merged, INVENTORY)["guards"]["nodeports"] == "warn"


@pytest.mark.parametrize("a, b, distance", [
    ("", "db", 2), ("db", "", 2), ("", "", 0), ("bakend", "backend", 1), ("db", "bd", 2), ("frontend", "fronted", 1),
])
def test_hint_distance_is_the_edit_distance(a, b, distance):
    """The 'did you mean' hints use the Levenshtein distance (insertions, deletions, substitutions)."""
    assert _distance(a, b) == distance


def test_port_ranges_reach_65535():
    raw = default_matrix()
    raw["services"]["high"] = ["65000-65535/tcp", "65535/udp"]
    services = normalize_matrix(raw, INVENTORY)["services"]["high"]
    assert [(e["port"], e["end_port"], e["protocol"]) for e in services] == [(65000, 65535, "TCP"), (65535, None, "UDP")]


def test_names_up_to_63_characters_are_valid():
    """Namespace and service names of 63 characters are accepted (64 are refused above)."""
    m = normalize_matrix(_mutate(("zones", "db", "namespace"), "d" * 63), INVENTORY)
    assert m["zones"]["db"]["namespace"] == "d" * 63
    m = normalize_matrix(_mutate(("services", "s" * 63), ["80/tcp"]), INVENTORY)
    assert m["services"]["s" * 63] == [{"port": 80, "end_port": None, "protocol": "TCP"}]
    # an inventory group name too: 63 characters are a name (of a group this inventory lacks), 64 are not
    for length, message in ((63, "inventory group '%s' is missing or empty: add its hosts to the inventory, or give cidrs"),
                            (64, "'%s' is not a group name (lowercase letters, digits and '-', at most 63 characters)")):
        with pytest.raises(MatrixError) as err:
            normalize_matrix(_mutate(("peers", "grp"), {"from_group": "g" * length}), INVENTORY)
        assert str(err.value) == "peers.grp.from_group: " + message % ("g" * length)


def test_a_range_may_end_at_port_1():
    """``1-1`` is the one port 1 (the range's end is checked against 1-65535 inclusive)."""
    m = normalize_matrix(_mutate(("services", "one"), ["1-1/tcp"]), INVENTORY)
    assert m["services"]["one"] == [{"port": 1, "end_port": None, "protocol": "TCP"}]


def test_internet_egress_pods_must_select_by_label():
    raw = default_matrix()
    raw["guards"] = dict(raw.get("guards") or {}, internet_egress_pods={})
    with pytest.raises(MatrixError) as err:
        normalize_matrix(raw, INVENTORY)
    assert str(err.value).startswith("guards.internet_egress_pods: must select the egress proxies' pods by label")
