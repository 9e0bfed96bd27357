# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bulk NetworkPolicy evaluation: pods grouped by what the policies can tell apart, verdicts as bitsets.

:class:`Grouping` indexes an engine's policies (distinct peers and rules, the named ports and ipBlock
boundaries they use) and puts pods in groups: two pods share a group when they are selected by the same
policies for each direction, match the same peers, sit in the same ipBlock interval and carry the same
referenced named ports.  :class:`Reachability` evaluates every (source group, destination group, port)
once, as one bitset of destination groups per source group and port, and answers
``reach[(src, dst, port, protocol)] -> bool`` from those rows.  Both use only the engine's public
attributes (``namespaces``, ``pods``, ``policies``, ``policies_by_ns``, ``endpoint()``).
"""

from __future__ import annotations

import bisect

from collections.abc import Mapping

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ObjectError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.netpol_model import (
    Endpoint,
    as_list,
    ip_key,
    net_range,
    port_number,
    probe_protocol,
)


def _popcount_fallback(value):
    return bin(value).count("1")


_popcount = getattr(int, "bit_count", None) or _popcount_fallback


class _Group(object):
    """Endpoints no selector, ipBlock or named port can tell apart."""

    __slots__ = ("idx", "is_pod", "in_pols", "eg_pols", "pids", "named", "members")

    def __init__(self, is_pod, in_pols, eg_pols, pids, named):
        self.idx = None
        self.is_pod = is_pod
        self.in_pols = in_pols      # tuple of policy indexes selecting it for ingress
        self.eg_pols = eg_pols      # same for egress
        self.pids = pids            # frozenset of peer ids (selector and ipBlock peers) matching it
        self.named = named          # tuple of ((name, protocol), frozenset(numbers)) for referenced names
        self.members = []


class Grouping(object):
    """The policies of one engine, indexed, and its pods in groups.

    ``rules``: every rule, numbered (``rule.rid``); ``ip_peers`` / ``sel_peers``: the distinct ipBlock and
    selector peers, numbered (``peer.pid``); ``named``: the (name, protocol) of every named port used;
    ``bounds``: the ipBlock boundaries on the address line (each first address and each last + 1).
    """

    def __init__(self, engine):
        self.namespaces = engine.namespaces
        self.pods = engine.pods
        self.policies = engine.policies
        self.policies_by_ns = engine.policies_by_ns
        peer_ids = {}
        self.rules, self.ip_peers, self.sel_peers = [], [], []
        named, bounds = set(), set()
        for policy in self.policies:
            for rule in policy.ingress_rules + policy.egress_rules:
                rule.rid = len(self.rules)
                self.rules.append(rule)
                named.update((e.name, e.protocol) for e in rule.ports or () if e.name is not None)
                for peer in rule.peers or ():
                    pid = peer_ids.get(peer.key)
                    if pid is None:
                        pid = peer_ids[peer.key] = len(peer_ids)
                        self._add_peer(pid, peer, bounds)
                    peer.pid = pid
        self.named = frozenset(named)
        self.bounds = sorted(bounds)
        self._interval_sig = {}
        self._ns_peers = {}
        self._pod_groups = None

    def _add_peer(self, pid, peer, bounds):
        if peer.ipblock is None:
            self.sel_peers.append((pid, peer))
            return
        self.ip_peers.append((pid, peer.ipblock))
        for net in (peer.ipblock.net,) + peer.ipblock.excepts:
            first, last = net_range(net)
            bounds.add(first)
            bounds.add(last + 1)

    def ip_signature(self, address):
        """frozenset of the ipBlock peer ids containing the address (constant between boundaries)."""
        if address is None or not self.ip_peers:
            return frozenset()
        slot = bisect.bisect_right(self.bounds, ip_key(address))
        sig = self._interval_sig.get(slot)
        if sig is None:
            sig = self._interval_sig[slot] = frozenset(pid for pid, block in self.ip_peers if block.contains(address))
        return sig

    def _selector_peers(self, namespace):
        """Selector peers that can match pods of a namespace: [(pod selector or None, [pid, ...])]."""
        ns_labels, ns_items = self.namespaces[namespace]
        by_sel = {}
        for pid, peer in self.sel_peers:
            if peer.ns_sel is None:
                if peer.scope != namespace:
                    continue
            elif not peer.ns_sel.matches(ns_labels, ns_items):
                continue
            sel_key = peer.pod_sel.key if peer.pod_sel is not None else None
            by_sel.setdefault(sel_key, (peer.pod_sel, []))[1].append(pid)
        return list(by_sel.values())

    def _namespace_peers(self, namespace):
        """(selector peers, policy selectors) of a namespace; the policy selectors are
        [(pod selector, [ingress policy index, ...], [egress policy index, ...])]."""
        found = self._ns_peers.get(namespace)
        if found is None:
            pols = {}
            for policy in self.policies_by_ns.get(namespace, ()):
                entry = pols.setdefault(policy.pod_sel.key, (policy.pod_sel, [], []))
                if policy.ingress:
                    entry[1].append(policy.index)
                if policy.egress:
                    entry[2].append(policy.index)
            found = self._ns_peers[namespace] = (self._selector_peers(namespace), list(pols.values()))
        return found

    def _label_signature(self, pod):
        """(ingress policies, egress policies, selector peer ids) of a pod: what its labels decide."""
        peer_sels, pol_sels = self._namespace_peers(pod.namespace)
        pids = []
        for sel, ids in peer_sels:
            if sel is None or sel.matches(pod.labels, pod.items):
                pids.extend(ids)
        in_pols, eg_pols = [], []
        for sel, ins, egs in pol_sels:
            if sel.matches(pod.labels, pod.items):
                in_pols.extend(ins)
                eg_pols.extend(egs)
        return tuple(sorted(in_pols)), tuple(sorted(eg_pols)), frozenset(pids)

    def pod_groups(self):
        """Group every pod; returns (groups, {pod ref: group})."""
        if self._pod_groups is not None:
            return self._pod_groups
        class_sig, by_key, pod_group = {}, {}, {}
        for pod in self.pods:
            ckey = (pod.namespace, pod.items)
            sig = class_sig.get(ckey)
            if sig is None:
                sig = class_sig[ckey] = self._label_signature(pod)
            named = ()
            if self.named and pod.named:
                named = tuple(sorted((k, v) for k, v in pod.named.items() if k in self.named))
            key = (sig, self.ip_signature(pod.ip), named)
            group = by_key.get(key)
            if group is None:
                group = by_key[key] = _Group(True, sig[0], sig[1], sig[2] | key[1], named)
            group.members.append(pod.ref)
            pod_group[pod.ref] = group
        self._pod_groups = (list(by_key.values()), pod_group)
        return self._pod_groups


def _rows_for_port(universe, in_rules, eg_rules, peer_bits, sel_in, named_bits, all_bits, not_in_iso,
                   src_keys, port, protocol, sides, port_keys):
    """Allowed destination bitset per source group (None for groups that are not sources).  With ``sides``
    (a pair of lists as long as the universe), each side alone is stored there too: ``sides[0][i]``, the
    destination groups that source group i's egress lets through; ``sides[1][i]``, the destination groups
    whose ingress admits source group i.  ``port_keys``: per rule id, the key of its port list (rules with the
    same list share one port mask)."""

    def port_mask(rule):
        if rule.ports is None:
            return all_bits
        mask = 0
        for entry in rule.ports:
            if entry.name is None:
                if entry.numeric_match(port, protocol):
                    return all_bits
            elif entry.protocol == protocol:
                mask |= named_bits.get((entry.name, protocol), {}).get(port, 0)
        return mask

    rule_masks, port_masks = {}, {}

    def rule_dst(rule):
        """Destination groups that a rule lets through on this port (egress: peers; ingress: selected)."""
        found = rule_masks.get(rule.rid)
        if found is None:
            # rules with the same port list (the same services) share one answer
            ports = port_masks.get(port_keys[rule.rid])
            if ports is None:
                ports = port_masks[port_keys[rule.rid]] = port_mask(rule)
            if rule.direction == "egress":
                found = peer_bits[rule.rid] & ports
            else:
                found = sel_in[rule.policy.index] & ports
            rule_masks[rule.rid] = found
        return found

    eg_cache, in_cache = {}, {}
    rows = [None] * len(universe)
    for group in universe:
        keys = src_keys[group.idx]
        if keys is None:
            continue
        eg_key, in_key = keys
        egress = eg_cache.get(eg_key)
        if egress is None:
            if not eg_key:
                egress = all_bits
            else:
                egress = 0
                for rule in eg_rules(eg_key):
                    egress |= rule_dst(rule)
            eg_cache[eg_key] = egress
        ingress = in_cache.get(in_key)
        if ingress is None:
            ingress = not_in_iso
            for rule in in_rules(in_key):
                ingress |= rule_dst(rule)
            in_cache[in_key] = ingress
        rows[group.idx] = egress & ingress
        if sides is not None:
            sides[0][group.idx], sides[1][group.idx] = egress, ingress
    return rows


def _probe_ports(ports):
    """``[(port, protocol), ...]`` without duplicates; a bare number means TCP."""
    out = []
    for i, item in enumerate(as_list(ports, "ports")):
        if isinstance(item, (list, tuple)) and len(item) == 2:
            port, protocol = item
        else:
            port, protocol = item, "TCP"
        entry = (port_number(port, "ports[%d]" % i), probe_protocol(protocol, "ports[%d]" % i))
        if entry not in out:
            out.append(entry)
    return out


class _Bitsets(object):
    """Bitsets over the universe of groups: per peer id, per policy (selected for ingress), per named
    port number; and per rule, the groups its peers match.  ``in_rules``/``eg_rules`` expand the keys
    that :meth:`source_keys` gives a source group."""

    def __init__(self, universe, grouping, n_policies):
        self.all_bits = (1 << len(universe)) - 1
        self.rules = grouping.rules
        self.policies = grouping.policies
        pid_bits, self.sel_in, self.named_bits = {}, dict((i, 0) for i in range(n_policies)), {}
        self.not_in_iso = 0
        for group in universe:
            bit = 1 << group.idx
            for pid in group.pids:
                pid_bits[pid] = pid_bits.get(pid, 0) | bit
            for pol in group.in_pols:
                self.sel_in[pol] |= bit
            if not group.in_pols:
                self.not_in_iso |= bit
            for key, numbers in group.named:
                per_port = self.named_bits.setdefault(key, {})
                for number in numbers:
                    per_port[number] = per_port.get(number, 0) | bit
        self.peer_bits, self.in_by_pid, in_all = {}, {}, []
        for rule in self.rules:
            if rule.peers is None:
                self.peer_bits[rule.rid] = self.all_bits
                if rule.direction == "ingress":
                    in_all.append(rule.rid)
                continue
            mask = 0
            for peer in rule.peers:
                mask |= pid_bits.get(peer.pid, 0)
                if rule.direction == "ingress":
                    self.in_by_pid.setdefault(peer.pid, set()).add(rule.rid)
            self.peer_bits[rule.rid] = mask
        self.in_all = frozenset(in_all)
        port_lists = {}
        self.port_keys = [port_lists.setdefault(
            None if rule.ports is None else tuple((e.protocol, e.name, e.number, e.end) for e in rule.ports),
            len(port_lists)) for rule in self.rules]

    def source_keys(self, universe, source_groups):
        """Per source group: (the egress policies that isolate it, the ingress rules that admit it as a
        peer); None for groups that are not sources."""
        keys = [None] * len(universe)
        for group in universe:
            if group.idx in source_groups:
                admitted = set(self.in_all)
                for pid in group.pids:
                    admitted.update(self.in_by_pid.get(pid, ()))
                keys[group.idx] = (group.eg_pols, frozenset(admitted))
        return keys

    def eg_rules(self, eg_key):
        for pol in eg_key:
            yield from self.policies[pol].egress_rules

    def in_rules(self, in_key):
        for rid in in_key:
            rule = self.rules[rid]
            if rule.policy.ingress:
                yield rule


class Reachability(Mapping):
    """Grouped bulk verdicts: ``reach[(src, dst, port, protocol)] -> bool``.

    Keys are every (source, destination, port) of the request (including an endpoint to itself when it
    is both a source and a destination).  ``rows()`` yields ``(src, dst, port, protocol, allowed)``;
    ``count_allowed()`` counts allowed connections from group sizes without expanding pairs.
    """

    def __init__(self, engine, sources=None, destinations=None, ports=((80, "TCP"),), sides=False):
        self.engine = engine
        grouping = engine.grouping()
        self.ports = _probe_ports(ports)
        groups, pod_group = grouping.pod_groups()
        self.universe = list(groups)
        self._group_of = {}
        self._ip_groups = {}
        all_pods = [p.ref for p in engine.pods]
        self.sources = self._resolve(all_pods if sources is None else as_list(sources, "sources"), "sources",
                                     grouping, pod_group)
        self.destinations = self._resolve(all_pods if destinations is None else as_list(destinations, "destinations"),
                                          "destinations", grouping, pod_group)
        for i, group in enumerate(self.universe):
            group.idx = i
        self._index_of = dict((ref, g.idx) for ref, g in self._group_of.items())
        self._source_refs, self._dest_refs = frozenset(self.sources), frozenset(self.destinations)
        bits = _Bitsets(self.universe, grouping, len(engine.policies))
        source_groups = set(self._group_of[ref].idx for ref in self.sources)
        src_keys = bits.source_keys(self.universe, source_groups)
        self._rows = {}
        self._sides = {} if sides else None
        for port, protocol in self.ports:
            both = None
            if sides:
                both = self._sides[(port, protocol)] = ([None] * len(self.universe), [None] * len(self.universe))
            self._rows[(port, protocol)] = _rows_for_port(
                self.universe, bits.in_rules, bits.eg_rules, bits.peer_bits, bits.sel_in, bits.named_bits,
                bits.all_bits, bits.not_in_iso, src_keys, port, protocol, both, bits.port_keys)

    def _resolve(self, values, path, grouping, pod_group):
        """Requested endpoints as refs (duplicates dropped), each assigned to its group; an outside address
        joins (or starts) the group of its ipBlock interval."""
        refs = []
        for i, value in enumerate(values):
            endpoint = self.engine.endpoint(value, "%s[%d]" % (path, i))
            refs.append(endpoint.ref)
            if endpoint.ref in self._group_of:
                continue
            if endpoint.is_pod:
                group = pod_group[endpoint.ref]
            else:
                sig = grouping.ip_signature(endpoint.ip)
                group = self._ip_groups.get(sig)
                if group is None:
                    group = self._ip_groups[sig] = _Group(False, (), (), sig, ())
                    self.universe.append(group)
                group.members.append(endpoint.ref)
            self._group_of[endpoint.ref] = group
        return list(dict.fromkeys(refs))

    @property
    def group_count(self):
        """Number of groups evaluated (pod groups plus outside-address groups)."""
        return len(self.universe)

    def _idx(self, value, requested):
        """Group index of ``value`` (a ref as given or in any form :meth:`Endpoint.parse` reads), which must
        be in ``requested`` (a set of refs); KeyError otherwise."""
        ref = value if isinstance(value, str) and value in requested else None
        if ref is None:
            try:
                ref = Endpoint.parse(value).ref
            except ObjectError:
                ref = None
            if ref is None or ref not in requested:
                raise KeyError(value)
        return self._index_of[ref]

    def index(self, endpoint):
        """Bit position of a requested endpoint's group in the bitsets that :meth:`row` returns."""
        return self._idx(endpoint, self._index_of)

    def row(self, src, port, protocol="TCP"):
        """Bitset of destination groups that a requested source may reach on (port, protocol): test a
        destination with ``row >> reach.index(dst) & 1``.  KeyError when ``src`` was not requested as a
        source or the port was not requested."""
        rows = self._rows.get((port, protocol))
        if rows is None:
            raise KeyError((port, protocol))
        return rows[self._idx(src, self._source_refs)]

    def rows_of_group(self, idx, ports, side=None):
        """The rows of the source group at bit position ``idx`` (see :meth:`index`) for each ``(port,
        protocol)`` of ``ports`` (all requested): end to end, or one side alone (``egress``/``ingress``, built
        with ``sides=True``).  For callers that hold group positions already: no endpoint is parsed."""
        if side is None:
            return [self._rows[port][idx] for port in ports]
        if self._sides is None:
            raise ValueError("built without sides=True")
        which = ("egress", "ingress").index(side)
        return [self._sides[port][which][idx] for port in ports]

    def allowed(self, src, dst, port, protocol="TCP"):
        """The verdict of one requested connection: KeyError unless ``src`` was requested as a source,
        ``dst`` as a destination and the port with its protocol."""
        src_idx, dst_idx = self._idx(src, self._source_refs), self._idx(dst, self._dest_refs)
        rows = self._rows.get((port, protocol))
        if rows is None:
            if not isinstance(protocol, str) or (port, protocol.upper()) not in self._rows:
                raise KeyError((port, protocol))
            rows = self._rows[(port, protocol.upper())]
        return bool((rows[src_idx] >> dst_idx) & 1)

    def __getitem__(self, key):
        try:
            src, dst, port, protocol = key
        except (TypeError, ValueError):
            raise KeyError(key)
        return self.allowed(src, dst, port, protocol)

    def __iter__(self):
        for src in self.sources:
            for dst in self.destinations:
                for port, protocol in self.ports:
                    yield (src, dst, port, protocol)

    def __len__(self):
        return len(self.sources) * len(self.destinations) * len(self.ports)

    def __contains__(self, key):
        try:
            self[key]
        except KeyError:
            return False
        return True

    def rows(self):
        """``(src, dst, port, protocol, allowed)`` for every key, expanded from the group rows."""
        index_of = self._index_of
        dst_idx = [(dst, index_of[dst]) for dst in self.destinations]
        for src in self.sources:
            s_idx = index_of[src]
            for port, protocol in self.ports:
                row = self._rows[(port, protocol)][s_idx]
                for dst, d_idx in dst_idx:
                    yield (src, dst, port, protocol, bool((row >> d_idx) & 1))

    def count_allowed(self, exclude_self=True):
        """Allowed (src, dst, port) connections among the requested endpoints, from group sizes.

        ``exclude_self`` leaves out an endpoint to itself.  Cost: groups x log(group size) big-int
        operations per port, not pairs.
        """
        index_of = self._index_of
        dst_weight = {}
        for dst in self.destinations:
            dst_weight[index_of[dst]] = dst_weight.get(index_of[dst], 0) + 1
        src_weight = {}
        for src in self.sources:
            src_weight[index_of[src]] = src_weight.get(index_of[src], 0) + 1
        planes = []  # planes[j]: groups whose destination count has bit j set
        for idx, weight in dst_weight.items():
            j = 0
            while weight:
                if weight & 1:
                    while len(planes) <= j:
                        planes.append(0)
                    planes[j] |= 1 << idx
                weight >>= 1
                j += 1
        total = 0
        for port, protocol in self.ports:
            rows = self._rows[(port, protocol)]
            for idx, weight in src_weight.items():
                row = rows[idx]
                if row:
                    total += weight * sum(_popcount(row & plane) << j for j, plane in enumerate(planes))
        if exclude_self:
            dsts = set(self.destinations)
            for src in self.sources:
                if src in dsts:
                    idx = index_of[src]
                    for port, protocol in self.ports:
                        if (self._rows[(port, protocol)][idx] >> idx) & 1:
                            total -= 1
        return total

    def group_rows(self):
        """``(source refs, destination refs, port, protocol, allowed)`` per pair of groups requested."""
        src_by_group, dst_by_group = {}, {}
        for src in self.sources:
            src_by_group.setdefault(self._index_of[src], []).append(src)
        for dst in self.destinations:
            dst_by_group.setdefault(self._index_of[dst], []).append(dst)
        for s_idx, srcs in src_by_group.items():
            for port, protocol in self.ports:
                row = self._rows[(port, protocol)][s_idx]
                for d_idx, dsts in dst_by_group.items():
                    yield (tuple(srcs), tuple(dsts), port, protocol, bool((row >> d_idx) & 1))
