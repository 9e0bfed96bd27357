# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real packets between the zones: what the probe pods send, and what their answers mean.

The verify role's probe-pod path (module ``probe_pods``): one responder pod and one prober pod per zone
namespace, short-lived and labelled with a run id. Each responder answers on every service port of the matrix
and on the port just above each range, with its own identity; each prober connects to every responder (its own
zone's included) and to the DNS pods, and writes one character per probe to its termination message, which the
API server keeps in the pod's status (no log API, no exec: nothing but the pod objects is read).

This module holds the pure parts, tested with plain pytest: the probe list, the expectation of each probe from
the matrix, the result encoding, and the comparison.
"""

from __future__ import annotations

#: Labels of every object of a probe run (the run id goes in RUN_LABEL).
MANAGED_BY = ("app.kubernetes.io/managed-by", "netzone-verify")
RUN_LABEL = "netzone.io/probe-run"
ROLE_LABEL = "netzone.io/probe"
#: First word of a prober's termination message; then one character per probe, in the order of its targets.
RESULT_MAGIC = "netzone-probe/1"
#: Kubernetes keeps at most 4096 bytes of a container's termination message.
MAX_PROBES_PER_PROBER = 4096 - len(RESULT_MAGIC) - 2


def probe_ports(matrix):
    """Every service port of the matrix and the port just above each range, as sorted ``(port, protocol)``."""
    ports = set()
    for entries in matrix["services"].values():
        for entry in entries:
            ports.add((entry["port"], entry["protocol"]))
            above = (entry["end_port"] or entry["port"]) + 1
            if above <= 65535:
                ports.add((above, entry["protocol"]))
    return sorted(ports, key=lambda p: (p[1], p[0]))


def expected(matrix, src_zone, dst, port, protocol):
    """Whether the matrix allows ``src_zone`` to reach ``dst`` (a zone name, or ``None`` for the DNS pods)."""
    def covers(entries):
        return any(e["protocol"] == protocol and e["port"] <= port <= (e["end_port"] or e["port"]) for e in entries)

    if dst is None:
        return covers(matrix["cluster"]["dns"]["ports"])
    for flow in matrix["flows"]:
        if flow["from"] == src_zone and flow["to"] == dst:
            if any(covers(matrix["services"][name]) for name in flow["services"]):
                return True
    return False


def plan_probes(matrix, responders, dns_pods=()):
    """The targets of each zone's prober.

    ``responders``: ``{zone: {"namespace", "name", "ip"}}`` (the responder pod of each zone, running);
    ``dns_pods``: ``[{"namespace", "name", "ip"}]`` (at most the first is probed, on the DNS ports only: a real DNS
    server answers nothing else, so a port just outside cannot tell a drop from a closed port).
    Returns ``{zone: [{"id", "addr", "port", "proto", "to", "ident", "dns", "expect"}]}``.
    """
    ports = probe_ports(matrix)
    plan = {}
    for src in sorted(responders):
        targets = []
        for dst in sorted(responders):
            pod = responders[dst]
            ident = "%s/%s" % (pod["namespace"], pod["name"])
            for port, proto in ports:
                targets.append({"id": len(targets), "addr": pod["ip"], "port": port, "proto": proto, "to": dst,
                                "ident": ident, "dns": False, "expect": expected(matrix, src, dst, port, proto)})
        for pod in list(dns_pods)[:1]:
            for entry in matrix["cluster"]["dns"]["ports"]:
                allowed = expected(matrix, src, None, entry["port"], entry["protocol"])
                targets.append({"id": len(targets), "addr": pod["ip"], "port": entry["port"],
                                "proto": entry["protocol"], "to": "dns", "ident": "",
                                "dns": entry["protocol"] == "UDP", "expect": allowed})
        if len(targets) > MAX_PROBES_PER_PROBER:
            raise ValueError("zone %r would need %d probes, more than one prober reports (%d): fewer service ports"
                             % (src, len(targets), MAX_PROBES_PER_PROBER))
        plan[src] = targets
    return plan


def wire_targets(targets):
    """What a prober reads (its ConfigMap): only what it needs to send and to recognise the answer."""
    return [{k: t[k] for k in ("id", "addr", "port", "proto", "ident", "dns")} for t in targets]


def encode_results(oks):
    """A prober's termination message: the magic word, then ``1`` (answered by the expected pod) or ``0`` each."""
    return "%s %s" % (RESULT_MAGIC, "".join("1" if ok else "0" for ok in oks))


def decode_results(message, count):
    """The list of booleans of :func:`encode_results`; ValueError when the message is not one of ``count`` results."""
    parts = (message or "").strip().split(" ")
    if len(parts) != 2 or parts[0] != RESULT_MAGIC or len(parts[1]) != count or set(parts[1]) - set("01"):
        raise ValueError("not a probe result for %d probes: %r" % (count, (message or "")[:80]))
    return [c == "1" for c in parts[1]]


def judge(plan, results):
    """Compare the answers with the matrix.

    ``results``: ``{zone: [bool]}`` for the zones whose prober reported. Returns ``{"probes", "mismatches",
    "cells"}``: a mismatch per probe whose outcome differs from the matrix; a cell per (from, to) with the ports
    expected open and found open.
    """
    mismatches, cells, probes = [], {}, 0
    for src, targets in sorted(plan.items()):
        oks = results[src]
        for target, ok in zip(targets, oks):
            probes += 1
            cell = cells.setdefault((src, target["to"]), {"from": src, "to": target["to"], "expected": [], "open": []})
            text = "%d/%s" % (target["port"], target["proto"])
            if target["expect"]:
                cell["expected"].append(text)
            if ok:
                cell["open"].append(text)
            if ok != target["expect"]:
                mismatches.append({"from": src, "to": target["to"], "port": target["port"], "protocol": target["proto"],
                                   "address": target["addr"], "expected": target["expect"], "live": ok,
                                   "text": "%s -> %s %s: %s, the matrix says %s" % (
                                       src, target["to"], text, "answered" if ok else "no answer",
                                       "allowed" if target["expect"] else "denied")})
    return {"probes": probes, "mismatches": mismatches, "cells": [cells[k] for k in sorted(cells)]}
