# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conformance runner (tests/conformance/run_netpol.py) and the shared conformance cases."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
RUNNER = os.path.join(REPO, "tests", "conformance", "run_netpol.py")
CASES = os.environ.get("NETZONE_NETPOL_CASES", os.path.join(REPO, "..", "shared", "conformance", "netpol"))

_spec = importlib.util.spec_from_file_location("run_netpol", RUNNER)
run_netpol = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_netpol)

needs_cases = pytest.mark.skipif(not os.path.isdir(CASES), reason="conformance cases not found (set NETZONE_NETPOL_CASES)")

CASE = """\
source: hand-made
description: x/a isolated for ingress except from x/b on TCP 80
namespaces:
  x: {labels: {ns: x}}
pods:
- {namespace: x, name: a, labels: {pod: a}, ip: 10.0.0.11, ports: []}
- {namespace: x, name: b, labels: {pod: b}, ip: 10.0.0.12, ports: []}
policies:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: only-b, namespace: x}
  spec:
    podSelector: {matchLabels: {pod: a}}
    ingress:
    - from: [{podSelector: {matchLabels: {pod: b}}}]
      ports: [{port: 80}]
probes:
- {from: x/b, to: x/a, port: 80, protocol: TCP, expect: allowed}
- {from: x/b, to: x/a, port: 81, protocol: TCP, expect: denied}
- {from: x/a, to: x/b, port: 80, protocol: TCP, expect: allowed}
- {from: ip:203.0.113.5, to: x/a, port: 80, protocol: TCP, expect: denied}
"""


def _run(*folders):
    out, err = io.StringIO(), io.StringIO()
    code = run_netpol.main(list(folders), out, err)
    return code, out.getvalue(), err.getvalue()


def _write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_passing_case_in_subfolder(tmp_path):
    _write(tmp_path, "deep/er/case.yaml", CASE)
    code, out, err = _run(str(tmp_path))
    assert (code, out, err) == (0, "4 passed, 0 failed\n", "")


def test_failing_probe_is_explained(tmp_path):
    _write(tmp_path, "case.yaml", CASE.replace("port: 81, protocol: TCP, expect: denied", "port: 81, protocol: TCP, expect: allowed"))
    code, out, _err = _run(str(tmp_path))
    assert code == 1
    assert out.splitlines() == [
        "FAIL case.yaml: x/b -> x/a TCP/81 expected allowed, got denied: "
        "denied: ingress of x/a is isolated by x/only-b (no rule matches TCP/81 from x/b)",
        "3 passed, 1 failed",
    ]


@pytest.mark.parametrize("text, message, failed", [
    ("probes: [\n", "FAIL bad.yaml: malformed case: invalid YAML:", 1),
    ("- just a list\n", "FAIL bad.yaml: malformed case: a case must be a mapping", 1),
    (CASE.split("probes:", maxsplit=1)[0] + "probes: []\n", "FAIL bad.yaml: malformed case: probes: must be a non-empty list", 1),
    (CASE.replace("expect: denied}\n", "expect: maybe}\n", 1), "FAIL bad.yaml: malformed case: probes[1].expect: must be allowed or denied, got 'maybe'", 4),
    (CASE.replace("port: 81,", "port: eighty-one,"), "FAIL bad.yaml: malformed case: probes[1].port: must be a port number, got 'eighty-one'", 4),
    (CASE.replace("{port: 80}", "{port: 80, endPort: 70}"),
     "FAIL bad.yaml: invalid case: policies[0].spec.ingress[0].ports[0].endPort: endPort 70 is lower than port 80", 4),
    (CASE.replace("from: x/a, to: x/b", "from: x/q, to: x/b"), "FAIL bad.yaml: invalid case: probes[2].from: unknown pod 'x/q'", 4),
    (CASE.replace("port: 81, protocol: TCP", "port: 81, protocol: ICMP"), "FAIL bad.yaml: malformed case: probes[1]: invalid port/protocol 81/'ICMP'", 4),
    (CASE.replace("  x: {labels: {ns: x}}", "  x: [ns]"), "FAIL bad.yaml: malformed case: namespaces.x: must be a mapping with labels", 4),
])
def test_malformed_case_is_reported_and_counted(tmp_path, text, message, failed):
    _write(tmp_path, "good.yaml", CASE)
    _write(tmp_path, "bad.yaml", text)
    code, out, _err = _run(str(tmp_path))
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith(message), lines[0]
    assert lines[-1] == "4 passed, %d failed" % failed
    assert "Traceback" not in out


def test_empty_or_missing_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    code, out, err = _run(str(tmp_path / "empty"))
    assert code == 2 and out == "0 passed, 0 failed\n"
    assert "no *.yaml case files under" in err
    code, out, err = _run(str(tmp_path / "missing"))
    assert code == 2 and "is not a folder" in err
    _write(tmp_path, "ok/case.yaml", CASE)
    code, out, err = _run(str(tmp_path / "ok"), str(tmp_path / "empty"))
    assert code == 2 and out == "4 passed, 0 failed\n"


def test_fast_probe_reader_agrees_with_yaml(tmp_path):
    odd = CASE + "- {from: 'x/b', to: x/a, port: 80, protocol: TCP, expect: allowed}  # quoted\n"
    for text in (CASE, odd, CASE.replace("- {from: x/b, to: x/a, port: 80", "-   {from: x/b, to: x/a, port: 80")):
        path = _write(tmp_path, "c.yaml", text)
        assert run_netpol.load_case(str(path)) == yaml.safe_load(text)


def test_runs_directly_without_pythonpath(tmp_path):
    if not os.path.isdir(os.path.join(REPO, "build", "collections", "ansible_collections", "netzone", "segmentation")):
        pytest.skip("build/collections symlink missing (make collection)")
    _write(tmp_path, "case.yaml", CASE)
    env = dict((k, v) for k, v in os.environ.items() if k != "PYTHONPATH")
    proc = subprocess.run([sys.executable, RUNNER, str(tmp_path)], capture_output=True, text=True, env=env, check=False, cwd=str(tmp_path))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "4 passed, 0 failed\n", "")


@needs_cases
def test_shared_conformance_cases_all_pass():
    code, out, err = _run(CASES)
    assert out.splitlines()[-1] == "4762 passed, 0 failed", out[-2000:]
    assert (code, err) == (0, "")


@needs_cases
def test_shared_cases_per_pod_path_and_fast_reader():
    """Every probe also through the per-pod verdict, and the fast probe reader reads what YAML reads."""
    probes = 0
    for path in run_netpol.case_files(CASES):
        case = run_netpol.load_case(path)
        with open(path) as handle:
            assert case == yaml.load(handle, Loader=run_netpol._LOADER), path
        namespaces = dict((k, v["labels"]) for k, v in case["namespaces"].items())
        engine = Engine(namespaces, case["pods"], case["policies"])
        for probe in case["probes"]:
            verdict = engine.verdict(probe["from"], probe["to"], probe["port"], probe["protocol"])
            assert verdict.allowed is (probe["expect"] == "allowed"), (path, probe, verdict.explain())
            probes += 1
    assert probes == 4762
