# -*- coding: utf-8 -*-
"""The edge rules the load balancer's HAProxy configuration prints: bounded bypass prefixes, forged headers,
restricted files."""

from __future__ import annotations

import re

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import (
    FORGEABLE_HEADERS, PLAIN_HEADER_VALUE, RESTRICTED_EXTENSIONS, bypass_match, edge_rules, node_headers)


def _matches(acl, path):
    """HAProxy's ``path -m str <exact>`` or ``path -m beg <prefix>`` semantics."""
    return path in acl["exact"].split() or any(path.startswith(p) for p in acl["prefix"].split())


def test_bypass_prefix_is_bounded_at_a_slash():
    for written in (["/static"], ["/static/"], ["/static", "/static/"]):
        acl = bypass_match(written)
        assert acl == {"exact": "/static", "prefix": "/static/"}
        assert _matches(acl, "/static") and _matches(acl, "/static/app.css")
        for outside in ("/staticadmin/", "/static-private/x", "/static.css", "/stati", "/"):
            assert not _matches(acl, outside), outside


# Written out by hand (not the module's tuple): every header a client could forge an identity, address,
# scheme, host or route with, that the load balancer must remove.
FORGED_BY_HAND = ["x-real-ip", "forwarded", "x-forwarded-host", "x-forwarded-port", "x-forwarded-prefix",
                  "x-forwarded-server", "x-forwarded-scheme", "x-forwarded-ssl", "x-original-url", "x-original-uri",
                  "x-rewrite-url", "x-http-method-override", "x-http-method", "x-method-override", "true-client-ip",
                  "x-client-ip", "x-cluster-client-ip", "client-ip"]


def test_forged_headers_regex_catches_every_listed_name_and_nothing_we_set():
    regex = re.compile(edge_rules()["forged_headers"])
    for name in FORGED_BY_HAND:
        assert regex.match(name), name
    for ours in ("x-forwarded-for", "x-forwarded-proto", "x-request-id", "host", "cookie", "x-forwarded-hostx",
                 "xx-real-ip", "x-real-ip2", "client-ipv6", "forwarded-for", "x", ""):
        assert not regex.match(ours), ours
    assert sorted(FORGEABLE_HEADERS) == sorted(FORGED_BY_HAND)


def test_restricted_lists_follow_the_crs():
    rules = edge_rules()
    for ext in (".sql", ".bak", ".ini", ".config", ".log", ".key"):
        assert ext in RESTRICTED_EXTENSIONS and ext in rules["restricted_extensions"].split()
    assert ".git/" in rules["restricted_files"].split() and ".env" in rules["restricted_files"].split()
    assert rules["crs_restricted_files"].endswith("/restricted-files.data")


# Written out by hand (README, "What reaches a node"), not imported: what each route lets reach a node.
BYPASS_BY_HAND = ["host", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "accept", "accept-encoding",
                  "accept-language", "cache-control", "pragma", "if-match", "if-none-match", "if-modified-since",
                  "if-unmodified-since", "if-range", "range", "origin", "referer", "user-agent", "dnt",
                  "upgrade-insecure-requests", "priority", "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site",
                  "sec-fetch-user", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform"]
WAF_ROUTE_BY_HAND = BYPASS_BY_HAND + [
    "accept-charset", "content-type", "content-length", "content-encoding", "content-language", "transfer-encoding",
    "cookie", "authorization", "access-control-request-method", "access-control-request-headers", "traceparent",
    "tracestate", "x-requested-with", "x-csrf-token", "x-xsrf-token"]


def test_only_regexes_remove_everything_outside_the_allow_lists():
    rules = edge_rules(["X-Api-Key"])
    node = re.compile(rules["node_headers_only"])
    bypass = re.compile(rules["bypass_headers_only"])
    assert sorted(rules["node_headers"]) == sorted(WAF_ROUTE_BY_HAND + ["x-api-key"])
    for name in WAF_ROUTE_BY_HAND + ["x-api-key"]:
        assert not node.search(name), name
    for name in BYPASS_BY_HAND:
        assert not bypass.search(name), name
    for claimed in ("x-forwarded-user", "x-remote-user", "x-auth-request-email", "x-forwarded-client-cert",
                    "x-forwarded-uri", "x_forwarded_for", "x-forwarded-for-x", "accept-x", "xaccept", "remote-user",
                    "x-netzone-host", "x-real-ip", "forwarded", "x-forwarded-host", "x-original-url", "true-client-ip"):
        assert node.search(claimed) and bypass.search(claimed), claimed
    for dropped in set(WAF_ROUTE_BY_HAND) - set(BYPASS_BY_HAND) | {"x-api-key"}:
        assert bypass.search(dropped), dropped


def test_plain_header_value_takes_browser_values_and_refuses_attack_characters():
    odd = re.compile(PLAIN_HEADER_VALUE)
    for value in ('"Not_A Brand";v="8", "Chromium";v="120"', 'W/"5e-18c1f2a0b5e"', "text/css,*/*;q=0.1",
                  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0",
                  "https://shop.example.com/products?page=2&sort=price#top", "bytes=0-1023", "?0"):
        assert not odd.search(value), value
    for value in ("<script>", "a'b", "a%27b", "a\\b", "`id`", "${jndi:x}", "a|b", "a\tb", "[::1]", "u@h"):
        assert odd.search(value), value


def test_extra_request_headers_are_checked():
    assert node_headers(["X-Api-Key", "x-api-key", "accept"])[-1] == "x-api-key"
    for name, message in (("X_Api_Key", "not a header name"), ("", "not a header name"), (7, "not a header name"),
                          ("X-Forwarded-User", "claims an identity"), ("x-remote-email", "claims an identity"),
                          ("X-Real-IP", "claims an identity"), ("Host", "claims an identity"),
                          ("x-auth-request-user", "claims an identity"), ("X-Api-Key\n", "not a header name")):
        with pytest.raises(MatrixError) as error:
            node_headers(["ok", name])
        assert "loadbalancer_request_headers[1]" in str(error.value) and message in str(error.value), name
    with pytest.raises(MatrixError) as error:
        node_headers("X-Api-Key")
    assert str(error.value) == "loadbalancer_request_headers: expected a list of header names, got a string"
