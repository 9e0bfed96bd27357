# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""haproxy_routing: the frontends, ACLs and backends haproxy.cfg prints, computed from normalised vhosts."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netzone.segmentation.plugins.filter.haproxy_routing import FilterModule
from ansible_collections.netzone.segmentation.plugins.filter.haproxy_routing import haproxy_routing as routing_filter
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import haproxy_routing, normalize_vhosts, vhost_id
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError

LISTENERS = {
    "public": {"address": "192.0.2.1", "https_port": 443, "http_port": 80},
    "internal": {"address": "10.0.0.1", "https_port": 8443, "http_port": 0},
}
VHOSTS = normalize_vhosts([
    {"name": "a.test", "aliases": ["www.a.test"], "service": "web", "waf": {"bypass_paths": ["/static/"]},
     "paths": [{"path": "/app/", "rewrite": "/v1/"}, "/x.y"]},
    {"name": "b.test", "service": "api", "sticky": True, "rate_limit": 5},
    {"name": "c.test", "service": "intra", "exposure": "internal"},
], None)


def test_ids_are_vhost_ids_in_list_order():
    plan = haproxy_routing(VHOSTS, LISTENERS)
    ids = [route["id"] for exposure in plan["exposures"] for route in exposure["vhosts"]]
    assert ids == [vhost_id(0), vhost_id(1), vhost_id(2)] == ["vh0", "vh1", "vh2"]


def test_frontends_per_exposure_https_first_and_no_http_without_port():
    plan = haproxy_routing(VHOSTS, LISTENERS)
    assert [(e["name"], [(f["name"], f["bind"], f["tls"], f["scheme"]) for f in e["frontends"]]) for e in plan["exposures"]] == [
        ("public", [("fe_public_https", "192.0.2.1:443", True, "https"), ("fe_public_http", "192.0.2.1:80", False, "http")]),
        ("internal", [("fe_internal_https", "10.0.0.1:8443", True, "https")]),
    ]


def test_virtual_address_bound_transparent_unless_the_address_is_a_wildcard():
    listeners = {"public": dict(LISTENERS["public"], vip="192.0.2.10"),
                 "internal": dict(LISTENERS["internal"], address="*", vip="10.0.0.10")}
    plan = haproxy_routing(VHOSTS, listeners)
    assert [[f["vip_bind"] for f in e["frontends"]] for e in plan["exposures"]] == [
        ["192.0.2.10:443 transparent", "192.0.2.10:80 transparent"], [None]]
    assert all(f["vip_bind"] is None for e in haproxy_routing(VHOSTS, LISTENERS)["exposures"] for f in e["frontends"])


def test_an_exposure_without_vhosts_gets_no_frontend():
    plan = haproxy_routing(VHOSTS[:2], {"public": LISTENERS["public"]})
    assert [e["name"] for e in plan["exposures"]] == ["public"]


def test_path_acls_and_match():
    public = haproxy_routing(VHOSTS, LISTENERS)["exposures"][0]
    first, second = public["vhosts"]
    assert first["path_acls"] == [{"exact": "/app", "prefix": "/app/"}, {"exact": "/x.y", "prefix": "/x.y/"}]
    assert first["match"] == "vh0_host vh0_path" and first["hosts"] == "a.test www.a.test"
    # A vhost served at '/' matches on its host names only.
    assert second["path_acls"] == [] and second["match"] == "vh1_host"


def test_backends_sticky_rate_limit_and_bypass():
    plan = haproxy_routing(VHOSTS, LISTENERS)
    public = plan["exposures"][0]
    assert [r["backend"] for r in public["vhosts"]] == ["be_nodes", "be_vh1_sticky"]
    assert [r["id"] for r in plan["sticky"]] == ["vh1"] and [r["rate_table"] for r in plan["rate_limited"]] == ["st_vh1_rate"]
    assert public["bypass"] is True and public["vhosts"][0]["bypass_paths"] == "/static/"
    assert plan["exposures"][1]["bypass"] is False


def test_default_vhost_only_on_its_exposure():
    plan = haproxy_routing(VHOSTS, LISTENERS, default_vhost="b.test")
    assert [e["default"] for e in plan["exposures"]] == ["vh1", None]
    assert [e["default"] for e in haproxy_routing(VHOSTS, LISTENERS)["exposures"]] == [None, None]


def test_rewrites_escape_the_prefix_and_keep_the_rest():
    [app] = haproxy_routing(VHOSTS, LISTENERS)["rewrites"]
    assert app == {"hosts": "a.test www.a.test", "host_regex": None, "pattern": r"^/app(/|$)(.*)", "replacement": "/v1/\\2",
                   "exact": "/app", "prefix": "/app/"}
    [dotted] = haproxy_routing(normalize_vhosts([{"name": "d.test", "service": "w", "paths": [{"path": "/x.y", "rewrite": "/"}]}], None),
                               LISTENERS)["rewrites"]
    assert dotted["pattern"] == r"^/x\.y(/|$)(.*)" and re.match(dotted["pattern"], "/x.y/z").group(2) == "z"
    assert not re.match(dotted["pattern"], "/xzy/z")
    [root] = haproxy_routing(normalize_vhosts([{"name": "e.test", "service": "w", "paths": [{"path": "/", "rewrite": "/r/"}]}], None),
                             LISTENERS)["rewrites"]
    assert (root["exact"], root["prefix"], root["replacement"]) == ("/", "/", "/r/\\2")


def test_filter_is_registered_and_names_itself_on_error():
    assert FilterModule().filters()["haproxy_routing"] is routing_filter
    assert routing_filter(VHOSTS, LISTENERS) == haproxy_routing(VHOSTS, LISTENERS)
    with pytest.raises(AnsibleFilterError, match=r"^netzone.segmentation.haproxy_routing: listeners.internal: is required"):
        routing_filter(VHOSTS, {"public": LISTENERS["public"]})


@pytest.mark.parametrize("public, internal, message", [
    # the same address and port
    ({"address": "192.0.2.1", "https_port": 443, "http_port": 80},
     {"address": "192.0.2.1", "https_port": 443, "http_port": 0},
     "loadbalancer_internal_address: the public HTTPS frontend (loadbalancer_public_address = '192.0.2.1', port 443)"
     " and the internal HTTPS frontend (loadbalancer_internal_address = '192.0.2.1', port 443) share a listener"),
    # a wildcard on one side covers the other's address
    ({"address": "*", "https_port": 443, "http_port": 80},
     {"address": "10.0.0.1", "https_port": 443, "http_port": 0}, "(loadbalancer_public_address = '*', port 443)"),
    ({"address": "0.0.0.0", "https_port": 443, "http_port": 80},
     {"address": "10.0.0.1", "https_port": 8443, "http_port": 80}, "internal HTTP frontend"),
    ({"address": "192.0.2.1", "https_port": 443, "http_port": 80},
     {"address": "::", "https_port": 443, "http_port": 0}, "(loadbalancer_internal_address = '::', port 443)"),
    ({"address": "[2001:db8::1]", "https_port": 443, "http_port": 80},
     {"address": "2001:DB8::1", "https_port": 443, "http_port": 0}, "share a listener"),
    ({"address": "", "https_port": 443, "http_port": 80},
     {"address": "*", "https_port": 443, "http_port": 0}, "share a listener"),
    # the public virtual address is bound as well
    ({"address": "192.0.2.1", "https_port": 443, "http_port": 80, "vip": "10.0.0.1"},
     {"address": "10.0.0.1", "https_port": 443, "http_port": 0},
     "(loadbalancer_public_vip = '10.0.0.1', port 443) and the internal HTTPS frontend"),
])
def test_public_and_internal_never_share_a_listener(public, internal, message):
    with pytest.raises(MatrixError) as err:
        haproxy_routing(VHOSTS, {"public": public, "internal": internal})
    assert message in str(err.value)
    assert "give them distinct addresses or ports" in str(err.value)


@pytest.mark.parametrize("public, internal", [
    ({"address": "192.0.2.1", "https_port": 443, "http_port": 80},
     {"address": "10.0.0.1", "https_port": 443, "http_port": 80}),       # distinct addresses, same ports
    ({"address": "*", "https_port": 443, "http_port": 80},
     {"address": "10.0.0.1", "https_port": 8443, "http_port": 0}),       # a wildcard, distinct ports
    ({"address": "0.0.0.0", "https_port": 443, "http_port": 80},
     {"address": "2001:db8::1", "https_port": 443, "http_port": 0}),     # every IPv4 address and one IPv6 one
])
def test_distinct_listeners_pass(public, internal):
    plan = haproxy_routing(VHOSTS, {"public": public, "internal": internal})
    assert [e["name"] for e in plan["exposures"]] == ["public", "internal"]


def test_an_exposure_without_vhosts_has_no_listener_to_clash():
    plan = haproxy_routing(VHOSTS[:2], {"public": LISTENERS["public"], "internal": dict(LISTENERS["public"])})
    assert [e["name"] for e in plan["exposures"]] == ["public"]
