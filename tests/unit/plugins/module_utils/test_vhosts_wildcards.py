# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wildcard vhosts (``*.base`` matches one label, in HAProxy and in the WAF's exclusions) and validators that
accept nothing after the value (no trailing newline)."""

from __future__ import annotations

import re

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import DnsError, MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.dns_records import check_owner
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import (
    haproxy_routing, host_match, normalize_vhosts)

LISTENERS = {"public": {"address": "192.0.2.1", "https_port": 443, "http_port": 80}}
WILD = normalize_vhosts([
    {"name": "*.apps.example.com", "aliases": ["apps.example.com"], "service": "apps", "sticky": True,
     "paths": [{"path": "/v1", "rewrite": "/"}], "waf": {"exclusions": [942100]}},
    {"name": "shop.example.com", "service": "web", "waf": {"exclusions": [920350]}},
], None)


@pytest.mark.parametrize("host, matches", [
    ("x.apps.example.com", True), ("a-1.apps.example.com", True), ("apps.example.com", False),
    ("y.x.apps.example.com", False), ("xapps.example.com", False), ("x.apps.example.com.evil", False),
    ("-x.apps.example.com", False), ("x.apps.example.com\n", False), ("x.appsXexample.com", False),
])
def test_a_wildcard_matches_exactly_one_label(host, matches):
    names = host_match(["*.apps.example.com"])
    assert names["exact"] == ""
    # HAProxy's regex (PCRE, '$' on a host name that holds no newline) and the WAF's, with and without a port.
    assert bool(re.search(names["haproxy_regex"], host) and "\n" not in host) is matches
    assert bool(re.search(names["waf_regex"], host) and "\n" not in host) is matches
    assert bool(re.search(names["waf_regex"], host + ":8443") and "\n" not in host) is matches
    assert "\\" not in names["haproxy_regex"]  # HAProxy's parser would eat a backslash


def test_exact_names_are_matched_as_strings_and_escaped_in_the_waf():
    names = host_match(["shop.example.com", "www.shop.example.com"])
    assert names == {"exact": "shop.example.com www.shop.example.com", "haproxy_regex": None,
                     "waf_regex": r"^(?:shop\.example\.com|www\.shop\.example\.com)(?::[0-9]+)?$"}
    assert not re.search(names["waf_regex"], "shopXexample.com")


def test_routing_carries_wildcards_to_every_place_a_host_is_matched():
    plan = haproxy_routing(WILD, LISTENERS)
    wild, shop = plan["exposures"][0]["vhosts"]
    assert (wild["hosts"], wild["host_regex"]) == ("apps.example.com", "^[a-z0-9]([a-z0-9-]*[a-z0-9])?[.](apps[.]example[.]com)$")
    assert (shop["hosts"], shop["host_regex"]) == ("shop.example.com", None)
    assert [(r["hosts"], r["host_regex"]) for r in plan["rewrites"]] == [("apps.example.com", wild["host_regex"])]
    assert [r["host_regex"] for r in plan["sticky"]] == [wild["host_regex"]]
    assert [(e["id"], e["rules"]) for e in plan["waf_exclusions"]] == [(10000, [942100]), (10001, [920350])]
    assert re.search(plan["waf_exclusions"][0]["host_regex"], "tenant.apps.example.com:443")
    assert re.search(plan["waf_exclusions"][0]["host_regex"], "apps.example.com")
    assert not re.search(plan["waf_exclusions"][0]["host_regex"], "shop.example.com")


def test_a_name_covered_by_another_vhosts_wildcard_is_refused():
    with pytest.raises(MatrixError) as err:
        normalize_vhosts([{"name": "*.example.com", "service": "w"},
                          {"name": "api.example.com", "service": "a"}], None)
    assert err.value.path == "vhosts[1].name"
    assert "host name 'api.example.com' is also covered by '*.example.com' of vhosts[0]" in str(err.value)
    # an alias is named by its own place in the list, and so is a wildcard alias that covers it
    with pytest.raises(MatrixError) as err:
        normalize_vhosts([{"name": "shop.example.com", "aliases": ["api.example.org", "*.example.org"], "service": "w"},
                          {"name": "example.net", "aliases": ["www.example.org", "cdn.example.net"], "service": "a"}],
                         None)
    assert str(err.value) == (
        "vhosts[1].aliases[0]: host name 'www.example.org' is also covered by '*.example.org' of vhosts[0]: a wildcard "
        "matches one label, and a name may belong to one vhost only (move it into that vhost, or list the other "
        "vhost's names instead of the wildcard)")
    # Deeper names are not covered (one label), nor is the base name itself; within one vhost both are fine.
    assert len(normalize_vhosts([{"name": "*.example.com", "aliases": ["a.example.com"], "service": "w"},
                                 {"name": "x.api.example.com", "aliases": ["example.com"], "service": "a"}], None)) == 2


@pytest.mark.parametrize("raw, path", [
    ({"name": "shop.example.com\n", "service": "w"}, "vhosts[0].name"),
    ({"name": "shop.example.com", "aliases": ["www.shop.example.com\n"], "service": "w"}, "vhosts[0].aliases[0]"),
    ({"name": "shop.example.com", "service": "web\n"}, "vhosts[0].service"),
    ({"name": "shop.example.com", "service": "w", "paths": ["/api\n"]}, "vhosts[0].paths[0].path"),
    ({"name": "shop.example.com", "service": "w", "paths": [{"path": "/a", "rewrite": "/b\n"}]}, "vhosts[0].paths[0].rewrite"),
    ({"name": "shop.example.com", "service": "w", "waf": {"bypass_paths": ["/static/\n"]}}, "vhosts[0].waf.bypass_paths[0]"),
    ({"name": "shop.example.com", "service": "w", "sticky_cookie": "NZSRV\n"}, "vhosts[0].sticky_cookie"),
])
def test_a_trailing_newline_is_refused(raw, path):
    with pytest.raises(MatrixError) as err:
        normalize_vhosts([raw], None)
    assert err.value.path == path


def test_a_dns_owner_with_a_trailing_newline_is_refused():
    assert check_owner("netzone") == "netzone"
    with pytest.raises(DnsError):
        check_owner("netzone\n")
