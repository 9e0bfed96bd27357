# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open the report in headless Chromium (Debian's ``chromium``) and check what a user sees.

The report is built the way the verify stage builds it (matrix -> manifests -> proof -> Graphviz SVG ->
self-contained HTML with the extra sections).  A probe script appended to a copy of the page measures, inside
the browser, the drawn diagram (its bounding box and the zone and peer nodes Graphviz drew) and the table rows,
and writes the figures into the DOM, which ``--dump-dom`` returns.  Chromium runs with networking disabled
(a proxy that does not exist) and the page must still render: it is self-contained.

Chromium and Graphviz come from bindep.txt (``make deps``); a missing binary is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import normalize_matrix
from ansible_collections.netzone.segmentation.plugins.module_utils._report.report import build_files, render_dot
from ansible_collections.netzone.segmentation.plugins.module_utils._report.sections import report_sections
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_matrix

INVENTORY = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1", "n2"]},
             "addresses": {"lb1": "203.0.113.10", "n1": "198.51.100.21", "n2": "198.51.100.22"}}
LBS = [{"name": "lb1", "public_address": "203.0.113.10", "internal_address": "10.20.0.10", "waf_mode": "blocking",
        "waf_paranoia_level": 1, "tls_profile": "intermediate",
        "probes": {"vhost": "shop.example.com", "normal": 200, "attack": 403,
                   "tls": {"TLSv1.1": "refused", "TLSv1.2": "accepted", "TLSv1.3": "accepted"}}}]

PROBE = """
<script>
(function () {
  var svg = document.querySelector('#diagram svg');
  var box = svg ? svg.getBBox() : {width: 0, height: 0};
  var rect = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  var titles = Array.prototype.map.call(document.querySelectorAll('#diagram svg g.node title'),
                                        function (t) { return t.textContent; });
  var edges = document.querySelectorAll('#diagram svg g.edge').length;
  var rows = Array.prototype.map.call(document.querySelectorAll('#cells tbody tr'), function (tr) {
    return {cells: Array.prototype.map.call(tr.children, function (td) { return td.textContent; }),
            background: getComputedStyle(tr).backgroundColor};
  });
  var dns = document.querySelectorAll('#dns-records tbody tr').length;
  var edge = document.querySelectorAll('#edge tbody tr').length;
  var out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({bbox: [box.width, box.height], rect: [rect.width, rect.height],
                                    nodes: titles, edges: edges, rows: rows, dns: dns, edge: edge,
                                    resources: performance.getEntriesByType('resource').length});
  document.body.appendChild(out);
})();
</script>
"""


def _binary(name):
    path = shutil.which(name)
    if not path:
        pytest.fail("%s is not installed: run `make deps` (bindep.txt lists it)" % name)
    return path


@pytest.fixture(scope="module")
def matrix():
    return normalize_matrix(None, INVENTORY)


def _report(matrix, tmp_path, mismatching=False):
    manifests = compile_manifests(matrix)
    if mismatching:  # drop backend's policy that lets frontend in: the proof must show a missing flow
        manifests = [m for m in manifests if (m["metadata"].get("namespace"), m["metadata"]["name"])
                     != ("backend", "netzone-ingress-from-frontend")]
    proof = verify_matrix(matrix, manifests)
    svg = subprocess.run([_binary("dot"), "-Tsvg"], input=render_dot(matrix).encode(), capture_output=True,
                         check=True, timeout=60).stdout.decode()
    sections = report_sections(matrix, LBS, {"checked": True, "services": [], "violations": 0}, {"checked": False})
    files = build_files(matrix, manifests, proof, yaml.safe_dump, svg=svg,
                        sections_html=[(s["title"], s["html"]) for s in sections],
                        sections_md=[(s["title"], s["markdown"]) for s in sections])
    page = tmp_path / "report.html"
    page.write_text(files["report.html"].replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return page, proof, files


def _verdict(dom):
    """The verdict paragraph of the page, whole: (its class, its text)."""
    found = re.findall(r'<p id="verdict" class="verdict (\w+)">([^<]*)</p>', dom)
    assert len(found) == 1, found
    return found[0]


def _open(page, tmp_path):
    chromium = _binary("chromium")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", "--proxy-server=http://127.0.0.1:9", "--user-data-dir=%s" % (tmp_path / "profile"),
           "--virtual-time-budget=2000", "--dump-dom", page.as_uri()]
    env = dict(os.environ, HOME=str(tmp_path))
    done = subprocess.run(cmd, capture_output=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    dom = done.stdout.decode()
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe did not run in Chromium:\n" + dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
                      .replace("&amp;", "&")), dom


def test_diagram_and_table_render_in_chromium(matrix, tmp_path):
    page, proof, files = _report(matrix, tmp_path)
    seen, dom = _open(page, tmp_path)
    # The diagram: an SVG drawn with a real size, one node per zone and peer, one edge per flow (plus DNS).
    assert seen["bbox"][0] > 200 and seen["bbox"][1] > 100, seen["bbox"]
    assert seen["rect"][0] > 200 and seen["rect"][1] > 100, seen["rect"]
    assert set(matrix["zones"]) | set(matrix["peers"]) <= set(seen["nodes"])
    assert seen["edges"] == len(matrix["flows"]) + len(matrix["zones"])
    # The table: one row per (from, to, service) cell of the proof, all green ("ok").
    assert len(seen["rows"]) > 10
    assert [r["cells"][:3] for r in seen["rows"]].count(["ingress", "frontend", "http"]) == 1
    assert {r["cells"][6] for r in seen["rows"]} == {"ok"}
    assert {r["background"] for r in seen["rows"]} == {"rgb(217, 242, 217)"}
    # The extra sections are there too, and nothing was fetched from anywhere: the page is self-contained.
    assert seen["dns"] == len(matrix["vhosts"]) * len(LBS) and seen["edge"] == len(LBS)
    assert seen["resources"] == 0
    # the whole verdict, written out (a substring "PROVEN" would also match "NOT PROVEN")
    assert not proof["mismatches"]
    assert _verdict(dom) == ("proven", "PROVEN: the policies allow exactly the matrix (%d cells over %d endpoints; "
                             "0 missing, 0 extra)" % (proof["summary"]["cells"], proof["summary"]["endpoints"]))
    assert "## DNS records to publish" in files["report.md"] and "```mermaid" in files["report.md"]


def test_mismatch_shows_red_with_explanation(matrix, tmp_path):
    page, proof = _report(matrix, tmp_path, mismatching=True)[:2]
    assert proof["mismatches"], "dropping an allow policy must make the proof fail"
    seen, dom = _open(page, tmp_path)
    red = [r for r in seen["rows"] if r["cells"][6] == "missing"]
    assert red and {r["background"] for r in red} == {"rgb(248, 201, 196)"}
    assert [r["cells"][:3] for r in red] == [["frontend", "backend", "http"]]
    # http is 80/tcp and 8080/tcp: two missing intervals of the one red cell
    assert _verdict(dom) == ("failed", "NOT PROVEN: 2 mismatches (%d cells over %d endpoints; 2 missing, 0 extra)"
                             % (proof["summary"]["cells"], proof["summary"]["endpoints"]))
    assert len(proof["mismatches"]) == 2 and 'id="mismatches"' in dom and "denied" in dom
