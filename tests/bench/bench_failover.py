# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load balancer failover benchmark: the whole loadbalancer role on two hosts in network namespaces
(tests/ha/ha_lab.py, molecule/ha).

Makes the lab (``ha_lab.py --setup``: two load balancer hosts, each with its own network, mount and UTS
namespaces, a client with a stand-in node, documentation addresses only, no default routes), converges the role
on both (molecule/ha/converge.yml: HAProxy, the WAF, the host firewall, keepalived with advert_int 1), then runs
the lab ``--rounds`` times. Its request loop runs inside the client namespace, one HTTPS request at a time
through the virtual address, HAProxy, the WAF and the node (0.5 s timeout, 20 ms apart, bounded in count and
time). Each round measures the seconds from the event to the backup holding the public virtual address, and
the requests that failed meanwhile:

  haproxy killed   SIGKILL to the holder's HAProxy (track_process puts it in FAULT, it sends priority 0)
  link down        the holder's port on the bridge set down (the backup waits for the master-down timer)

Prints each round, then ``lb failover: haproxy killed X s / N failed; link down Y s / M failed`` (medians
over the rounds). Needs root; every process in the lab's namespaces is ended and the namespaces are removed
at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORY = """all:
  vars:
    ansible_connection: local
    ha_root: %(root)s
    ansible_python_interpreter: "{{ ha_root }}/work/hosts/{{ inventory_hostname }}/python"
  hosts:
    lb1:
      loadbalancer_public_address: 192.0.2.11
      loadbalancer_internal_address: 198.51.100.11
      loadbalancer_keepalived_track_process: /usr/sbin/haproxy -L lb1
    lb2:
      loadbalancer_public_address: 192.0.2.12
      loadbalancer_internal_address: 198.51.100.12
      loadbalancer_keepalived_track_process: /usr/sbin/haproxy -L lb2
      loadbalancer_vrrp_interfaces:
        - {name: eth0, address: 192.0.2.12, prefix: 24}
        - {name: eth0, address: 198.51.100.12, prefix: 24}
"""
LAB = os.path.join(ROOT, "tests", "ha", "ha_lab.py")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("lb failover: skipped (needs root for network namespaces)")
        return 0
    work = tempfile.mkdtemp(prefix="nzha-bench-")
    try:
        return bench(work, args.rounds)
    finally:
        subprocess.run([sys.executable, LAB, "--work-dir", os.path.join(work, "work"), "--teardown"], check=False)
        shutil.rmtree(work, ignore_errors=True)


def bench(work, rounds):
    inventory = os.path.join(work, "inventory.yml")
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write(INVENTORY % {"root": work})
    subprocess.run([sys.executable, LAB, "--work-dir", os.path.join(work, "work"), "--setup"], check=True,
                   stdout=subprocess.DEVNULL)
    env = dict(os.environ, MOLECULE_EPHEMERAL_DIRECTORY=work, ANSIBLE_NOCOLOR="1")
    subprocess.run(["ansible-playbook", "-i", inventory, os.path.join(ROOT, "molecule", "ha", "converge.yml")],
                   check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    figures = {"haproxy killed": [], "link down": []}
    for round_no in range(1, rounds + 1):
        out = os.path.join(work, "round%d.json" % round_no)
        lab = subprocess.run([sys.executable, LAB, "--work-dir", os.path.join(work, "work"), "--json", out],
                             capture_output=True, text=True, check=False)
        if not os.path.exists(out):
            print(lab.stdout + lab.stderr)
            return 1
        with open(out, encoding="utf-8") as handle:
            result = json.load(handle)
        failed = [check for check in result["checks"] if not check["ok"]]
        line = []
        for name in figures:
            figure = result["figures"].get(name) or {}
            if figure.get("seconds") is not None:
                figures[name].append(figure)
            seconds = "%.2f" % figure["seconds"] if figure.get("seconds") is not None else "-"
            line.append("%s %s s / %s failed of %s"
                        % (name, seconds, figure.get("failed", "-"), figure.get("requests", "-")))
        print("round %d: %s%s" % (round_no, "; ".join(line),
                                  "" if not failed else " (failed checks: %s)" % ", ".join(c["name"] for c in failed)))
    if not all(figures.values()):
        print("lb failover: no complete round")
        return 1

    def median(name, key):
        return statistics.median(figure[key] for figure in figures[name])

    print("lb failover: haproxy killed %.2f s / %d failed; link down %.2f s / %d failed"
          % (median("haproxy killed", "seconds"), median("haproxy killed", "failed"),
             median("link down", "seconds"), median("link down", "failed")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
