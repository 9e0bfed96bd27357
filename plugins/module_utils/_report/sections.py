# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Extra sections of the report (plain Python, no Ansible, no I/O): the DNS records to publish, the NodePort
audit, and the load balancers' WAF mode and TLS profile in force.

:func:`report_sections` returns a list of ``{"title", "markdown", "html"}`` mappings, the shape the ``render``
module's ``sections`` option takes; ``report.render_markdown``/``render_html`` append them after the proof.
"""

from __future__ import annotations

import html

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ReportError
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.dns_records import dns_records


def _md_cell(value):
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_table(headers, rows):
    out = ["| %s |" % " | ".join(headers), "| %s |" % " | ".join("---" for header in headers)]
    out += ["| %s |" % " | ".join(_md_cell(c) for c in row) for row in rows]
    return "\n".join(out)


def _html_table(headers, rows, table_id, colours=None):
    out = ['<table id="%s"><thead><tr>%s</tr></thead><tbody>' % (
        table_id, "".join("<th>%s</th>" % html.escape(h) for h in headers))]
    for index, row in enumerate(rows):
        colour = colours[index] if colours else None
        style = ' style="background:%s"' % colour if colour else ""
        out.append("<tr%s>%s</tr>" % (style, "".join("<td>%s</td>" % html.escape(str(c)) for c in row)))
    out.append("</tbody></table>")
    return "\n".join(out)


_OK, _BAD, _GREY = "#d9f2d9", "#f8c9c4", "#eeeeee"


def dns_section(matrix, loadbalancers):
    """``(markdown, html)`` of the DNS records to publish."""
    records = dns_records(matrix, loadbalancers)
    intro = ("Publish these records: a public vhost points to the public address of the load balancers, an "
             "internal one to their internal address (one record per load balancer, or one for the floating "
             "address when there is one).")
    if not records:
        text = "No vhost in the matrix: nothing to publish."
        return text, "<p>%s</p>" % html.escape(text)
    rows = [(r["name"], r["type"] or "-", r["address"] or "MISSING: set the load balancer's %s address" % r["exposure"],
             r["exposure"], r["load_balancer"]) for r in records]
    headers = ["name", "type", "address", "exposure", "load balancer"]
    zone_lines = ["%s. 300 IN %s %s" % (r["name"], r["type"], r["address"]) for r in records
                  if r["address"] and r["type"] in ("A", "AAAA")]
    markdown = "\n".join([intro, "", _md_table(headers, rows), "", "```", *zone_lines, "```"])
    body = "<p>%s</p>%s<pre>%s</pre>" % (html.escape(intro), _html_table(
        headers, rows, "dns-records", [_OK if r["address"] else _BAD for r in records]), html.escape("\n".join(zone_lines)))
    return markdown, body


def nodeport_section(audit):
    """``(markdown, html)`` of the Service audit (node ports and external IPs): ``audit`` is ``{"checked": bool,
    "reason": str, "services": [...], "mode": "deny"|"warn"}`` (the count of violations is that of the services
    outside the exempt namespaces, as the table shows them)."""
    audit = audit or {}
    mode = audit.get("mode") or "deny"
    rule = ("The admission policy %s new NodePort and LoadBalancer Services and Services with externalIPs "
            "(guards.nodeports: %s)." % ("refuses" if mode == "deny" else "warns about", mode))
    if not audit.get("checked"):
        text = "Not audited: %s. %s" % (audit.get("reason") or "no cluster was reachable", rule)
        return text, '<p id="nodeport-audit">%s</p>' % html.escape(text)
    services = audit.get("services") or []
    if not services:
        text = "No NodePort or LoadBalancer Service and no Service with externalIPs in the cluster. %s" % rule
        return text, '<p id="nodeport-audit">%s</p>' % html.escape(text)
    rows = [("%s/%s" % (s.get("namespace"), s.get("name")), s.get("type"),
             ", ".join(str(p) for p in s.get("node_ports") or []), ", ".join(s.get("external_ips") or []),
             "exempt" if s.get("exempt") else "VIOLATION")
            for s in services]
    headers = ["service", "type", "node ports", "external IPs", "verdict"]
    intro = ("%d Service(s) open node ports or external IPs, %d outside the exempt namespaces: they bypass the "
             "load balancer (and external IPs let a Service intercept traffic to those addresses, CVE-2020-8554). "
             "Change them to ClusterIP without externalIPs (port-forward over SSH for debugging). %s"
             % (len(services), sum(1 for s in services if not s.get("exempt")), rule))
    colours = [_GREY if s.get("exempt") else _BAD for s in services]
    return ("%s\n\n%s" % (intro, _md_table(headers, rows)),
            "<p>%s</p>%s" % (html.escape(intro), _html_table(headers, rows, "nodeport-audit", colours)))


def _probe_text(status, expected):
    if status in (None, ""):
        return "not probed"
    return "%s (%s)" % (status, "as expected" if str(status) == str(expected) else "expected %s" % expected)


def edge_section(loadbalancers):
    """``(markdown, html)`` of the WAF mode and TLS profile in force on each load balancer, with what the
    probes saw (``probes``: ``{"normal": status, "attack": status, "tls": {"TLSv1.1": "refused", ...}}``)."""
    if not loadbalancers:
        text = "No load balancer in the inventory."
        return text, '<p id="edge">%s</p>' % html.escape(text)
    rows, colours = [], []
    for lb in loadbalancers:
        probes = lb.get("probes") or {}
        attack_expected = 403 if lb.get("waf_mode") == "blocking" else 200
        tls = probes.get("tls") or {}
        rows.append((lb["name"], lb.get("waf_mode", "?"), lb.get("waf_paranoia_level", "?"), lb.get("tls_profile", "?"),
                     _probe_text(probes.get("normal"), 200), _probe_text(probes.get("attack"), attack_expected),
                     ", ".join("%s %s" % (k, tls[k]) for k in sorted(tls)) or "not probed"))
        seen = [probes.get("normal"), probes.get("attack")]
        answered = str(probes.get("normal")) == "200" and str(probes.get("attack")) == str(attack_expected)
        good = all(s in (None, "") for s in seen) or answered
        colours.append(_OK if good else _BAD)
    headers = ["load balancer", "WAF mode", "paranoia level", "TLS profile", "normal request", "attack request",
               "TLS versions"]
    intro = ("Every request passes the WAF (nginx + ModSecurity + OWASP CRS) before it reaches the cluster. The "
             "probes were sent by each load balancer to its own public frontend: a normal request and a request "
             "carrying a script injection, and TLS handshakes per protocol version.")
    return ("%s\n\n%s" % (intro, _md_table(headers, rows)),
            "<p>%s</p>%s" % (html.escape(intro), _html_table(headers, rows, "edge", colours)))


def live_section(live):
    """``(markdown, html)`` saying whether the live cluster was checked: ``live`` is ``{"checked", "reason",
    "mismatches"}``."""
    live = live or {}
    if live.get("checked"):
        count = live.get("mismatches") or 0
        text = ("The live cluster was checked against the matrix: %d mismatch(es). The cell table above shows the "
                "live cluster." % count)
    else:
        text = ("The live cluster was not checked (%s): the cell table above is the proof on a representative "
                "cluster built from the matrix, with the compiled policies." % (live.get("reason") or "no cluster"))
    return text, '<p id="live-check">%s</p>' % html.escape(text)


def egress_section(matrix):
    """``(markdown, html)`` of the egress proxies: who reaches which domains and ports through which port."""
    # imported here: the report works without the egress module's dependencies being loaded elsewhere
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.egress_workload import egress_report
    rows = egress_report(matrix)
    if not rows["zones"] and not rows["originations"]:
        text = "No egress section in the matrix: the proxy zone runs no proxy of this collection."
        return text, "<p>%s</p>" % html.escape(text)
    intro = ("Each zone reaches the internet only through its own proxy port (its NetworkPolicy opens no other): "
             "IP literals, private and special-purpose addresses and unlisted names are refused (403).")
    zheaders = ["zone", "proxy (HTTPS_PROXY)", "domains", "ports", "mode"]
    zrows = [(z["zone"], z["proxy"], ", ".join(z["domains"]), ", ".join(map(str, z["ports"])), z["mode"])
             for z in rows["zones"]]
    oheaders = ["origination", "from", "call", "upstream (TLS, verified)", "CA", "client certificate"]
    orows = [(o["name"], ", ".join(o["from"]), o["url"], o["upstream"], o["ca"], o["client_cert"])
             for o in rows["originations"]]
    markdown = "\n".join([intro, "", _md_table(zheaders, zrows)] +
                         (["", "TLS origination:", "", _md_table(oheaders, orows)] if orows else []))
    body = "<p>%s</p>%s" % (html.escape(intro), _html_table(zheaders, zrows, "egress-zones"))
    if orows:
        body += "<p>TLS origination:</p>" + _html_table(oheaders, orows, "egress-originations")
    return markdown, body


def guardrails_section(matrix):
    """``(markdown, html)`` of the rules that hold whatever the flows say, and the named exemptions from them."""
    guards = matrix["guards"]
    bound = guards.get("internet_bound") or {"ipv4": 8, "ipv6": 16}
    pods = ", ".join("%s=%s" % kv for kv in sorted((guards.get("internet_egress_pods") or {}).items())) or "(every pod)"
    lines = [
        "The internet is recognised by coverage: a peer, or all the peers one zone may reach together, that covers "
        "more public addresses than a /%d of IPv4 or a /%d of IPv6 (guards.internet_bound) is the internet, "
        "however it is written." % (bound["ipv4"], bound["ipv6"]),
        "Only %s reach it (guards.internet_egress_zones), and there only the pods labelled %s "
        "(guards.internet_egress_pods): every other pod of those zones reaches nothing outside the cluster."
        % (", ".join(guards.get("internet_egress_zones") or []) or "no zone", pods),
    ]
    if guards.get("ingress_zone"):
        lines.append("The ingress zone %s admits only the load balancers' own addresses (inventory group "
                     "loadbalancers), from %s (guards.ingress_from)." % (
                         guards["ingress_zone"], ", ".join(guards.get("ingress_from") or []) or "nobody"))
    exemptions = guards.get("ingress_exemptions") or []
    rows = [(e["peer"], ", ".join(b["cidr"] + ("" if not b["except"] else " except " + ", ".join(b["except"]))
                                  for b in matrix["peers"][e["peer"]]["cidrs"]), e["reason"]) for e in exemptions]
    headers = ["exempt peer", "addresses admitted into the ingress zone", "reason"]
    tail = "Exemptions (guards.ingress_exemptions): none." if not rows else \
        "Exemptions (guards.ingress_exemptions), wider than the load balancers by a deliberate choice:"
    markdown = "\n\n".join(lines + [tail] + ([_md_table(headers, rows)] if rows else []))
    body = "".join("<p>%s</p>" % html.escape(line) for line in lines + [tail])
    if rows:
        body += _html_table(headers, rows, "ingress-exemptions", [_BAD] * len(rows))
    return markdown, body


def cluster_guardrails_section(matrix, proof=None):
    """``(markdown, html)`` of the cluster-wide guardrails: the direct internet of each kind of namespace, proven
    on a probe cluster (``proof``: the plan's ``guardrail``; default ``cluster_policy.guardrail_proof`` of the
    matrix compiled), and the host network admission policy's allow-list."""
    guards = matrix["guards"]
    if proof is None:
        from ansible_collections.netzone.segmentation.plugins.module_utils._model.cluster_policy import guardrail_proof
        proof = guardrail_proof(matrix)
    intro = ("Namespaces the matrix does not manage (not a zone, not %s) get no direct internet: AdminNetworkPolicy "
             "netzone-unmanaged-no-internet, stage %s (%s). Pods on the host network or with a hostPort are refused "
             "cluster-wide unless one of these DaemonSets controls them: %s (ValidatingAdmissionPolicy "
             "netzone-host-network, stage %s). Proven on a probe cluster: %s." % (
                 ", ".join(guards["unmanaged_exempt_namespaces"]), guards["unmanaged_internet"],
                 "Deny" if guards["unmanaged_internet"] == "deny" else "Pass: no verdict changes yet",
                 ", ".join(guards["host_network_allowed"]) or "none", guards["host_network"],
                 "every probe as expected" if proof["ok"] else "MISMATCH"))
    # one row per kind of namespace and outcome (the zones are many): the namespaces, the first few named
    groups = {}
    for r in proof["rows"]:
        kind = "zone" if r["kind"].startswith("zone ") else r["kind"]
        key = (kind, r["address"], r["internet"], r["layer"], r["expected"], r["ok"])
        groups.setdefault(key, []).append(r["namespace"])
    headers = ["namespaces", "kind", "to", "direct internet", "decided by", "expected", "ok"]
    keys = sorted(groups, key=lambda k: (k[5], k[0], k[1], k[2]))
    rows = [("%s%s" % (", ".join(groups[k][:5]), " and %d more" % (len(groups[k]) - 5) if len(groups[k]) > 5 else ""),
             k[0], k[1], k[2], k[3], k[4], "yes" if k[5] else "NO") for k in keys]
    markdown = "\n".join([intro, "", _md_table(headers, rows)])
    body = "<p>%s</p>%s" % (html.escape(intro), _html_table(headers, rows, "guardrails",
                                                            [_OK if k[5] else _BAD for k in keys]))
    return markdown, body


def report_sections(matrix, loadbalancers=None, audit=None, live=None, guardrail=None):
    """Every extra section, in order, as ``[{"title", "markdown", "html"}]``; ``guardrail`` is the plan's proof of
    the cluster-wide guardrail (proven here on the matrix compiled when it is not given)."""
    if not isinstance(matrix, dict) or "vhosts" not in matrix:
        raise ReportError("expects a normalised matrix (the output of the netzone.segmentation.matrix filter)")
    loadbalancers = loadbalancers or []
    out = []
    for title, (markdown, body) in (("Live check", live_section(live)),
                                    ("Guardrails", guardrails_section(matrix)),
                                    ("DNS records to publish", dns_section(matrix, loadbalancers)),
                                    ("NodePort audit", nodeport_section(dict(audit or {}, mode=(audit or {}).get("mode")
                                                                             or matrix["guards"]["nodeports"]))),
                                    ("Cluster-wide guardrails", cluster_guardrails_section(matrix, guardrail)),
                                    ("WAF and TLS in force", edge_section(loadbalancers)),
                                    ("Egress", egress_section(matrix))):
        out.append({"title": title, "markdown": markdown, "html": body})
    return out
