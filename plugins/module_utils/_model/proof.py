# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proof: do the policies allow exactly the matrix?  (plain Python, no Ansible, no I/O)

:func:`verify_matrix` builds a representative cluster from the matrix and the policies under proof, evaluates
those policies with the NetworkPolicy engine for every pair of endpoint classes and every port interval, and
compares each verdict with what the matrix says.  :func:`verify_cluster` does the same on the live objects of
a cluster (every pod of every namespace).  Why the classes below are exhaustive is written down in
``docs/proof.md``.

* **Ports.**  Per protocol (TCP, UDP, SCTP), 1-65535 is cut at every boundary that occurs in the matrix's
  services, in the policies under proof (each ``port`` and each ``endPort`` + 1) and in the pods' named
  container ports.  No verdict can change inside such an interval, so one probe per interval decides it.
* **Pods.**  (In an internet-egress zone, the pods that are not egress proxies, ``guards.internet_egress_pods``,
  are an endpoint of their own, ``proxy:other-pods``, that the matrix lets reach nothing outside.)
  In every zone namespace, in the DNS namespace and in namespaces the collection does not manage
  (one bare, one on each side of every namespace selector used): two probe pods with different labels, a
  pod with the DNS pods' labels, for every pod selector that the policies use a pod on each side of it, and
  the compatible unions of those label sets.  The DNS pods are the DNS namespace's pods with the DNS labels; the
  other pods of that namespace and every pod of the unmanaged namespace must get nothing to or from a zone.
* **Addresses.**  The first and last address of every ipBlock, every ``except`` and every peer CIDR of the
  matrix and the addresses just outside them (so every elementary interval of the address line has a probe),
  plus an internet address, a private address and the cloud metadata address 169.254.169.254.  Addresses are
  grouped by the set of matrix peers that contain them.

Both return ``{"cells": [...], "mismatches": [...], "summary": {...}}``.  A cell::

    {"from": "backend", "to": "db", "pairs": 9, "expected": ["5432/TCP"], "actual": ["5432/TCP"],
     "partial": [], "status": "ok"}

``status`` is ``ok``, ``missing`` (the matrix allows it, the policies do not), ``extra`` (the policies allow
what the matrix does not), or ``no-pods`` (live check of a zone without pods).  A mismatch names the interval
(``port``, ``end_port``, ``protocol``; ``text``: ``backend → db TCP 5433–65535: allowed, expected denied``)
and adds ``src``/``dst`` examples and the engine's ``explanation``.

* **Each side alone.**  Besides the end-to-end verdict, the egress of every zone towards every destination
  and the ingress of every zone from every source are compared with the matrix, the other side taken as
  allowing everything, so that a side wider than the matrix shows although the other side hides it end to
  end.  Such a mismatch has ``side`` ``egress`` or ``ingress`` and the ``zone`` whose side it is (end-to-end
  ones: ``side`` ``end-to-end``, ``zone`` None); ``text``: ``backend → db TCP 5431 (ingress of db alone):
  allowed, expected denied``.  It is reported only where the cell's interval is right end to end.
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress

from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
from ansible_collections.netzone.segmentation.plugins.module_utils._common.constants import NAMESPACE_NAME_LABEL
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._common.trace import count
from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine
from ansible_collections.netzone.segmentation.plugins.module_utils._model.netpol_model import PROTOCOLS, parse_policy

DNS_ENDPOINT = "kube-dns"
DNS_NAMESPACE_ENDPOINT = "@dns-namespace"
UNMANAGED_ENDPOINT = "@unmanaged"
INTERNET_ENDPOINT = "@internet"
PRIVATE_ENDPOINT = "@private"
METADATA_ENDPOINT = "@metadata"
OUTSIDE_ENDPOINT = "@unlisted"
#: The pods of an internet-egress zone that are not egress proxies: endpoint ``<zone>:other-pods``.
OTHER_PODS = "other-pods"
UNMANAGED_NAMESPACE = "netzone-proof-unmanaged"
PROBE_LABEL = "netzone.io/probe"
METADATA_ADDRESS = "169.254.169.254"
_INTERNET_CANDIDATES = ("1.1.1.1", "8.8.4.4", "9.9.9.9", "208.67.222.222")
_PRIVATE_CANDIDATES = ("10.254.254.254", "172.31.254.254", "192.168.254.254", "10.0.0.254")
_TOP = {4: (1 << 32) - 1, 6: (1 << 128) - 1}


# --- port intervals ---------------------------------------------------------------------------------


def _policy_objects(policies):
    """The policies under proof, parsed (a malformed one raises the engine's error naming its path)."""
    return [parse_policy(raw, i) for i, raw in enumerate(policies or [])]


def port_intervals(matrix, policies=(), pods=()):
    """Every (first, last, protocol) interval of 1-65535 that no service, policy port or named container
    port splits, sorted by protocol then port.  ``policies`` are parsed policy objects."""
    cuts = dict((proto, {1, 65536}) for proto in PROTOCOLS)

    def cut(protocol, first, last):
        cuts[protocol].add(first)
        cuts[protocol].add(last + 1)

    for entries in list(matrix["services"].values()) + [matrix["cluster"]["dns"]["ports"]]:
        for entry in entries:
            cut(entry["protocol"], entry["port"], entry["end_port"] or entry["port"])
    for policy in policies:
        for rule in policy.ingress_rules + policy.egress_rules:
            for entry in rule.ports or ():
                if entry.number is not None:
                    cut(entry.protocol, entry.number, entry.end or entry.number)
    for pod in pods:
        for port in pod.get("ports") or ():
            number, protocol = port.get("containerPort"), port.get("protocol") or "TCP"
            if isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= 65535 and protocol in cuts:
                cut(protocol, number, number)
    out = []
    for proto in PROTOCOLS:
        points = sorted(cuts[proto])
        out.extend((low, high - 1, proto) for low, high in zip(points, points[1:]))
    return out


def interval_text(key):
    """``80/TCP`` or ``5433-65535/TCP``."""
    first, last, proto = key
    return "%d/%s" % (first, proto) if first == last else "%d-%d/%s" % (first, last, proto)


def _interval_services(matrix, keys):
    """{interval: set of the services whose ports cover it} (an interval is inside or outside each range)."""
    out = dict((key, set()) for key in keys)
    for name, entries in matrix["services"].items():
        for entry in entries:
            high = entry["end_port"] or entry["port"]
            for key in keys:
                if key[2] == entry["protocol"] and entry["port"] <= key[0] and key[1] <= high:
                    out[key].add(name)
    return out


# --- what the matrix says -------------------------------------------------------------------------------


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


class _Model:
    """What the matrix allows between endpoint classes, as sets of port intervals.

    A class is ``("zone", name)``, ``("dns",)``, ``("pod",)`` (any other pod) or ``("outside", peers)``
    (an address outside the cluster, with the frozenset of matrix peers that contain it)."""

    def __init__(self, matrix, services_of):
        self.matrix = matrix
        by_service = {}
        for key, names in services_of.items():
            for name in names:
                by_service.setdefault(name, set()).add(key)
        self.by_pair = {}
        for flow in matrix["flows"]:
            keys = self.by_pair.setdefault((flow["from"], flow["to"]), set())
            for name in flow["services"]:
                keys.update(by_service.get(name, ()))
        dns = matrix["cluster"]["dns"]["ports"]
        self.dns = set(k for k in services_of if any(
            p["protocol"] == k[2] and p["port"] <= k[0] and k[1] <= (p["end_port"] or p["port"]) for p in dns))

    def expected(self, src, dst):
        """The intervals the matrix allows from class ``src`` to class ``dst``."""
        if src[0] == "zone" and dst[0] == "zone":
            return set(self.by_pair.get((src[1], dst[1]), ()))
        if src[0] == "zone" and dst[0] == "dns":
            return set(self.dns)
        if src[0] == "zone" and dst[0] == "outside":
            if src[2:] == (OTHER_PODS,):
                return set()  # an internet-egress zone's pods but the egress proxies: nothing outside
            return set().union(*[self.by_pair.get((src[1], peer), ()) for peer in dst[1]])
        if src[0] == "outside" and dst[0] == "zone":
            return set().union(*[self.by_pair.get((peer, dst[1]), ()) for peer in src[1]])
        return set()


# --- the representative cluster --------------------------------------------------------------------------


def _selector_sides(selector):
    """Label sets on each side of a pod selector: one that it matches (when it can match) and, per
    negative expression, one that breaks it."""
    labels = dict(selector.required)
    sides = []
    for key, op, values in selector.exprs:
        if op == "In" and key not in labels:
            labels[key] = sorted(values)[0]
        elif op == "Exists" and key not in labels:
            labels[key] = "netzone-proof"
        elif op == "NotIn":
            sides.append({key: sorted(values)[0]})
        elif op == "DoesNotExist":
            sides.append({key: "netzone-proof"})
    if selector.matches(labels, frozenset(labels.items())):
        sides.append(labels)
    return sides


def _probe_label_sets(matrix, policies):
    """The label sets every namespace gets a pod for (deduplicated, in a stable order)."""
    sets = [{PROBE_LABEL: "a"}, {PROBE_LABEL: "b"}, dict(matrix["cluster"]["dns"]["pod_labels"])]
    for policy in policies:
        selectors = [policy.pod_sel] + [peer.pod_sel for rule in policy.ingress_rules + policy.egress_rules
                                        for peer in rule.peers or () if peer.pod_sel is not None]
        for selector in selectors:
            sets.extend(_selector_sides(selector))
    distinct = list(_distinct(sets).values())  # every policy of every zone repeats the same few selectors
    return list(_distinct(distinct + _unions(distinct[2:])).values())


def _distinct(sets):
    """{sorted items: label set} in first-seen order."""
    unique = {}
    for labels in sets:
        unique.setdefault(tuple(sorted(labels.items())), labels)
    return unique


def _unions(sets):
    """From each label set, the union with every later-compatible one (no key with two values): pods that
    match as many selectors at once as labels allow, for allows that need one pod on both sides of two
    selectors (its own policy's and a peer's)."""
    out = []
    for seed in sets:
        merged = dict(seed)
        for other in sets:
            if all(merged.get(k, v) == v for k, v in other.items()):
                merged.update(other)
        out.append(merged)
    return out


def _unmanaged_namespaces(policies):
    """Unmanaged namespaces: one with no label but its name, and one on each side of every namespace
    selector that the policies use (the name label always carries the namespace's own name)."""
    out = {UNMANAGED_NAMESPACE: {NAMESPACE_NAME_LABEL: UNMANAGED_NAMESPACE}}
    seen = set([()])
    for policy in policies:
        for rule in policy.ingress_rules + policy.egress_rules:
            for peer in rule.peers or ():
                for labels in _selector_sides(peer.ns_sel) if peer.ns_sel is not None else ():
                    labels = dict((k, v) for k, v in labels.items() if k != NAMESPACE_NAME_LABEL)
                    key = tuple(sorted(labels.items()))
                    if key not in seen:
                        seen.add(key)
                        name = "%s-%d" % (UNMANAGED_NAMESPACE, len(out))
                        out[name] = dict(labels, **{NAMESPACE_NAME_LABEL: name})
    return out


def _engine_namespaces(matrix, manifests, unmanaged=None):
    namespaces = dict(unmanaged or {})
    for obj in manifests:
        if obj.get("kind") == "Namespace":
            labels = dict(obj["metadata"].get("labels") or {})
            labels[NAMESPACE_NAME_LABEL] = obj["metadata"]["name"]
            namespaces[obj["metadata"]["name"]] = labels
    names = [zone["namespace"] for zone in matrix["zones"].values()]
    names += [matrix["cluster"]["dns"]["namespace"]]
    for name in names:
        namespaces.setdefault(name, {NAMESPACE_NAME_LABEL: name})
    return namespaces


def _address_probes(matrix, policies):
    """Every address just inside and just outside each ipBlock, except and peer CIDR, not in the cluster's
    own CIDRs: at least one probe in every interval of the address line that they cut."""
    nets = [ipaddress.ip_network(matrix["cluster"][key]) for key in ("pod_cidr", "service_cidr")]
    cluster = list(nets)
    for peer in matrix["peers"].values():
        for block in peer["cidrs"]:
            nets.extend(ipaddress.ip_network(c) for c in [block["cidr"]] + list(block["except"]))
    for policy in policies:
        for rule in policy.ingress_rules + policy.egress_rules:
            for peer in rule.peers or ():
                if peer.ipblock is not None:
                    nets.extend((peer.ipblock.net,) + tuple(peer.ipblock.excepts))
    found = set()
    for net in nets:
        first, last = int(net.network_address), int(net.broadcast_address)
        for value in (first - 1, first, last, last + 1):
            if 0 <= value <= _TOP[net.version]:
                found.add(ipaddress.ip_address(value) if net.version == 4 else ipaddress.IPv6Address(value))
    return sorted((a for a in found if not any(a.version == c.version and a in c for c in cluster)),
                  key=lambda a: (a.version, a))


def _named_addresses(matrix, nets):
    """The internet, private and metadata probes: {endpoint name: address}."""
    cluster = [ipaddress.ip_network(matrix["cluster"][key]) for key in ("pod_cidr", "service_cidr")]
    out = {METADATA_ENDPOINT: ipaddress.ip_address(METADATA_ADDRESS)}
    has_internet = any(peer["internet"] for peer in matrix["peers"].values())
    for label, candidates in ((INTERNET_ENDPOINT, _INTERNET_CANDIDATES), (PRIVATE_ENDPOINT, _PRIVATE_CANDIDATES)):
        for cand in candidates:
            addr = ipaddress.ip_address(cand)
            if any(addr in net for net in cluster):
                continue
            inside = [name for name, net in sorted(nets.items()) if addr in net]
            if label == INTERNET_ENDPOINT and (inside or not has_internet) and all(
                    matrix["peers"][n]["internet"] for n in inside):
                out[label] = addr
                break
            if label == PRIVATE_ENDPOINT and not inside:
                out[label] = addr
                break
    return out


def _outside_classes(matrix, policies, extra_named=True):
    """Outside endpoints: ({endpoint name: [addresses]}, {endpoint name: class})."""
    nets = dict((name, _Net(peer["cidrs"])) for name, peer in matrix["peers"].items())
    groups, classes = {}, {}
    named = _named_addresses(matrix, nets) if extra_named else {}
    for name, addr in named.items():
        groups[name] = [addr]
    taken = set(named.values())
    for addr in _address_probes(matrix, policies):
        if addr in taken:
            continue
        inside = frozenset(name for name, net in nets.items() if addr in net)
        name = "+".join(sorted(inside)) if inside else OUTSIDE_ENDPOINT
        groups.setdefault(name, []).append(addr)
    for name, addrs in groups.items():
        classes[name] = ("outside", frozenset(n for n, net in nets.items() if addrs[0] in net))
    return groups, classes


def representative_cluster(matrix, manifests):
    """Namespaces, pods and policies of a cluster with a pod of every label class in every zone namespace,
    the DNS namespace and an unmanaged namespace, plus the outside addresses: ``{"namespaces", "pods",
    "policies", "members", "classes", "outside"}`` (``members``: endpoint name -> endpoint refs;
    ``classes``: endpoint name -> what the matrix takes it for; ``outside``: name -> addresses)."""
    policies = [obj for obj in manifests if obj.get("kind") == "NetworkPolicy"]
    parsed = _policy_objects(policies)
    unmanaged = _unmanaged_namespaces(parsed)
    namespaces = _engine_namespaces(matrix, manifests, unmanaged)
    pod_net = ipaddress.ip_network(matrix["cluster"]["pod_cidr"])
    hosts = pod_net.hosts() if pod_net.num_addresses > 2 else iter(pod_net)
    pods = []
    label_sets = _probe_label_sets(matrix, parsed)
    probe_namespaces = sorted(set(z["namespace"] for z in matrix["zones"].values())) + [
        matrix["cluster"]["dns"]["namespace"]] + list(unmanaged)
    for namespace in probe_namespaces:
        for i, labels in enumerate(label_sets):
            try:
                ip = str(next(hosts))
            except StopIteration:
                raise MatrixError("cluster.pod_cidr", "%s is too small for the representative cluster" % pod_net)
            pods.append({"namespace": namespace, "name": "probe-%d" % i, "labels": dict(labels), "ip": ip, "ports": []})
    members, classes = _pod_classes(matrix, pods)
    outside, outside_classes = _outside_classes(matrix, parsed)
    for name, addrs in outside.items():
        members[name] = ["ip:%s" % a for a in addrs]
    classes.update(outside_classes)
    return {"namespaces": namespaces, "pods": pods, "policies": policies, "members": members,
            "classes": classes, "outside": outside, "parsed": parsed}


def _pod_classes(matrix, pods):
    """Pods by endpoint name (zone, DNS pods, other pods of the DNS namespace, pods of any other
    namespace) and the class of each name."""
    zone_of = dict((spec["namespace"], zone) for zone, spec in matrix["zones"].items())
    dns = matrix["cluster"]["dns"]
    members, classes = {}, {}
    for zone in matrix["zones"]:
        members[zone], classes[zone] = [], ("zone", zone)
    egress_pods = matrix["guards"].get("internet_egress_pods") or {}
    egress_zones = set(matrix["guards"].get("internet_egress_zones") or ()) if egress_pods else set()
    for pod in pods:
        ref = "%s/%s" % (pod["namespace"], pod["name"])
        labels = pod.get("labels") or {}
        if pod["namespace"] in zone_of:
            name = zone_of[pod["namespace"]]
            if name in egress_zones and not all(labels.get(k) == v for k, v in egress_pods.items()):
                zone, name = name, "%s:%s" % (name, OTHER_PODS)
                classes[name] = ("zone", zone, OTHER_PODS)
        elif pod["namespace"] == dns["namespace"]:
            is_dns = all(labels.get(k) == v for k, v in dns["pod_labels"].items())
            name = DNS_ENDPOINT if is_dns else DNS_NAMESPACE_ENDPOINT
            classes[name] = ("dns",) if is_dns else ("pod",)
        else:
            name, classes[UNMANAGED_ENDPOINT] = UNMANAGED_ENDPOINT, ("pod",)
        members.setdefault(name, []).append(ref)
    return members, classes


# --- the comparison ---------------------------------------------------------------------------------------


SIDES = ("egress", "ingress")


class _Evaluated:
    """The engine's verdicts at both ends of every probe interval, as bitsets of destination groups per
    source group: end to end, and each side alone (the source's egress; the destinations' ingress).  One
    end decides an interval; the other one is probed too, so that an engine that changes its verdict inside
    an interval (e.g. reads ``endPort`` as exclusive) shows up."""

    def __init__(self, engine, members, keys):
        self.engine = engine
        self.keys = keys
        refs = list(dict.fromkeys(ref for group in members.values() for ref in group))
        ports = list(dict.fromkeys([(k[0], k[2]) for k in keys] + [(k[1], k[2]) for k in keys]))
        self.reach = engine.reachability(sources=refs, destinations=refs, ports=ports, sides=True)
        self.group = dict((ref, self.reach.index(ref)) for ref in refs)
        self._rows = {}
        self._masks = {}

    def by_group(self, refs):
        """[(group, [refs of that group])] in first-seen order."""
        out = {}
        for ref in refs:
            out.setdefault(self.group[ref], []).append(ref)
        return list(out.items())

    def rows(self, src, side=None):
        """[(first, last)] per interval: the destination groups that ``src`` reaches on the interval's first
        (last) port, end to end (``side`` None) or on one side alone (``egress``/``ingress``)."""
        gs = self.group[src]
        found = self._rows.get((side, gs))
        if found is None:
            firsts = self.reach.rows_of_group(gs, [(k[0], k[2]) for k in self.keys], side)
            lasts = self.reach.rows_of_group(gs, [(k[1], k[2]) for k in self.keys], side)
            found = self._rows[(side, gs)] = list(zip(firsts, lasts))
        return found

    def masks(self, src, dst, side=None):
        """(first, last): bit i set when the connection from ``src`` to ``dst`` is allowed on the first
        (last) port of interval ``keys[i]`` (end to end, or by ``side`` alone)."""
        gs, gd = self.group[src], self.group[dst]
        found = self._masks.get((side, gs, gd))
        if found is None:
            first = last = 0
            for bit, (row_first, row_last) in enumerate(self.rows(src, side)):
                first |= (row_first >> gd & 1) << bit
                last |= (row_last >> gd & 1) << bit
            found = self._masks[(side, gs, gd)] = (first, last)
        return found


def _mismatch(evaluated, cell, key, want, wrong, count, services, side=None):
    s, d = wrong[0]
    verdict = evaluated.engine.verdict(s, d, port=key[0], protocol=key[2])

    def decided(found):
        return (found.allowed if side is None else getattr(found, side).allowed) == want

    if decided(verdict):  # the first port is right: the last one is the wrong one
        verdict = evaluated.engine.verdict(s, d, port=key[1], protocol=key[2])
    interval = "%s %s" % (key[2], ("%d" % key[0]) if key[0] == key[1] else "%d\u2013%d" % (key[0], key[1]))
    where = "" if side is None else " (%s of %s alone)" % (side, cell["from"] if side == "egress" else cell["to"])
    if side is None:
        explanation = verdict.explain()
    else:
        explanation = "%s side alone: %s" % (side, getattr(verdict, side).explain(verdict.port, verdict.protocol))
    return {"from": cell["from"], "to": cell["to"], "port": key[0], "end_port": key[1], "protocol": key[2],
            "interval": interval, "kind": "missing" if want else "extra", "services": sorted(services),
            "side": side or "end-to-end",
            # the zone whose side it is (an endpoint of a zone is named ``<zone>`` or ``<zone>:<part>``)
            "zone": None if side is None else (cell["from"] if side == "egress" else cell["to"]).split(":")[0],
            "text": "%s \u2192 %s %s%s: %s, expected %s" % (cell["from"], cell["to"], interval, where,
                                                            "denied" if want else "allowed",
                                                            "allowed" if want else "denied"),
            "src": s, "dst": d, "explanation": explanation,
            "bad_pairs": ["%s -> %s" % p for p in wrong], "bad_pair_count": count}


def _group_pairs(src_groups, dst_groups):
    """Endpoint pairs of a cell by pair of engine groups: [(src refs, dst refs, pair count, (src, dst))],
    with one representative pair each.  Pods of one group get the same verdicts, so each pair of groups is
    evaluated once."""
    out = []
    for _gs, srcs in src_groups:
        for _gd, dsts in dst_groups:
            count = len(srcs) * len(dsts) - len(set(srcs) & set(dsts))
            if count:
                s = srcs[0]
                d = next(x for x in dsts if x != s) if dsts[0] == s else dsts[0]
                out.append((srcs, dsts, count, (s, d)))
    return out


def _bad_bits(evaluated, groups, exp_mask, side):
    """(every, bad): the intervals allowed for every pair of the cell, and those some pair gets wrong."""
    every_mask, any_mask, per_group = -1, 0, []
    for group in groups:
        first, last = evaluated.masks(group[3][0], group[3][1], side)
        per_group.append((group, first, last))
        every_mask &= first & last
        any_mask |= first | last
    return every_mask, any_mask, (exp_mask & ~every_mask) | (~exp_mask & any_mask), per_group


def _compare_cell(evaluated, cell, groups, exp_mask, services_of, texts, sides=()):
    """Fill ``actual``/``partial``/``status`` of a cell; return its mismatches: end to end, then, for
    ``sides`` (the sides that belong to a zone), each side alone on the intervals that end to end are right
    (where end to end is wrong, its explanation already names the side)."""
    keys = evaluated.keys
    every_mask, any_mask, bad_mask, per_group = _bad_bits(evaluated, groups, exp_mask, None)
    cell.update({"actual": [texts[b] for b in range(len(keys)) if every_mask >> b & 1],
                 "partial": [texts[b] for b in range(len(keys)) if (any_mask & ~every_mask) >> b & 1],
                 "status": "ok"})
    out = _interval_mismatches(evaluated, cell, keys, per_group, exp_mask, bad_mask, services_of, None)
    for side in sides:
        side_bad, side_groups = _bad_bits(evaluated, groups, exp_mask, side)[2:]
        out.extend(_interval_mismatches(evaluated, cell, keys, side_groups, exp_mask, side_bad & ~bad_mask,
                                        services_of, side))
    return out


def _interval_mismatches(evaluated, cell, keys, per_group, exp_mask, bad_mask, services_of, side):
    out = []
    for bit, key in enumerate(keys):
        if bad_mask >> bit & 1:
            want = bool(exp_mask >> bit & 1)
            wrong = [g for g, first, last in per_group if not (first >> bit & 1) == (last >> bit & 1) == want]
            pairs = [(s, d) for srcs, dsts, _count, _rep in wrong for s in srcs for d in dsts if s != d][:10]
            out.append(_mismatch(evaluated, cell, key, want, pairs, sum(g[2] for g in wrong), services_of[key],
                                 side))
            cell["status"] = "missing" if "missing" in (out[-1]["kind"], cell["status"]) else "extra"
    return out


def _expected_masks(model, classes, names, keys):
    """{(source name, destination name): bitmask of the intervals the matrix allows}, for the pairs it allows
    anything between (found from the flows, not by trying every pair)."""
    bit_of = dict((key, 1 << b) for b, key in enumerate(keys))
    of_zone = {}  # zone -> its endpoint names (a zone can have more than one, e.g. ``<zone>:other-pods``)
    for name in names:
        if classes[name][0] == "zone":
            of_zone.setdefault(classes[name][1], []).append(name)
    dns = [name for name in names if classes[name][0] == "dns"]
    outside = [(name, classes[name][1]) for name in names if classes[name][0] == "outside"]
    linked = set((s, d) for a, b in model.by_pair if a in of_zone and b in of_zone
                 for s in of_zone[a] for d in of_zone[b])
    for name, peers in outside:
        for src, dst in model.by_pair:
            if src in of_zone and dst in peers:
                linked.update((s, name) for s in of_zone[src])
            if dst in of_zone and src in peers:
                linked.update((name, d) for d in of_zone[dst])
    linked.update((zone, name) for zones in of_zone.values() for zone in zones for name in dns)
    out, by_class = {}, {}
    for src, dst in linked:
        pair = (classes[src], classes[dst])
        mask = by_class.get(pair)
        if mask is None:
            mask = by_class[pair] = sum(bit_of[key] for key in model.expected(*pair))
        if mask:
            out[(src, dst)] = mask
    return out


def _suspect_cells(evaluated, classes, names, by_group, expected):
    """The cells that the exact per-cell comparison must look at; every other cell is right as a whole.

    Per source name and interval, the destination groups that the matrix allows (``allow``) and those it
    does not (``deny``) are bitsets over the engine's groups, compared with each source group's rows (end to
    end, the egress alone of a zone, the ingress alone of the zones) in a few big-integer operations; a cell
    is suspect when a wrong bit falls in one of its destination's groups.  A group shared by endpoints of
    different classes (which the matrix may treat differently) makes its cells suspect.  An endpoint to
    itself is not excluded here, so this can only over-report; the per-cell comparison is exact."""
    nkeys = len(evaluated.keys)
    name_bits, classes_of = {}, {}
    for name, groups in by_group.items():
        bits = 0
        for group, _refs in groups:
            bits |= 1 << group
            classes_of.setdefault(group, set()).add(classes[name])
        name_bits[name] = bits
    shared = sum(1 << group for group, found in classes_of.items() if len(found) > 1)
    zone_names = [name for name in names if classes[name][0] == "zone"]
    zone_bits = 0
    for name in zone_names:
        zone_bits |= name_bits.get(name, 0)
    all_bits = 0
    for bits in name_bits.values():
        all_bits |= bits
    allowed_from = {}
    for (src, dst), mask in expected.items():
        allowed_from.setdefault(src, []).append((dst, mask))
    suspects = set()
    for src in names:
        if src not in by_group:
            continue
        is_zone = classes[src][0] == "zone"
        relevant = all_bits if is_zone else zone_bits
        allow = [0] * nkeys
        for dst, mask in allowed_from.get(src, ()):
            bits = name_bits.get(dst, 0)
            for bit in range(nkeys):
                if mask >> bit & 1:
                    allow[bit] |= bits
        bad = 0
        for _group, refs in by_group[src]:
            checks = [(evaluated.rows(refs[0]), relevant), (evaluated.rows(refs[0], "ingress"), zone_bits)]
            if is_zone:
                checks.append((evaluated.rows(refs[0], "egress"), relevant))
            for rows, scope in checks:
                for bit in range(nkeys):
                    first, last = rows[bit]
                    want = allow[bit] & scope
                    bad |= (want & ~(first & last)) | (scope & ~want & (first | last))
        dsts = names if is_zone else zone_names
        if name_bits[src] & shared:
            suspects.update((src, dst) for dst in dsts)
        elif bad or shared:
            suspects.update((src, dst) for dst in dsts if name_bits.get(dst, 0) & (bad | shared))
    return suspects


def _prove(matrix, engine, members, classes, outside, keys, zones_without_pods=()):
    services_of = _interval_services(matrix, keys)
    model = _Model(matrix, services_of)
    evaluated = _Evaluated(engine, members, keys)
    texts = [interval_text(k) for k in keys]
    names = sorted(set(members) | set(zones_without_pods))
    zone_names = [name for name in names if classes[name][0] == "zone"]
    by_group = dict((name, evaluated.by_group(refs)) for name, refs in members.items() if refs)
    expected = _expected_masks(model, classes, names, keys)
    suspects = _suspect_cells(evaluated, classes, names, by_group, expected)
    size = dict((name, 0 if name in zones_without_pods else len(members.get(name, ()))) for name in names)
    expected_from, expected_texts = {}, {0: ()}
    for (src, dst), mask in expected.items():
        expected_from.setdefault(src, {})[dst] = mask
        if mask not in expected_texts:
            expected_texts[mask] = tuple(texts[b] for b in range(len(keys)) if mask >> b & 1)
    cells, mismatches, ok, allowed = [], [], 0, 0
    for src in names:
        row = expected_from.get(src, {})
        n_src = size[src]
        for dst in (names if classes[src][0] == "zone" else zone_names):
            exp_mask = row.get(dst, 0)
            count = n_src * size[dst] - (n_src if src == dst else 0)
            if exp_mask == 0 and count and (src, dst) not in suspects:  # most cells: nothing expected, nothing found
                cells.append({"from": src, "to": dst, "expected": [], "pairs": count, "actual": [], "partial": [],
                              "status": "ok"})
                ok += 1
                continue
            found = expected_texts[exp_mask]
            allowed += len(found)
            cell = {"from": src, "to": dst, "expected": list(found), "pairs": count}
            if not count:
                cell.update({"actual": None, "partial": [], "status": "no-pods"})
            elif (src, dst) not in suspects:
                cell.update({"actual": list(found), "partial": [], "status": "ok"})
            else:
                groups = _group_pairs(by_group[src], by_group[dst])
                sides = [side for side, name in zip(SIDES, (src, dst)) if classes[name][0] == "zone"]
                mismatches.extend(_compare_cell(evaluated, cell, groups, exp_mask, services_of, texts, sides))
            ok += cell["status"] == "ok"
            cells.append(cell)
    summary = {"endpoints": len(names), "cells": len(cells),
               "probe_ports": [interval_text(k) for k in keys],
               "intervals": dict((p, sum(1 for k in keys if k[2] == p)) for p in PROTOCOLS),
               "pods": len(engine.pods),
               "ok": ok,
               "missing": sum(1 for m in mismatches if m["kind"] == "missing"),
               "extra": sum(1 for m in mismatches if m["kind"] == "extra"),
               "no_pods": sum(1 for c in cells if c["status"] == "no-pods"),
               "allowed_flows": allowed,
               "outside": dict((k, ", ".join(str(a) for a in v)) for k, v in sorted(outside.items()))}
    return {"cells": cells, "mismatches": mismatches, "summary": summary}


@contextlib.contextmanager
def _no_cyclic_gc():
    """The cyclic garbage collector paused (and restored as it was): a proof allocates one small dict per
    cell, hundreds of thousands at 500 zones, and each allocation burst would otherwise trigger full
    collections that walk every object again (measured: 12 s instead of 5 s at 500 zones)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def verify_matrix(matrix, manifests=None):
    """Prove that ``manifests`` (default: the compiled matrix) allow exactly the matrix's flows."""
    count("prove")
    with _no_cyclic_gc():
        return _verify_matrix(matrix, manifests)


def _verify_matrix(matrix, manifests):
    if manifests is None:
        manifests = compile_manifests(matrix)
    rep = representative_cluster(matrix, manifests)
    engine = Engine(namespaces=rep["namespaces"], pods=rep["pods"], policies=rep["policies"], parsed=rep["parsed"])
    keys = port_intervals(matrix, rep["parsed"])
    return _prove(matrix, engine, rep["members"], rep["classes"], rep["outside"], keys)


def verify_cluster(matrix, namespaces, pods, policies):
    """The same proof on a live cluster: every pod of every namespace, the outside addresses.

    ``namespaces``: {name: labels}; ``pods``: [{namespace, name, labels, ip, ports}]; ``policies``: objects.
    """
    count("prove_live")
    with _no_cyclic_gc():
        return _verify_cluster(matrix, namespaces, pods, policies)


def _verify_cluster(matrix, namespaces, pods, policies):
    parsed = _policy_objects(policies)
    members, classes = _pod_classes(matrix, pods)
    empty = [zone for zone in matrix["zones"] if not members.get(zone)]
    for zone in empty:
        members.pop(zone, None)
    outside, outside_classes = _outside_classes(matrix, parsed)
    for name, addrs in outside.items():
        members[name] = ["ip:%s" % a for a in addrs]
    classes.update(outside_classes)
    all_ns = _engine_namespaces(matrix, [])
    all_ns.update({name: dict(labels or {}, **{NAMESPACE_NAME_LABEL: name}) for name, labels in namespaces.items()})
    engine = Engine(namespaces=all_ns, pods=pods, policies=policies, parsed=parsed)
    keys = port_intervals(matrix, parsed, pods)
    return _prove(matrix, engine, members, classes, outside, keys, zones_without_pods=empty)


def cell_table(matrix, result):
    """Rows for reports: one per (from, to, service) with ``expected``/``actual`` in {all, none, some} over
    the service's port intervals, and the cell's status; plus one ``(other ports)`` row per pair that allows
    an interval no service names.  Pairs that allow nothing and expect nothing are left out."""
    per_service = {}
    keys = _keys_from_texts(result["summary"]["probe_ports"])
    for key, names in _interval_services(matrix, keys).items():
        for name in names or ["(other ports)"]:
            per_service.setdefault(name, []).append(interval_text(key))
    rows = []
    for cell in result["cells"]:
        expected, actual = set(cell["expected"]), set(cell["actual"] or ())
        partial = set(cell["partial"])
        if not expected and not actual and not partial and cell["status"] == "ok":
            continue
        for name in sorted(per_service):
            row = _service_row(cell, name, per_service[name], expected, actual, partial)
            if row is not None:
                rows.append(row)
    return rows


def _keys_from_texts(texts):
    keys = []
    for text in texts:
        ports, proto = text.split("/")
        first, _sep, last = ports.partition("-")
        keys.append((int(first), int(last or first), proto))
    return keys


def _service_row(cell, name, ports, expected, actual, partial):
    exp = _degree(sum(1 for p in ports if p in expected), len(ports))
    act = "unknown" if cell["actual"] is None else _degree(
        sum(1 for p in ports if p in actual), len(ports), any(p in partial for p in ports))
    if exp == "none" and act == "none":
        return None
    if cell["actual"] is None:
        status = "no-pods"
    elif exp == act:
        status = "ok"
    else:
        status = "missing" if exp != "none" and act != "all" else "extra"
    return {"from": cell["from"], "to": cell["to"], "service": name, "ports": sorted(ports),
            "expected": exp, "actual": act, "status": status}


def _degree(hits, total, partial=False):
    if hits == total and total:
        return "all"
    if hits or partial:
        return "some"
    return "none"
