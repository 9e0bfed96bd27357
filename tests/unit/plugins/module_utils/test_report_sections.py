# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's extra sections: DNS records, NodePort audit, WAF and TLS in force."""

from __future__ import annotations

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._report.sections import (
    ReportError, dns_records, edge_section, egress_section, nodeport_section, report_sections)

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
    # two of the three are VIOLATION rows: the intro counts the rows, not a figure given beside them
    assert md.startswith("3 Service(s) open node ports or external IPs, 2 outside the exempt namespaces: ")
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
    many = {"ok": True, "rows": [row("n%02d" % i, "zone") for i in range(12)]}
    markdown = sections.cluster_guardrails_section(normalize_matrix(default_matrix(), INVENTORY), many)[0]
    assert "| n00, n01, n02, n03, n04 and 7 more | zone | 198.51.100.1 | no | admin | no | yes |" in markdown
    # rows sorted by outcome, kind, address, then what happened (not by the layer that decided it)
    mixed = {"ok": True, "rows": [dict(row("b", "exempt"), internet="denied", layer="admin"),
                                  dict(row("a", "exempt"), internet="allowed", layer="networkpolicy")]}
    markdown = sections.cluster_guardrails_section(normalize_matrix(default_matrix(), INVENTORY), mixed)[0]
    assert markdown.splitlines()[-2:] == ["| a | exempt | 198.51.100.1 | allowed | networkpolicy | no | yes |",
                                          "| b | exempt | 198.51.100.1 | denied | admin | no | yes |"]
    # five are named whole, six are five and one more
    for count, shown in ((5, "n00, n01, n02, n03, n04"), (6, "n00, n01, n02, n03, n04 and 1 more")):
        some = {"ok": True, "rows": [row("n%02d" % i, "zone") for i in range(count)]}
        markdown = sections.cluster_guardrails_section(normalize_matrix(default_matrix(), INVENTORY), some)[0]
        assert markdown.splitlines()[-1] == "| %s | zone | 198.51.100.1 | no | admin | no | yes |" % shown


def test_nodeport_section_whole_text_and_table():
    md, body = nodeport_section({"checked": True, "violations": 1, "mode": "warn", "services": [
        {"namespace": "shop", "name": "web|x", "type": "NodePort", "node_ports": [30080, 30443], "exempt": False},
        {"namespace": "mon", "name": "graf", "type": "LoadBalancer", "external_ips": ["198.51.100.7", "198.51.100.8"],
         "exempt": True}]})
    intro = ("2 Service(s) open node ports or external IPs, 1 outside the exempt namespaces: they bypass the load "
             "balancer (and external IPs let a Service intercept traffic to those addresses, CVE-2020-8554). Change "
             "them to ClusterIP without externalIPs (port-forward over SSH for debugging). The admission policy warns "
             "about new NodePort and LoadBalancer Services and Services with externalIPs (guards.nodeports: warn).")
    assert md == intro + "\n\n" + "\n".join([
        "| service | type | node ports | external IPs | verdict |",
        "| --- | --- | --- | --- | --- |",
        "| shop/web\\|x | NodePort | 30080, 30443 |  | VIOLATION |",
        "| mon/graf | LoadBalancer |  | 198.51.100.7, 198.51.100.8 | exempt |"])
    assert body == (
        "<p>" + intro + "</p>"
        '<table id="nodeport-audit"><thead><tr><th>service</th><th>type</th><th>node ports</th><th>external IPs</th>'
        "<th>verdict</th></tr></thead><tbody>\n"
        '<tr style="background:#f8c9c4"><td>shop/web|x</td><td>NodePort</td><td>30080, 30443</td><td></td>'
        "<td>VIOLATION</td></tr>\n"
        '<tr style="background:#eeeeee"><td>mon/graf</td><td>LoadBalancer</td><td></td><td>198.51.100.7, 198.51.100.8</td>'
        "<td>exempt</td></tr>\n"
        "</tbody></table>")


def test_nodeport_section_not_audited_defaults():
    text = ("Not audited: no cluster was reachable. The admission policy refuses new NodePort and LoadBalancer "
            "Services and Services with externalIPs (guards.nodeports: deny).")
    assert nodeport_section(None) == (text, '<p id="nodeport-audit">%s</p>' % text)
    empty = ("No NodePort or LoadBalancer Service and no Service with externalIPs in the cluster. The admission policy "
             "refuses new NodePort and LoadBalancer Services and Services with externalIPs (guards.nodeports: deny).")
    assert nodeport_section({"checked": True, "mode": "deny"}) == (empty, '<p id="nodeport-audit">%s</p>' % empty)


def test_edge_section_whole_table_colours_each_load_balancer():
    md, body = edge_section([
        {"name": "lb1", "waf_mode": "blocking", "waf_paranoia_level": 2, "tls_profile": "modern",
         "probes": {"normal": 200, "attack": "403", "tls": {"TLSv1.3": "accepted", "TLSv1.2": "refused"}}},
        {"name": "lb2"},
        {"name": "lb3", "waf_mode": "detection", "probes": {"normal": 503, "attack": 200}},
        {"name": "lb4", "waf_mode": "detection", "probes": {"normal": 200}},
    ])
    intro = ("Every request passes the WAF (nginx + ModSecurity + OWASP CRS) before it reaches the cluster. The probes "
             "were sent by each load balancer to its own public frontend: a normal request and a request carrying a "
             "script injection, and TLS handshakes per protocol version.")
    assert md == intro + "\n\n" + "\n".join([
        "| load balancer | WAF mode | paranoia level | TLS profile | normal request | attack request | TLS versions |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        "| lb1 | blocking | 2 | modern | 200 (as expected) | 403 (as expected) | TLSv1.2 refused, TLSv1.3 accepted |",
        "| lb2 | ? | ? | ? | not probed | not probed | not probed |",
        "| lb3 | detection | ? | ? | 503 (expected 200) | 200 (as expected) | not probed |",
        "| lb4 | detection | ? | ? | 200 (as expected) | not probed | not probed |"])
    # good: both answered as expected, or nothing probed at all; one probe missing is not a pass
    assert [part.split(">")[0] for part in body.split("<tr style=")[1:]] == [
        '"background:#d9f2d9"', '"background:#d9f2d9"', '"background:#f8c9c4"', '"background:#f8c9c4"']
    assert edge_section([]) == ("No load balancer in the inventory.", '<p id="edge">No load balancer in the inventory.</p>')


def test_dns_section_without_vhosts_and_with_one_record():
    from ansible_collections.netzone.segmentation.plugins.module_utils._report.sections import dns_section  # pylint: disable=import-outside-toplevel

    raw = {"services": {"http": ["80/tcp"]}, "zones": {"frontend": {}}, "flows": []}
    text = "No vhost in the matrix: nothing to publish."
    assert dns_section(normalize_matrix(raw, INVENTORY), []) == (text, "<p>%s</p>" % text)
    raw["vhosts"] = [{"name": "a.example.com", "exposure": "public", "service": "web"}]
    md, body = dns_section(normalize_matrix(raw, INVENTORY), [{"name": "lb1", "public_address": "2001:db8::1"},
                                                              {"name": "lb2", "public_address": ""}])
    intro = ("Publish these records: a public vhost points to the public address of the load balancers, an internal "
             "one to their internal address (one record per load balancer, or one for the floating address when there "
             "is one).")
    assert md == "\n".join([
        intro, "",
        "| name | type | address | exposure | load balancer |",
        "| --- | --- | --- | --- | --- |",
        "| a.example.com | AAAA | 2001:db8::1 | public | lb1 |",
        "| a.example.com | - | MISSING: set the load balancer's public address | public | lb2 |",
        "", "```", "a.example.com. 300 IN AAAA 2001:db8::1", "```"])
    assert body == (
        "<p>" + intro + "</p>"
        '<table id="dns-records"><thead><tr><th>name</th><th>type</th><th>address</th><th>exposure</th>'
        "<th>load balancer</th></tr></thead><tbody>\n"
        '<tr style="background:#d9f2d9"><td>a.example.com</td><td>AAAA</td><td>2001:db8::1</td><td>public</td>'
        "<td>lb1</td></tr>\n"
        '<tr style="background:#f8c9c4"><td>a.example.com</td><td>-</td>'
        "<td>MISSING: set the load balancer&#x27;s public address</td><td>public</td><td>lb2</td></tr>\n"
        "</tbody></table><pre>a.example.com. 300 IN AAAA 2001:db8::1</pre>")


def test_guardrails_section_whole_text_with_and_without_exemptions():
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix  # pylint: disable=import-outside-toplevel
    from ansible_collections.netzone.segmentation.plugins.module_utils._report.sections import guardrails_section  # pylint: disable=import-outside-toplevel

    matrix = normalize_matrix(default_matrix(), INVENTORY)
    lines = [
        "The internet is recognised by coverage: a peer, or all the peers one zone may reach together, that covers "
        "more public addresses than a /8 of IPv4 or a /16 of IPv6 (guards.internet_bound) is the internet, however "
        "it is written.",
        "Only proxy reach it (guards.internet_egress_zones), and there only the pods labelled "
        "app.kubernetes.io/component=egress (guards.internet_egress_pods): every other pod of those zones reaches "
        "nothing outside the cluster.",
        "The ingress zone ingress admits only the load balancers' own addresses (inventory group loadbalancers), "
        "from load_balancers (guards.ingress_from).",
        "Exemptions (guards.ingress_exemptions): none."]
    assert guardrails_section(matrix) == ("\n\n".join(lines), "".join(
        "<p>%s</p>" % line.replace("'", "&#x27;") for line in lines))
    # a hand-made normalised matrix: no egress zone, no pod labels, no ingress zone, one exemption
    small = {"guards": {"internet_bound": {"ipv4": 12, "ipv6": 20}, "internet_egress_zones": [],
                        "internet_egress_pods": {"b": "2", "a": "1"},
                        "ingress_exemptions": [{"peer": "office", "reason": "VPN"}]},
             "peers": {"office": {"cidrs": [{"cidr": "192.0.2.0/24", "except": ["192.0.2.8/29", "192.0.2.16/29"]},
                                            {"cidr": "198.51.100.0/24", "except": []}]}}}
    md, body = guardrails_section(small)
    assert md == "\n\n".join([
        "The internet is recognised by coverage: a peer, or all the peers one zone may reach together, that covers "
        "more public addresses than a /12 of IPv4 or a /20 of IPv6 (guards.internet_bound) is the internet, however "
        "it is written.",
        "Only no zone reach it (guards.internet_egress_zones), and there only the pods labelled a=1, b=2 "
        "(guards.internet_egress_pods): every other pod of those zones reaches nothing outside the cluster.",
        "Exemptions (guards.ingress_exemptions), wider than the load balancers by a deliberate choice:",
        "| exempt peer | addresses admitted into the ingress zone | reason |\n| --- | --- | --- |\n"
        "| office | 192.0.2.0/24 except 192.0.2.8/29, 192.0.2.16/29, 198.51.100.0/24 | VPN |"])
    assert body.endswith(
        '<table id="ingress-exemptions"><thead><tr><th>exempt peer</th><th>addresses admitted into the ingress zone'
        "</th><th>reason</th></tr></thead><tbody>\n"
        '<tr style="background:#f8c9c4"><td>office</td><td>192.0.2.0/24 except 192.0.2.8/29, 192.0.2.16/29, '
        "198.51.100.0/24</td><td>VPN</td></tr>\n</tbody></table>")
    small["guards"]["internet_bound"] = None
    small["guards"]["ingress_zone"] = "edge"
    paragraphs = guardrails_section(small)[0].split("\n\n")
    assert paragraphs[0] == (
        "The internet is recognised by coverage: a peer, or all the peers one zone may reach together, that covers "
        "more public addresses than a /8 of IPv4 or a /16 of IPv6 (guards.internet_bound) is the internet, however "
        "it is written.")
    assert paragraphs[2] == (
        "The ingress zone edge admits only the load balancers' own addresses (inventory group loadbalancers), "
        "from nobody (guards.ingress_from).")


def test_cluster_guardrails_rows_failures_first_then_kind_address_and_outcome():
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix  # pylint: disable=import-outside-toplevel
    from ansible_collections.netzone.segmentation.plugins.module_utils._report import sections  # pylint: disable=import-outside-toplevel

    def row(namespace, kind, address, internet, ok):
        return {"namespace": namespace, "kind": kind, "address": address, "internet": internet, "layer": "admin",
                "expected": "denied", "ok": ok}

    proof = {"ok": False, "rows": [row("default", "not managed", "1.1.1.1", "denied", True),
                                   row("web", "zone web", "2606:4700:4700::1111", "denied", True),
                                   row("web", "zone web", "1.1.1.1", "denied", True),
                                   row("mon", "exempt", "1.1.1.1", "allowed", False),
                                   row("api", "zone api", "1.1.1.1", "allowed", False),
                                   row("mon", "exempt", "1.1.1.1", "denied", True)]}
    matrix = normalize_matrix(default_matrix(), INVENTORY)
    matrix["guards"]["unmanaged_internet"] = "deny"
    matrix["guards"]["host_network_allowed"] = []
    md, body = sections.cluster_guardrails_section(matrix, proof)
    intro, table = md.split("\n\n", 1)
    assert intro == (
        "Namespaces the matrix does not manage (not a zone, not kube-system) get no direct internet: AdminNetworkPolicy "
        "netzone-unmanaged-no-internet, stage deny (Deny). Pods on the host network or with a hostPort are refused "
        "cluster-wide unless one of these DaemonSets controls them: none (ValidatingAdmissionPolicy netzone-host-network, "
        "stage warn). Proven on a probe cluster: MISMATCH.")
    assert table == "\n".join([
        "| namespaces | kind | to | direct internet | decided by | expected | ok |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        "| mon | exempt | 1.1.1.1 | allowed | admin | denied | NO |",
        "| api | zone | 1.1.1.1 | allowed | admin | denied | NO |",
        "| mon | exempt | 1.1.1.1 | denied | admin | denied | yes |",
        "| default | not managed | 1.1.1.1 | denied | admin | denied | yes |",
        "| web | zone | 1.1.1.1 | denied | admin | denied | yes |",
        "| web | zone | 2606:4700:4700::1111 | denied | admin | denied | yes |"])
    assert [part.split(">")[0] for part in body.split("<tr style=")[1:]] == ['"background:#f8c9c4"'] * 2 + [
        '"background:#d9f2d9"'] * 4


def test_report_sections_in_order_and_the_audit_mode_from_the_matrix(matrix):
    sections_ = report_sections(matrix, None, {"checked": False, "reason": "offline"})
    assert [s["title"] for s in sections_] == ["Live check", "Guardrails", "DNS records to publish", "NodePort audit",
                                               "Cluster-wide guardrails", "WAF and TLS in force", "Egress"]
    assert sections_[3]["markdown"] == (
        "Not audited: offline. The admission policy refuses new NodePort and LoadBalancer Services and Services with "
        "externalIPs (guards.nodeports: deny).")
    warned = report_sections(matrix, [], {"checked": False, "reason": "offline", "mode": "warn"})[3]["markdown"]
    assert warned == ("Not audited: offline. The admission policy warns about new NodePort and LoadBalancer Services "
                      "and Services with externalIPs (guards.nodeports: warn).")
    assert sections_[6]["markdown"] == "No egress section in the matrix: the proxy zone runs no proxy of this collection."
    assert sections_[6]["html"] == ("<p>No egress section in the matrix: the proxy zone runs no proxy of this "
                                    "collection.</p>")


def test_an_egress_section_without_originations_is_the_zone_table_alone():
    matrix = normalize_matrix(default_matrix(), INVENTORY)
    markdown, body = egress_section(matrix)
    assert markdown == (
        "Each zone reaches the internet only through its own proxy port (its NetworkPolicy opens no other): IP literals, "
        "private and special-purpose addresses and unlisted names are refused (403).\n\n"
        "| zone | proxy (HTTPS_PROXY) | domains | ports | mode |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| backend | http://egress-proxy.proxy.svc:3128 | api.example.com, *.example.org | 443 | enforce |")
    assert "egress-zones" in body and "TLS origination" not in body
