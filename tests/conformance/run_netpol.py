#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run NetworkPolicy conformance cases through the collection's evaluator.

    run_netpol.py DIR [DIR ...]

Reads every ``*.yaml`` case under the folders (recursively; format in ``FORMAT.md`` beside the cases),
evaluates every probe with ``Engine.reachability`` (once per pod group and port, not per probe), prints
each failing probe with the engine's explanation, and ends with one line ``N passed, M failed`` (probe
counts).  Exit status 0 only when no probe failed and at least one ran.  A malformed case file is
reported with its file and path and counts as failed (all its probes, or 1 when they cannot be counted).
"""

from __future__ import annotations

import os
import re
import sys

import yaml

try:
    from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import NetzoneError
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine
except ImportError:  # run directly: use <repo>/build/collections (made by `make collection`)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "collections"))
    from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import NetzoneError
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# One probe per line, exactly as the cases write them.  Only plain scalars that YAML reads as these very
# strings and numbers are accepted; any other line sends the whole probe list through the YAML parser.
_PROBE_LINE = re.compile(
    r"^- \{from: ((?:ip:[0-9A-Fa-f.:]+)|(?:[a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9.-]*)), "
    r"to: ((?:ip:[0-9A-Fa-f.:]+)|(?:[a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9.-]*)), "
    r"port: ([1-9][0-9]{0,4}), protocol: (TCP|UDP|SCTP), expect: (allowed|denied)\}[ \t]*$")
_PROBES_KEY = re.compile(r"^probes:[ \t]*$", re.M)


class CaseError(Exception):
    """A malformed case file: ``path`` inside the file, ``message``, and how many probes it had."""

    def __init__(self, path, message, probes=1):
        super().__init__("%s: %s" % (path, message) if path else message)
        self.probes = probes


def _fast_probes(text):
    """Probes parsed line by line when every line has the exact one-line form, else None."""
    probes = []
    append = probes.append
    match = _PROBE_LINE.match
    for line in text.splitlines():
        if not line.strip():
            continue
        found = match(line)
        if found is None:
            return None
        src, dst, port, protocol, expect = found.groups()
        append({"from": src, "to": dst, "port": int(port), "protocol": protocol, "expect": expect})
    return probes


def load_case(path):
    """The case as a dict; the probe list is read fast when it has the one-line form."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    found = _PROBES_KEY.search(text)
    probes = None
    if found is not None and not text[found.end():].lstrip("\n").startswith((" ", "\t")):
        probes = _fast_probes(text[found.end():])
    try:
        if probes is not None:
            case = yaml.load(text[:found.start()], Loader=_LOADER)
            if isinstance(case, dict) and "probes" not in case:
                case["probes"] = probes
            else:
                case = yaml.load(text, Loader=_LOADER)
        else:
            case = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise CaseError("", "invalid YAML: %s" % str(exc).replace("\n", " "))
    return case


def _check_case(case):
    if not isinstance(case, dict):
        raise CaseError("", "a case must be a mapping with namespaces, pods, policies and probes")
    probes = case.get("probes")
    if not isinstance(probes, list) or not probes:
        raise CaseError("probes", "must be a non-empty list")
    count = len(probes)
    for key, kind in (("namespaces", dict), ("pods", list), ("policies", list)):
        if not isinstance(case.get(key, kind()), kind):
            raise CaseError(key, "must be a %s" % ("mapping" if kind is dict else "list"), count)
    for name, value in (case.get("namespaces") or {}).items():
        if not isinstance(value, dict) or not isinstance(value.get("labels", {}), dict):
            raise CaseError("namespaces.%s" % name, "must be a mapping with labels", count)
    for i, probe in enumerate(probes):
        path = "probes[%d]" % i
        if not isinstance(probe, dict):
            raise CaseError(path, "must be a mapping", count)
        for key in ("from", "to", "port", "expect"):
            if key not in probe:
                raise CaseError("%s.%s" % (path, key), "required", count)
        if probe["expect"] not in ("allowed", "denied"):
            raise CaseError(path + ".expect", "must be allowed or denied, got %r" % (probe["expect"],), count)
        if isinstance(probe["port"], bool) or not isinstance(probe["port"], int):
            raise CaseError(path + ".port", "must be a port number, got %r" % (probe["port"],), count)
    return probes


def run_case(path, out=sys.stdout, label=None):
    """Evaluate one case file; returns (passed, failed) and prints one FAIL line per failing probe."""
    label = label or path
    try:
        case = load_case(path)
        probes = _check_case(case)
    except CaseError as exc:
        out.write("FAIL %s: malformed case: %s\n" % (label, exc))
        return 0, exc.probes
    except (OSError, UnicodeDecodeError) as exc:
        out.write("FAIL %s: cannot read case: %s\n" % (label, exc))
        return 0, 1
    namespaces = dict((name, (value or {}).get("labels") or {}) for name, value in (case.get("namespaces") or {}).items())
    try:
        engine = Engine(namespaces, case.get("pods") or [], case.get("policies") or [])
        sources, destinations = {}, {}
        for i, probe in enumerate(probes):
            if probe["from"] not in sources:
                sources[probe["from"]] = engine.endpoint(probe["from"], "probes[%d].from" % i)
            if probe["to"] not in destinations:
                destinations[probe["to"]] = engine.endpoint(probe["to"], "probes[%d].to" % i)
        ports = list(dict.fromkeys((p["port"], p.get("protocol") or "TCP") for p in probes))
        for i, (port, protocol) in enumerate(ports):
            if protocol not in ("TCP", "UDP", "SCTP") or not 1 <= port <= 65535:
                first = next(j for j, p in enumerate(probes) if (p["port"], p.get("protocol") or "TCP") == (port, protocol))
                raise CaseError("probes[%d]" % first, "invalid port/protocol %r/%r" % (port, protocol), len(probes))
        reach = engine.reachability(list(sources), list(destinations), ports)
    except NetzoneError as exc:
        out.write("FAIL %s: invalid case: %s\n" % (label, exc))
        return 0, len(probes)
    except CaseError as exc:
        out.write("FAIL %s: malformed case: %s\n" % (label, exc))
        return 0, exc.probes
    passed = failed = 0
    allowed = reach.allowed
    for probe in probes:
        src, dst, port, protocol = probe["from"], probe["to"], probe["port"], probe.get("protocol") or "TCP"
        got = allowed(src, dst, port, protocol)
        if got == (probe["expect"] == "allowed"):
            passed += 1
            continue
        failed += 1
        verdict = engine.verdict(src, dst, port, protocol)
        note = "" if verdict.allowed == got else " [grouped and per-pod evaluation disagree]"
        out.write("FAIL %s: %s -> %s %s/%s expected %s, got %s: %s%s\n" % (
            label, src, dst, protocol, port, probe["expect"], "allowed" if got else "denied", verdict.explain(), note))
    return passed, failed


def case_files(folder):
    """Every *.yaml file under a folder, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found.extend(os.path.join(root, name) for name in sorted(files) if name.endswith(".yaml"))
    return found


def main(argv=None, out=sys.stdout, err=sys.stderr):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        err.write("usage: run_netpol.py DIR [DIR ...]\n")
        return 2
    passed = failed = 0
    problems = False
    for folder in argv:
        if not os.path.isdir(folder):
            err.write("error: %s is not a folder\n" % folder)
            problems = True
            continue
        files = case_files(folder)
        if not files:
            err.write("error: no *.yaml case files under %s\n" % folder)
            problems = True
            continue
        for path in files:
            case_passed, case_failed = run_case(path, out, os.path.relpath(path, folder))
            passed += case_passed
            failed += case_failed
    out.write("%d passed, %d failed\n" % (passed, failed))
    if problems:
        return 2
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # output piped into head: stop quietly
        sys.stderr.close()
        sys.exit(1)
