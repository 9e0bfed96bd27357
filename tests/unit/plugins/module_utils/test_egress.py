# -*- coding: utf-8 -*-
"""The matrix egress section: validation with path-naming errors, per-zone ports, derived flows, and the proof
that each zone reaches only its own proxy port (and only the originations it is listed for)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_matrix

INVENTORY = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1"]},
             "addresses": {"lb1": "10.0.0.11", "n1": "10.0.0.21"}}


def matrix_with(egress):
    raw = default_matrix()
    raw["egress"] = egress
    return raw


def two_zones():
    """backend and frontend each with their own port; one origination for backend only."""
    return matrix_with({
        "zones": {"backend": {"port": 3128, "domains": ["api.example.com", "*.example.org"], "ports": [443, 80]},
                  "frontend": {"port": 3129, "domains": ["cdn.example.net"], "report_only": True}},
        "originations": [{"name": "payments", "from": ["backend"], "upstream": "https://pay.example.com:8443",
                          "ca": "files/pay-ca.pem", "client_cert": {"cert": "files/c.pem", "key": "files/c.key"},
                          "port": 8080}],
    })


def test_default_matrix_carries_an_egress_section_and_derives_the_backend_flow():
    m = normalize_matrix(None, INVENTORY)
    assert m["egress"]["zones"]["backend"]["port"] == 3128
    assert m["egress"]["namespace"] == "proxy"
    pairs = {(f["from"], f["to"]): f["services"] for f in m["flows"]}
    assert pairs[("backend", "proxy")] == ["egress-proxy-backend"]
    assert m["services"]["egress-proxy-backend"] == [{"port": 3128, "end_port": None, "protocol": "TCP"}]
    assert not any(dst == "proxy" for (src, dst) in pairs if src not in ("backend",))


def test_no_section_means_no_egress_and_written_flows_stay():
    raw = default_matrix()
    del raw["egress"]
    raw["services"]["http_proxy"] = ["3128/tcp"]
    raw["flows"].append({"from": "backend", "to": "proxy", "services": ["http_proxy"]})
    m = normalize_matrix(raw, INVENTORY)
    assert m["egress"] is None
    assert {(f["from"], f["to"]): f["services"] for f in m["flows"]}[("backend", "proxy")] == ["http_proxy"]


def test_normalised_section():
    m = normalize_matrix(two_zones(), INVENTORY)
    eg = m["egress"]
    assert eg["zones"]["frontend"] == {"port": 3129, "domains": ["cdn.example.net"], "ports": [443],
                                       "report_only": True, "service": "egress-proxy-frontend"}
    assert eg["zones"]["backend"]["ports"] == [80, 443]
    orig = eg["originations"][0]
    assert orig["upstream"] == {"url": "https://pay.example.com:8443", "host": "pay.example.com", "port": 8443}
    assert orig["from"] == ["backend"] and orig["port"] == 8080
    pairs = {(f["from"], f["to"]): f["services"] for f in m["flows"]}
    assert pairs[("backend", "proxy")] == ["egress-origin-payments", "egress-proxy-backend"]
    assert pairs[("frontend", "proxy")] == ["egress-proxy-frontend"]
    # the upstream ports: the allow-lists' and the origination's
    assert [p["port"] for p in m["services"]["egress-upstream"]] == [80, 443, 8443]
    assert "egress-upstream" in pairs[("proxy", "internet")]


def test_default_ports_are_assigned_in_zone_order_around_explicit_ones():
    raw = matrix_with({"zones": {"backend": {"domains": ["a.example.com"]},
                                 "db": {"port": 3128, "domains": ["b.example.com"]},
                                 "frontend": {}},
                       "originations": [{"name": "a", "from": "frontend", "upstream": "https://a.example.com",
                                         "ca": "ca.pem"},
                                        {"name": "b", "from": "frontend", "upstream": "https://b.example.com",
                                         "ca": "ca.pem", "port": 8080}]})
    eg = normalize_matrix(raw, INVENTORY)["egress"]
    assert {z: s["port"] for z, s in eg["zones"].items()} == {"backend": 3129, "db": 3128, "frontend": 3130}
    assert [o["port"] for o in eg["originations"]] == [8081, 8080]


@pytest.mark.parametrize("mutate, message", [
    (lambda e: e["zones"].__setitem__("bakend", {}), "egress.zones.bakend: unknown zone 'bakend'"),
    (lambda e: e["zones"]["backend"]["domains"].append("bad..example.com"),
     "egress.zones.backend.domains[2]: 'bad..example.com' is not a valid domain name"),
    (lambda e: e["zones"]["backend"]["domains"].append("10.1.2.3"),
     "egress.zones.backend.domains[2]: '10.1.2.3' is an IP address"),
    (lambda e: e["zones"]["backend"]["domains"].append("localhost"),
     "egress.zones.backend.domains[2]: 'localhost' is not a valid domain name"),
    (lambda e: e["zones"]["backend"]["domains"].append("a.*.example.com"),
     "egress.zones.backend.domains[2]: 'a.*.example.com': a wildcard is only allowed"),
    (lambda e: e["zones"]["backend"]["domains"].append("API.example.com"),
     "egress.zones.backend.domains[2]: duplicate domain 'api.example.com'"),
    (lambda e: e["zones"]["backend"]["ports"].append(443), "egress.zones.backend.ports[2]: duplicate port 443"),
    (lambda e: e["zones"]["backend"]["ports"].append(70000),
     "egress.zones.backend.ports[2]: port 70000 out of range"),
    (lambda e: e["zones"]["backend"].__setitem__("ports", []), "egress.zones.backend.ports: must list at least"),
    (lambda e: e["zones"]["frontend"].__setitem__("port", 3128),
     "egress.zones.frontend.port: duplicate port 3128 (already used by egress.zones.backend.port)"),
    (lambda e: e["originations"][0].__setitem__("port", 3129),
     "egress.originations[0].port: duplicate port 3129 (already used by egress.zones.frontend.port)"),
    (lambda e: e["zones"]["backend"].__setitem__("port", 8404), "egress.zones.backend.port: port 8404 is reserved"),
    (lambda e: e["zones"]["backend"].__setitem__("report_only", "yes"),
     "egress.zones.backend.report_only: expected a boolean, got a string"),
    (lambda e: e["zones"]["backend"].__setitem__("colour", 1), "egress.zones.backend.colour: unknown key"),
    (lambda e: e["zones"].__setitem__("proxy", {}), "egress.zones.proxy: the proxy zone 'proxy' does not go"),
    (lambda e: e["zones"].__setitem__(7, {}), "egress.zones: expected zone names as keys, got an integer (7)"),
    (lambda e: e.__setitem__("zone", "proxi"), "egress.zone: unknown zone 'proxi'"),
    (lambda e: e.__setitem__("internet_peer", "external_db"),
     "egress.internet_peer: peer 'external_db' is not an internet peer"),
    (lambda e: e["originations"][0].pop("ca"), "egress.originations[0].ca: is required (the CA"),
    (lambda e: e["originations"][0].__setitem__("ca", ""), "egress.originations[0].ca: must name a file"),
    (lambda e: e["originations"][0].__setitem__("upstream", "http://pay.example.com"),
     "egress.originations[0].upstream: 'http://pay.example.com' is not https://host[:port]"),
    (lambda e: e["originations"][0].__setitem__("upstream", "https://192.0.2.1"),
     "egress.originations[0].upstream: '192.0.2.1' is an IP address"),
    (lambda e: e["originations"][0].__setitem__("upstream", "https://pay.example.com/v1"),
     "egress.originations[0].upstream: 'https://pay.example.com/v1' is not https://host[:port]"),
    (lambda e: e["originations"][0].__setitem__("from", ["backend", "bakend"]),
     "egress.originations[0].from[1]: unknown zone 'bakend'"),
    (lambda e: e["originations"][0].__setitem__("from", ["backend", "proxy"]),
     "egress.originations[0].from[1]: the proxy zone 'proxy' does not call its own originations"),
    (lambda e: e["originations"][0].__setitem__("from", []), "egress.originations[0].from: must name at least"),
    (lambda e: e["originations"][0]["client_cert"].pop("key"), "egress.originations[0].client_cert.key: is required"),
    (lambda e: e["originations"].append(dict(e["originations"][0], port=9000)),
     "egress.originations[1].name: duplicate origination 'payments'"),
    (lambda e: e["originations"][0].__setitem__("name", "egress-proxy"),
     "egress.originations[0].name: 'egress-proxy' is reserved"),
    (lambda e: e["originations"][0].__setitem__("name", "Pay"), "egress.originations[0].name: 'Pay' is not a valid"),
    (lambda e: e.__setitem__("zones", ["backend"]), "egress.zones: expected an object of zone name to allow-list, got a list"),
    (lambda e: e.update(zones={}, originations=[]), "egress: lists no zone and no origination"),
])
def test_bad_input_gets_one_error_naming_the_path(mutate, message):
    raw = two_zones()
    mutate(raw["egress"])
    with pytest.raises(MatrixError) as err:
        normalize_matrix(raw, INVENTORY)
    assert str(err.value).startswith(message), str(err.value)


def test_a_written_flow_into_the_proxy_zone_is_refused_when_egress_derives_it():
    raw = two_zones()
    raw["services"]["squid"] = ["3000-3200/tcp"]
    raw["flows"].append({"from": ["db", "frontend"], "to": "proxy", "services": ["squid"]})
    with pytest.raises(MatrixError, match=r"^flows\[6\]: port 3128 of the proxy zone 'proxy' belongs to "
                                          r"egress\.zones\.backend: flows to it are derived"):
        normalize_matrix(raw, INVENTORY)
    raw["services"]["squid"] = ["8080/tcp"]
    with pytest.raises(MatrixError, match=r"^flows\[6\]: port 8080 .* belongs to the origination 'payments'"):
        normalize_matrix(raw, INVENTORY)


def test_other_flows_into_the_proxy_zone_stay_allowed():
    raw = two_zones()
    raw["services"]["metrics"] = ["9090/tcp"]
    raw["flows"].append({"from": ["db", "frontend"], "to": "proxy", "services": ["metrics"]})   # scraping
    pairs = {(f["from"], f["to"]): f["services"] for f in normalize_matrix(raw, INVENTORY)["flows"]}
    assert pairs[("db", "proxy")] == ["metrics"]
    assert pairs[("frontend", "proxy")] == ["egress-proxy-frontend", "metrics"]


def test_a_service_name_of_the_derived_flows_is_refused():
    raw = two_zones()
    raw["services"]["egress-upstream"] = ["443/tcp"]
    with pytest.raises(MatrixError, match=r"^services\.egress-upstream: the name is taken"):
        normalize_matrix(raw, INVENTORY)


def _ingress_rules_into_proxy(manifests):
    out = {}
    for obj in manifests:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["namespace"] == "proxy" and "ingress" in obj["spec"]:
            for rule in obj["spec"]["ingress"]:
                for peer in rule["from"]:
                    ns = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    out.setdefault(ns, set()).update(p["port"] for p in rule["ports"])
    return out


def test_compiled_policies_open_to_each_zone_only_its_own_port_and_its_originations():
    m = normalize_matrix(two_zones(), INVENTORY)
    assert _ingress_rules_into_proxy(compile_manifests(m)) == {"backend": {3128, 8080}, "frontend": {3129}}


def test_the_proof_shows_each_zone_reaches_only_its_own_proxy_port():
    m = normalize_matrix(two_zones(), INVENTORY)
    proof = verify_matrix(m)
    assert proof["mismatches"] == []
    actual = {c["from"]: c["actual"] for c in proof["cells"] if c["to"] == "proxy"}
    assert actual["backend"] == ["3128/TCP", "8080/TCP"]        # its own port and its origination
    assert actual["frontend"] == ["3129/TCP"]                   # not backend's 3128, not the origination
    assert actual["db"] == [] and actual["ingress"] == []


def _plant(manifests, namespace, name, direction):
    for obj in manifests:
        if obj["metadata"]["name"] == name and obj["metadata"].get("namespace") == namespace:
            obj["spec"][direction][0]["ports"].append({"protocol": "TCP", "port": 3128})
            return
    raise AssertionError("no policy %s/%s" % (namespace, name))


def test_the_proof_catches_a_policy_that_lets_a_zone_use_another_zones_port():
    m = normalize_matrix(two_zones(), INVENTORY)
    # one side alone: end to end frontend's own egress policy still allows only 3129, but the proxy zone's
    # ingress alone would let frontend use backend's port, and is reported with its side
    manifests = copy.deepcopy(compile_manifests(m))
    _plant(manifests, "proxy", "netzone-ingress-from-frontend", "ingress")
    proof = verify_matrix(m, manifests)
    assert [(c["from"], c["to"], c["port"], c["kind"], c["side"], c["zone"]) for c in proof["mismatches"]] == [
        ("frontend", "proxy", 3128, "extra", "ingress", "proxy"),
        ("frontend", "proxy:other-pods", 3128, "extra", "ingress", "proxy")]
    # planted bug on both sides (as a compiler bug would): frontend may use backend's port
    _plant(manifests, "frontend", "netzone-egress-to-proxy", "egress")
    proof = verify_matrix(m, manifests)
    bad = [(c["from"], c["to"], c["port"], c["kind"], c["services"]) for c in proof["mismatches"]]
    assert bad == [("frontend", "proxy", 3128, "extra", ["egress-proxy-backend"]),
                   ("frontend", "proxy:other-pods", 3128, "extra", ["egress-proxy-backend"])]


def test_allowed_upstream_ports_take_the_whole_range_1_to_65535():
    raw = two_zones()
    raw["egress"]["zones"]["backend"]["ports"] = [1, 65535]
    assert normalize_matrix(raw, INVENTORY)["egress"]["zones"]["backend"]["ports"] == [1, 65535]
    for bad in (0, 65536):
        raw["egress"]["zones"]["backend"]["ports"] = [bad]
        with pytest.raises(MatrixError) as err:
            normalize_matrix(raw, INVENTORY)
        assert str(err.value) == "egress.zones.backend.ports[0]: port %d out of range 1-65535" % bad


def test_a_domain_name_may_have_253_characters_not_254():
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 57, "com"])
    assert len(longest) == 253
    raw = two_zones()
    raw["egress"]["zones"]["backend"]["domains"] = [longest]
    assert normalize_matrix(raw, INVENTORY)["egress"]["zones"]["backend"]["domains"] == [longest]
    raw["egress"]["zones"]["backend"]["domains"] = ["e" + longest]
    with pytest.raises(MatrixError) as err:
        normalize_matrix(raw, INVENTORY)
    assert str(err.value) == ("egress.zones.backend.domains[0]: 'e%s' is not a valid domain name (like api.example.com)"
                              % longest)


@pytest.mark.parametrize("mutate, message", [
    (lambda e: e["zones"]["backend"]["domains"].append("api.example.123"),
     "egress.zones.backend.domains[2]: 'api.example.123' is not a valid domain name (the last label is numeric)"),
    (lambda e: e["zones"]["backend"]["domains"].append("bad..example.com"),
     "egress.zones.backend.domains[2]: 'bad..example.com' is not a valid domain name (like api.example.com)"),
    (lambda e: e["zones"]["backend"]["domains"].append("a" * 64 + ".example.com"),
     "egress.zones.backend.domains[2]: '%s.example.com' is not a valid domain name (like api.example.com)" % ("a" * 64)),
    (lambda e: e.__setitem__("internet_peer", "internets"), "egress.internet_peer: unknown peer 'internets'"),
    (lambda e: e.__setitem__("internet_peer", "external_db"),
     "egress.internet_peer: peer 'external_db' is not an internet peer (internet: true, or a 0.0.0.0/0 block)"),
    (lambda e: e["zones"].__setitem__(7, {}), "egress.zones: expected zone names as keys, got an integer (7)"),
    (lambda e: e["originations"][0].__setitem__("from", ["backend", "proxy"]),
     "egress.originations[0].from[1]: the proxy zone 'proxy' does not call its own originations"),
    (lambda e: e["originations"][0].__setitem__("from", "proxy"),
     "egress.originations[0].from: the proxy zone 'proxy' does not call its own originations"),
    # the name as a matrix file or a template gives it: a string made at run time, not this file's constant
    (lambda e: e["originations"][0].__setitem__("from", ["backend", "".join(["pro", "xy"])]),
     "egress.originations[0].from[1]: the proxy zone 'proxy' does not call its own originations"),
    (lambda e: e["zones"]["backend"].__setitem__("port", 8404),
     "egress.zones.backend.port: port 8404 is reserved for the proxies' health endpoints (8404, 8405)"),
    (lambda e: e["zones"]["frontend"].__setitem__("port", 3128),
     "egress.zones.frontend.port: duplicate port 3128 (already used by egress.zones.backend.port)"),
    (lambda e: e["zones"].__setitem__("proxy", {}),
     "egress.zones.proxy: the proxy zone 'proxy' does not go through its own proxy"),
    (lambda e: e.__setitem__("zone", "proxi"), "egress.zone: unknown zone 'proxi' (did you mean 'proxy'?)"),
])
def test_more_bad_input_one_whole_message(mutate, message):
    raw = two_zones()
    mutate(raw["egress"])
    with pytest.raises(MatrixError) as err:
        normalize_matrix(raw, INVENTORY)
    assert str(err.value) == message


def test_a_zone_without_settings_gets_the_next_free_port_and_the_defaults():
    raw = two_zones()
    raw["egress"]["zones"]["db"] = None
    zones = normalize_matrix(raw, INVENTORY)["egress"]["zones"]
    assert zones["db"]["port"] == 3130 and zones["db"]["domains"] == [] and zones["db"]["report_only"] is False


def test_an_origination_name_may_have_forty_characters_not_more():
    raw = two_zones()
    raw["egress"]["originations"][0]["name"] = "p" * 40
    assert normalize_matrix(raw, INVENTORY)["egress"]["originations"][0]["name"] == "p" * 40
    raw["egress"]["originations"][0]["name"] = "p" * 41
    with pytest.raises(MatrixError) as err:
        normalize_matrix(raw, INVENTORY)
    assert str(err.value).startswith("egress.originations[0].name: '%s' is not a valid name (lowercase letters, digits "
                                     "and '-', at most 40 " % ("p" * 41))


def test_without_a_zone_named_proxy_or_one_internet_egress_zone_the_proxy_zone_must_be_named():
    from ansible_collections.netzone.segmentation.plugins.module_utils._model import egress  # pylint: disable=import-outside-toplevel

    zones = {"web": {}, "out": {}, "out2": {}}
    assert egress._proxy_zone({}, zones, ["out"], "egress") == "out"
    for guards_egress in ([], ["out", "out2"]):
        with pytest.raises(MatrixError) as err:
            egress._proxy_zone({}, zones, guards_egress, "egress")
        assert str(err.value) == "egress.zone: is required (no zone named 'proxy')"


def test_zones_without_a_port_get_3128_and_up_in_name_order_around_the_taken_ones():
    raw = matrix_with({"zones": {"frontend": {}, "backend": {}, "ingress": {"port": 3129}}})
    zones = normalize_matrix(raw, INVENTORY)["egress"]["zones"]
    assert {name: spec["port"] for name, spec in zones.items()} == {"backend": 3128, "frontend": 3130, "ingress": 3129}


def test_two_zones_on_one_port_the_second_by_name_is_named_whatever_the_order_written():
    """The explicit ports are claimed in zone-name order, so the error names the same zone however the matrix
    lists them (frontend is written first here, and its settings would sort first)."""
    raw = matrix_with({"zones": {"frontend": {"port": 3200, "domains": ["a.example.com"]},
                                 "backend": {"port": 3200, "domains": ["b.example.com"]}}})
    with pytest.raises(MatrixError) as err:
        normalize_matrix(raw, INVENTORY)
    assert str(err.value) == "egress.zones.frontend.port: duplicate port 3200 (already used by egress.zones.backend.port)"
