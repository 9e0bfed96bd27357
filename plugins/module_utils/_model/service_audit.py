# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service audit: every Service that opens a way around the load balancer (plain Python, no Ansible, no I/O).

A NodePort Service opens a port on every node; a LoadBalancer Service allocates node ports too (unless
``allocateLoadBalancerNodePorts: false``, which still leaves it a LoadBalancer).  A Service of any type with
``spec.externalIPs`` makes kube-proxy answer on those addresses on every node (and lets whoever may create
Services intercept traffic to them, CVE-2020-8554).  All three bypass the load balancer entry point, so all are
findings.  The admission policy stops new ones; this finds the ones that existed before it.
"""

from __future__ import annotations

NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


def findings(services, exempt_namespaces=()):
    """``services``: Service objects of every namespace -> sorted findings (exempt ones flagged, not dropped)."""
    out = []
    for svc in services:
        spec = svc.get("spec") or {}
        kind = spec.get("type") or "ClusterIP"
        external_ips = [str(ip) for ip in spec.get("externalIPs") or []]
        if kind not in NODE_PORT_TYPES and not external_ips:
            continue
        meta = svc.get("metadata") or {}
        ports = [{"port": p.get("port"), "protocol": p.get("protocol", "TCP"), "node_port": p.get("nodePort")}
                 for p in spec.get("ports") or []]
        out.append({"namespace": meta.get("namespace"), "name": meta.get("name"), "type": kind,
                    "node_ports": sorted(p["node_port"] for p in ports if p["node_port"]),
                    "external_ips": external_ips,
                    "ports": ports, "exempt": meta.get("namespace") in exempt_namespaces})
    return sorted(out, key=lambda f: (f["namespace"] or "", f["name"] or ""))


def summary(found):
    """One line per finding, for messages."""
    lines = []
    for f in found:
        what = []
        if f["type"] in NODE_PORT_TYPES:
            what.append("node ports %s" % (", ".join(str(p) for p in f["node_ports"]) or "none allocated"))
        if f.get("external_ips"):
            what.append("external IPs %s" % ", ".join(f["external_ips"]))
        exempt = " [exempt]" if f["exempt"] else ""
        lines.append("%s/%s (%s, %s)%s" % (f["namespace"], f["name"], f["type"], "; ".join(what), exempt))
    return lines
