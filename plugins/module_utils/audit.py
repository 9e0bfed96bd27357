# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service audit: every Service that opens node ports (plain Python, no Ansible, no I/O).

A NodePort Service opens a port on every node; a LoadBalancer Service allocates node ports too (unless
``allocateLoadBalancerNodePorts: false``, which still leaves it a LoadBalancer).  Both bypass the load
balancer entry point, so both are findings.  The admission policy stops new ones; this finds the ones that
existed before it.
"""

from __future__ import annotations

NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


def findings(services, exempt_namespaces=()):
    """``services``: Service objects of every namespace -> sorted findings (exempt ones flagged, not dropped)."""
    out = []
    for svc in services:
        spec = svc.get("spec") or {}
        kind = spec.get("type") or "ClusterIP"
        if kind not in NODE_PORT_TYPES:
            continue
        meta = svc.get("metadata") or {}
        ports = [{"port": p.get("port"), "protocol": p.get("protocol", "TCP"), "node_port": p.get("nodePort")}
                 for p in spec.get("ports") or []]
        out.append({"namespace": meta.get("namespace"), "name": meta.get("name"), "type": kind,
                    "node_ports": sorted(p["node_port"] for p in ports if p["node_port"]),
                    "ports": ports, "exempt": meta.get("namespace") in exempt_namespaces})
    return sorted(out, key=lambda f: (f["namespace"] or "", f["name"] or ""))


def summary(found):
    """One line per finding, for messages."""
    return ["%s/%s (%s, node ports %s)%s" % (f["namespace"], f["name"], f["type"],
                                             ", ".join(str(p) for p in f["node_ports"]) or "none allocated",
                                             " [exempt]" if f["exempt"] else "") for f in found]
