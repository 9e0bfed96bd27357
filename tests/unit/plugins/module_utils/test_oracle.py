# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine against an independent, naive oracle (``netpol_oracle.py``: one connection at a time from
the API reference, no code shared with the engine), on the shared conformance cases and on random clusters."""

from __future__ import annotations

import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine

import netpol_oracle
from test_evaluate_property import OUTSIDE, clusters

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SHARED = os.environ.get("NETZONE_NETPOL_CASES", os.path.join(REPO, "..", "shared", "conformance", "netpol"))
OWN = os.path.join(REPO, "tests", "conformance", "netpol")


def _cases(*folders):
    found = []
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            found.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(".yaml"))
    return sorted(found)


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="shared conformance cases not found")
def test_oracle_passes_every_conformance_probe():
    """The oracle itself is checked against the upstream truth tables and the repository's own cases."""
    files = _cases(SHARED, OWN)
    probes = 0
    for path in files:
        with open(path, encoding="utf-8") as handle:
            case = yaml.load(handle, Loader=yaml.CSafeLoader)
        namespaces = dict((n, (v or {}).get("labels") or {}) for n, v in (case.get("namespaces") or {}).items())
        oracle = netpol_oracle.Oracle(namespaces, case.get("pods") or [], case.get("policies") or [])
        for probe in case["probes"]:
            got = oracle.allowed(probe["from"], probe["to"], probe["port"], probe.get("protocol") or "TCP")
            assert got is (probe["expect"] == "allowed"), (path, probe)
            probes += 1
    assert len(files) > 100 and probes > 4762


# Ports across the whole range, with ranges whose ends land on and next to the probe ports.
RANGE_ENDS = [1, 52, 53, 54, 79, 80, 81, 443, 8080, 8081, 65534, 65535]
PROBE_PORTS = [(p, proto) for p in (1, 53, 54, 80, 81, 8080, 8081, 65535) for proto in ("TCP", "UDP", "SCTP")]

port_entry = st.one_of(
    st.fixed_dictionaries({}, optional={"protocol": st.sampled_from(["TCP", "UDP", "SCTP"])}),
    st.fixed_dictionaries({"port": st.sampled_from(RANGE_ENDS)}, optional={"protocol": st.sampled_from(["TCP", "UDP", "SCTP"])}),
    st.tuples(st.sampled_from(RANGE_ENDS), st.sampled_from(RANGE_ENDS), st.sampled_from(["TCP", "UDP", "SCTP"])).map(
        lambda t: {"port": min(t[0], t[1]), "endPort": max(t[0], t[1]), "protocol": t[2]}),
    st.fixed_dictionaries({"port": st.sampled_from(["http", "dns", "sig", "none"])}, optional={"protocol": st.sampled_from(["TCP", "UDP", "SCTP"])}),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clusters(port_entry, max_pods=6))
def test_engine_equals_oracle(data):
    """Both the grouped and the per-connection path of the engine answer like the oracle, every probe."""
    namespaces, pods, policies = data
    engine = Engine(namespaces, pods, policies)
    oracle = netpol_oracle.Oracle(namespaces, pods, policies)
    endpoints = ["%s/%s" % (p["namespace"], p["name"]) for p in pods] + OUTSIDE
    reach = engine.reachability(endpoints, endpoints, PROBE_PORTS)
    for src in endpoints:
        for dst in endpoints:
            for port, protocol in PROBE_PORTS:
                want = oracle.allowed(src, dst, port, protocol)
                assert reach[(src, dst, port, protocol)] is want, (src, dst, port, protocol)
                assert engine.verdict(src, dst, port, protocol).allowed is want, (src, dst, port, protocol)
