# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readable reports of a matrix and its proof: Graphviz source, Markdown, self-contained HTML (no I/O).

The diagram is Graphviz DOT text; whoever has ``dot`` turns it into SVG (:func:`render_html` embeds the SVG
it is given, so the HTML file renders without network access).  Nothing here reads or writes files.
"""

from __future__ import annotations

import html
import ipaddress

from ansible_collections.netzone.segmentation.plugins.module_utils._common.constants import ZONE_LABEL
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import DNS_ENDPOINT, cell_table

_STATUS_COLOUR = {"ok": "#d9f2d9", "missing": "#f8c9c4", "extra": "#f8c9c4", "no-pods": "#eeeeee"}


def _dot_id(name):
    return '"%s"' % name.replace('"', '\\"')


def render_dot(matrix):
    """Graphviz DOT of zones (boxes, inside the cluster), outside peers (ellipses) and allowed flows."""
    lines = ["digraph netzone {", '  graph [rankdir=LR, fontname="Helvetica", fontsize=11];',
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];',
             '  subgraph cluster_k8s {', '    label="Kubernetes cluster"; style=rounded; color="#4a6fa5";']
    for zone in sorted(matrix["zones"]):
        spec = matrix["zones"][zone]
        label = zone if spec["namespace"] == zone else "%s\\n(ns %s)" % (zone, spec["namespace"])
        lines.append('    %s [shape=box, style="rounded,filled", fillcolor="#dde8f6", label="%s"];' % (_dot_id(zone), label))
    lines.append('    %s [shape=box, style="rounded,dashed", label="kube-dns\\n(%s)"];'
                 % (_dot_id(DNS_ENDPOINT), matrix["cluster"]["dns"]["namespace"]))
    lines.append("  }")
    for name in sorted(matrix["peers"]):
        peer = matrix["peers"][name]
        cidrs = ", ".join(c["cidr"] for c in peer["cidrs"][:3]) + (" ..." if len(peer["cidrs"]) > 3 else "")
        colour = "#fde2c4" if peer["internet"] else "#f2f2f2"
        lines.append('  %s [shape=ellipse, style=filled, fillcolor="%s", label="%s\\n%s"];'
                     % (_dot_id(name), colour, name, cidrs))
    for zone in sorted(matrix["zones"]):
        lines.append('  %s -> %s [style=dotted, color="#888888", label="dns"];' % (_dot_id(zone), _dot_id(DNS_ENDPOINT)))
    for flow in matrix["flows"]:
        lines.append("  %s -> %s [label=\"%s\"];" % (_dot_id(flow["from"]), _dot_id(flow["to"]), ", ".join(flow["services"])))
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_mermaid(matrix):
    """The same picture as Mermaid text (for Markdown viewers that draw it)."""
    def mid(name):
        return "n_" + "".join(c if c.isalnum() else "_" for c in name)
    lines = ["flowchart LR"]
    for zone in sorted(matrix["zones"]):
        lines.append("  %s[%s]" % (mid(zone), zone))
    for name in sorted(matrix["peers"]):
        lines.append("  %s((%s))" % (mid(name), name))
    for flow in matrix["flows"]:
        lines.append("  %s -->|%s| %s" % (mid(flow["from"]), " ".join(flow["services"]), mid(flow["to"])))
    return "\n".join(lines) + "\n"


def _md_escape(text):
    return str(text).replace("|", "\\|")


def _ports_of(matrix, services):
    out = []
    for name in services:
        for entry in matrix["services"][name]:
            end = "-%d" % entry["end_port"] if entry["end_port"] else ""
            out.append("%d%s/%s" % (entry["port"], end, entry["protocol"]))
    return ", ".join(out)


def internet_exclusions(matrix):
    """For each internet peer, ``(name, rows)``: one row ``(block, effective except, cut out, reason)`` per
    range that is not the internet (the user's own ``except`` entries have the reason "the matrix")."""
    out = []
    for name in sorted(matrix["peers"]):
        peer = matrix["peers"][name]
        if not peer["internet"]:
            continue
        reasons = {}
        for entry in peer.get("exclusions", ()):
            reasons.setdefault(entry["cidr"], []).append(entry["reason"])
        rows = []
        for block in peer["cidrs"]:
            block_net = ipaddress.ip_network(block["cidr"])
            for exc in block["except"]:
                exc_net = ipaddress.ip_network(exc)
                inside = [(cidr, why) for cidr, whys in reasons.items() for why in whys
                          if ipaddress.ip_network(cidr).version == exc_net.version
                          and ipaddress.ip_network(cidr).subnet_of(exc_net)
                          and ipaddress.ip_network(cidr).subnet_of(block_net)]
                if not inside:
                    rows.append((block["cidr"], exc, exc, "the matrix (except)"))
                for cidr, why in inside:
                    rows.append((block["cidr"], exc, cidr, why))
        out.append((name, rows))
    return out


def render_markdown(matrix, proof, title="netzone segmentation report", sections=None):
    """The report as Markdown: flows, the cell table, mismatches, then any extra ``sections``
    (a list of ``(heading, markdown text)``)."""
    summary = proof["summary"]
    verdict = "PROVEN: the policies allow exactly the matrix" if not proof["mismatches"] else \
        "NOT PROVEN: %d mismatches" % len(proof["mismatches"])
    out = ["# %s" % title, "", "**%s** (%d cells over %d endpoints; %d missing, %d extra)." % (
        verdict, summary["cells"], summary["endpoints"], summary["missing"], summary["extra"]), ""]
    out += ["## Zones and flows", "", "```mermaid", render_mermaid(matrix).rstrip(), "```", "",
            "| from | to | services | ports |", "| --- | --- | --- | --- |"]
    for flow in matrix["flows"]:
        out.append("| %s | %s | %s | %s |" % (flow["from"], flow["to"], ", ".join(flow["services"]),
                                              _ports_of(matrix, flow["services"])))
    out += ["", "Every zone may also resolve names through %s pods in `%s`; everything else is denied." % (
        DNS_ENDPOINT, matrix["cluster"]["dns"]["namespace"]), ""]
    out += ["## Cells (expected vs actual)", "",
            "Rows that neither the matrix nor the policies allow are left out; there are %d cells in all."
            % summary["cells"], "", "| from | to | service | expected | actual | status |",
            "| --- | --- | --- | --- | --- | --- |"]
    for row in cell_table(matrix, proof):
        cells = (row["from"], row["to"], row["service"], row["expected"], row["actual"], row["status"])
        out.append("| %s | %s | %s | %s | %s | %s |" % cells)
    out += ["", "## Mismatches", ""]
    if not proof["mismatches"]:
        out.append("None.")
    for mis in proof["mismatches"]:
        fields = (mis["kind"], mis["from"], mis["to"], _interval(mis), _md_escape(mis["explanation"]))
        out.append("- **%s** %s -> %s %s: %s" % fields)
    out.append("")
    out += ["## Probe addresses", "", "| endpoint | address |", "| --- | --- |"]
    for name, addr in summary["outside"].items():
        out.append("| %s | %s |" % (name, addr))
    for name, rows in internet_exclusions(matrix):
        out += ["", "## What the internet peer %s excludes" % name, "",
                "| block | effective except | cut out | reason |", "| --- | --- | --- | --- |"]
        out += ["| %s |" % " | ".join(_md_escape(c) for c in row) for row in rows]
    for heading, text in sections or []:
        out += ["", "## %s" % heading, "", text.rstrip()]
    return "\n".join(out) + "\n"


_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #bbb;padding:3px 8px;text-align:left}
th{background:#f0f0f0}.verdict{padding:.5em 1em;display:inline-block;border-radius:4px}
.proven{background:#d9f2d9}.failed{background:#f8c9c4}.diagram svg{max-width:100%;height:auto}
pre{background:#f7f7f7;padding:1em;overflow:auto}
"""


def _table_html(headers, rows, colour_of=None, attrs=""):
    out = ["<table%s><thead><tr>%s</tr></thead><tbody>" % (attrs, "".join("<th>%s</th>" % html.escape(h) for h in headers))]
    for row in rows:
        style = ""
        if colour_of:
            colour = colour_of(row)
            style = ' style="background:%s"' % colour if colour else ""
        out.append("<tr%s>%s</tr>" % (style, "".join("<td>%s</td>" % html.escape(str(c)) for c in row)))
    out.append("</tbody></table>")
    return "\n".join(out)


def _interval(mismatch):
    """``TCP 5433–65535`` (older proofs without ``interval``: ``5432/TCP``)."""
    return mismatch.get("interval") or "%d/%s" % (mismatch["port"], mismatch["protocol"])


def render_html(matrix, proof, svg=None, title="netzone segmentation report", sections=None):
    """A self-contained HTML page: verdict, diagram (inline SVG, or the DOT source when no SVG was made),
    the colour cell table, the mismatches, and any extra ``sections`` (``(heading, html)`` pairs)."""
    summary = proof["summary"]
    proven = not proof["mismatches"]
    verdict = "PROVEN: the policies allow exactly the matrix" if proven else \
        "NOT PROVEN: %d mismatches" % len(proof["mismatches"])
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>%s</title><style>%s</style></head><body>" % (html.escape(title), _CSS),
             "<h1>%s</h1>" % html.escape(title),
             '<p id="verdict" class="verdict %s">%s (%d cells over %d endpoints; %d missing, %d extra)</p>' % (
                 "proven" if proven else "failed", html.escape(verdict), summary["cells"], summary["endpoints"],
                 summary["missing"], summary["extra"]),
             "<h2>Zones, peers and allowed flows</h2>"]
    if svg:
        body = svg[svg.find("<svg"):] if "<svg" in svg else svg
        parts.append('<div class="diagram" id="diagram">%s</div>' % body)
    else:
        parts.append('<div class="diagram" id="diagram"><p>Graphviz (<code>dot</code>) was not found, so here is '
                     'the diagram source: install the <code>graphviz</code> package for the picture.</p><pre>%s</pre></div>'
                     % html.escape(render_dot(matrix)))
    parts.append("<h2>Flows</h2>")
    parts.append(_table_html(["from", "to", "services", "ports"],
                             [(f["from"], f["to"], ", ".join(f["services"]), _ports_of(matrix, f["services"]))
                              for f in matrix["flows"]]))
    parts.append("<h2>Cells: every zone pair and service, expected vs actual</h2>")
    parts.append("<p>Green: the policies do what the matrix says; red: a mismatch. Pairs that neither allows are "
                 "left out (%d cells in all).</p>" % summary["cells"])
    rows = [(r["from"], r["to"], r["service"], ", ".join(r["ports"]), r["expected"], r["actual"], r["status"])
            for r in cell_table(matrix, proof)]
    parts.append(_table_html(["from", "to", "service", "ports", "expected", "actual", "status"], rows,
                             colour_of=lambda r: _STATUS_COLOUR.get(r[6]), attrs=' id="cells"'))
    parts.append("<h2>Mismatches</h2>")
    if proven:
        parts.append('<p id="mismatches">None.</p>')
    else:
        parts.append(_table_html(["kind", "from", "to", "port", "explanation"],
                                 [(m["kind"], m["from"], m["to"], _interval(m), m["explanation"])
                                  for m in proof["mismatches"]], attrs=' id="mismatches"'))
    parts.append("<h2>Probe addresses</h2>")
    parts.append(_table_html(["endpoint", "address"], list(summary["outside"].items())))
    for name, rows in internet_exclusions(matrix):
        parts.append("<h2>What the internet peer %s excludes</h2>" % html.escape(name))
        parts.append(_table_html(["block", "effective except", "cut out", "reason"], rows,
                                 attrs=' id="exclusions-%s"' % html.escape(name)))
    for heading, body in sections or []:
        parts.append("<h2>%s</h2>%s" % (html.escape(heading), body))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _yaml_docs(objects, dump):
    return "".join("---\n" + dump(obj) for obj in objects)


def build_files(matrix, manifests, proof, dump, svg=None, group_by="zone", sections_md=None, sections_html=None):
    """Every file of a render directory, name -> text: ``manifests/<group>.yaml`` (one per zone or kind),
    ``manifests/all.yaml`` in apply order, ``report.md``, ``report.html``, ``diagram.dot`` (and
    ``diagram.svg`` when given).  ``dump`` turns one object into YAML text."""
    files = {}
    groups = {}
    for obj in manifests:
        if group_by == "kind":
            key = obj["kind"].lower()
        else:
            key = obj["metadata"].get("labels", {}).get(ZONE_LABEL, "cluster")
        groups.setdefault(key, []).append(obj)
    for key, objects in groups.items():
        files["manifests/%s.yaml" % key] = _yaml_docs(objects, dump)
    files["manifests/all.yaml"] = _yaml_docs(manifests, dump)
    files["report.md"] = render_markdown(matrix, proof, sections=sections_md)
    files["report.html"] = render_html(matrix, proof, svg=svg, sections=sections_html)
    files["diagram.dot"] = render_dot(matrix)
    if svg:
        files["diagram.svg"] = svg
    return files
