# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's verdict, matched whole (a substring "PROVEN" is also in "NOT PROVEN"): PROVEN only when the
proof has no mismatch, NOT PROVEN with the counts when a cell is over-allowed (extra) or under-allowed
(missing). The expected lines are written out here, not produced by the renderer."""

from __future__ import annotations

import copy
import re

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._report.report import render_html, render_markdown

RAW = {
    "services": {"pg": ["5432/tcp"], "web": ["80/tcp"]},
    "zones": {"backend": {}, "db": {}, "frontend": {}},
    "peers": {},
    "flows": [{"from": "backend", "to": "db", "services": ["pg"]},
              {"from": "frontend", "to": "backend", "services": ["web"]}],
    "vhosts": [], "guards": {"internet_egress_zones": [], "ingress_zone": None},
}


def _verdicts(matrix, proof):
    markdown = [line for line in render_markdown(matrix, proof).splitlines() if line.startswith("**")]
    page = re.findall(r'<p id="verdict" class="verdict (\w+)">([^<]*)</p>', render_html(matrix, proof))
    return markdown, page


def _counts(proof):
    return proof["summary"]["cells"], proof["summary"]["endpoints"]


def test_exact_policies_are_proven():
    matrix = normalize_matrix(copy.deepcopy(RAW))
    proof = verify_matrix(matrix)
    cells, endpoints = _counts(proof)
    assert _verdicts(matrix, proof) == (
        ["**PROVEN: the policies allow exactly the matrix** (%d cells over %d endpoints; 0 missing, 0 extra)."
         % (cells, endpoints)],
        [("proven", "PROVEN: the policies allow exactly the matrix (%d cells over %d endpoints; 0 missing, 0 extra)"
          % (cells, endpoints))])
    assert ("Rows that neither the matrix nor the policies allow are left out; there are %d cells in all." % cells
            in render_markdown(matrix, proof).splitlines())


def test_an_over_allowed_cell_is_not_proven():
    """db's pg policy widened to every namespace: the zones' own egress policies still hold, so end to end only
    the pods of the namespaces without one (DNS, any unmanaged namespace) reach db on TCP 5432, expected denied;
    and db's ingress side, checked alone, admits the zones that have no flow to db (db itself, frontend)."""
    matrix = normalize_matrix(copy.deepcopy(RAW))
    manifests = compile_manifests(matrix)
    widened = 0
    for obj in manifests:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["namespace"] == "db":
            for rule in obj["spec"].get("ingress") or []:
                if any(port.get("port") == 5432 for port in rule.get("ports") or []):
                    rule["from"] = [{"namespaceSelector": {}}]
                    widened += 1
    assert widened == 1
    proof = verify_matrix(matrix, manifests)
    assert sorted((m["kind"], m["text"]) for m in proof["mismatches"]) == [
        ("extra", "@dns-namespace \u2192 db TCP 5432: allowed, expected denied"),
        ("extra", "@unmanaged \u2192 db TCP 5432: allowed, expected denied"),
        ("extra", "db \u2192 db TCP 5432 (ingress of db alone): allowed, expected denied"),
        ("extra", "frontend \u2192 db TCP 5432 (ingress of db alone): allowed, expected denied"),
        ("extra", "kube-dns \u2192 db TCP 5432: allowed, expected denied")]
    count = 5
    cells, endpoints = _counts(proof)
    assert _verdicts(matrix, proof) == (
        ["**NOT PROVEN: %d mismatches** (%d cells over %d endpoints; 0 missing, %d extra)."
         % (count, cells, endpoints, count)],
        [("failed", "NOT PROVEN: %d mismatches (%d cells over %d endpoints; 0 missing, %d extra)"
          % (count, cells, endpoints, count))])


def test_an_under_allowed_cell_is_not_proven():
    """backend's web policy dropped: frontend -> backend TCP 80 is denied, expected allowed."""
    matrix = normalize_matrix(copy.deepcopy(RAW))
    manifests = [obj for obj in compile_manifests(matrix)
                 if not (obj["kind"] == "NetworkPolicy" and obj["metadata"]["namespace"] == "backend"
                         and any(port.get("port") == 80 for rule in obj["spec"].get("ingress") or []
                                 for port in rule.get("ports") or []))]
    proof = verify_matrix(matrix, manifests)
    assert [(m["kind"], m["text"]) for m in proof["mismatches"]] == [
        ("missing", "frontend \u2192 backend TCP 80: denied, expected allowed")]
    cells, endpoints = _counts(proof)
    assert _verdicts(matrix, proof) == (
        ["**NOT PROVEN: 1 mismatches** (%d cells over %d endpoints; 1 missing, 0 extra)." % (cells, endpoints)],
        [("failed", "NOT PROVEN: 1 mismatches (%d cells over %d endpoints; 1 missing, 0 extra)" % (cells, endpoints))])


def test_the_cell_table_colours_each_row_by_its_status():
    matrix = normalize_matrix(copy.deepcopy(RAW))
    page = render_html(matrix, verify_matrix(matrix))
    table = page[page.index('<table id="cells">'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr( style=\"background:[^\"]+\")?><td>", table)
    assert rows and all(style for style in rows), rows


def test_build_files_names_one_manifest_file_per_zone_or_kind():
    import json  # pylint: disable=import-outside-toplevel
    from ansible_collections.netzone.segmentation.plugins.module_utils._report.report import build_files  # pylint: disable=import-outside-toplevel

    matrix = normalize_matrix(copy.deepcopy(RAW))
    manifests = compile_manifests(matrix)
    proof = verify_matrix(matrix, manifests)
    by_zone = build_files(matrix, manifests, proof, json.dumps)
    assert sorted(by_zone) == ["diagram.dot", "manifests/all.yaml", "manifests/backend.yaml", "manifests/cluster.yaml",
                               "manifests/db.yaml", "manifests/frontend.yaml", "report.html", "report.md"]
    by_kind = build_files(matrix, manifests, proof, json.dumps, group_by="kind")
    assert "manifests/networkpolicy.yaml" in by_kind and "manifests/namespace.yaml" in by_kind
    assert by_kind["manifests/all.yaml"].count("---\n") == len(manifests)


def _picture_matrix():
    """A normalised matrix written out by hand: two zones (one in a namespace of another name), an internet
    peer of four blocks, a narrow peer, two flows."""
    return {"zones": {"web": {"namespace": "web"}, "db": {"namespace": "data"}},
            "cluster": {"dns": {"namespace": "kube-system"}},
            "peers": {"net": {"internet": True, "cidrs": [{"cidr": "0.0.0.0/2"}, {"cidr": "64.0.0.0/2"},
                                                          {"cidr": "128.0.0.0/2"}, {"cidr": "192.0.0.0/2"}]},
                      "lb-1": {"internet": False, "cidrs": [{"cidr": "192.0.2.10/32"}]}},
            "flows": [{"from": "lb-1", "to": "web", "services": ["http", "https"]},
                      {"from": "web", "to": "db", "services": ["postgres"]}]}


def test_the_dot_picture_written_out():
    from ansible_collections.netzone.segmentation.plugins.module_utils._report.report import render_dot  # pylint: disable=import-outside-toplevel

    assert render_dot(_picture_matrix()).splitlines() == [
        "digraph netzone {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=11];',
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
        "  subgraph cluster_k8s {",
        '    label="Kubernetes cluster"; style=rounded; color="#4a6fa5";',
        '    "db" [shape=box, style="rounded,filled", fillcolor="#dde8f6", label="db\\n(ns data)"];',
        '    "web" [shape=box, style="rounded,filled", fillcolor="#dde8f6", label="web"];',
        '    "kube-dns" [shape=box, style="rounded,dashed", label="kube-dns\\n(kube-system)"];',
        "  }",
        '  "lb-1" [shape=ellipse, style=filled, fillcolor="#f2f2f2", label="lb-1\\n192.0.2.10/32"];',
        '  "net" [shape=ellipse, style=filled, fillcolor="#fde2c4", label="net\\n0.0.0.0/2, 64.0.0.0/2, 128.0.0.0/2 ..."];',
        '  "db" -> "kube-dns" [style=dotted, color="#888888", label="dns"];',
        '  "web" -> "kube-dns" [style=dotted, color="#888888", label="dns"];',
        '  "lb-1" -> "web" [label="http, https"];',
        '  "web" -> "db" [label="postgres"];',
        "}"]
    matrix = _picture_matrix()
    matrix["peers"]["net"]["cidrs"] = matrix["peers"]["net"]["cidrs"][:3]      # three blocks: no " ..."
    assert '  "net" [shape=ellipse, style=filled, fillcolor="#fde2c4", label="net\\n0.0.0.0/2, 64.0.0.0/2, ' \
           '128.0.0.0/2"];' in render_dot(matrix).splitlines()


def test_the_mermaid_picture_written_out():
    from ansible_collections.netzone.segmentation.plugins.module_utils._report.report import render_mermaid  # pylint: disable=import-outside-toplevel

    matrix = _picture_matrix()
    matrix["peers"]["net"]["cidrs"] = matrix["peers"]["net"]["cidrs"][:3]
    assert render_mermaid(matrix) == "\n".join([
        "flowchart LR", "  n_db[db]", "  n_web[web]", "  n_lb_1((lb-1))", "  n_net((net))",
        "  n_lb_1 -->|http https| n_web", "  n_web -->|postgres| n_db"]) + "\n"


def test_the_flows_table_writes_port_ranges_and_protocols():
    raw = copy.deepcopy(RAW)
    raw["services"]["pg"] = ["5432-5439/tcp", "53/udp"]
    matrix = normalize_matrix(raw)
    rows = [line for line in render_markdown(matrix, verify_matrix(matrix)).splitlines() if line.startswith("| backend")]
    assert rows[0] == "| backend | db | pg | 5432-5439/TCP, 53/UDP |"
    assert "<td>5432-5439/TCP, 53/UDP</td>" in render_html(matrix, verify_matrix(matrix))


def test_the_page_title_is_escaped_and_a_proof_without_intervals_names_port_and_protocol():
    """A proof saved by an older version has mismatches without ``interval``: they are shown as ``5432/TCP``."""
    matrix = normalize_matrix(copy.deepcopy(RAW))
    manifests = [o for o in compile_manifests(matrix) if o["metadata"]["name"] != "netzone-ingress-from-backend"]
    proof = verify_matrix(matrix, manifests)
    for mismatch in proof["mismatches"]:
        del mismatch["interval"]
    explanation = ("denied: ingress of db/probe-0 is isolated by db/netzone-default-deny (no rule matches TCP/5432 "
                   "from backend/probe-0)")
    assert "- **missing** backend -> db 5432/TCP: " + explanation in render_markdown(matrix, proof).splitlines()
    page = render_html(matrix, proof, title="Shop <prod> & co").splitlines()
    assert "<h1>Shop &lt;prod&gt; &amp; co</h1>" in page
    assert "<title>Shop &lt;prod&gt; &amp; co</title><style>" in page
    assert ("<tr><td>missing</td><td>backend</td><td>db</td><td>5432/TCP</td><td>%s</td></tr>" % explanation) in page
