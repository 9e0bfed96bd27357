# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmarks against the real cluster (tests/bench/bench_zones.py's ``--server``, tests/bench/bench_proof.py):
their arguments, the requests counted from the real API server's audit log, and the lines they end with.  The
figures themselves are measured by ``make bench``, never asserted here."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_zones = _load("bench_zones", "tests/bench/bench_zones.py")
bench_proof = _load("bench_proof", "tests/bench/bench_proof.py")
cluster = sys.modules["cluster"]  # loaded by bench_proof from tests/cluster


# --- bench_zones: which server, which sizes ------------------------------------------------------------------

def test_both_servers_by_default_with_the_loop_at_small_sizes_only_on_the_real_one():
    args = bench_zones.parse_args([])
    assert args.servers == ["stand-in", "real"]
    assert args.plans["stand-in"] == ([20, 100, 300], {20, 100, 300}, {20, 100})
    assert args.plans["real"] == ([20, 100, 300], {20, 100, 300}, {20})


def test_one_server_only_and_its_own_sizes():
    args = bench_zones.parse_args(["--server", "real", "--real-sizes", "20,100", "--real-loop-sizes", ""])
    assert args.servers == ["real"]
    assert list(args.plans) == ["real"]
    assert args.plans["real"] == ([20, 100], {20, 100, 300}, set())
    assert bench_zones.parse_args(["--server", "stand-in"]).servers == ["stand-in"]


@pytest.mark.parametrize("argv, message", [
    (["--server", "kind"], "invalid choice: 'kind'"),
    (["--repeats", "1"], "--repeats must be at least 2"),
    (["--real-sizes", "20,x"], "sizes are comma-separated zone counts"),
    (["--server", "real", "--real-sizes", "1,100"], "--real-sizes: every size must be at least 2 zones"),
    (["--server", "stand-in", "--sizes", ""], "--sizes: every size must be at least 2 zones"),
])
def test_bad_arguments_get_one_error_naming_them(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        bench_zones.parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


# --- bench_zones: the real server's requests, from its audit log ---------------------------------------------

def _event(verb, resource=None, user="netzone-test-admin", stage="ResponseComplete", uri=None):
    event = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "stage": stage, "verb": verb,
             "user": {"username": user}, "requestURI": uri or "/api/v1/%s" % (resource or "")}
    if resource:
        event["objectRef"] = {"resource": resource, "apiVersion": "v1"}
    return json.dumps(event) + "\n"


def test_audit_counts_one_per_completed_request_of_the_test_user_keyed_like_the_stand_in():
    lines = [
        _event("list", "namespaces"), _event("list", "networkpolicies"), _event("get", uri="/apis?timeout=32s"),
        _event("patch", "networkpolicies", uri="/apis/networking.k8s.io/v1/namespaces/a/networkpolicies/x"),
        _event("create", "namespaces", uri="/api/v1/namespaces?dryRun=All"),
        _event("watch", "pods", stage="ResponseStarted"),      # a long-running request's first stage: not counted
        _event("list", "pods", user="netzone-harness"),         # the harness's own requests: not the run's
        _event("update", "pods", user="system:kube-controller-manager"),
        "\n",
    ]
    got = bench_zones.audit_counts(lines, "netzone-test-admin")
    assert got["counts"] == {"list namespaces": 1, "list networkpolicies": 1, "get /apis": 1,
                             "patch networkpolicies": 1, "create namespaces": 1}
    assert got["total"] == 5
    assert got["writes"] == 2  # patch and create (a dry run counted as a write, as the stand-in's recorder does)


def test_audit_counts_of_no_line_is_zero():
    assert bench_zones.audit_counts([], "netzone-test-admin") == {"total": 0, "counts": {}, "writes": 0}


def test_the_audit_policy_for_the_benchmarks_records_every_verb_of_the_test_user_only():
    rules = cluster.AUDIT_POLICY_ALL["rules"]
    assert rules[0] == {"level": "Metadata", "users": ["netzone-test-admin"]}  # no verbs: every verb
    assert rules[-1] == {"level": "None"}
    # the default policy (molecule counts writes in the log) is left as it was: writes only
    assert "list" not in cluster.AUDIT_POLICY["rules"][0]["verbs"]
    assert "patch" in cluster.AUDIT_POLICY["rules"][0]["verbs"]
    assert cluster.Cluster().audit_reads is False
    assert cluster.Cluster(audit_reads=True).audit_reads is True


# --- bench_zones: the closing lines ---------------------------------------------------------------------------

def test_speedup_line_names_the_server_the_baseline_and_the_runs():
    line = bench_zones.speedup_line("kube-apiserver", (4.26, "k8s list", ["k8s list", "k8s loop"]), 2)
    assert line.startswith("zones no-op speedup at 100 zones (kube-apiserver): 4.3 (against k8s list, ")
    assert "baselines measured: k8s list, k8s loop; median no-op task times of 2 runs per side" in line


def test_speedup_line_says_not_measured_without_100_zones():
    line = bench_zones.speedup_line("test API server", None, 2)
    assert line.startswith("zones no-op speedup at 100 zones (test API server): not measured")


# --- bench_proof ---------------------------------------------------------------------------------------------

def test_proof_bench_arguments():
    assert bench_proof.parse_args([]).rounds == 2
    assert bench_proof.parse_args(["--rounds", "1", "--wait", "5"]).wait == 5.0


def test_proof_bench_refuses_zero_rounds(capsys):
    with pytest.raises(SystemExit):
        bench_proof.parse_args(["--rounds", "0"])
    assert "--rounds must be at least 1" in capsys.readouterr().err


def test_proof_summary_sums_the_phases_and_takes_the_median_probe_round():
    phases = [("start", 7.0), ("peers and DNS pod", 3.0), ("apply (zones role)", 12.0),
              ("probe pods ready, dataplane pause", 6.0), ("probe round 1", 20.0), ("probe round 2", 30.0),
              ("zones role again (no-op)", 9.0), ("stop", 2.5)]
    rounds = [{"probes": 1234, "seconds": 19.5, "mismatches": []}, {"probes": 1234, "seconds": 29.5, "mismatches": []},
              {"probes": 1234, "seconds": 25.0, "mismatches": []}]
    line = bench_proof.summary(phases, rounds)
    assert line == ("live proof of the example matrix: 1234 probes in 25.0 s (median of 3 rounds), start to stop "
                    "89.5 s (start 7.0, apply 12.0, probe 74.0, stop 2.5)")
