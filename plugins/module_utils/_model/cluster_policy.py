# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster-scoped policies on top of NetworkPolicy: AdminNetworkPolicy and BaselineAdminNetworkPolicy.

Plain Python, no Ansible, no I/O.  The API is ``policy.networking.k8s.io/v1alpha1`` as the network-policy-api
project defines it (v0.1.x, the CRD that Calico 3.29 ships and enforces, see docs/architecture.md for the choice).
:class:`ClusterEngine` wraps the NetworkPolicy engine (:class:`evaluate.Engine`) and answers the same question, the
verdict for one new connection, with the three layers in their order, side by side (egress of the source, ingress
of the destination, each on its own):

1. the AdminNetworkPolicies that select the side's pod, by ``priority`` (0 first; equal priorities by name, which
   the API leaves undefined and the collection never writes), each one's rules in order: the first rule whose
   peers and ports match decides: ``Allow`` and ``Deny`` are final, ``Pass`` skips the remaining admin policies;
2. the NetworkPolicies: when one selects the pod for that direction, they decide (allowed if a rule allows it);
3. the BaselineAdminNetworkPolicy (one, named ``default``) when it selects the pod: the first matching rule,
   ``Allow`` or ``Deny``;
4. nothing decided: allowed.

An address outside the cluster has no policy of its own (its side allows).  Peers: ``namespaces`` (a namespace
selector), ``pods`` (namespace and pod selectors) and, for egress, ``networks`` (CIDRs, matched against the peer's
address, a pod's included, as the API says); ``nodes`` peers and ``sameLabels``/``notSameLabels`` are refused as
not modelled.  Ports: ``portNumber``, ``portRange`` and ``namedPort`` (the destination pod's container port).
A bad object raises ``ObjectError`` naming its path.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ObjectError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.netpol_model import (
    Endpoint,
    _parse_selector,
    as_list,
    as_mapping,
    parse_name,
    probe_protocol,
)

API_VERSION = "policy.networking.k8s.io/v1alpha1"
ADMIN_KIND = "AdminNetworkPolicy"
BASELINE_KIND = "BaselineAdminNetworkPolicy"
ADMIN_ACTIONS = ("Allow", "Deny", "Pass")
BASELINE_ACTIONS = ("Allow", "Deny")
PROTOCOLS = ("TCP", "UDP", "SCTP")
_ALL = _parse_selector({}, "")


def _keys(raw, allowed, path):
    for key in raw:
        if key not in allowed:
            raise ObjectError(path, "unknown field %r (expected one of: %s)" % (key, ", ".join(allowed)))


def _one_of(raw, allowed, path):
    raw = as_mapping(raw, path)
    _keys(raw, allowed, path)
    if len(raw) != 1:
        raise ObjectError(path, "needs exactly one of %s" % ", ".join(allowed))
    key = next(iter(raw))
    return key, raw[key]


class AdminPeer(object):
    """One peer of a rule: ``namespaces``, ``pods`` or ``networks``."""

    __slots__ = ("ns_sel", "pod_sel", "networks")

    def __init__(self, ns_sel=None, pod_sel=None, networks=None):
        self.ns_sel = ns_sel
        self.pod_sel = pod_sel
        self.networks = networks


def _parse_peer(raw, path, direction):
    allowed = ("namespaces", "pods", "nodes", "networks") if direction == "egress" else ("namespaces", "pods")
    key, value = _one_of(raw, allowed, path)
    if key == "namespaces":
        return AdminPeer(ns_sel=_parse_selector(value, path + ".namespaces"))
    if key == "pods":
        value = as_mapping(value, path + ".pods")
        _keys(value, ("namespaceSelector", "podSelector"), path + ".pods")
        return AdminPeer(ns_sel=_parse_selector(value.get("namespaceSelector"), path + ".pods.namespaceSelector"),
                         pod_sel=_parse_selector(value.get("podSelector"), path + ".pods.podSelector"))
    if key == "networks":
        nets = []
        for i, cidr in enumerate(as_list(value, path + ".networks")):
            try:
                nets.append(ipaddress.ip_network(str(cidr), strict=True))
            except ValueError:
                raise ObjectError("%s.networks[%d]" % (path, i), "invalid CIDR %r" % (cidr,)) from None
        if not nets:
            raise ObjectError(path + ".networks", "needs at least one CIDR")
        return AdminPeer(networks=tuple(nets))
    raise ObjectError(path + "." + key, "nodes peers are not modelled here")


def _parse_ports(raw, path):
    if raw is None:
        return None
    out = []
    for i, entry in enumerate(as_list(raw, path)):
        ppath = "%s[%d]" % (path, i)
        key, value = _one_of(entry, ("portNumber", "portRange", "namedPort"), ppath)
        if key == "namedPort":
            if not isinstance(value, str) or not value:
                raise ObjectError(ppath + ".namedPort", "must be a port name")
            out.append(("named", value, None, None))
            continue
        value = as_mapping(value, "%s.%s" % (ppath, key))
        protocol = value.get("protocol", "TCP")
        if protocol not in PROTOCOLS:
            raise ObjectError("%s.%s.protocol" % (ppath, key), "must be one of %s" % ", ".join(PROTOCOLS))
        if key == "portNumber":
            _keys(value, ("protocol", "port"), "%s.%s" % (ppath, key))
            start = end = value.get("port")
        else:
            _keys(value, ("protocol", "start", "end"), "%s.%s" % (ppath, key))
            start, end = value.get("start"), value.get("end")
        for what, number in (("start", start), ("end", end)):
            if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 65535:
                raise ObjectError("%s.%s" % (ppath, key), "%s must be a port 1-65535, got %r" % (what, number))
        if end < start:
            raise ObjectError("%s.%s" % (ppath, key), "end %d is below start %d" % (end, start))
        out.append(("number", protocol, start, end))
    return tuple(out)


class AdminRule(object):
    __slots__ = ("name", "action", "peers", "ports")

    def __init__(self, name, action, peers, ports):
        self.name = name
        self.action = action
        self.peers = peers
        self.ports = ports


class AdminPolicy(object):
    """An AdminNetworkPolicy (``priority`` 0-1000) or the BaselineAdminNetworkPolicy (``priority`` None)."""

    __slots__ = ("kind", "name", "priority", "ns_sel", "pod_sel", "ingress", "egress")

    def __init__(self, kind, name, priority, ns_sel, pod_sel, ingress, egress):
        self.kind = kind
        self.name = name
        self.priority = priority
        self.ns_sel = ns_sel
        self.pod_sel = pod_sel
        self.ingress = ingress
        self.egress = egress

    @property
    def ref(self):
        return "%s %s" % (self.kind, self.name)


def parse_admin_policy(raw, path="policy"):
    """An AdminNetworkPolicy or BaselineAdminNetworkPolicy object (as in Kubernetes YAML) → :class:`AdminPolicy`."""
    raw = as_mapping(raw, path)
    if raw.get("apiVersion") != API_VERSION or raw.get("kind") not in (ADMIN_KIND, BASELINE_KIND):
        raise ObjectError(path, "must be %s %s or %s, got %s %s" % (
            API_VERSION, ADMIN_KIND, BASELINE_KIND, raw.get("apiVersion"), raw.get("kind")))
    kind = raw["kind"]
    name = parse_name(as_mapping(raw.get("metadata"), path + ".metadata").get("name"), path + ".metadata.name")
    if kind == BASELINE_KIND and name != "default":
        raise ObjectError(path + ".metadata.name", "a BaselineAdminNetworkPolicy must be named 'default'")
    spec = as_mapping(raw.get("spec"), path + ".spec")
    _keys(spec, ("priority", "subject", "ingress", "egress") if kind == ADMIN_KIND else ("subject", "ingress", "egress"),
          path + ".spec")
    priority = None
    if kind == ADMIN_KIND:
        priority = spec.get("priority")
        if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 1000:
            raise ObjectError(path + ".spec.priority", "must be an integer 0-1000, got %r" % (priority,))
    skey, subject = _one_of(spec.get("subject"), ("namespaces", "pods"), path + ".spec.subject")
    if skey == "namespaces":
        ns_sel, pod_sel = _parse_selector(subject, path + ".spec.subject.namespaces"), _ALL
    else:
        subject = as_mapping(subject, path + ".spec.subject.pods")
        _keys(subject, ("namespaceSelector", "podSelector"), path + ".spec.subject.pods")
        ns_sel = _parse_selector(subject.get("namespaceSelector"), path + ".spec.subject.pods.namespaceSelector")
        pod_sel = _parse_selector(subject.get("podSelector"), path + ".spec.subject.pods.podSelector")
    actions = ADMIN_ACTIONS if kind == ADMIN_KIND else BASELINE_ACTIONS
    rules = {}
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        rules[direction] = []
        for i, rule in enumerate(as_list(spec.get(direction), "%s.spec.%s" % (path, direction))):
            rpath = "%s.spec.%s[%d]" % (path, direction, i)
            rule = as_mapping(rule, rpath)
            _keys(rule, ("name", "action", peers_key, "ports"), rpath)
            if rule.get("action") not in actions:
                raise ObjectError(rpath + ".action", "must be one of %s, got %r" % (", ".join(actions), rule.get("action")))
            peers = [_parse_peer(p, "%s.%s[%d]" % (rpath, peers_key, j), direction)
                     for j, p in enumerate(as_list(rule.get(peers_key), rpath + "." + peers_key))]
            if not peers:
                raise ObjectError(rpath + "." + peers_key, "needs at least one peer")
            rules[direction].append(AdminRule(rule.get("name") or "%s[%d]" % (direction, i), rule["action"], peers,
                                              _parse_ports(rule.get("ports"), rpath + ".ports")))
    return AdminPolicy(kind, name, priority, ns_sel, pod_sel, rules["ingress"], rules["egress"])


class Side(object):
    """The verdict of one side: ``allowed``, and ``layer`` (``admin``, ``networkpolicy``, ``baseline``, ``none``,
    ``outside``) with ``by`` (``"<policy> rule <name>"`` or the NetworkPolicy engine's explanation)."""

    __slots__ = ("allowed", "layer", "by")

    def __init__(self, allowed, layer, by):
        self.allowed = allowed
        self.layer = layer
        self.by = by

    def __repr__(self):
        return "Side(%s, %s, %s)" % ("allowed" if self.allowed else "denied", self.layer, self.by)


class ClusterVerdict(object):
    __slots__ = ("src", "dst", "port", "protocol", "egress", "ingress", "allowed")

    def __init__(self, src, dst, port, protocol, egress, ingress):
        self.src, self.dst, self.port, self.protocol = src, dst, port, protocol
        self.egress, self.ingress = egress, ingress
        self.allowed = egress.allowed and ingress.allowed

    def __bool__(self):
        return self.allowed

    def explain(self):
        return "%s: egress %s (%s: %s); ingress %s (%s: %s)" % (
            "allowed" if self.allowed else "denied",
            "allowed" if self.egress.allowed else "denied", self.egress.layer, self.egress.by,
            "allowed" if self.ingress.allowed else "denied", self.ingress.layer, self.ingress.by)


class ClusterEngine(object):
    """AdminNetworkPolicies, NetworkPolicies (``engine``, an :class:`evaluate.Engine`) and the
    BaselineAdminNetworkPolicy over one cluster state."""

    def __init__(self, engine, policies=()):
        self.engine = engine
        self.admin = []
        self.baseline = None
        for i, raw in enumerate(as_list(list(policies), "policies")):
            policy = parse_admin_policy(raw, "policies[%d]" % i)
            if policy.kind == BASELINE_KIND:
                if self.baseline is not None:
                    raise ObjectError("policies[%d]" % i, "a second BaselineAdminNetworkPolicy")
                self.baseline = policy
            else:
                if any(p.name == policy.name for p in self.admin):
                    raise ObjectError("policies[%d].metadata.name" % i, "duplicate AdminNetworkPolicy %s" % policy.name)
                self.admin.append(policy)
        self.admin.sort(key=lambda p: (p.priority, p.name))

    def _pod(self, endpoint):
        return self.engine.pod_by_ref[endpoint.ref]

    def _selects(self, policy, endpoint):
        pod = self._pod(endpoint)
        ns_labels, ns_items = self.engine.namespaces[pod.namespace]
        return policy.ns_sel.matches(ns_labels, ns_items) and policy.pod_sel.matches(pod.labels, pod.items)

    def _peer_matches(self, peer, endpoint):
        if peer.networks is not None:
            address = self._pod(endpoint).ip if endpoint.is_pod else endpoint.ip
            return address is not None and any(
                address.version == net.version and address in net for net in peer.networks)
        if not endpoint.is_pod:
            return False
        pod = self._pod(endpoint)
        ns_labels, ns_items = self.engine.namespaces[pod.namespace]
        return peer.ns_sel.matches(ns_labels, ns_items) and (peer.pod_sel is None or peer.pod_sel.matches(pod.labels, pod.items))

    def _ports_match(self, ports, port, protocol, dst):
        if ports is None:
            return True
        for entry in ports:
            if entry[0] == "named":
                if dst.is_pod and port in self._pod(dst).named.get((entry[1], protocol), ()):
                    return True
            elif entry[1] == protocol and entry[2] <= port <= entry[3]:
                return True
        return False

    def _first_match(self, policy, direction, peer, port, protocol, dst):
        for rule in policy.ingress if direction == "ingress" else policy.egress:
            if any(self._peer_matches(p, peer) for p in rule.peers) and self._ports_match(rule.ports, port, protocol, dst):
                return rule
        return None

    def _side(self, direction, subject, peer, port, protocol, dst, np_side):
        if not subject.is_pod:
            return Side(True, "outside", "outside address %s has no policy" % subject.ip)
        for policy in self.admin:
            if not self._selects(policy, subject):
                continue
            rule = self._first_match(policy, direction, peer, port, protocol, dst)
            if rule is None:
                continue
            by = "%s rule %s" % (policy.ref, rule.name)
            if rule.action == "Pass":
                break
            return Side(rule.action == "Allow", "admin", by)
        if np_side.isolated:
            return Side(np_side.allowed, "networkpolicy", np_side.explain(port, protocol))
        if self.baseline is not None and self._selects(self.baseline, subject):
            rule = self._first_match(self.baseline, direction, peer, port, protocol, dst)
            if rule is not None:
                return Side(rule.action == "Allow", "baseline", "%s rule %s" % (self.baseline.ref, rule.name))
        return Side(True, "none", "no policy decides %s of %s" % (direction, subject.ref))

    def verdict(self, src, dst, port, protocol="TCP"):
        """The verdict for one new connection (``src``/``dst``: ``"ns/pod"`` or ``"ip:addr"``; ``port`` a number)."""
        np_verdict = self.engine.verdict(src, dst, port, protocol)
        src, dst = Endpoint.parse(src, "src"), Endpoint.parse(dst, "dst")
        protocol, port = probe_protocol(protocol), np_verdict.port
        egress = self._side("egress", src, dst, port, protocol, dst, np_verdict.egress)
        ingress = self._side("ingress", dst, src, port, protocol, dst, np_verdict.ingress)
        return ClusterVerdict(src, dst, port, protocol, egress, ingress)


# --- the guardrails, proven on a probe cluster ---------------------------------------------------------------------
#: Addresses on the internet that the probes try (one per IP version); each must lie in the guardrail's networks.
INTERNET_PROBES = ("1.1.1.1", "2606:4700:4700::1111")


def guardrail_proof(matrix, manifests=None):
    """Prove the cluster-wide guardrail against direct internet on a probe cluster: one pod in every zone
    namespace, in ``kube-system``, in every exempt namespace and in one namespace the matrix does not manage
    (``default``), with the NetworkPolicies and AdminNetworkPolicies of ``manifests`` (default: the matrix
    compiled), probed towards :data:`INTERNET_PROBES` (TCP 443).

    Returns ``{"stage", "rows": [{"namespace", "kind", "internet", "layer", "expected", "ok"}], "ok"}``: a namespace
    the matrix does not manage must be denied by the admin policy in the ``deny`` stage and left to its own
    NetworkPolicies in the ``warn`` stage; every other namespace must get exactly what its NetworkPolicies give."""
    # imported here: compile is a sibling the engine does not otherwise need
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.compile import compile_manifests
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine

    guards = matrix["guards"]
    if manifests is None:
        manifests = compile_manifests(matrix)
    zones = {spec["namespace"]: zone for zone, spec in matrix["zones"].items()}
    kinds = {ns: "zone %s" % zone for ns, zone in zones.items()}
    for ns in guards["unmanaged_exempt_namespaces"]:
        kinds.setdefault(ns, "exempt")
    unmanaged = next(n for n in ("default", "netzone-probe-unmanaged") if n not in kinds)
    kinds[unmanaged] = "not managed"
    namespaces = {ns: {"kubernetes.io/metadata.name": ns} for ns in kinds}
    pods = [{"namespace": ns, "name": "probe", "ip": "10.%d.%d.9" % divmod(i, 256), "labels": {}}
            for i, ns in enumerate(sorted(kinds))]
    netpols = [o for o in manifests if o["kind"] == "NetworkPolicy"]
    plain = Engine(namespaces, pods, netpols)
    engine = ClusterEngine(plain, [o for o in manifests if o["kind"] == ADMIN_KIND])
    rows = []
    for ns in sorted(kinds):
        for address in INTERNET_PROBES:
            src, dst = "%s/probe" % ns, "ip:%s" % address
            verdict = engine.verdict(src, dst, 443)
            if kinds[ns] == "not managed" and guards["unmanaged_internet"] == "deny":
                expected, ok = "denied by the guardrail", not verdict.allowed and verdict.egress.layer == "admin"
            else:
                own = plain.verdict(src, dst, 443).allowed
                expected = "its own NetworkPolicies: %s" % ("allowed" if own else "denied")
                ok = verdict.allowed == own
            rows.append({"namespace": ns, "kind": kinds[ns], "address": address,
                         "internet": "allowed" if verdict.allowed else "denied", "layer": verdict.egress.layer,
                         "expected": expected, "ok": ok})
    return {"stage": guards["unmanaged_internet"], "rows": rows, "ok": all(r["ok"] for r in rows)}


def guardrail_problems(proof):
    """The sentences that say why a :func:`guardrail_proof` does not hold (none when it does)."""
    bad = [r for r in proof["rows"] if not r["ok"]]
    if not bad:
        return []

    def listed(key):
        return ", ".join(dict.fromkeys(r[key] for r in bad))  # each once, in the rows' order
    return ["the cluster-wide guardrail against direct internet does not hold (guards.unmanaged_internet: %s): "
            "%s get %s where %s was expected" % (proof["stage"], listed("namespace"), listed("internet"),
                                                 listed("expected"))]
