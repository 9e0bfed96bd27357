# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the vhosts part of the matrix: defaults, every error path, and a fuzz test."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import normalize_vhosts

ZONES = {"frontend", "backend", "ingress"}


def test_none_is_empty():
    assert normalize_vhosts(None, ZONES) == []


def test_defaults_fill_every_key():
    [vhost] = normalize_vhosts([{"name": "Shop.Example.com", "service": "web"}], ZONES)
    assert vhost == {
        "name": "shop.example.com",
        "aliases": [],
        "exposure": "public",
        "zone": "frontend",
        "service": "web",
        "port": 80,
        "paths": [{"path": "/", "rewrite": None, "service": "web", "port": 80}],
        "tls": {"mode": "selfsigned", "cert": None, "key": None, "chain": None},
        "redirect_http": True,
        "hsts": True,
        "hsts_max_age": 63072000,
        "sticky": False,
        "sticky_cookie": "NZSRV",
        "rate_limit": 0,
        "waf": {"exclusions": [], "bypass_paths": []},
    }


def test_full_vhost():
    raw = [{
        "name": "api.example.com", "aliases": ["API2.example.com"], "exposure": "internal", "zone": "backend",
        "service": "api", "port": 8080,
        "paths": [{"path": "/v1/", "rewrite": "/", "service": "api-v1", "port": 81}, "/health"],
        "tls": {"cert": "files/api.crt", "key": "files/api.key", "chain": "files/ca.crt"},
        "redirect_http": False, "hsts": False, "sticky": True, "rate_limit": 50,
        "waf": {"exclusions": [942100, 920350, 942100], "bypass_paths": ["/static/"]},
    }]
    [vhost] = normalize_vhosts(raw, ZONES)
    assert vhost["aliases"] == ["api2.example.com"]
    assert vhost["paths"] == [
        {"path": "/v1", "rewrite": "/", "service": "api-v1", "port": 81},
        {"path": "/health", "rewrite": None, "service": "api", "port": 8080},
    ]
    assert vhost["tls"] == {"mode": "provided", "cert": "files/api.crt", "key": "files/api.key", "chain": "files/ca.crt"}
    assert vhost["waf"] == {"exclusions": [920350, 942100], "bypass_paths": ["/static/"]}
    assert vhost["sticky"] is True and vhost["rate_limit"] == 50 and vhost["exposure"] == "internal"


def test_normalising_twice_is_stable():
    raw = [{"name": "a.example.com", "service": "web", "tls": {"cert": "c", "key": "k"}, "paths": ["/x"]},
           {"name": "b.example.com", "service": "web", "sticky": True}]
    once = normalize_vhosts(raw, ZONES)
    assert normalize_vhosts(once, ZONES) == once


def test_zones_none_skips_zone_check():
    assert normalize_vhosts([{"name": "a.example.com", "service": "w", "zone": "anything"}], None)[0]["zone"] == "anything"


@pytest.mark.parametrize("raw, path, fragment", [
    ({"vhosts": 1}, "vhosts", "expected a list of virtual hosts, got an integer"),
    ([1], "vhosts[0]", "expected an object, got an integer"),
    ([{"service": "w"}], "vhosts[0].name", "is required"),
    ([{"name": "bad_name.example.com", "service": "w"}], "vhosts[0].name", "not a valid DNS host name"),
    ([{"name": "a..b", "service": "w"}], "vhosts[0].name", "not a valid DNS host name"),
    ([{"name": "1.2.3.4", "service": "w"}], "vhosts[0].name", "numeric"),
    ([{"name": "a.example.com"}], "vhosts[0].service", "is required"),
    ([{"name": "a.example.com", "service": "Web_1"}], "vhosts[0].service", "Kubernetes Service"),
    ([{"name": "a.example.com", "service": "w", "zone": "frontnd"}], "vhosts[0].zone", "unknown zone 'frontnd'"),
    ([{"name": "a.example.com", "service": "w", "zone": 7}], "vhosts[0].zone", "vhosts[0].zone: expected a zone name, got an integer"),
    ([{"name": "a.example.com", "service": "w", "exposure": "dmz"}], "vhosts[0].exposure", "expected one of 'public', 'internal', got 'dmz'"),
    ([{"name": "a.example.com", "service": "w", "port": 0}], "vhosts[0].port", "port 0 out of range 1-65535"),
    ([{"name": "a.example.com", "service": "w", "port": True}], "vhosts[0].port", "expected a port number, got a boolean"),
    ([{"name": "a.example.com", "service": "w", "paths": []}], "vhosts[0].paths", "non-empty list"),
    ([{"name": "a.example.com", "service": "w", "paths": [{"path": "api"}]}], "vhosts[0].paths[0].path", "URL path"),
    ([{"name": "a.example.com", "service": "w", "paths": ["/a", "/a/"]}], "vhosts[0].paths[1].path", "duplicate"),
    ([{"name": "a.example.com", "service": "w", "paths": [{"path": "/a", "rewrite": "x y"}]}],
     "vhosts[0].paths[0].rewrite", "URL path"),
    ([{"name": "a.example.com", "service": "w", "paths": [{"path": "/a", "port": 70000}]}], "vhosts[0].paths[0].port", "65535"),
    ([{"name": "a.example.com", "service": "w", "tls": "letsencrypt"}], "vhosts[0].tls", "selfsigned"),
    ([{"name": "a.example.com", "service": "w", "tls": {"cert": "c.pem"}}], "vhosts[0].tls.key", "is required"),
    ([{"name": "a.example.com", "service": "w", "tls": {"cert": "c", "key": ""}}], "vhosts[0].tls.key", "non-empty"),
    ([{"name": "a.example.com", "service": "w", "tls": {"cert": "c", "key": "k", "ca": "x"}}], "vhosts[0].tls.ca", "unknown key"),
    ([{"name": "a.example.com", "service": "w", "hsts": "yes"}], "vhosts[0].hsts", "boolean"),
    ([{"name": "a.example.com", "service": "w", "rate_limit": -1}], "vhosts[0].rate_limit", "-1 out of range 0-1000000000"),
    ([{"name": "a.example.com", "service": "w", "waf": {"exclusions": ["942100"]}}], "vhosts[0].waf.exclusions[0]", "integer"),
    ([{"name": "a.example.com", "service": "w", "waf": {"bypass_paths": ["/"]}}], "vhosts[0].waf.bypass_paths[0]", "WAF"),
    ([{"name": "a.example.com", "service": "w", "waf": {"exclusions": 942100}}], "vhosts[0].waf.exclusions",
     "vhosts[0].waf.exclusions: expected a list of rule ids, got an integer"),
    ([{"name": "a.example.com", "service": "w", "waf": {"bypass_paths": "/static/"}}], "vhosts[0].waf.bypass_paths",
     "vhosts[0].waf.bypass_paths: expected a list of URL path prefixes, got a string"),
    ([{"name": "a.example.com", "service": "w", "waf": {"skip": []}}], "vhosts[0].waf.skip", "unknown key"),
    ([{"name": "a.example.com", "service": "w", "colour": "red"}], "vhosts[0].colour", "unknown key"),
    ([{"name": "a.example.com", "service": "w", "sticky_cookie": "a b"}], "vhosts[0].sticky_cookie", "cookie name"),
    ([{"name": "a.example.com", "service": "w"}, {"name": "A.example.com", "service": "w"}], "vhosts[1].name", "duplicate host name"),
    ([{"name": "a.example.com", "service": "w"}, {"name": "b.example.com", "aliases": ["a.example.com"], "service": "w"}],
     "vhosts[1].aliases[0]", "already used by vhosts[0]"),
])
def test_errors_name_the_path(raw, path, fragment):
    if isinstance(raw, dict):
        raw = raw["vhosts"]
    with pytest.raises(MatrixError) as info:
        normalize_vhosts(raw, ZONES)
    assert info.value.path == path
    assert fragment in str(info.value)
    assert str(info.value).startswith(path + ": ")


def test_a_path_that_is_no_url_prefix_is_quoted_in_a_whole_message():
    with pytest.raises(MatrixError) as info:
        normalize_vhosts([{"name": "a.example.com", "service": "w", "paths": [{"path": "/a b"}]}], ZONES)
    assert str(info.value) == ("vhosts[0].paths[0].path: '/a b' is not an absolute URL path prefix (starts with '/', "
                               "no spaces or quotes)")


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.text(max_size=12),
                     st.sampled_from(["/", "/api", "a.example.com", "frontend", "selfsigned", "web", "public"]))
_keys = st.one_of(st.sampled_from(sorted({"name", "aliases", "exposure", "zone", "service", "port", "paths", "tls",
                                          "redirect_http", "hsts", "sticky", "rate_limit", "waf", "path", "rewrite",
                                          "cert", "key", "chain", "exclusions", "bypass_paths", "mode"})),
                  st.text(max_size=5), st.integers())
_values = st.recursive(_scalars, lambda children: st.one_of(st.lists(children, max_size=4),
                                                            st.dictionaries(_keys, children, max_size=6)),
                       max_leaves=25)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_values, zones=st.one_of(st.none(), st.sets(st.text(max_size=8), max_size=3)))
def test_fuzz_only_matrix_errors(raw, zones):
    try:
        result = normalize_vhosts(raw, zones)
    except MatrixError as error:
        assert str(error)
    else:
        assert isinstance(result, list)
        assert normalize_vhosts(result, zones) == result


W = {"name": "a.example.com", "service": "w"}


@pytest.mark.parametrize("raw, message", [
    ([dict(W, name="a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".com")],
     "vhosts[0].name: host name longer than 253 characters"),
    ([dict(W, tls={"mode": "selfsigned", "cert": "c.pem", "key": "k.pem"})],
     "vhosts[0].tls.mode: 'selfsigned' takes no cert or key: remove them, or set mode: provided"),
    ([dict(W, tls={"mode": "acme", "cert": "c.pem", "key": "k.pem"})],
     "vhosts[0].tls.mode: expected one of 'provided', 'selfsigned', got 'acme'"),
    ([dict(W, tls="letsencrypt")], "vhosts[0].tls: expected 'selfsigned' or an object with cert and key, got 'letsencrypt'"),
    ([dict(W, tls={"cert": "c.pem"})], "vhosts[0].tls.key: is required (a path to a PEM file on the controller)"),
    ([dict(W, waf={"exclusions": "942100"})], "vhosts[0].waf.exclusions: expected a list of rule ids, got a string"),
    ([dict(W, waf={"bypass_paths": "/static"})],
     "vhosts[0].waf.bypass_paths: expected a list of URL path prefixes, got a string"),
    ([dict(W, waf={"bypass_paths": ["/static", "/"]})],
     "vhosts[0].waf.bypass_paths[1]: '/' would send the whole vhost around the WAF; list static prefixes only"),
    ([dict(W, aliases="www.example.com")], "vhosts[0].aliases: expected a list of host names, got a string"),
    ([dict(W, aliases={"www.example.com": 1})], "vhosts[0].aliases: expected a list of host names, got an object"),
])
def test_more_errors_are_one_whole_message(raw, message):
    with pytest.raises(MatrixError) as info:
        normalize_vhosts(raw, ZONES)
    assert str(info.value) == message


def test_a_host_name_of_253_characters_is_valid_and_tls_selfsigned_without_files():
    name = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
    assert len(name) == 253
    vhost = normalize_vhosts([dict(W, name=name, tls={"mode": "selfsigned"},
                                   waf={"exclusions": [942100, 920350, 942100], "bypass_paths": ["/static"]})], ZONES)[0]
    assert vhost["name"] == name
    assert vhost["tls"] == {"mode": "selfsigned", "cert": None, "key": None, "chain": None}
    assert vhost["waf"] == {"exclusions": [920350, 942100], "bypass_paths": ["/static"]}
