# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one schema toolkit (module_utils/_common/schema.py): its words, and the same fault worded the same in
the matrix, its egress section and its vhosts."""

from __future__ import annotations

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common import schema
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import normalize_vhosts
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix

INVENTORY = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["k1"]},
             "addresses": {"lb1": "192.0.2.10", "k1": "192.0.2.20"}}


def _message(func, *args):
    with pytest.raises(MatrixError) as info:
        func(*args)
    return str(info.value)


@pytest.mark.parametrize("call, message", [
    (lambda: schema.expect([], dict, "a"), "a: expected an object, got an empty list"),
    (lambda: schema.expect({}, list, "a"), "a: expected a list, got an object"),
    (lambda: schema.expect(True, int, "a"), "a: expected an integer, got a boolean"),
    (lambda: schema.expect(None, str, "a", "a zone name"), "a: expected a zone name, got null"),
    (lambda: schema.mapping({1: 2}, "a"), "a: expected string keys, got an integer (1)"),
    (lambda: schema.mapping({"pots": 1}, "a", ("port", "ports")),
     "a.pots: unknown key (expected one of: port, ports) (did you mean 'port'?)"),
    (lambda: schema.mapping({"zone": 1, "pots": 2, "port": 3}, "a", ("port", "ports")),
     "a.pots: unknown key (expected one of: port, ports) (did you mean 'port'?)"),
    (lambda: schema.one_of("publc", ("public", "internal"), "a"),
     "a: expected one of 'public', 'internal', got 'publc' (did you mean 'public'?)"),
    (lambda: schema.one_of(["x"], ("deny", "warn"), "a", " (staged rollout)"),
     "a: expected one of 'deny', 'warn' (staged rollout), got a list"),
    (lambda: schema.port(0, "a"), "a: port 0 out of range 1-65535"),
    (lambda: schema.port("80", "a"), "a: expected a port number, got a string"),
    (lambda: schema.integer(-1, "a", 0, 0, 10), "a: -1 out of range 0-10"),
    (lambda: schema.boolean("yes", "a", False), "a: expected a boolean, got a string"),
    (lambda: schema.non_empty_string("", "a"), "a: expected a non-empty string, got an empty string"),
    (lambda: schema.non_empty([], "a", "port"), "a: must list at least one port"),
])
def test_the_toolkit_words(call, message):
    assert _message(call) == message


def test_an_integer_is_an_int_that_is_not_a_boolean():
    assert [schema.is_int(v) for v in (5, 0, -3, True, False, "5", 5.0, None)] == [
        True, True, True, False, False, False, False, False]


def test_what_passes_is_returned_unchanged():
    assert schema.mapping({"port": 1}, "a", ("port",)) == {"port": 1}
    assert schema.optional_list(None, "a") == []
    assert schema.integer(None, "a", 7, 0, 10) == 7
    assert schema.boolean(None, "a", True) is True
    assert schema.one_of("warn", ("deny", "warn"), "a") == "warn"
    assert schema.port(65535, "a") == 65535


def _matrix(change):
    raw = default_matrix()
    change(raw)
    return _message(normalize_matrix, raw, INVENTORY)


def test_the_same_fault_is_worded_the_same_in_the_matrix_egress_and_vhosts():
    # An object where a list belongs, a list where an object belongs.
    assert _matrix(lambda r: r.update(flows={})) == "flows: expected a list, got an object"
    assert _matrix(lambda r: r["egress"]["zones"]["backend"].update(domains={})) == \
        "egress.zones.backend.domains: expected a list, got an object"
    assert _message(normalize_vhosts, [{"name": "a.example.com", "service": "w", "paths": {}}], None) == \
        "vhosts[0].paths: expected a non-empty list of paths, got an object"
    assert _matrix(lambda r: r.update(services=[])) == "services: expected an object, got an empty list"
    assert _matrix(lambda r: r.update(egress=[])) == "egress: expected an object, got an empty list"
    assert _matrix(lambda r: r["vhosts"].__setitem__(0, [])) == "vhosts[0]: expected an object, got an empty list"
    # An unknown key: the keys there are, and the closest.
    assert _matrix(lambda r: r["cluster"].update(pod_cdr="10.1.0.0/16")).startswith(
        "cluster.pod_cdr: unknown key (expected one of: ")
    assert _matrix(lambda r: r["cluster"].update(pod_cdr="10.1.0.0/16")).endswith("(did you mean 'pod_cidr'?)")
    assert _matrix(lambda r: r["egress"]["zones"]["backend"].update(port_=1)) == \
        "egress.zones.backend.port_: unknown key (expected one of: domains, port, ports, report_only) " \
        "(did you mean 'port'?)"
    assert _matrix(lambda r: r["vhosts"][0].update(servce="web")).startswith(
        "vhosts[0].servce: unknown key (expected one of: aliases, exposure, ")
    assert _matrix(lambda r: r["vhosts"][0].update(servce="web")).endswith("(did you mean 'service'?)")
    # A key that is not a string.
    assert _matrix(lambda r: r["zones"].update({1: {}})) == "zones: expected string keys, got an integer (1)"
    assert _matrix(lambda r: r["vhosts"][0].update({2: "x"})) == "vhosts[0]: expected string keys, got an integer (2)"
    # A port out of range.
    assert _matrix(lambda r: r["services"].update(app=[70000])) == "services.app[0]: port 70000 out of range 1-65535"
    assert _matrix(lambda r: r["egress"]["zones"]["backend"].update(port=0)) == \
        "egress.zones.backend.port: port 0 out of range 1-65535"
    assert _matrix(lambda r: r["vhosts"][0].update(port=0)) == "vhosts[0].port: port 0 out of range 1-65535"
    # A value outside a fixed set.
    assert _matrix(lambda r: r["vhosts"][0].update(exposure="publik")) == \
        "vhosts[0].exposure: expected one of 'public', 'internal', got 'publik' (did you mean 'public'?)"
    assert _matrix(lambda r: r.update(guards={"nodeports": "dney"})) == \
        "guards.nodeports: expected one of 'deny', 'warn' (staged rollout), got 'dney' (did you mean 'deny'?)"
