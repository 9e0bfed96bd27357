# -*- coding: utf-8 -*-
"""The report shows what the internet peer excludes, with the reason for each range."""

from __future__ import annotations

from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._report.report import (
    internet_exclusions, render_html, render_markdown)
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_matrix

INVENTORY = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1"]},
             "addresses": {"lb1": "5.6.7.8", "n1": "10.0.0.21"}}


def test_exclusions_table_names_every_range_and_why():
    raw = default_matrix()
    raw["peers"]["internet"]["except"] = ["44.0.0.0/8"]
    matrix = normalize_matrix(raw, INVENTORY)
    (name, rows), = internet_exclusions(matrix)
    assert name == "internet"
    by_cut = {row[2]: row for row in rows}
    assert by_cut["44.0.0.0/8"] == ("0.0.0.0/0", "44.0.0.0/8", "44.0.0.0/8", "the matrix (except)")
    assert by_cut["5.6.7.8/32"][3] == "inventory host lb1"
    assert by_cut["169.254.0.0/16"][3].startswith("IANA special-purpose: link local, cloud metadata")
    # the node's private address collapses into 10/8: the row keeps both the effective range and the cause
    assert ("0.0.0.0/0", "10.0.0.0/8", "10.0.0.21/32", "inventory host n1") in rows
    assert by_cut["240.0.0.0/4"][1] == "224.0.0.0/3"
    proof = verify_matrix(matrix)
    markdown = render_markdown(matrix, proof)
    assert "## What the internet peer internet excludes" in markdown
    assert "| 0.0.0.0/0 | 5.6.7.8/32 | 5.6.7.8/32 | inventory host lb1 |" in markdown
    page = render_html(matrix, proof)
    assert 'id="exclusions-internet"' in page and "<td>inventory host lb1</td>" in page


def test_a_dual_stack_internet_peer_lists_each_family_against_its_own_blocks():
    raw = default_matrix()
    raw["peers"]["internet"]["except"].append("44.0.0.0/8")
    raw["peers"]["internet"]["cidrs"] = [{"cidr": "::/0", "except": ["2001:db8:1::/48"]}]
    (name, rows), = internet_exclusions(normalize_matrix(raw, INVENTORY))
    assert name == "internet"
    assert ("0.0.0.0/0", "44.0.0.0/8", "44.0.0.0/8", "the matrix (except)") in rows
    assert ("0.0.0.0/0", "5.6.7.8/32", "5.6.7.8/32", "inventory host lb1") in rows
    assert ("::/0", "::/127", "::1/128", "IANA special-purpose: loopback (RFC 4291)") in rows
    assert ("::/0", "fe80::/10", "fe80::/10", "IANA special-purpose: link-local unicast (RFC 4291)") in rows
    # the matrix's own v6 except lies inside the documentation range, which is what the row shows
    assert ("::/0", "2001:db8::/32", "2001:db8::/32", "IANA special-purpose: documentation (RFC 3849)") in rows
    # no row pairs a block of one family with a range of the other
    for block, effective, cut, _why in rows:
        assert (":" in block) == (":" in effective) == (":" in cut), (block, effective, cut)
