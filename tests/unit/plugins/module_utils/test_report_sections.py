# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's extra sections: DNS records, NodePort audit, WAF and TLS in force."""

from __future__ import annotations

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._report.sections import (
    ReportError, dns_records, edge_section, nodeport_section, report_sections)

INVENTORY = {"groups": {"loadbalancers": ["lb1", "lb2"], "microk8s": ["n1"]},
             "addresses": {"lb1": "203.0.113.10", "lb2": "203.0.113.11", "n1": "198.51.100.21"}}


@pytest.fixture()
def matrix():
    raw = {"services": {"http": ["80/tcp"]}, "peers": {"load_balancers": {"from_group": "loadbalancers"}},
           "zones": {"ingress": {}, "frontend": {}},
           "flows": [{"from": "load_balancers", "to": "ingress", "services": ["http"]},
                     {"from": "ingress", "to": "frontend", "services": ["http"]}],
           "vhosts": [{"name": "shop.example.com", "aliases": ["www.example.com"], "exposure": "public", "service": "web"},
                      {"name": "intranet.example.com", "exposure": "internal", "service": "intranet"}]}
    return normalize_matrix(raw, INVENTORY)


def test_dns_records_per_name_and_load_balancer(matrix):
    lbs = [{"name": "lb1", "public_address": "*", "host_address": "203.0.113.10", "internal_address": "10.20.0.10"},
           {"name": "lb2", "public_address": "2001:db8::11", "internal_address": ""}]
    records = dns_records(matrix, lbs)
    got = [(r["name"], r["load_balancer"], r["type"], r["address"]) for r in records]
    assert got == [("shop.example.com", "lb1", "A", "203.0.113.10"), ("shop.example.com", "lb2", "AAAA", "2001:db8::11"),
                   ("www.example.com", "lb1", "A", "203.0.113.10"), ("www.example.com", "lb2", "AAAA", "2001:db8::11"),
                   ("intranet.example.com", "lb1", "A", "10.20.0.10"), ("intranet.example.com", "lb2", None, None)]
    sections = {s["title"]: s for s in report_sections(matrix, lbs)}
    dns = sections["DNS records to publish"]
    assert "MISSING: set the load balancer's internal address" in dns["markdown"]
    assert "shop.example.com. 300 IN A 203.0.113.10" in dns["markdown"]
    assert 'id="dns-records"' in dns["html"] and "#f8c9c4" in dns["html"]


def test_nodeport_section_states():
    assert nodeport_section({"checked": False, "reason": "no kubeconfig", "mode": "deny"})[0].startswith(
        "Not audited: no kubeconfig. The admission policy refuses new NodePort")
    assert nodeport_section({"checked": True, "services": [], "mode": "warn"})[0].startswith(
        "No NodePort or LoadBalancer Service and no Service with externalIPs in the cluster. The admission policy "
        "warns about new NodePort and LoadBalancer Services and Services with externalIPs")
    md, body = nodeport_section({"checked": True, "violations": 1, "mode": "deny", "services": [
        {"namespace": "shop", "name": "web", "type": "NodePort", "node_ports": [30080], "exempt": False},
        {"namespace": "ingress", "name": "lb", "type": "LoadBalancer", "node_ports": [31000], "exempt": True},
        {"namespace": "shop", "name": "ext", "type": "ClusterIP", "node_ports": [], "external_ips": ["198.51.100.7"],
         "exempt": False}]})
    assert "3 Service(s) open node ports or external IPs, 1 outside the exempt namespaces" in md
    assert "| shop/web | NodePort | 30080 |  | VIOLATION |" in md
    assert "| ingress/lb | LoadBalancer | 31000 |  | exempt |" in md
    assert "| shop/ext | ClusterIP |  | 198.51.100.7 | VIOLATION |" in md and "CVE-2020-8554" in md


def test_edge_section_judges_probes_and_escapes():
    md, body = edge_section([{"name": "lb<1>", "waf_mode": "blocking", "waf_paranoia_level": 1,
                              "tls_profile": "intermediate",
                              "probes": {"normal": 200, "attack": 200, "tls": {"TLSv1.1": "refused"}}}])
    assert "| lb<1> | blocking | 1 | intermediate | 200 (as expected) | 200 (expected 403) | TLSv1.1 refused |" in md
    assert "lb&lt;1&gt;" in body and "<1>" not in body and "#f8c9c4" in body
    md = edge_section([{"name": "lb1", "waf_mode": "detection", "probes": {"normal": 200, "attack": 200}}])[0]
    assert "200 (as expected) | 200 (as expected) | not probed" in md
    # an attack answered with anything but the expected 403 is not a pass, even a code that sorts after it
    body = edge_section([{"name": "lb1", "waf_mode": "blocking", "probes": {"normal": 200, "attack": 404}}])[1]
    assert "#f8c9c4" in body
    body = edge_section([{"name": "lb1", "waf_mode": "blocking", "probes": {"normal": 200, "attack": 403}}])[1]
    assert "#f8c9c4" not in body


def test_bad_input_is_one_clear_error(matrix):
    with pytest.raises(ReportError, match="expects a normalised matrix"):
        report_sections({"vhosts": []}.get("x"))
    with pytest.raises(ReportError, match="loadbalancers must be a list"):
        dns_records(matrix, {"name": "lb1"})
    with pytest.raises(ReportError, match="with a 'name'"):
        dns_records(matrix, [{"public_address": "1.2.3.4"}])


def test_live_section_says_what_was_checked_and_the_count():
    from ansible_collections.netzone.segmentation.plugins.module_utils._report.sections import live_section  # pylint: disable=import-outside-toplevel

    checked = ("The live cluster was checked against the matrix: %d mismatch(es). The cell table above shows the "
               "live cluster.")
    assert live_section({"checked": True, "mismatches": 0})[0] == checked % 0
    assert live_section({"checked": True})[0] == checked % 0
    assert live_section({"checked": True, "mismatches": 3}) == (checked % 3, '<p id="live-check">%s</p>' % (checked % 3))
    assert live_section(None)[0] == (
        "The live cluster was not checked (no cluster): the cell table above is the proof on a representative "
        "cluster built from the matrix, with the compiled policies.")


def test_cluster_guardrails_rows_name_five_namespaces_then_count_the_rest():
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix  # pylint: disable=import-outside-toplevel
    from ansible_collections.netzone.segmentation.plugins.module_utils._report import sections  # pylint: disable=import-outside-toplevel

    def row(namespace, kind):
        return {"namespace": namespace, "kind": kind, "address": "198.51.100.1", "internet": "no", "layer": "admin",
                "expected": "no", "ok": True}

    zones = ["z%d" % i for i in range(7)]
    proof = {"ok": True, "rows": [row(ns, "zone " + ns) for ns in zones] + [row("mon", "exempt"), row("x", "exempt")]}
    markdown = sections.cluster_guardrails_section(normalize_matrix(default_matrix(), INVENTORY), proof)[0]
    assert "| z0, z1, z2, z3, z4 and 2 more | zone | 198.51.100.1 | no | admin | no | yes |" in markdown
    assert "| mon, x | exempt | 198.51.100.1 | no | admin | no | yes |" in markdown
