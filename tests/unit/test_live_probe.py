# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify role's probe-pod path: the pure parts (plugins/module_utils/_model/live_probe.py) and the probe
program (roles/verify/files/netzone_probe.py) on loopback. molecule/cluster runs the whole path against the real
API server and dataplane of tests/cluster/."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._model import live_probe as lp
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import default_matrix, normalize_matrix

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "roles" / "verify" / "files" / "netzone_probe.py"
INVENTORY = {"groups": {"loadbalancers": ["lb1"], "microk8s": ["n1"]},
             "addresses": {"lb1": "203.0.113.10", "n1": "198.51.100.21"}}


@pytest.fixture(name="matrix", scope="module")
def _matrix():
    return normalize_matrix(default_matrix(), INVENTORY)


def _responders(matrix):
    return {zone: {"namespace": matrix["zones"][zone]["namespace"], "name": "r", "ip": "10.1.0.%d" % (i + 2)}
            for i, zone in enumerate(sorted(matrix["zones"]))}


def test_probe_ports_are_the_service_ports_and_the_port_above_each(matrix):
    # the matrix's own services and those the normalisation adds (DNS, the API server, the egress proxies')
    assert lp.probe_ports(matrix) == [
        (53, "TCP"), (54, "TCP"), (80, "TCP"), (81, "TCP"), (443, "TCP"), (444, "TCP"), (3128, "TCP"), (3129, "TCP"),
        (5432, "TCP"), (5433, "TCP"), (8080, "TCP"), (8081, "TCP"), (16443, "TCP"), (16444, "TCP"),
        (53, "UDP"), (54, "UDP")]


def test_expected_follows_the_flows_and_dns(matrix):
    assert lp.expected(matrix, "backend", "db", 5432, "TCP")
    assert not lp.expected(matrix, "backend", "db", 5433, "TCP")
    assert not lp.expected(matrix, "db", "backend", 5432, "TCP")
    assert lp.expected(matrix, "backend", "backend", 8080, "TCP")      # intra_zone http
    assert not lp.expected(matrix, "frontend", "frontend", 80, "TCP")  # no intra_zone
    assert lp.expected(matrix, "db", None, 53, "UDP")
    assert not lp.expected(matrix, "db", None, 54, "UDP")


def test_plan_probes_covers_every_zone_pair_and_dns(matrix):
    dns = [{"namespace": "kube-system", "name": "coredns", "ip": "10.1.0.99"}]
    plan = lp.plan_probes(matrix, _responders(matrix), dns)
    zones = sorted(matrix["zones"])
    assert sorted(plan) == zones
    per_zone = len(zones) * len(lp.probe_ports(matrix)) + len(matrix["cluster"]["dns"]["ports"])
    assert all(len(t) == per_zone for t in plan.values())
    assert [t["id"] for t in plan["db"]] == list(range(per_zone))
    opened = {(t["to"], t["port"]) for t in plan["frontend"] if t["expect"]}
    assert opened == {("backend", 80), ("backend", 8080), ("dns", 53)}
    assert all(t["dns"] == (t["proto"] == "UDP") for t in plan["db"] if t["to"] == "dns")
    assert set(lp.wire_targets(plan["db"])[0]) == {"id", "addr", "port", "proto", "ident", "dns"}


def test_results_round_trip_and_refuse_anything_else():
    oks = [True, False, False, True]
    message = lp.encode_results(oks)
    assert lp.decode_results(message, 4) == oks
    for bad in ("", "netzone-probe/1 101", "other 1010", "legacy-probe/1 1010", "netzone-probe/0 1010",
                "netzone-probe/1 10x0", None, "netzone-probe/1", "netzone-probe/1 1010 1010", "netzone-probe/1 10101"):
        with pytest.raises(ValueError, match="not a probe result for 4 probes"):
            lp.decode_results(bad, 4)


def test_judge_names_each_difference(matrix):
    plan = lp.plan_probes(matrix, _responders(matrix))
    exact = {zone: [t["expect"] for t in targets] for zone, targets in plan.items()}
    clean = lp.judge(plan, exact)
    assert clean["mismatches"] == [] and clean["probes"] == sum(len(t) for t in plan.values())
    opened = dict(exact)
    opened["frontend"] = [t["expect"] or t["to"] == "db" for t in plan["frontend"]]
    found = lp.judge(plan, opened)["mismatches"]
    assert {(m["from"], m["to"]) for m in found} == {("frontend", "db")}
    assert "frontend -> db 5432/TCP: answered, the matrix says denied" in [m["text"] for m in found]


def test_the_program_speaks_the_modules_format():
    spec = importlib.util.spec_from_file_location("netzone_probe", PROGRAM)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    assert program.RESULT_MAGIC == lp.RESULT_MAGIC


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_program_answers_and_probes_on_loopback(tmp_path):
    """respond + probe on 127.0.0.1 only: an answer with the wrong identity, and a closed port, are failures."""
    tcp, udp, closed = _free_port(), _free_port(), _free_port()
    responder = subprocess.Popen([sys.executable, str(PROGRAM), "respond", "--identity", "ns/r", "--bind", "127.0.0.1",
                                  "--tcp", str(tcp), "--udp", str(udp), "--lifetime", "30"],
                                 stdout=subprocess.PIPE, text=True)
    try:
        assert responder.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        targets = [{"id": 0, "addr": "127.0.0.1", "port": tcp, "proto": "TCP", "ident": "ns/r", "dns": False},
                   {"id": 1, "addr": "127.0.0.1", "port": udp, "proto": "UDP", "ident": "ns/r", "dns": False},
                   {"id": 2, "addr": "127.0.0.1", "port": tcp, "proto": "TCP", "ident": "ns/other", "dns": False},
                   {"id": 3, "addr": "127.0.0.1", "port": closed, "proto": "TCP", "ident": "ns/r", "dns": False}]
        (tmp_path / "targets.json").write_text(json.dumps(targets))
        out = subprocess.run([sys.executable, str(PROGRAM), "probe", "--targets", str(tmp_path / "targets.json"),
                              "--result", str(tmp_path / "result"), "--timeout", "1", "--settle", "0"],
                             capture_output=True, text=True, timeout=30, check=True)
    finally:
        responder.kill()
        responder.wait()
    assert (tmp_path / "result").read_text() == out.stdout.strip()
    assert lp.decode_results(out.stdout, 4) == [True, True, False, False]


def test_judge_lists_each_cells_expected_and_open_ports():
    plan = {"frontend": [{"to": "backend", "port": 8080, "proto": "TCP", "addr": "10.1.0.2", "expect": True},
                         {"to": "backend", "port": 8081, "proto": "TCP", "addr": "10.1.0.2", "expect": False},
                         {"to": "dns", "port": 53, "proto": "UDP", "addr": "10.1.1.2", "expect": True}],
            "db": [{"to": "backend", "port": 8080, "proto": "TCP", "addr": "10.1.0.2", "expect": False}]}
    result = lp.judge(plan, {"frontend": [True, True, False], "db": [False]})
    assert result == {
        "probes": 4,
        "mismatches": [
            {"from": "frontend", "to": "backend", "port": 8081, "protocol": "TCP", "address": "10.1.0.2",
             "expected": False, "live": True, "text": "frontend -> backend 8081/TCP: answered, the matrix says denied"},
            {"from": "frontend", "to": "dns", "port": 53, "protocol": "UDP", "address": "10.1.1.2",
             "expected": True, "live": False, "text": "frontend -> dns 53/UDP: no answer, the matrix says allowed"}],
        "cells": [{"from": "db", "to": "backend", "expected": [], "open": []},
                  {"from": "frontend", "to": "backend", "expected": ["8080/TCP"], "open": ["8080/TCP", "8081/TCP"]},
                  {"from": "frontend", "to": "dns", "expected": ["53/UDP"], "open": []}]}


def _small_matrix():
    """A matrix as the normalisation leaves it, written out: two zones, a range, a UDP service, DNS."""
    return {"services": {"web": [{"port": 80, "end_port": None, "protocol": "TCP"}],
                         "range": [{"port": 9000, "end_port": 9002, "protocol": "TCP"},
                                   {"port": 65535, "end_port": None, "protocol": "TCP"}],
                         "syslog": [{"port": 514, "end_port": None, "protocol": "UDP"}]},
            "flows": [{"from": "a", "to": "b", "services": ["web", "range"]},
                      {"from": "b", "to": "a", "services": ["syslog"]}],
            "cluster": {"dns": {"ports": [{"port": 53, "end_port": None, "protocol": "UDP"},
                                          {"port": 53, "end_port": None, "protocol": "TCP"}]}}}


def test_probe_ports_stop_at_65535_and_sort_by_protocol_then_port():
    assert lp.probe_ports(_small_matrix()) == [(80, "TCP"), (81, "TCP"), (9000, "TCP"), (9003, "TCP"), (65535, "TCP"),
                                               (514, "UDP"), (515, "UDP")]


def test_the_port_above_a_service_on_65534_is_65535():
    matrix = {"services": {"top": [{"port": 65534, "end_port": None, "protocol": "TCP"}]}}
    assert lp.probe_ports(matrix) == [(65534, "TCP"), (65535, "TCP")]


def test_a_result_of_many_probes_decodes_whole():
    """A prober runs hundreds of probes (one per pod, port and protocol): its line decodes back whole."""
    oks = [n % 3 == 0 for n in range(1000)]
    assert lp.decode_results(lp.encode_results(oks), 1000) == oks
    with pytest.raises(ValueError):
        lp.decode_results(lp.encode_results(oks), 999)


@pytest.mark.parametrize("src, dst, port, protocol, allowed", [
    ("a", "b", 80, "TCP", True), ("a", "b", 80, "UDP", False), ("a", "b", 81, "TCP", False),
    ("a", "b", 9000, "TCP", True), ("a", "b", 9002, "TCP", True), ("a", "b", 9003, "TCP", False),
    ("a", "b", 8999, "TCP", False), ("a", "b", 65535, "TCP", True), ("b", "a", 80, "TCP", False),
    ("b", "a", 514, "UDP", True), ("a", "a", 80, "TCP", False), ("a", None, 53, "UDP", True),
    ("a", None, 53, "SCTP", False), ("b", None, 54, "TCP", False),
])
def test_expected_reads_ranges_protocols_and_directions(src, dst, port, protocol, allowed):
    assert lp.expected(_small_matrix(), src, dst, port, protocol) is allowed


def test_plan_probes_written_out_for_two_zones_and_the_first_dns_pod():
    matrix = _small_matrix()
    matrix["services"] = {"web": [{"port": 80, "end_port": None, "protocol": "TCP"}]}
    matrix["flows"] = [{"from": "a", "to": "b", "services": ["web"]}]
    matrix["cluster"]["dns"]["ports"] = [{"port": 53, "end_port": None, "protocol": "UDP"}]
    responders = {"b": {"namespace": "zb", "name": "rb", "ip": "10.1.0.3"},
                  "a": {"namespace": "za", "name": "ra", "ip": "10.1.0.2"}}
    dns = [{"namespace": "kube-system", "name": "dns-1", "ip": "10.1.0.53"},
           {"namespace": "kube-system", "name": "dns-2", "ip": "10.1.0.54"}]

    def target(i, addr, port, to, ident, expect, proto="TCP", is_dns=False):
        return {"id": i, "addr": addr, "port": port, "proto": proto, "to": to, "ident": ident, "dns": is_dns,
                "expect": expect}

    assert lp.plan_probes(matrix, responders, dns) == {
        "a": [target(0, "10.1.0.2", 80, "a", "za/ra", False), target(1, "10.1.0.2", 81, "a", "za/ra", False),
              target(2, "10.1.0.3", 80, "b", "zb/rb", True), target(3, "10.1.0.3", 81, "b", "zb/rb", False),
              target(4, "10.1.0.53", 53, "dns", "", True, "UDP", True)],
        "b": [target(0, "10.1.0.2", 80, "a", "za/ra", False), target(1, "10.1.0.2", 81, "a", "za/ra", False),
              target(2, "10.1.0.3", 80, "b", "zb/rb", False), target(3, "10.1.0.3", 81, "b", "zb/rb", False),
              target(4, "10.1.0.53", 53, "dns", "", True, "UDP", True)]}
    assert lp.wire_targets([target(4, "10.1.0.53", 53, "dns", "", True, "UDP", True)]) == [
        {"id": 4, "addr": "10.1.0.53", "port": 53, "proto": "UDP", "ident": "", "dns": True}]


def test_a_zone_with_more_probes_than_one_prober_reports_is_refused_by_name():
    # 2,040 single ports 1, 3, 5, ... and the port above each: 4,080 probes to one zone, one more than 4,079
    services = {"s": [{"port": p, "end_port": None, "protocol": "TCP"} for p in range(1, 4080, 2)]}
    matrix = {"services": services, "flows": [], "cluster": {"dns": {"ports": []}}}
    with pytest.raises(ValueError) as err:
        lp.plan_probes(matrix, {"a": {"namespace": "za", "name": "r", "ip": "10.1.0.2"}})
    assert str(err.value) == ("zone 'a' would need 4080 probes, more than one prober reports (4079): fewer service "
                              "ports")
    services["s"].pop()                                # 4,078 probes
    assert len(lp.plan_probes(matrix, {"a": {"namespace": "za", "name": "r", "ip": "10.1.0.2"}})["a"]) == 4078


def test_judge_written_out_and_a_bad_result_message_quotes_it():
    plan = {"b": [{"id": 0, "addr": "10.1.0.2", "port": 80, "proto": "TCP", "to": "a", "ident": "za/r", "dns": False,
                   "expect": False}],
            "a": [{"id": 0, "addr": "10.1.0.3", "port": 80, "proto": "TCP", "to": "b", "ident": "zb/r", "dns": False,
                   "expect": True},
                  {"id": 1, "addr": "10.1.0.3", "port": 81, "proto": "TCP", "to": "b", "ident": "zb/r", "dns": False,
                   "expect": False}]}
    assert lp.judge(plan, {"a": [False, False], "b": [True]}) == {
        "probes": 3,
        "mismatches": [
            {"from": "a", "to": "b", "port": 80, "protocol": "TCP", "address": "10.1.0.3", "expected": True,
             "live": False, "text": "a -> b 80/TCP: no answer, the matrix says allowed"},
            {"from": "b", "to": "a", "port": 80, "protocol": "TCP", "address": "10.1.0.2", "expected": False,
             "live": True, "text": "b -> a 80/TCP: answered, the matrix says denied"}],
        "cells": [{"from": "a", "to": "b", "expected": ["80/TCP"], "open": []},
                  {"from": "b", "to": "a", "expected": [], "open": ["80/TCP"]}]}
    assert lp.encode_results([True, False]) == "netzone-probe/1 10"
    assert lp.decode_results(" netzone-probe/1 01\n", 2) == [False, True]
    with pytest.raises(ValueError) as err:
        lp.decode_results("netzone-probe/1 012", 3)
    assert str(err.value) == "not a probe result for 3 probes: 'netzone-probe/1 012'"
    with pytest.raises(ValueError) as err:
        lp.decode_results("x" * 100, 3)
    assert str(err.value) == "not a probe result for 3 probes: '%s'" % ("x" * 80)


def test_a_prober_takes_as_many_probes_as_its_result_holds_and_not_one_more(matrix, monkeypatch):
    """The limit comes from the termination message (4 KiB); here it is set to one zone's own count."""
    count = len(lp.plan_probes(matrix, _responders(matrix))["backend"])
    monkeypatch.setattr(lp, "MAX_PROBES_PER_PROBER", count)
    assert len(lp.plan_probes(matrix, _responders(matrix))["backend"]) == count
    monkeypatch.setattr(lp, "MAX_PROBES_PER_PROBER", count - 1)
    with pytest.raises(ValueError) as err:
        lp.plan_probes(matrix, _responders(matrix))
    assert str(err.value).endswith("more than one prober reports (%d): fewer service ports" % (count - 1))
