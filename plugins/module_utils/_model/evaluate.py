# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetworkPolicy v1 semantics: the verdict for one new connection, and whole clusters in bulk.

Plain Python, no Ansible.  ``Engine(namespaces, pods, policies)`` validates its input (a bad policy
raises ``ObjectError`` naming the path, e.g. ``policies[3].spec.ingress[0].from[1].ipBlock.cidr``) and
answers two questions:

* ``Engine.verdict(src, dst, port, protocol)``: one connection, evaluated pod by pod straight from the
  policies, with the explanation (which policy and rule allowed it, or which isolation denied it).
* ``Engine.reachability(sources, destinations, ports)``: many connections at once.  Pods that no
  selector, ipBlock or named port of the policies can tell apart are put in one group; every
  (source group, destination group, port) is evaluated once with bitsets over the groups, so the cost
  grows with groups and policies, not with pods squared.  The result is a read-only mapping
  ``{(src, dst, port, protocol): bool}`` computed on demand.

Endpoints are ``"<namespace>/<pod>"`` for a pod and ``"ip:<address>"`` for an address outside the
cluster (which has no policy of its own and is matched only by ipBlocks and by rules without peers).

Three modules, one concern each: :mod:`netpol_model` parses and validates the objects, this module holds
the engine and its per-connection path, :mod:`evaluate_bulk` the grouping and the bulk evaluation.  The
public names of all three are importable from here.
"""

from __future__ import annotations

from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate_bulk import Grouping, Reachability
from ansible_collections.netzone.segmentation.plugins.module_utils._model.netpol_model import (
    OPERATORS,
    POLICY_TYPES,
    PROTOCOLS,
    Endpoint,
    IPBlock,
    Peer,
    Pod,
    Policy,
    Port,
    Rule,
    Selector,
    as_list,
    as_mapping,
    parse_labels,
    parse_name,
    parse_pod,
    parse_policy,
    port_number,
    probe_protocol,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ObjectError

__all__ = ["Direction", "Endpoint", "Engine", "Grouping", "IPBlock", "OPERATORS", "POLICY_TYPES", "PROTOCOLS",
           "Peer", "Pod", "Policy", "Port", "Reachability", "Rule", "Selector", "Verdict"]

# --- verdicts -------------------------------------------------------------------------------------


class Direction(object):
    """The verdict of one side: egress of the source or ingress of the destination.

    ``allowed``; ``isolated`` (some policy selects the endpoint for this direction); ``allowed_by``,
    the (policy ``ns/name``, rule index) pairs whose rule matches; ``policies``, the selecting policies
    (those that isolate the endpoint, hence deny when no rule matches).
    """

    __slots__ = ("direction", "endpoint", "peer", "allowed", "isolated", "allowed_by", "policies", "outside")

    def __init__(self, direction, endpoint, peer, isolated, allowed_by, policies, outside=False):
        self.direction = direction
        self.endpoint = endpoint
        self.peer = peer
        self.isolated = isolated
        self.allowed_by = allowed_by
        self.policies = policies
        self.outside = outside
        self.allowed = (not isolated) or bool(allowed_by)

    def explain(self, port, protocol):
        what = self.direction
        if self.outside:
            return "%s of outside address %s has no policy" % (what, self.endpoint.ip)
        subject = "%s of %s" % (what, self.endpoint.ref)
        if not self.isolated:
            return "%s is not isolated (no policy selects it for %s)" % (subject, what)
        if self.allowed_by:
            return "%s allowed by %s" % (subject, ", ".join("%s rule %s[%d]" % (p, what, i) for p, i in self.allowed_by))
        towards = "from" if what == "ingress" else "to"
        return "%s is isolated by %s (no rule matches %s/%s %s %s)" % (
            subject, ", ".join(self.policies), protocol, port, towards, self.peer.ref)


class Verdict(object):
    """The verdict for one new connection: ``allowed``, ``egress`` and ``ingress`` (``Direction``)."""

    __slots__ = ("src", "dst", "port", "protocol", "egress", "ingress", "allowed")

    def __init__(self, src, dst, port, protocol, egress, ingress):
        self.src = src
        self.dst = dst
        self.port = port
        self.protocol = protocol
        self.egress = egress
        self.ingress = ingress
        self.allowed = egress.allowed and ingress.allowed

    def explain(self):
        """One line: ``allowed: <egress>; <ingress>`` or ``denied: <the side(s) that deny>``."""
        if self.allowed:
            return "allowed: %s; %s" % (self.egress.explain(self.port, self.protocol), self.ingress.explain(self.port, self.protocol))
        sides = [d.explain(self.port, self.protocol) for d in (self.egress, self.ingress) if not d.allowed]
        return "denied: " + "; ".join(sides)

    def __bool__(self):
        return self.allowed

    __nonzero__ = __bool__

    def __repr__(self):
        return "Verdict(%s -> %s %s/%s: %s)" % (self.src, self.dst, self.protocol, self.port, "allowed" if self.allowed else "denied")


# --- the engine -----------------------------------------------------------------------------------

class Engine(object):
    """NetworkPolicy v1 semantics over one cluster state.

    ``namespaces``: ``{name: labels}`` (``{name: {"labels": labels}}`` as in the conformance cases is
    accepted too); ``pods``: ``[{namespace, name, labels, ip, ports: [{name, containerPort, protocol}]}]``;
    ``policies``: NetworkPolicy objects as in Kubernetes YAML (``metadata.namespace`` required);
    ``parsed``: the same policies already parsed (``parse_policy(raw, i)`` of each), not parsed again.
    """

    def __init__(self, namespaces=None, pods=None, policies=None, parsed=None):
        self.namespaces = {}
        for name, value in as_mapping(namespaces, "namespaces").items():
            path = "namespaces.%s" % name
            parse_name(name, "namespaces")
            if isinstance(value, dict) and list(value) == ["labels"] and (value["labels"] is None or isinstance(value["labels"], dict)):
                value, path = value["labels"], path + ".labels"
            self.namespaces[name] = parse_labels(value, path)
        self.pods = []
        self.pod_by_ref = {}
        for i, raw in enumerate(as_list(pods, "pods")):
            pod = parse_pod(raw, i, self.namespaces)
            if pod.ref in self.pod_by_ref:
                raise ObjectError("pods[%d]" % i, "duplicate pod %s" % pod.ref)
            self.pod_by_ref[pod.ref] = pod
            self.pods.append(pod)
        self.policies = []
        seen = set()
        for i, raw in enumerate(as_list(policies, "policies")):
            policy = parsed[i] if parsed is not None else parse_policy(raw, i)
            if policy.ref in seen:
                raise ObjectError("policies[%d].metadata.name" % i, "duplicate policy %s" % policy.ref)
            seen.add(policy.ref)
            self.policies.append(policy)
        self.policies_by_ns = {}
        for policy in self.policies:
            self.policies_by_ns.setdefault(policy.namespace, []).append(policy)
        self._grouping = None

    # -- endpoints and probes --

    def endpoint(self, value, path="endpoint"):
        """Parse ``"ns/pod"`` / ``"ip:addr"``; a pod must exist."""
        endpoint = Endpoint.parse(value, path)
        if endpoint.is_pod and endpoint.ref not in self.pod_by_ref:
            raise ObjectError(path, "unknown pod %r" % endpoint.ref)
        return endpoint

    def _probe_port(self, port, protocol, dst, path="port"):
        if isinstance(port, str) and not port.isdigit():
            pod = self.pod_by_ref.get(dst.ref) if dst.is_pod else None
            numbers = pod.named.get((port, protocol)) if pod is not None else None
            if not numbers:
                raise ObjectError(path, "%s has no %s container port named %r" % (dst.ref, protocol, port))
            return min(numbers)
        if isinstance(port, str):
            port = int(port)
        return port_number(port, path)

    # -- the per-pod path: straight from the policies --

    def _peer_matches(self, peer, policy, endpoint):
        if peer.ipblock is not None:
            if endpoint.is_pod:
                return peer.ipblock.contains(self.pod_by_ref[endpoint.ref].ip)
            return peer.ipblock.contains(endpoint.ip)
        if not endpoint.is_pod:
            return False
        pod = self.pod_by_ref[endpoint.ref]
        if peer.ns_sel is None:
            if pod.namespace != policy.namespace:
                return False
        else:
            ns_labels, ns_items = self.namespaces[pod.namespace]
            if not peer.ns_sel.matches(ns_labels, ns_items):
                return False
        return peer.pod_sel is None or peer.pod_sel.matches(pod.labels, pod.items)

    def _port_matches(self, entry, port, protocol, dst):
        if entry.name is None:
            return entry.numeric_match(port, protocol)
        if entry.protocol != protocol or not dst.is_pod:
            return False
        return port in self.pod_by_ref[dst.ref].named.get((entry.name, protocol), ())

    def _side(self, direction, subject, peer, dst, port, protocol):
        if not subject.is_pod:
            return Direction(direction, subject, peer, False, [], [], outside=True)
        pod = self.pod_by_ref[subject.ref]
        selecting, allowed_by = [], []
        for policy in self.policies_by_ns.get(pod.namespace, ()):
            if not (policy.ingress if direction == "ingress" else policy.egress):
                continue
            if not policy.pod_sel.matches(pod.labels, pod.items):
                continue
            selecting.append(policy.ref)
            rules = policy.ingress_rules if direction == "ingress" else policy.egress_rules
            for rule in rules:
                if rule.peers is not None and not any(self._peer_matches(p, policy, peer) for p in rule.peers):
                    continue
                if rule.ports is not None and not any(self._port_matches(e, port, protocol, dst) for e in rule.ports):
                    continue
                allowed_by.append((policy.ref, rule.index))
        return Direction(direction, subject, peer, bool(selecting), allowed_by, selecting)

    def verdict(self, src, dst, port, protocol="TCP"):
        """The verdict for one new connection from ``src`` to ``dst`` on ``port``/``protocol``.

        ``port`` is a number, or the name of one of the destination pod's container ports.
        """
        src = self.endpoint(src, "src")
        dst = self.endpoint(dst, "dst")
        protocol = probe_protocol(protocol)
        port = self._probe_port(port, protocol, dst)
        egress = self._side("egress", src, dst, dst, port, protocol)
        ingress = self._side("ingress", dst, src, dst, port, protocol)
        return Verdict(src, dst, port, protocol, egress, ingress)

    # -- the grouped path (evaluate_bulk) --

    def grouping(self):
        """The policy index and pod groups of this cluster state (built once, on first use)."""
        if self._grouping is None:
            self._grouping = Grouping(self)
        return self._grouping

    def groups(self):
        """The pod groups, as lists of pod refs (for reports and benchmarks)."""
        return [list(g.members) for g in self.grouping().pod_groups()[0]]

    def reachability(self, sources=None, destinations=None, ports=((80, "TCP"),), sides=False):
        """Bulk verdicts: a read-only mapping ``{(src, dst, port, protocol): bool}``.

        ``sources``/``destinations``: endpoint strings (default: every pod); ``ports``: ``[(port,
        protocol), ...]`` with numeric ports (a bare number means TCP).  Evaluated once per (source group,
        destination group, port); the mapping answers lookups from bitsets without expanding pairs.  With
        ``sides``, each side's verdict alone is kept too (``Reachability.rows_of_group``).
        """
        return Reachability(self, sources, destinations, ports, sides)
