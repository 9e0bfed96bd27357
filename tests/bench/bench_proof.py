# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the live dataplane proof of the example matrix, phase by phase, on the real cluster.

The phases of ``make cluster-proof`` (tests/cluster/proof.py, whose own steps are reused here, not copied), each
timed with a monotonic clock: the cluster's start (etcd, kube-apiserver, kube-controller-manager, the node
namespace with kube-proxy and the policy engine), the outside peers and the DNS pod, the zones role applying the
example matrix (one ``ansible-playbook``), the zone namespaces' probe pods until ready plus the fixed pause that
lets the policy engine program the rules (``Proof.wait_dataplane``), ``--rounds`` rounds of probes (every zone
pair and peer, every service port and the port just above, DNS, 169.254.169.254; real packets), the zones role
again (a no-op: it must change nothing), and the stop (processes by PID, namespaces removed).  Prints the
probe count and the mismatches of every round (0 expected: a mismatch, or a second role run that changes
something, makes the exit status 1), then one line:
``live proof of the example matrix: N probes in P s, start to stop T s (...)``.

The full ``make cluster-proof`` runs more than this (the stand-in contract, the admission checks, three faults
each followed by probes and a role run): its duration is ``proof took`` in its own output.

Usage: ``python tests/bench/bench_proof.py [--rounds 2] [--wait 1800]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(ROOT / "build" / "collections"))

import cluster as C  # noqa: E402  pylint: disable=import-error,wrong-import-position
import proof as P  # noqa: E402  pylint: disable=import-error,wrong-import-position

sys.path.insert(0, str(ROOT / "tests" / "bench"))
from bench_zones import environment  # noqa: E402  pylint: disable=import-error,wrong-import-position


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of probes on the applied matrix (>= 1)")
    parser.add_argument("--state", type=Path, default=C.DEFAULT_STATE, help="the harness's state directory")
    parser.add_argument("--bindir", type=Path, help="the built binaries (default: tools/build_cluster.py's)")
    parser.add_argument("--wait", type=float, default=1800,
                        help="wait at most this many seconds for another harness to end (one per machine)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def summary(phases, rounds):
    """The closing line: ``phases`` is [(name, seconds)] in order, ``rounds`` the probe rounds' results."""
    total = sum(s for _n, s in phases)
    seconds = dict(phases)
    probe = statistics.median(r["seconds"] for r in rounds)
    return ("live proof of the example matrix: %d probes in %.1f s (median of %d rounds), start to stop %.1f s "
            "(start %.1f, apply %.1f, probe %.1f, stop %.1f)" % (
                rounds[0]["probes"], probe, len(rounds), total, seconds["start"], seconds["apply (zones role)"],
                sum(r["seconds"] for r in rounds), seconds["stop"]))


def main(argv=None):
    args = parse_args(argv)
    # The zones role's ansible-playbook (run by the proof's own step) from this checkout's venv and collection path;
    # its default output stays (the proof reads the recap).
    env = environment()
    for key in ("PATH", "ANSIBLE_COLLECTIONS_PATH", "PYTHONPATH"):
        os.environ[key] = env[key]
    cluster = C.Cluster(args.state, args.bindir or C.default_bindir())
    phases, rounds, ok = [], [], True

    def timed(name, step):
        t0 = time.monotonic()
        out = step()
        phases.append((name, time.monotonic() - t0))
        print("%-34s %7.1f s" % (name, phases[-1][1]), flush=True)
        return out

    started = False
    try:
        timed("start", lambda: cluster.start(wait=args.wait))
        started = True
        proof = timed("peers and DNS pod", lambda: P.prepare(cluster))
        timed("apply (zones role)", lambda: proof.run_role("apply"))
        timed("probe pods ready, dataplane pause", lambda: (proof.create_zone_pods(), proof.wait_dataplane()))
        for number in range(1, args.rounds + 1):
            result = timed("probe round %d" % number, lambda number=number: proof.probe_all("round %d" % number))
            rounds.append(result)
            P.report(result)
            ok &= not result["mismatches"]
        out = timed("zones role again (no-op)", lambda: proof.run_role("no-op"))
        changed = proof.recap_changed(out)
        if changed != 0:
            print("the second run of the zones role changed %d tasks (expected 0)" % changed)
            ok = False
    finally:
        if started:
            timed("stop", cluster.stop)
        else:
            cluster.stop()
    print(summary(phases, rounds))
    pins = C.read_pins()
    print("(kube-apiserver %s, etcd %s, kube-router %s as the policy engine)" % (
        pins["KUBERNETES_VERSION"], pins["ETCD_VERSION"], pins["KUBE_ROUTER_VERSION"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
