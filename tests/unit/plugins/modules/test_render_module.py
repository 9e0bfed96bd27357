# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The render module's own code, run in-process into a tmp_path: check mode writes nothing, the diff, the
changed flag, each refusal's whole message, Secrets never written, the Graphviz step (the real ``dot``, and a
failing one for fault injection), a relative dest made absolute."""

from __future__ import annotations

import copy
import os
import shutil
from unittest import mock

import pytest
from ansible.module_utils import basic

from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan, plan_digest
from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_matrix
from ansible_collections.netzone.segmentation.plugins.modules import render

INVENTORY = {"groups": {"all": ["lb1", "n1"], "loadbalancers": ["lb1"], "microk8s": ["n1"], "ungrouped": []},
             "addresses": {"lb1": "10.0.0.11", "n1": "10.0.0.21"}}
PLAN = build_plan(None, INVENTORY)
BY_ZONE = ["diagram.dot", "manifests/all.yaml", "manifests/backend.yaml", "manifests/cluster.yaml", "manifests/db.yaml",
           "manifests/frontend.yaml", "manifests/ingress.yaml", "manifests/proxy.yaml", "report.html", "report.md"]
HAS_DOT = shutil.which("dot") is not None


def _tree(root):
    """The files under ``root`` (the module's own record of what it wrote, .netzone-files, left out)."""
    return sorted(name for name in _all(root) if name != ".netzone-files")


def _all(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _dirs, files in os.walk(root) for f in files)


def _no_dot():
    return mock.patch.object(basic.AnsibleModule, "get_bin_path", return_value=None)


def _run(run_module, dest, check_mode=False, diff=False, **args):
    return run_module(render.main, dict({"dest": str(dest), "plan": PLAN}, **args), check_mode=check_mode, diff=diff)


def test_check_mode_says_what_it_would_create_and_writes_nothing(run_module, tmp_path):
    dest = tmp_path / "out"
    with _no_dot():
        result = _run(run_module, dest, check_mode=True)
    assert result == {"changed": True, "failed": False, "dest": str(dest), "report": str(dest / "report.html"),
                      "diagram": "dot-source",
                      "files": {"create": BY_ZONE, "update": [], "remove": [], "unchanged": []}}
    assert not dest.exists()


def test_write_then_nothing_to_do_then_a_stale_file_removed(run_module, tmp_path):
    dest = tmp_path / "out"
    with _no_dot():
        first = _run(run_module, dest)
        assert (first["changed"], first["files"]["create"], first["diagram"]) == (True, BY_ZONE, "dot-source")
        assert _tree(dest) == BY_ZONE
        second = _run(run_module, dest)
        unchanged = {"create": [], "update": [], "remove": [], "unchanged": BY_ZONE}
        assert (second["changed"], second["files"]) == (False, unchanged)
        by_kind = _run(run_module, dest, group_by="kind", check_mode=True)
    assert by_kind["changed"] is True
    assert by_kind["files"]["remove"] == ["manifests/backend.yaml", "manifests/cluster.yaml", "manifests/db.yaml",
                                          "manifests/frontend.yaml", "manifests/proxy.yaml"]
    assert by_kind["files"]["create"] == [
        "manifests/%s.yaml" % kind for kind in ("adminnetworkpolicy", "configmap", "deployment", "namespace",
                                                "networkpolicy", "poddisruptionbudget", "service",
                                                "validatingadmissionpolicy", "validatingadmissionpolicybinding")]
    assert _tree(dest) == BY_ZONE  # check mode


def test_manifests_keep_the_order_of_their_fields(run_module, tmp_path):
    with _no_dot():
        _run(run_module, tmp_path)
    namespace = (tmp_path / "manifests" / "db.yaml").read_text().split("---\n")[1]
    assert namespace == (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: db\n  labels:\n"
        "    app.kubernetes.io/managed-by: netzone.segmentation\n    netzone.io/zone: db\n"
        "    pod-security.kubernetes.io/audit: baseline\n    pod-security.kubernetes.io/audit-version: v1.33\n"
        "    pod-security.kubernetes.io/enforce: baseline\n    pod-security.kubernetes.io/enforce-version: v1.33\n"
        "    pod-security.kubernetes.io/warn: baseline\n    pod-security.kubernetes.io/warn-version: v1.33\n")


def test_diff_shows_each_file_changed(run_module, tmp_path):
    dest = tmp_path / "out"
    with _no_dot():
        _run(run_module, dest)
        (dest / "report.md").write_text("old report\n")
        result = _run(run_module, dest, check_mode=True, diff=True)
        quiet = _run(run_module, dest, check_mode=True)
    assert result["changed"] is True and result["files"]["update"] == ["report.md"]
    assert result["diff"] == [{"before_header": str(dest / "report.md"), "after_header": str(dest / "report.md"),
                               "before": "old report\n", "after": result["diff"][0]["after"]}]
    assert result["diff"][0]["after"].startswith("# ")
    assert (dest / "report.md").read_text() == "old report\n"
    assert "diff" not in quiet
    with _no_dot():
        done = _run(run_module, dest, diff=True)
        same = _run(run_module, dest, diff=True)
    assert (done["changed"], done["files"]["update"]) == (True, ["report.md"])
    assert (dest / "report.md").read_text() == done["diff"][0]["after"]
    assert (same["changed"], same["diff"]) == (False, [])


def test_sections_go_into_the_report_by_their_kind(run_module, tmp_path):
    sections = [{"title": "Only markdown", "markdown": "md text one"}, {"title": "Only html", "html": "<p>html one</p>"},
                {"title": "Empty"}]
    with _no_dot():
        _run(run_module, tmp_path, sections=sections)
    markdown = (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    assert "md text one" in markdown and "html one" not in markdown and "Only html" not in markdown
    assert "<p>html one</p>" in page and "md text one" not in page and "Only markdown" not in page
    assert "Empty" not in markdown and "Empty" not in page


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz dot is not installed")
def test_the_real_dot_draws_the_diagram(run_module, tmp_path):
    result = _run(run_module, tmp_path)
    assert result["diagram"] == "svg"
    assert result["files"]["create"] == sorted(BY_ZONE + ["diagram.svg"])
    assert (tmp_path / "diagram.svg").read_text().lstrip().startswith("<?xml")


def _run_with_dot(run_module, tmp_path, script):
    """The module with ``dot`` a shell script of the test's (fault injection beside the real dot above)."""
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    with mock.patch.object(basic.AnsibleModule, "get_bin_path", return_value=str(fake)):
        return _run(run_module, tmp_path / "out")


@pytest.mark.parametrize("script, said", [
    ("cat >/dev/null\necho 'syntax error in line 3' >&2\nexit 1\n", "syntax error in line 3"),
    # a crash ends dot by a signal (a negative return code), not with an exit status
    ("cat >/dev/null\necho 'dot: out of memory' >&2\nkill -SEGV $$\n", "dot: out of memory"),
])
def test_a_failing_dot_is_one_message_and_nothing_written(run_module, tmp_path, script, said):
    result = _run_with_dot(run_module, tmp_path, script)
    assert result == {"failed": True, "msg": "Graphviz dot failed to draw the diagram: " + said}
    assert not (tmp_path / "out").exists()


def test_dot_reads_exactly_the_diagram_source_and_its_output_is_the_svg(run_module, tmp_path):
    """Graphviz gets the very bytes written as diagram.dot (nothing added), and what it prints is diagram.svg."""
    result = _run_with_dot(run_module, tmp_path, "cat > %s\nprintf '<svg>drawn</svg>'\n" % (tmp_path / "stdin.dot"))
    assert (result["failed"], result["diagram"]) == (False, "svg")
    assert (tmp_path / "stdin.dot").read_bytes() == (tmp_path / "out" / "diagram.dot").read_bytes()
    assert (tmp_path / "out" / "diagram.svg").read_text() == "<svg>drawn</svg>"


def test_mismatches_are_refused_unless_allowed(run_module, tmp_path):
    broken = [o for o in PLAN["manifests"] if o["metadata"]["name"] != "netzone-egress-to-backend"]
    proof = verify_matrix(PLAN["matrix"], broken)
    assert len(proof["mismatches"]) == 4
    with _no_dot():
        refused = _run(run_module, tmp_path / "out", proof=proof)
        assert refused == {"failed": True, "mismatches": proof["mismatches"],
                           "msg": "the policies do not allow exactly the matrix (4 mismatches); nothing was written. "
                                  "First: denied: egress of backend/probe-0 is isolated by backend/netzone-allow-dns, "
                                  "backend/netzone-egress-to-db, backend/netzone-egress-to-external-db, "
                                  "backend/netzone-egress-to-proxy, backend/netzone-default-deny (no rule matches "
                                  "TCP/80 to backend/probe-1)"}
        assert not (tmp_path / "out").exists()
        allowed = _run(run_module, tmp_path / "out", proof=proof, allow_mismatches=True)
    assert allowed["changed"] is True and _tree(tmp_path / "out") == BY_ZONE
    verdict = (tmp_path / "out" / "report.md").read_text().split("\n")[2]
    # the egress policy to the backend removed: 4 intervals the matrix allows are missing, nothing extra
    assert verdict == "**NOT PROVEN: 4 mismatches** (168 cells over 17 endpoints; 4 missing, 0 extra)."


def test_plan_problems_are_refused_unless_allowed(run_module, tmp_path):
    plan = dict(PLAN, problems=["no flow reaches the API server", "the load balancers lose the ingress"])
    with _no_dot():
        refused = run_module(render.main, {"dest": str(tmp_path), "plan": plan})
        allowed = run_module(render.main, {"dest": str(tmp_path), "plan": plan, "allow_mismatches": True},
                             check_mode=True)
    assert refused == {"failed": True, "problems": plan["problems"],
                       "msg": "the plan is refused, it would lock the platform out: no flow reaches the API server; "
                              "the load balancers lose the ingress; nothing was written"}
    assert allowed["failed"] is False and allowed["changed"] is True


def test_guardrail_problems_are_refused_unless_allowed(run_module, tmp_path):
    plan = copy.deepcopy(PLAN)
    plan["guardrail"]["problems"] = ["a guardrail", "another"]
    plan["digest"] = plan_digest(plan)
    with _no_dot():
        refused = run_module(render.main, {"dest": str(tmp_path), "plan": plan})
        allowed = run_module(render.main, {"dest": str(tmp_path), "plan": plan, "allow_mismatches": True},
                             check_mode=True)
    assert refused == {"failed": True, "problems": ["a guardrail", "another"],
                       "msg": "the plan is refused: a guardrail; another; nothing was written"}
    assert allowed["failed"] is False and allowed["changed"] is True


def test_a_changed_plan_is_refused(run_module, tmp_path):
    plan = copy.deepcopy(PLAN)
    plan["manifests"] = plan["manifests"][1:]
    result = run_module(render.main, {"dest": str(tmp_path / "out"), "plan": plan})
    assert result == {"failed": True, "msg": "plan.digest: the plan changed after it was built and proven (digest %s, "
                                             "content %s): build it again with the netzone.segmentation.plan filter; "
                                             "nothing was written" % (PLAN["digest"], plan_digest(plan))}
    assert not (tmp_path / "out").exists()


def test_secrets_are_never_written(run_module, tmp_path):
    plan = copy.deepcopy(PLAN)
    plan["manifests"].append({"apiVersion": "v1", "kind": "Secret",
                              "metadata": {"name": "tls-shop", "namespace": "frontend"},
                              "data": {"tls.key": "c2VjcmV0LWtleS1tYXRlcmlhbA=="}})
    plan["digest"] = plan_digest(plan)
    with _no_dot():
        result = run_module(render.main, {"dest": str(tmp_path), "plan": plan})
    assert result["files"]["create"] == BY_ZONE
    for name in BY_ZONE:
        text = (tmp_path / name).read_text()
        assert "c2VjcmV0LWtleS1tYXRlcmlhbA==" not in text and "tls-shop" not in text, name


def test_dest_and_plan_are_required(run_module, tmp_path):
    assert run_module(render.main, {"plan": PLAN}) == {"failed": True, "msg": "missing required arguments: dest"}
    assert run_module(render.main, {"dest": str(tmp_path)}) == {"failed": True, "msg": "missing required arguments: plan"}


def test_a_relative_dest_is_made_absolute(run_module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with _no_dot():
        result = run_module(render.main, {"dest": "build/out", "plan": PLAN}, check_mode=True)
    assert (result["dest"], result["report"]) == (str(tmp_path / "build" / "out"),
                                                  str(tmp_path / "build" / "out" / "report.html"))


def test_a_dest_that_cannot_be_written_is_one_message(run_module, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    with _no_dot():
        result = run_module(render.main, {"dest": str(blocker), "plan": PLAN})
    assert result["failed"] is True
    assert result["msg"].startswith("cannot write %s: " % blocker)
    assert blocker.read_text() == "not a directory\n"


def test_without_pyyaml_the_module_says_so(run_module, tmp_path):
    with mock.patch.object(render, "YAML_ERROR", "Traceback: no yaml"):
        result = run_module(render.main, {"dest": str(tmp_path), "plan": PLAN})
    assert result["failed"] is True and result["exception"] == "Traceback: no yaml"
    assert result["msg"].startswith("Failed to import the required Python library (PyYAML) on ")
    assert _all(tmp_path) == []


def test_runs_as_a_script(run_script, tmp_path):
    rc, result = run_script(render, {"dest": str(tmp_path / "out"), "plan": PLAN, "_ansible_check_mode": True})
    assert (rc, result["changed"], result["dest"]) == (0, True, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
