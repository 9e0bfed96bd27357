# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proof: do the policies allow exactly the matrix?  (plain Python, no Ansible, no I/O)

:func:`verify_matrix` builds a representative cluster from the matrix (two pods per zone, the DNS pod, one
address per outside peer, an internet address, a private address and the cloud metadata address
169.254.169.254), evaluates the compiled policies with
the NetworkPolicy engine for every endpoint pair and every service port (plus a control port that no service
uses), and compares each verdict with what the matrix says.  :func:`verify_cluster` does the same on the live
objects of a cluster (every pod of every zone).

Both return ``{"cells": [...], "mismatches": [...], "summary": {...}}``.  A cell::

    {"from": "backend", "to": "db", "port": 5432, "protocol": "TCP", "services": ["postgres"],
     "expected": True, "actual": True, "status": "ok", "pairs": 1, "allowed_pairs": 1}

``status`` is ``ok``, ``missing`` (the matrix allows it, the policies do not), ``extra`` (the policies allow
what the matrix does not), or ``no-pods`` (live check of a zone without pods).  A mismatch adds
``src``/``dst`` examples and the engine's ``explanation``.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.netzone.segmentation.plugins.module_utils.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils.evaluate import Engine
from ansible_collections.netzone.segmentation.plugins.module_utils.constants import NAMESPACE_NAME_LABEL

DNS_ENDPOINT = "kube-dns"
INTERNET_ENDPOINT = "@internet"
PRIVATE_ENDPOINT = "@private"
METADATA_ENDPOINT = "@metadata"
_METADATA_CANDIDATES = ("169.254.169.254",)  # the cloud metadata service: no zone reaches it unless a peer names it
_INTERNET_CANDIDATES = ("203.0.113.77", "198.51.100.77", "1.1.1.1", "8.8.4.4")
_PRIVATE_CANDIDATES = ("10.254.254.254", "172.31.254.254", "192.168.254.254", "10.0.0.254")
_CONTROL_PORTS = (9, 7, 1, 65535)


class _Net:
    """One peer's address set: cidrs minus excepts."""

    def __init__(self, blocks):
        self.blocks = [(ipaddress.ip_network(b["cidr"]), [ipaddress.ip_network(e) for e in b["except"]])
                       for b in blocks]

    def __contains__(self, addr):
        for net, excepts in self.blocks:
            if addr.version == net.version and addr in net and not any(addr in e for e in excepts):
                return True
        return False

    def representative(self, avoid):
        """A deterministic address of the set that is in none of the ``avoid`` networks."""
        for net, excepts in self.blocks:
            size = net.num_addresses
            offsets = [0] if size == 1 else [1, size // 2 + 1, size - 2, size // 4 + 1, 3 * size // 4 + 1]
            for offset in offsets:
                addr = net.network_address + offset
                if addr in self and not any(addr.version == a.version and addr in a for a in avoid):
                    return addr
            for exc in excepts:  # just past an excluded block
                addr = exc.broadcast_address + 1 if exc.broadcast_address != net.broadcast_address else None
                if addr is not None and addr in self and not any(addr.version == a.version and addr in a for a in avoid):
                    return addr
        return None


def _service_ports(matrix):
    """Every probed (port, protocol) -> the services that name it: each service port (range ends included)
    and, per protocol, one control port that no service names."""
    ports = {}
    for name, entries in matrix["services"].items():
        for entry in entries:
            for port in sorted(set((entry["port"], entry["end_port"] or entry["port"]))):
                ports.setdefault((port, entry["protocol"]), set()).add(name)
    for name, entries in matrix["services"].items():  # a probe inside another service's range counts too
        for entry in entries:
            for (port, proto), names in ports.items():
                if proto == entry["protocol"] and entry["port"] <= port <= (entry["end_port"] or entry["port"]):
                    names.add(name)
    for proto in ("TCP", "UDP"):
        ranges = [(e["port"], e["end_port"] or e["port"]) for entries in matrix["services"].values()
                  for e in entries if e["protocol"] == proto]
        for port in _control_candidates():
            if not any(low <= port <= high for low, high in ranges):
                ports[(port, proto)] = set()
                break
    return ports


def _control_candidates():
    yield from _CONTROL_PORTS
    yield from range(1, 65536)


class _Model:
    """What the matrix allows between endpoints, as sets of probe keys ``(port, protocol)``."""

    def __init__(self, matrix, probes):
        self.matrix = matrix
        self.nets = {name: _Net(peer["cidrs"]) for name, peer in matrix["peers"].items()}
        by_service = {}
        for key, names in probes.items():
            for name in names:
                by_service.setdefault(name, set()).add(key)
        self.by_pair = {}
        for flow in matrix["flows"]:
            keys = self.by_pair.setdefault((flow["from"], flow["to"]), set())
            for name in flow["services"]:
                keys.update(by_service.get(name, ()))
        dns = matrix["cluster"]["dns"]["ports"]
        self.dns = {k for k in probes if any(p["protocol"] == k[1] and p["port"] <= k[0] <= (p["end_port"] or p["port"])
                                             for p in dns)}

    def expected(self, src, dst, src_addr=None, dst_addr=None):
        """Allowed probe keys; src/dst are zone names or DNS_ENDPOINT, or None for an outside *_addr."""
        zones = self.matrix["zones"]
        if dst == DNS_ENDPOINT:
            return set(self.dns) if src in zones else set()
        if src == DNS_ENDPOINT:
            return set()
        if src in zones and dst in zones:
            return set(self.by_pair.get((src, dst), ()))
        out = set()
        if src in zones:
            for peer, net in self.nets.items():
                if dst_addr in net:
                    out |= self.by_pair.get((src, peer), set())
        else:
            for peer, net in self.nets.items():
                if src_addr in net:
                    out |= self.by_pair.get((peer, dst), set())
        return out


def _engine_objects(matrix, manifests):
    namespaces = {}
    policies = []
    for obj in manifests:
        if obj.get("kind") == "Namespace":
            labels = dict(obj["metadata"].get("labels") or {})
            labels[NAMESPACE_NAME_LABEL] = obj["metadata"]["name"]
            namespaces[obj["metadata"]["name"]] = labels
        elif obj.get("kind") == "NetworkPolicy":
            policies.append(obj)
    for zone in matrix["zones"].values():
        namespaces.setdefault(zone["namespace"], {NAMESPACE_NAME_LABEL: zone["namespace"]})
    dns_ns = matrix["cluster"]["dns"]["namespace"]
    namespaces.setdefault(dns_ns, {NAMESPACE_NAME_LABEL: dns_ns})
    return namespaces, policies


def representative_cluster(matrix, manifests):
    """Namespaces, pods and policies of a cluster with two probe pods per zone and the DNS pod, plus the
    outside endpoints: ``{"namespaces", "pods", "policies", "sources", "destinations", "outside"}``."""
    namespaces, policies = _engine_objects(matrix, manifests)
    pod_net = ipaddress.ip_network(matrix["cluster"]["pod_cidr"])
    svc_net = ipaddress.ip_network(matrix["cluster"]["service_cidr"])
    hosts = pod_net.hosts() if pod_net.num_addresses > 2 else iter(pod_net)
    pods, sources, destinations = [], {}, {}

    def new_pod(namespace, name, labels):
        try:
            ip = str(next(hosts))
        except StopIteration:
            raise MatrixError("cluster.pod_cidr", "%s is too small for the representative cluster" % pod_net)
        pods.append({"namespace": namespace, "name": name, "labels": labels, "ip": ip, "ports": []})
        return "%s/%s" % (namespace, name)

    for zone in sorted(matrix["zones"]):
        namespace = matrix["zones"][zone]["namespace"]
        sources[zone] = [new_pod(namespace, "probe-a", {"netzone.io/probe": "a"})]
        destinations[zone] = [new_pod(namespace, "probe-b", {"netzone.io/probe": "b"})]
    dns = matrix["cluster"]["dns"]
    destinations[DNS_ENDPOINT] = [new_pod(dns["namespace"], "dns", dict(dns["pod_labels"]))]
    sources[DNS_ENDPOINT] = list(destinations[DNS_ENDPOINT])

    nets = dict((name, _Net(peer["cidrs"])) for name, peer in matrix["peers"].items())
    avoid = [pod_net, svc_net]
    outside = {}
    for name in sorted(matrix["peers"]):
        addr = nets[name].representative(avoid)
        if addr is not None:
            outside[name] = addr
    all_nets = sorted(nets.items())
    has_internet = any(peer["internet"] for peer in matrix["peers"].values())
    for label, candidates, wanted in ((INTERNET_ENDPOINT, _INTERNET_CANDIDATES, "internet"),
                                      (PRIVATE_ENDPOINT, _PRIVATE_CANDIDATES, "private"),
                                      (METADATA_ENDPOINT, _METADATA_CANDIDATES, "any")):
        for cand in candidates:
            addr = ipaddress.ip_address(cand)
            if any(addr in net for net in avoid):
                continue
            inside = [n for n, net in all_nets if addr in net]
            if wanted == "any":
                outside[label] = addr
                break
            if wanted == "internet" and (inside or not has_internet) and all(
                    matrix["peers"][n]["internet"] for n in inside):
                outside[label] = addr
                break
            if wanted == "private" and not inside:
                outside[label] = addr
                break
    for name, addr in outside.items():
        sources[name] = destinations[name] = ["ip:%s" % addr]
    return {"namespaces": namespaces, "pods": pods, "policies": policies, "sources": sources,
            "destinations": destinations, "outside": outside}


def _key_text(key):
    return "%d/%s" % key


def _prove(matrix, engine, sources, destinations, outside, zones_without_pods=()):
    probes = _service_ports(matrix)
    keys = sorted(probes, key=lambda k: (k[1], k[0]))
    model = _Model(matrix, probes)
    zones = matrix["zones"]
    names = sorted(set(sources) | set(destinations) | set(zones_without_pods))
    reach = engine.reachability(
        sources=list(dict.fromkeys(e for n in names for e in sources.get(n, ()))),
        destinations=list(dict.fromkeys(e for n in names for e in destinations.get(n, ()))),
        ports=keys)
    rows = dict((s, dict((key, reach.row(s, key[0], key[1])) for key in keys)) for s in reach.sources)
    index = dict((d, reach.index(d)) for d in reach.destinations)
    texts = [_key_text(k) for k in keys]
    cells, mismatches = [], []
    for src in names:
        for dst in names:
            src_in, dst_in = src in zones or src == DNS_ENDPOINT, dst in zones or dst == DNS_ENDPOINT
            if (not src_in and not dst_in) or (src == dst and src not in zones):
                continue
            if DNS_ENDPOINT in (src, dst) and not (src in zones or dst in zones):
                continue  # kube-system is never policed: its traffic with the outside is not the matrix's business
            expected = model.expected(src if src_in else None, dst if dst_in else None,
                                      src_addr=outside.get(src), dst_addr=outside.get(dst))
            empty = src in zones_without_pods or dst in zones_without_pods
            pairs = [] if empty else [(s, d) for s in sources.get(src, ()) for d in destinations.get(dst, ()) if s != d]
            cell = {"from": src, "to": dst, "pairs": len(pairs), "expected": [texts[b] for b, k in enumerate(keys) if k in expected]}
            if not pairs:
                cell.update({"actual": None, "partial": [], "status": "no-pods"})
                cells.append(cell)
                continue
            exp_mask = 0
            for bit, key in enumerate(keys):
                if key in expected:
                    exp_mask |= 1 << bit
            every_mask, any_mask = -1, 0
            for s, d in pairs:
                mask, position, srow = 0, index[d], rows[s]
                for bit, key in enumerate(keys):
                    if srow[key] >> position & 1:
                        mask |= 1 << bit
                every_mask &= mask
                any_mask |= mask
            cell.update({"actual": [texts[b] for b in range(len(keys)) if every_mask >> b & 1],
                         "partial": [texts[b] for b in range(len(keys)) if (any_mask & ~every_mask) >> b & 1],
                         "status": "ok"})
            bad_mask = (exp_mask & ~every_mask) | (~exp_mask & any_mask)
            for bit, key in enumerate(keys):
                if not bad_mask >> bit & 1:
                    continue
                want = key in expected
                wrong = [(s, d) for s, d in pairs if bool(rows[s][key] >> index[d] & 1) != want]
                kind = "missing" if want else "extra"
                cell["status"] = "missing" if "missing" in (kind, cell["status"]) else "extra"
                s, d = wrong[0]
                verdict = engine.verdict(s, d, port=key[0], protocol=key[1])
                mismatches.append({"from": src, "to": dst, "port": key[0], "protocol": key[1], "kind": kind,
                                   "services": sorted(probes[key]), "src": s, "dst": d,
                                   "explanation": verdict.explain(),
                                   "bad_pairs": ["%s -> %s" % p for p in wrong[:10]], "bad_pair_count": len(wrong)})
            cells.append(cell)
    summary = {"endpoints": len(names), "cells": len(cells), "probe_ports": [_key_text(k) for k in keys],
               "ok": sum(1 for c in cells if c["status"] == "ok"),
               "missing": sum(1 for m in mismatches if m["kind"] == "missing"),
               "extra": sum(1 for m in mismatches if m["kind"] == "extra"),
               "no_pods": sum(1 for c in cells if c["status"] == "no-pods"),
               "allowed_flows": sum(len(c["expected"]) for c in cells),
               "outside": dict((k, str(v)) for k, v in sorted(outside.items()))}
    return {"cells": cells, "mismatches": mismatches, "summary": summary}


def verify_matrix(matrix, manifests=None):
    """Prove that ``manifests`` (default: the compiled matrix) allow exactly the matrix's flows."""
    if manifests is None:
        manifests = compile_manifests(matrix)
    rep = representative_cluster(matrix, manifests)
    engine = Engine(namespaces=rep["namespaces"], pods=rep["pods"], policies=rep["policies"])
    return _prove(matrix, engine, rep["sources"], rep["destinations"], rep["outside"])


def verify_cluster(matrix, namespaces, pods, policies):
    """The same proof on a live cluster: every pod of every zone namespace, the DNS pods, the outside peers.

    ``namespaces``: {name: labels}; ``pods``: [{namespace, name, labels, ip, ports}]; ``policies``: objects.
    """
    rep = representative_cluster(matrix, [])
    by_ns = {}
    for pod in pods:
        by_ns.setdefault(pod["namespace"], []).append("%s/%s" % (pod["namespace"], pod["name"]))
    sources, destinations, empty = {}, {}, []
    for zone, spec in matrix["zones"].items():
        members = sorted(by_ns.get(spec["namespace"], []))
        if members:
            sources[zone] = destinations[zone] = members
        else:
            empty.append(zone)
    dns = matrix["cluster"]["dns"]
    dns_pods = sorted("%s/%s" % (p["namespace"], p["name"]) for p in pods
                      if p["namespace"] == dns["namespace"]
                      and all((p.get("labels") or {}).get(k) == v for k, v in dns["pod_labels"].items()))
    if dns_pods:
        sources[DNS_ENDPOINT] = destinations[DNS_ENDPOINT] = dns_pods
    for name, addr in rep["outside"].items():
        sources[name] = destinations[name] = ["ip:%s" % addr]
    all_ns = dict(rep["namespaces"])
    all_ns.update({name: dict(labels or {}, **{NAMESPACE_NAME_LABEL: name}) for name, labels in namespaces.items()})
    engine = Engine(namespaces=all_ns, pods=pods, policies=policies)
    return _prove(matrix, engine, sources, destinations, rep["outside"], zones_without_pods=empty)


def cell_table(matrix, result):
    """Rows for reports: one per (from, to, service) with ``expected``/``actual`` in {all, none, some} over
    the service's probe ports, and the cell's status; plus one ``(other ports)`` row per pair that allows a
    port no service of the flow names.  Pairs that allow nothing and expect nothing are left out."""
    probes = _service_ports(matrix)
    per_service = {}
    for key, names in probes.items():
        for name in names:
            per_service.setdefault(name, []).append(_key_text(key))
    rows = []
    for cell in result["cells"]:
        expected, actual = set(cell["expected"]), set(cell["actual"] or ())
        partial = set(cell["partial"])
        if not expected and not actual and not partial and cell["status"] == "ok":
            continue
        for name in sorted(per_service):
            ports = per_service[name]
            exp = _degree(sum(1 for p in ports if p in expected), len(ports))
            act = "unknown" if cell["actual"] is None else _degree(
                sum(1 for p in ports if p in actual), len(ports), any(p in partial for p in ports))
            if exp == "none" and act == "none":
                continue
            status = "ok" if exp == act or cell["actual"] is None and cell["status"] == "no-pods" else (
                "missing" if exp != "none" and act != "all" else "extra")
            if cell["actual"] is None:
                status = "no-pods"
            rows.append({"from": cell["from"], "to": cell["to"], "service": name, "ports": sorted(ports),
                         "expected": exp, "actual": act, "status": status})
    return rows


def _degree(hits, total, partial=False):
    if hits == total and total:
        return "all"
    if hits or partial:
        return "some"
    return "none"
