# -*- coding: utf-8 -*-
"""The edge rules the load balancer's HAProxy configuration prints: bounded bypass prefixes, forged headers,
restricted files."""

from __future__ import annotations

import re

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import (
    FORGEABLE_HEADERS, RESTRICTED_EXTENSIONS, bypass_match, edge_rules)


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
