# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetworkPolicy v1 semantics: the verdict for one new connection, and whole clusters in bulk.

Plain Python, no Ansible.  ``Engine(namespaces, pods, policies)`` validates its input (a bad policy
raises ``MatrixError`` naming the path, e.g. ``policies[3].spec.ingress[0].from[1].ipBlock.cidr``) and
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
"""

from __future__ import annotations

import bisect
import ipaddress
import re

try:
    from collections.abc import Mapping
except ImportError:  # pragma: no cover - Python 2 is not supported, this only keeps linters quiet
    Mapping = object

from ansible_collections.netzone.segmentation.plugins.module_utils.errors import MatrixError

PROTOCOLS = ("TCP", "UDP", "SCTP")
POLICY_TYPES = ("Ingress", "Egress")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_V6_OFFSET = 1 << 32  # IPv4 addresses map to [0, 2**32), IPv6 ones above: one integer line for both


def _popcount_fallback(value):
    return bin(value).count("1")


_popcount = getattr(int, "bit_count", None) or _popcount_fallback


def _kind(value):
    """Name the YAML type of a value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, str):
        return "a string"
    return "a %s" % type(value).__name__


def _check_keys(raw, allowed, path):
    for key in raw:
        if key not in allowed:
            raise MatrixError(path, "unknown field %r (expected one of: %s)" % (key, ", ".join(allowed)))


def _list(raw, path):
    """A list, where null means empty."""
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        raise MatrixError(path, "must be a list, got %s" % _kind(raw))
    return list(raw)


def _mapping(raw, path):
    """A mapping, where null means empty."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MatrixError(path, "must be a mapping, got %s" % _kind(raw))
    return raw


def _name(raw, path):
    if not isinstance(raw, str) or not raw:
        raise MatrixError(path, "must be a non-empty string, got %s" % _kind(raw))
    return raw


def _labels(raw, path):
    """Labels as a dict of strings, plus their frozen item set (for subset tests)."""
    raw = _mapping(raw, path)
    for key, value in raw.items():
        if not isinstance(key, str) or not key:
            raise MatrixError(path, "label keys must be non-empty strings, got %s" % _kind(key))
        if not isinstance(value, str):
            raise MatrixError("%s.%s" % (path, key), "label value must be a string, got %s %r" % (_kind(value), value))
    labels = dict(raw)
    return labels, frozenset(labels.items())


def _protocol(raw, path, default="TCP"):
    if raw is None:
        return default
    if raw not in PROTOCOLS:
        raise MatrixError(path, "unsupported protocol %r (expected TCP, UDP or SCTP)" % (raw,))
    return raw


def _port_number(raw, path):
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise MatrixError(path, "must be a port number, got %s %r" % (_kind(raw), raw))
    if not 1 <= raw <= 65535:
        raise MatrixError(path, "port %d out of range 1-65535" % raw)
    return raw


def _port_name(raw, path):
    if not (len(raw) <= 15 and _PORT_NAME.match(raw) and "--" not in raw and re.search("[a-z]", raw)):
        raise MatrixError(path, "invalid port name %r (1-15 lowercase letters, digits and '-', with at least one letter)" % raw)
    return raw


def _ip_key(address):
    """One integer for an IPv4 or IPv6 address, ordered on a single line."""
    if address.version == 4:
        return int(address)
    return _V6_OFFSET + int(address)


def _net_range(net):
    """[first, last] integer keys of a network."""
    first = _ip_key(net.network_address)
    return first, first + net.num_addresses - 1


def _parse_cidr(raw, path):
    if not isinstance(raw, str):
        raise MatrixError(path, "invalid CIDR %r (must be a string like 10.0.0.0/8)" % (raw,))
    if "/" not in raw:
        raise MatrixError(path, "invalid CIDR '%s' (no prefix length)" % raw)
    try:
        return ipaddress.ip_network(raw.strip(), strict=False)
    except ValueError:
        raise MatrixError(path, "invalid CIDR '%s'" % raw)


def _parse_ip(raw, path):
    if not isinstance(raw, str):
        raise MatrixError(path, "invalid IP address %r" % (raw,))
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        raise MatrixError(path, "invalid IP address '%s'" % raw)


# --- policy objects -------------------------------------------------------------------------------


class _Selector(object):
    """A label selector: matchLabels and matchExpressions, ANDed.  The empty selector matches all."""

    __slots__ = ("required", "exprs", "key")

    def __init__(self, required, exprs):
        self.required = required          # frozenset of (key, value)
        self.exprs = exprs                # tuple of (key, operator, frozenset(values))
        self.key = (required, exprs)

    def matches(self, labels, items):
        if not self.required <= items:
            return False
        for key, op, values in self.exprs:
            present = key in labels
            if op == "In":
                if not present or labels[key] not in values:
                    return False
            elif op == "NotIn":
                if present and labels[key] in values:
                    return False
            elif op == "Exists":
                if not present:
                    return False
            elif present:  # DoesNotExist
                return False
        return True


def _parse_selector(raw, path):
    raw = _mapping(raw, path)
    _check_keys(raw, ("matchLabels", "matchExpressions"), path)
    _labels_dict, required = _labels(raw.get("matchLabels"), path + ".matchLabels")
    exprs = []
    for i, expr in enumerate(_list(raw.get("matchExpressions"), path + ".matchExpressions")):
        epath = "%s.matchExpressions[%d]" % (path, i)
        if not isinstance(expr, dict):
            raise MatrixError(epath, "must be a mapping, got %s" % _kind(expr))
        _check_keys(expr, ("key", "operator", "values"), epath)
        key = _name(expr.get("key"), epath + ".key")
        op = expr.get("operator")
        if op not in OPERATORS:
            raise MatrixError(epath + ".operator", "invalid operator %r (expected In, NotIn, Exists or DoesNotExist)" % (op,))
        values = _list(expr.get("values"), epath + ".values")
        for j, value in enumerate(values):
            if not isinstance(value, str):
                raise MatrixError("%s.values[%d]" % (epath, j), "must be a string, got %s %r" % (_kind(value), value))
        if op in ("In", "NotIn") and not values:
            raise MatrixError(epath + ".values", "operator %s needs at least one value" % op)
        if op in ("Exists", "DoesNotExist") and values:
            raise MatrixError(epath + ".values", "operator %s takes no values" % op)
        exprs.append((key, op, frozenset(values)))
    return _Selector(required, tuple(sorted(exprs, key=lambda e: (e[0], e[1], sorted(e[2])))))


class _IPBlock(object):
    """cidr minus except; a cidr with host bits set means its masked network."""

    __slots__ = ("net", "excepts", "key", "text")

    def __init__(self, net, excepts):
        self.net = net
        self.excepts = excepts
        self.key = (str(net), tuple(sorted(set(str(e) for e in excepts))))
        self.text = str(net) + ("".join(" except %s" % e for e in self.key[1]))

    def contains(self, address):
        if address is None or address.version != self.net.version or address not in self.net:
            return False
        return not any(address in e for e in self.excepts)


def _parse_ipblock(raw, path):
    raw = _mapping(raw, path)
    _check_keys(raw, ("cidr", "except"), path)
    if raw.get("cidr") is None:
        raise MatrixError(path + ".cidr", "required")
    net = _parse_cidr(raw["cidr"], path + ".cidr")
    excepts = []
    for i, item in enumerate(_list(raw.get("except"), path + ".except")):
        epath = "%s.except[%d]" % (path, i)
        exc = _parse_cidr(item, epath)
        if exc.version != net.version or not exc.subnet_of(net) or exc.prefixlen <= net.prefixlen:
            raise MatrixError(epath, "'%s' is not a strict subset of cidr '%s'" % (item, raw["cidr"]))
        excepts.append(exc)
    return _IPBlock(net, tuple(excepts))


class _Peer(object):
    """One entry of from/to.  ``ipblock`` or selectors; ``scope`` is the policy namespace when the
    peer has no namespaceSelector (podSelector alone = pods of the policy's namespace)."""

    __slots__ = ("ipblock", "ns_sel", "pod_sel", "scope", "key", "pid")

    def __init__(self, ipblock=None, ns_sel=None, pod_sel=None, scope=None):
        self.ipblock = ipblock
        self.ns_sel = ns_sel
        self.pod_sel = pod_sel
        self.scope = scope
        if ipblock is not None:
            self.key = ("ip", ipblock.key)
        else:
            self.key = ("sel", scope, ns_sel.key if ns_sel else None, pod_sel.key if pod_sel else None)
        self.pid = None


def _parse_peer(raw, path, policy_ns):
    if not isinstance(raw, dict):
        raise MatrixError(path, "must be a mapping, got %s" % _kind(raw))
    _check_keys(raw, ("podSelector", "namespaceSelector", "ipBlock"), path)
    present = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if raw.get(k) is not None]
    if not present:
        raise MatrixError(path, "must specify podSelector, namespaceSelector or ipBlock")
    if "ipBlock" in present:
        if len(present) > 1:
            raise MatrixError(path, "ipBlock may not be combined with podSelector or namespaceSelector")
        return _Peer(ipblock=_parse_ipblock(raw["ipBlock"], path + ".ipBlock"))
    ns_sel = _parse_selector(raw["namespaceSelector"], path + ".namespaceSelector") if "namespaceSelector" in present else None
    pod_sel = _parse_selector(raw["podSelector"], path + ".podSelector") if "podSelector" in present else None
    return _Peer(ns_sel=ns_sel, pod_sel=pod_sel, scope=None if ns_sel is not None else policy_ns)


class _Port(object):
    """One entry of ports: protocol, and a number (optionally up to end), a name, or all ports."""

    __slots__ = ("protocol", "number", "end", "name")

    def __init__(self, protocol, number=None, end=None, name=None):
        self.protocol = protocol
        self.number = number
        self.end = end
        self.name = name

    def numeric_match(self, port, protocol):
        """Whether a port/protocol matches without looking at the destination (not for named ports)."""
        if protocol != self.protocol or self.name is not None:
            return False
        if self.number is None:
            return True
        if self.end is None:
            return port == self.number
        return self.number <= port <= self.end


def _parse_port(raw, path):
    if not isinstance(raw, dict):
        raise MatrixError(path, "must be a mapping, got %s" % _kind(raw))
    _check_keys(raw, ("protocol", "port", "endPort"), path)
    protocol = _protocol(raw.get("protocol"), path + ".protocol")
    port = raw.get("port")
    end = raw.get("endPort")
    if port is None:
        if end is not None:
            raise MatrixError(path + ".endPort", "endPort requires a numeric port")
        return _Port(protocol)
    if isinstance(port, str):
        _port_name(port, path + ".port")
        if end is not None:
            raise MatrixError(path + ".endPort", "endPort may not be used with the named port %r" % port)
        return _Port(protocol, name=port)
    number = _port_number(port, path + ".port")
    if end is not None:
        end = _port_number(end, path + ".endPort")
        if end < number:
            raise MatrixError(path + ".endPort", "endPort %d is lower than port %d" % (end, number))
    return _Port(protocol, number, end)


class _Rule(object):
    """One ingress or egress rule: peers (None = every peer) and ports (None = every port)."""

    __slots__ = ("policy", "direction", "index", "peers", "ports", "rid")

    def __init__(self, policy, direction, index, peers, ports):
        self.policy = policy
        self.direction = direction
        self.index = index
        self.peers = peers
        self.ports = ports
        self.rid = None

    @property
    def ref(self):
        return "%s.%s[%d]" % ("spec", self.direction, self.index)


class _Policy(object):
    __slots__ = ("index", "namespace", "name", "ref", "pod_sel", "ingress", "egress", "ingress_rules", "egress_rules")

    def __init__(self, index, namespace, name, pod_sel, ingress, egress):
        self.index = index
        self.namespace = namespace
        self.name = name
        self.ref = "%s/%s" % (namespace, name)
        self.pod_sel = pod_sel
        self.ingress = ingress          # policy type Ingress in effect
        self.egress = egress            # policy type Egress in effect
        self.ingress_rules = []
        self.egress_rules = []


def _parse_rules(policy, raw, direction, path):
    peers_key = "from" if direction == "ingress" else "to"
    rules = []
    for i, rule in enumerate(_list(raw, path)):
        rpath = "%s[%d]" % (path, i)
        if not isinstance(rule, dict):
            raise MatrixError(rpath, "must be a mapping, got %s" % _kind(rule))
        _check_keys(rule, (peers_key, "ports"), rpath)
        peers = [_parse_peer(p, "%s.%s[%d]" % (rpath, peers_key, j), policy.namespace)
                 for j, p in enumerate(_list(rule.get(peers_key), rpath + "." + peers_key))]
        ports = [_parse_port(p, "%s.ports[%d]" % (rpath, j)) for j, p in enumerate(_list(rule.get("ports"), rpath + ".ports"))]
        rules.append(_Rule(policy, direction, i, peers or None, ports or None))
    return rules


def _parse_policy(raw, index):
    path = "policies[%d]" % index
    if not isinstance(raw, dict):
        raise MatrixError(path, "must be a NetworkPolicy mapping, got %s" % _kind(raw))
    if raw.get("apiVersion", "networking.k8s.io/v1") != "networking.k8s.io/v1":
        raise MatrixError(path + ".apiVersion", "expected networking.k8s.io/v1, got %r" % (raw.get("apiVersion"),))
    if raw.get("kind", "NetworkPolicy") != "NetworkPolicy":
        raise MatrixError(path + ".kind", "expected NetworkPolicy, got %r" % (raw.get("kind"),))
    meta = raw.get("metadata")
    if not isinstance(meta, dict):
        raise MatrixError(path + ".metadata", "must be a mapping with name and namespace, got %s" % _kind(meta))
    name = _name(meta.get("name"), path + ".metadata.name")
    namespace = _name(meta.get("namespace"), path + ".metadata.namespace")
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        raise MatrixError(path + ".spec", "must be a mapping, got %s" % _kind(spec))
    spath = path + ".spec"
    _check_keys(spec, ("podSelector", "policyTypes", "ingress", "egress"), spath)
    pod_sel = _parse_selector(spec.get("podSelector"), spath + ".podSelector")
    types = _list(spec.get("policyTypes"), spath + ".policyTypes")
    for i, ptype in enumerate(types):
        if ptype not in POLICY_TYPES:
            raise MatrixError("%s.policyTypes[%d]" % (spath, i), "invalid policy type %r (expected Ingress or Egress)" % (ptype,))
    egress_raw = _list(spec.get("egress"), spath + ".egress")
    if not types:
        # Omitted policyTypes: Ingress always, Egress only when the policy has egress rules.
        types = ["Ingress"] + (["Egress"] if egress_raw else [])
    policy = _Policy(index, namespace, name, pod_sel, "Ingress" in types, "Egress" in types)
    policy.ingress_rules = _parse_rules(policy, spec.get("ingress"), "ingress", spath + ".ingress")
    policy.egress_rules = _parse_rules(policy, egress_raw, "egress", spath + ".egress")
    return policy


# --- cluster objects ------------------------------------------------------------------------------


class _Pod(object):
    __slots__ = ("namespace", "name", "ref", "labels", "items", "ip", "ports", "named")

    def __init__(self, namespace, name, labels, items, ip, named):
        self.namespace = namespace
        self.name = name
        self.ref = "%s/%s" % (namespace, name)
        self.labels = labels
        self.items = items
        self.ip = ip
        self.named = named      # {(name, protocol): frozenset(numbers)}


def _parse_pod(raw, index, namespaces):
    path = "pods[%d]" % index
    if not isinstance(raw, dict):
        raise MatrixError(path, "must be a mapping, got %s" % _kind(raw))
    namespace = _name(raw.get("namespace"), path + ".namespace")
    if namespace not in namespaces:
        raise MatrixError(path + ".namespace", "unknown namespace %r" % namespace)
    name = _name(raw.get("name"), path + ".name")
    labels, items = _labels(raw.get("labels"), path + ".labels")
    ip = None
    if raw.get("ip") not in (None, ""):
        ip = _parse_ip(raw["ip"], path + ".ip")
    named = {}
    for i, port in enumerate(_list(raw.get("ports"), path + ".ports")):
        ppath = "%s.ports[%d]" % (path, i)
        if not isinstance(port, dict):
            raise MatrixError(ppath, "must be a mapping, got %s" % _kind(port))
        number = _port_number(port.get("containerPort"), ppath + ".containerPort")
        protocol = _protocol(port.get("protocol"), ppath + ".protocol")
        pname = port.get("name")
        if pname is not None:
            if not isinstance(pname, str):
                raise MatrixError(ppath + ".name", "must be a string, got %s" % _kind(pname))
            named.setdefault((pname, protocol), set()).add(number)
    named = dict((k, frozenset(v)) for k, v in named.items())
    return _Pod(namespace, name, labels, items, ip, named)


class Endpoint(object):
    """A connection end: a pod (``"ns/name"``) or an address outside the cluster (``"ip:addr"``)."""

    __slots__ = ("kind", "namespace", "name", "ip", "ref")

    def __init__(self, kind, namespace=None, name=None, ip=None):
        if kind not in ("pod", "ip"):
            raise ValueError("kind must be 'pod' or 'ip'")
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.ip = ip
        self.ref = "%s/%s" % (namespace, name) if kind == "pod" else "ip:%s" % ip

    @classmethod
    def pod(cls, namespace, name):
        return cls("pod", namespace=namespace, name=name)

    @classmethod
    def address(cls, ip):
        return cls("ip", ip=_parse_ip(str(ip), "address"))

    @classmethod
    def parse(cls, text, path="endpoint"):
        """``"ns/name"`` or ``"ip:addr"`` (an Endpoint is returned as is)."""
        if isinstance(text, Endpoint):
            return text
        if not isinstance(text, str):
            raise MatrixError(path, "must be 'namespace/pod' or 'ip:address', got %s" % _kind(text))
        if text.startswith("ip:"):
            return cls("ip", ip=_parse_ip(text[3:], path))
        parts = text.split("/")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise MatrixError(path, "invalid endpoint %r (expected 'namespace/pod' or 'ip:address')" % text)
        return cls("pod", namespace=parts[0], name=parts[1])

    @property
    def is_pod(self):
        return self.kind == "pod"

    def __eq__(self, other):
        return isinstance(other, Endpoint) and self.ref == other.ref

    def __hash__(self):
        return hash(self.ref)

    def __str__(self):
        return self.ref

    def __repr__(self):
        return "Endpoint(%r)" % self.ref


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


class Engine(object):
    """NetworkPolicy v1 semantics over one cluster state.

    ``namespaces``: ``{name: labels}`` (``{name: {"labels": labels}}`` as in the conformance cases is
    accepted too); ``pods``: ``[{namespace, name, labels, ip, ports: [{name, containerPort, protocol}]}]``;
    ``policies``: NetworkPolicy objects as in Kubernetes YAML (``metadata.namespace`` required).
    """

    def __init__(self, namespaces=None, pods=None, policies=None):
        self.namespaces = {}
        for name, value in _mapping(namespaces, "namespaces").items():
            path = "namespaces.%s" % name
            _name(name, "namespaces")
            if isinstance(value, dict) and list(value) == ["labels"] and (value["labels"] is None or isinstance(value["labels"], dict)):
                value, path = value["labels"], path + ".labels"
            self.namespaces[name] = _labels(value, path)
        self.pods = []
        self._pod_by_ref = {}
        for i, raw in enumerate(_list(pods, "pods")):
            pod = _parse_pod(raw, i, self.namespaces)
            if pod.ref in self._pod_by_ref:
                raise MatrixError("pods[%d]" % i, "duplicate pod %s" % pod.ref)
            self._pod_by_ref[pod.ref] = pod
            self.pods.append(pod)
        self.policies = []
        seen = set()
        for i, raw in enumerate(_list(policies, "policies")):
            policy = _parse_policy(raw, i)
            if policy.ref in seen:
                raise MatrixError("policies[%d].metadata.name" % i, "duplicate policy %s" % policy.ref)
            seen.add(policy.ref)
            self.policies.append(policy)
        self._policies_by_ns = {}
        for policy in self.policies:
            self._policies_by_ns.setdefault(policy.namespace, []).append(policy)
        self._index = None
        self._pod_groups = None

    # -- endpoints and probes --

    def endpoint(self, value, path="endpoint"):
        """Parse ``"ns/pod"`` / ``"ip:addr"``; a pod must exist."""
        endpoint = Endpoint.parse(value, path)
        if endpoint.is_pod and endpoint.ref not in self._pod_by_ref:
            raise MatrixError(path, "unknown pod %r" % endpoint.ref)
        return endpoint

    def _probe_port(self, port, protocol, dst, path="port"):
        if isinstance(port, str) and not port.isdigit():
            pod = self._pod_by_ref.get(dst.ref) if dst.is_pod else None
            numbers = pod.named.get((port, protocol)) if pod is not None else None
            if not numbers:
                raise MatrixError(path, "%s has no %s container port named %r" % (dst.ref, protocol, port))
            return min(numbers)
        if isinstance(port, str):
            port = int(port)
        return _port_number(port, path)

    # -- the per-pod path: straight from the policies --

    def _peer_matches(self, peer, policy, endpoint):
        if peer.ipblock is not None:
            if endpoint.is_pod:
                return peer.ipblock.contains(self._pod_by_ref[endpoint.ref].ip)
            return peer.ipblock.contains(endpoint.ip)
        if not endpoint.is_pod:
            return False
        pod = self._pod_by_ref[endpoint.ref]
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
        return port in self._pod_by_ref[dst.ref].named.get((entry.name, protocol), ())

    def _side(self, direction, subject, peer, dst, port, protocol):
        if not subject.is_pod:
            return Direction(direction, subject, peer, False, [], [], outside=True)
        pod = self._pod_by_ref[subject.ref]
        selecting, allowed_by = [], []
        for policy in self._policies_by_ns.get(pod.namespace, ()):
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
        protocol = _probe_protocol(protocol)
        port = self._probe_port(port, protocol, dst)
        egress = self._side("egress", src, dst, dst, port, protocol)
        ingress = self._side("ingress", dst, src, dst, port, protocol)
        return Verdict(src, dst, port, protocol, egress, ingress)

    # -- the grouped path --

    def _build_index(self):
        """Number distinct peers and rules; collect the named ports and ipBlock boundaries used."""
        peer_ids = {}
        ip_peers = []          # (pid, ipblock)
        sel_peers = []         # (pid, peer)
        rules = []
        named = set()
        bounds = set()
        for policy in self.policies:
            for rule in policy.ingress_rules + policy.egress_rules:
                rule.rid = len(rules)
                rules.append(rule)
                for entry in rule.ports or ():
                    if entry.name is not None:
                        named.add((entry.name, entry.protocol))
                for peer in rule.peers or ():
                    pid = peer_ids.get(peer.key)
                    if pid is None:
                        pid = peer_ids[peer.key] = len(peer_ids)
                        if peer.ipblock is not None:
                            ip_peers.append((pid, peer.ipblock))
                            for net in (peer.ipblock.net,) + peer.ipblock.excepts:
                                first, last = _net_range(net)
                                bounds.add(first)
                                bounds.add(last + 1)
                        else:
                            sel_peers.append((pid, peer))
                    peer.pid = pid
        self._index = {
            "rules": rules,
            "ip_peers": ip_peers,
            "sel_peers": sel_peers,
            "named": frozenset(named),
            "bounds": sorted(bounds),
            "interval_sig": {},
            "ns_peers": {},
        }
        return self._index

    def _ip_signature(self, address):
        """frozenset of the ipBlock peer ids containing the address (constant between boundaries)."""
        index = self._index
        if address is None or not index["ip_peers"]:
            return frozenset()
        key = _ip_key(address)
        slot = bisect.bisect_right(index["bounds"], key)
        sig = index["interval_sig"].get(slot)
        if sig is None:
            sig = index["interval_sig"][slot] = frozenset(pid for pid, block in index["ip_peers"] if block.contains(address))
        return sig

    def _namespace_peers(self, namespace):
        """Selector peers that can match pods of a namespace, grouped by pod selector."""
        cache = self._index["ns_peers"]
        found = cache.get(namespace)
        if found is None:
            ns_labels, ns_items = self.namespaces[namespace]
            by_sel = {}
            for pid, peer in self._index["sel_peers"]:
                if peer.ns_sel is None:
                    if peer.scope != namespace:
                        continue
                elif not peer.ns_sel.matches(ns_labels, ns_items):
                    continue
                sel_key = peer.pod_sel.key if peer.pod_sel is not None else None
                entry = by_sel.get(sel_key)
                if entry is None:
                    entry = by_sel[sel_key] = (peer.pod_sel, [])
                entry[1].append(pid)
            pols = {}
            for policy in self._policies_by_ns.get(namespace, ()):
                entry = pols.get(policy.pod_sel.key)
                if entry is None:
                    entry = pols[policy.pod_sel.key] = (policy.pod_sel, [], [])
                if policy.ingress:
                    entry[1].append(policy.index)
                if policy.egress:
                    entry[2].append(policy.index)
            found = cache[namespace] = (list(by_sel.values()), list(pols.values()))
        return found

    def _pod_grouping(self):
        """Group every pod; returns (groups, {pod ref: group})."""
        if self._pod_groups is not None:
            return self._pod_groups
        if self._index is None:
            self._build_index()
        named_refs = self._index["named"]
        class_sig = {}
        by_key = {}
        pod_group = {}
        for pod in self.pods:
            ckey = (pod.namespace, pod.items)
            sig = class_sig.get(ckey)
            if sig is None:
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
                sig = class_sig[ckey] = (tuple(sorted(in_pols)), tuple(sorted(eg_pols)), frozenset(pids))
            named = ()
            if named_refs and pod.named:
                named = tuple(sorted((k, v) for k, v in pod.named.items() if k in named_refs))
            key = (sig, self._ip_signature(pod.ip), named)
            group = by_key.get(key)
            if group is None:
                group = by_key[key] = _Group(True, sig[0], sig[1], sig[2] | key[1], named)
            group.members.append(pod.ref)
            pod_group[pod.ref] = group
        groups = list(by_key.values())
        self._pod_groups = (groups, pod_group)
        return self._pod_groups

    def groups(self):
        """The pod groups, as lists of pod refs (for reports and benchmarks)."""
        return [list(g.members) for g in self._pod_grouping()[0]]

    def reachability(self, sources=None, destinations=None, ports=((80, "TCP"),)):
        """Bulk verdicts: a read-only mapping ``{(src, dst, port, protocol): bool}``.

        ``sources``/``destinations``: endpoint strings (default: every pod); ``ports``: ``[(port,
        protocol), ...]`` with numeric ports (a bare number means TCP).  Evaluated once per (source group,
        destination group, port); the mapping answers lookups from bitsets without expanding pairs.
        """
        return Reachability(self, sources, destinations, ports)


def _probe_protocol(value, path="protocol"):
    if isinstance(value, str) and value.upper() in PROTOCOLS:
        return value.upper()
    raise MatrixError(path, "unsupported protocol %r (expected TCP, UDP or SCTP)" % (value,))


def _rows_for_port(universe, in_rules, eg_rules, peer_bits, sel_in, named_bits, all_bits, not_in_iso,
                   src_keys, port, protocol):
    """Allowed destination bitset per source group (None for groups that are not sources)."""

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

    rule_masks = {}

    def rule_dst(rule):
        """Destination groups that a rule lets through on this port (egress: peers; ingress: selected)."""
        found = rule_masks.get(rule.rid)
        if found is None:
            if rule.direction == "egress":
                found = peer_bits[rule.rid] & port_mask(rule)
            else:
                found = sel_in[rule.policy.index] & port_mask(rule)
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
    return rows


class Reachability(Mapping):
    """Grouped bulk verdicts: ``reach[(src, dst, port, protocol)] -> bool``.

    Keys are every (source, destination, port) of the request (including an endpoint to itself when it
    is both a source and a destination).  ``rows()`` yields ``(src, dst, port, protocol, allowed)``;
    ``count_allowed()`` counts allowed connections from group sizes without expanding pairs.
    """

    def __init__(self, engine, sources=None, destinations=None, ports=((80, "TCP"),)):
        self.engine = engine
        groups, pod_group = engine._pod_grouping()
        index = engine._index
        self.ports = []
        for i, item in enumerate(_list(ports, "ports")):
            if isinstance(item, (list, tuple)) and len(item) == 2:
                port, protocol = item
            else:
                port, protocol = item, "TCP"
            entry = (_port_number(port, "ports[%d]" % i), _probe_protocol(protocol, "ports[%d]" % i))
            if entry not in self.ports:
                self.ports.append(entry)
        universe = list(groups)
        ip_groups = {}
        self._group_of = {}

        def resolve(values, path):
            refs = []
            for i, value in enumerate(values):
                endpoint = engine.endpoint(value, "%s[%d]" % (path, i))
                if endpoint.ref in self._group_of:
                    refs.append(endpoint.ref)
                    continue
                if endpoint.is_pod:
                    group = pod_group[endpoint.ref]
                else:
                    sig = engine._ip_signature(endpoint.ip)
                    group = ip_groups.get(sig)
                    if group is None:
                        group = ip_groups[sig] = _Group(False, (), (), sig, ())
                        universe.append(group)
                    group.members.append(endpoint.ref)
                self._group_of[endpoint.ref] = group
                refs.append(endpoint.ref)
            return list(dict.fromkeys(refs))

        all_pods = [p.ref for p in engine.pods]
        self.sources = resolve(all_pods if sources is None else _list(sources, "sources"), "sources")
        self.destinations = resolve(all_pods if destinations is None else _list(destinations, "destinations"), "destinations")
        for i, group in enumerate(universe):
            group.idx = i
        self.universe = universe
        self._index_of = dict((ref, g.idx) for ref, g in self._group_of.items())

        # Bitsets over the universe of groups.
        all_bits = (1 << len(universe)) - 1
        pid_bits, sel_in, named_bits = {}, {}, {}
        not_in_iso = 0
        for group in universe:
            bit = 1 << group.idx
            for pid in group.pids:
                pid_bits[pid] = pid_bits.get(pid, 0) | bit
            for pol in group.in_pols:
                sel_in[pol] = sel_in.get(pol, 0) | bit
            if not group.in_pols:
                not_in_iso |= bit
            for key, numbers in group.named:
                per_port = named_bits.setdefault(key, {})
                for number in numbers:
                    per_port[number] = per_port.get(number, 0) | bit
        peer_bits = {}
        in_by_pid, in_all = {}, []
        for rule in index["rules"]:
            if rule.peers is None:
                peer_bits[rule.rid] = all_bits
                if rule.direction == "ingress":
                    in_all.append(rule.rid)
            else:
                mask = 0
                for peer in rule.peers:
                    mask |= pid_bits.get(peer.pid, 0)
                    if rule.direction == "ingress":
                        in_by_pid.setdefault(peer.pid, set()).add(rule.rid)
                peer_bits[rule.rid] = mask
        for pol in engine.policies:
            sel_in.setdefault(pol.index, 0)
        # Per source group: which egress policies isolate it, which ingress rules admit it as a peer.
        source_groups = set(self._group_of[ref].idx for ref in self.sources)
        src_keys = [None] * len(universe)
        in_all = frozenset(in_all)
        for group in universe:
            if group.idx in source_groups:
                admitted = set(in_all)
                for pid in group.pids:
                    admitted.update(in_by_pid.get(pid, ()))
                src_keys[group.idx] = (group.eg_pols, frozenset(admitted))
        rules = index["rules"]
        policies = engine.policies

        def eg_rules(eg_key):
            for pol in eg_key:
                yield from policies[pol].egress_rules

        def in_rules(in_key):
            for rid in in_key:
                rule = rules[rid]
                if rule.policy.ingress:
                    yield rule

        self._rows = {}
        for port, protocol in self.ports:
            self._rows[(port, protocol)] = _rows_for_port(
                universe, in_rules, eg_rules, peer_bits, sel_in, named_bits, all_bits, not_in_iso,
                src_keys, port, protocol)

    @property
    def group_count(self):
        """Number of groups evaluated (pod groups plus outside-address groups)."""
        return len(self.universe)

    def _idx(self, value):
        idx = self._index_of.get(value)
        if idx is None:
            try:
                idx = self._index_of.get(Endpoint.parse(value).ref)
            except MatrixError:
                idx = None
            if idx is None:
                raise KeyError(value)
        return idx

    def index(self, endpoint):
        """Bit position of a requested endpoint's group in the bitsets that :meth:`row` returns."""
        return self._idx(endpoint)

    def row(self, src, port, protocol="TCP"):
        """Bitset of destination groups that a requested source may reach on (port, protocol): test a
        destination with ``row >> reach.index(dst) & 1``.  KeyError when it was not requested."""
        rows = self._rows.get((port, protocol))
        if rows is None:
            raise KeyError((port, protocol))
        row = rows[self._idx(src)]
        if row is None:
            raise KeyError(src)
        return row

    def allowed(self, src, dst, port, protocol="TCP"):
        """The verdict of one requested connection (KeyError when it was not requested)."""
        src_idx, dst_idx = self._idx(src), self._idx(dst)
        rows = self._rows.get((port, protocol))
        if rows is None:
            if not isinstance(protocol, str) or (port, protocol.upper()) not in self._rows:
                raise KeyError((port, protocol))
            rows = self._rows[(port, protocol.upper())]
        row = rows[src_idx]
        if row is None:
            raise KeyError(src)
        return bool((row >> dst_idx) & 1)

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
