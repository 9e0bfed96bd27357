# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetworkPolicy v1 objects, parsed and validated  (plain Python, no Ansible, no I/O)

The input side of the engine: NetworkPolicy objects, pods, namespaces and endpoints as Kubernetes YAML
gives them, checked field by field (a bad value raises ``ObjectError`` naming its path, e.g.
``policies[3].spec.ingress[0].from[1].ipBlock.cidr``) and turned into small read-only objects:
:class:`Policy` with its :class:`Rule` s, each with :class:`Peer` s (:class:`Selector`, :class:`IPBlock`)
and :class:`Port` s; :class:`Pod`; :class:`Endpoint`.  Nothing here decides a verdict.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import ObjectError
from ansible_collections.netzone.segmentation.plugins.module_utils._common.validators import json_type

PROTOCOLS = ("TCP", "UDP", "SCTP")
POLICY_TYPES = ("Ingress", "Egress")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_V6_OFFSET = 1 << 32  # IPv4 addresses map to [0, 2**32), IPv6 ones above: one integer line for both


def _kind(value):
    """Name the YAML type of a value for error messages."""
    return json_type(value)


def _check_keys(raw, allowed, path):
    for key in raw:
        if key not in allowed:
            raise ObjectError(path, "unknown field %r (expected one of: %s)" % (key, ", ".join(allowed)))


def as_list(raw, path):
    """A list, where null means empty."""
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        raise ObjectError(path, "must be a list, got %s" % _kind(raw))
    return list(raw)


def as_mapping(raw, path):
    """A mapping, where null means empty."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ObjectError(path, "must be a mapping, got %s" % _kind(raw))
    return raw


def parse_name(raw, path):
    if not isinstance(raw, str) or not raw:
        raise ObjectError(path, "must be a non-empty string, got %s" % _kind(raw))
    return raw


def parse_labels(raw, path):
    """Labels as a dict of strings, plus their frozen item set (for subset tests)."""
    raw = as_mapping(raw, path)
    for key, value in raw.items():
        if not isinstance(key, str) or not key:
            raise ObjectError(path, "label keys must be non-empty strings, got %s" % _kind(key))
        if not isinstance(value, str):
            raise ObjectError("%s.%s" % (path, key), "label value must be a string, got %s %r" % (_kind(value), value))
    labels = dict(raw)
    return labels, frozenset(labels.items())


def _protocol(raw, path, default="TCP"):
    if raw is None:
        return default
    if raw not in PROTOCOLS:
        raise ObjectError(path, "unsupported protocol %r (expected TCP, UDP or SCTP)" % (raw,))
    return raw


def port_number(raw, path):
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ObjectError(path, "must be a port number, got %s %r" % (_kind(raw), raw))
    if not 1 <= raw <= 65535:
        raise ObjectError(path, "port %d out of range 1-65535" % raw)
    return raw


def _port_name(raw, path):
    if not (len(raw) <= 15 and _PORT_NAME.match(raw) and "--" not in raw and re.search("[a-z]", raw)):
        raise ObjectError(path, "invalid port name %r (1-15 lowercase letters, digits and '-', with at least one letter)" % raw)
    return raw


def ip_key(address):
    """One integer for an IPv4 or IPv6 address, ordered on a single line."""
    if address.version == 4:
        return int(address)
    return _V6_OFFSET + int(address)


def net_range(net):
    """[first, last] integer keys of a network."""
    first = ip_key(net.network_address)
    return first, first + net.num_addresses - 1


def _parse_cidr(raw, path):
    if not isinstance(raw, str):
        raise ObjectError(path, "invalid CIDR %r (must be a string like 10.0.0.0/8)" % (raw,))
    if "/" not in raw:
        raise ObjectError(path, "invalid CIDR '%s' (no prefix length)" % raw)
    try:
        return ipaddress.ip_network(raw.strip(), strict=False)
    except ValueError:
        raise ObjectError(path, "invalid CIDR '%s'" % raw)


def parse_ip(raw, path):
    if not isinstance(raw, str):
        raise ObjectError(path, "invalid IP address %r" % (raw,))
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        raise ObjectError(path, "invalid IP address '%s'" % raw)


# --- policy objects -------------------------------------------------------------------------------


class Selector(object):
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
    raw = as_mapping(raw, path)
    _check_keys(raw, ("matchLabels", "matchExpressions"), path)
    _labels_dict, required = parse_labels(raw.get("matchLabels"), path + ".matchLabels")
    exprs = []
    for i, expr in enumerate(as_list(raw.get("matchExpressions"), path + ".matchExpressions")):
        epath = "%s.matchExpressions[%d]" % (path, i)
        if not isinstance(expr, dict):
            raise ObjectError(epath, "must be a mapping, got %s" % _kind(expr))
        _check_keys(expr, ("key", "operator", "values"), epath)
        key = parse_name(expr.get("key"), epath + ".key")
        op = expr.get("operator")
        if op not in OPERATORS:
            raise ObjectError(epath + ".operator", "invalid operator %r (expected In, NotIn, Exists or DoesNotExist)" % (op,))
        values = as_list(expr.get("values"), epath + ".values")
        for j, value in enumerate(values):
            if not isinstance(value, str):
                raise ObjectError("%s.values[%d]" % (epath, j), "must be a string, got %s %r" % (_kind(value), value))
        if op in ("In", "NotIn") and not values:
            raise ObjectError(epath + ".values", "operator %s needs at least one value" % op)
        if op in ("Exists", "DoesNotExist") and values:
            raise ObjectError(epath + ".values", "operator %s takes no values" % op)
        exprs.append((key, op, frozenset(values)))
    return Selector(required, tuple(sorted(exprs, key=lambda e: (e[0], e[1], sorted(e[2])))))


class IPBlock(object):
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
    raw = as_mapping(raw, path)
    _check_keys(raw, ("cidr", "except"), path)
    if raw.get("cidr") is None:
        raise ObjectError(path + ".cidr", "required")
    net = _parse_cidr(raw["cidr"], path + ".cidr")
    excepts = []
    for i, item in enumerate(as_list(raw.get("except"), path + ".except")):
        epath = "%s.except[%d]" % (path, i)
        exc = _parse_cidr(item, epath)
        if exc.version != net.version or not exc.subnet_of(net) or exc.prefixlen <= net.prefixlen:
            raise ObjectError(epath, "'%s' is not a strict subset of cidr '%s'" % (item, raw["cidr"]))
        excepts.append(exc)
    return IPBlock(net, tuple(excepts))


class Peer(object):
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
        raise ObjectError(path, "must be a mapping, got %s" % _kind(raw))
    _check_keys(raw, ("podSelector", "namespaceSelector", "ipBlock"), path)
    present = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if raw.get(k) is not None]
    if not present:
        raise ObjectError(path, "must specify podSelector, namespaceSelector or ipBlock")
    if "ipBlock" in present:
        if len(present) > 1:
            raise ObjectError(path, "ipBlock may not be combined with podSelector or namespaceSelector")
        return Peer(ipblock=_parse_ipblock(raw["ipBlock"], path + ".ipBlock"))
    ns_sel = _parse_selector(raw["namespaceSelector"], path + ".namespaceSelector") if "namespaceSelector" in present else None
    pod_sel = _parse_selector(raw["podSelector"], path + ".podSelector") if "podSelector" in present else None
    return Peer(ns_sel=ns_sel, pod_sel=pod_sel, scope=None if ns_sel is not None else policy_ns)


class Port(object):
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
        raise ObjectError(path, "must be a mapping, got %s" % _kind(raw))
    _check_keys(raw, ("protocol", "port", "endPort"), path)
    protocol = _protocol(raw.get("protocol"), path + ".protocol")
    port = raw.get("port")
    end = raw.get("endPort")
    if port is None:
        if end is not None:
            raise ObjectError(path + ".endPort", "endPort requires a numeric port")
        return Port(protocol)
    if isinstance(port, str):
        _port_name(port, path + ".port")
        if end is not None:
            raise ObjectError(path + ".endPort", "endPort may not be used with the named port %r" % port)
        return Port(protocol, name=port)
    number = port_number(port, path + ".port")
    if end is not None:
        end = port_number(end, path + ".endPort")
        if end < number:
            raise ObjectError(path + ".endPort", "endPort %d is lower than port %d" % (end, number))
    return Port(protocol, number, end)


class Rule(object):
    """One ingress or egress rule: peers (None = every peer) and ports (None = every port)."""

    __slots__ = ("policy", "direction", "index", "peers", "ports", "rid")

    def __init__(self, policy, direction, index, peers, ports):
        self.policy = policy
        self.direction = direction
        self.index = index
        self.peers = peers
        self.ports = ports
        self.rid = None


class Policy(object):
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
    for i, rule in enumerate(as_list(raw, path)):
        rpath = "%s[%d]" % (path, i)
        if not isinstance(rule, dict):
            raise ObjectError(rpath, "must be a mapping, got %s" % _kind(rule))
        _check_keys(rule, (peers_key, "ports"), rpath)
        peers = [_parse_peer(p, "%s.%s[%d]" % (rpath, peers_key, j), policy.namespace)
                 for j, p in enumerate(as_list(rule.get(peers_key), rpath + "." + peers_key))]
        ports = [_parse_port(p, "%s.ports[%d]" % (rpath, j)) for j, p in enumerate(as_list(rule.get("ports"), rpath + ".ports"))]
        rules.append(Rule(policy, direction, i, peers or None, ports or None))
    return rules


def parse_policy(raw, index):
    path = "policies[%d]" % index
    if not isinstance(raw, dict):
        raise ObjectError(path, "must be a NetworkPolicy mapping, got %s" % _kind(raw))
    if raw.get("apiVersion", "networking.k8s.io/v1") != "networking.k8s.io/v1":
        raise ObjectError(path + ".apiVersion", "expected networking.k8s.io/v1, got %r" % (raw.get("apiVersion"),))
    if raw.get("kind", "NetworkPolicy") != "NetworkPolicy":
        raise ObjectError(path + ".kind", "expected NetworkPolicy, got %r" % (raw.get("kind"),))
    meta = raw.get("metadata")
    if not isinstance(meta, dict):
        raise ObjectError(path + ".metadata", "must be a mapping with name and namespace, got %s" % _kind(meta))
    name = parse_name(meta.get("name"), path + ".metadata.name")
    namespace = parse_name(meta.get("namespace"), path + ".metadata.namespace")
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        raise ObjectError(path + ".spec", "must be a mapping, got %s" % _kind(spec))
    spath = path + ".spec"
    _check_keys(spec, ("podSelector", "policyTypes", "ingress", "egress"), spath)
    pod_sel = _parse_selector(spec.get("podSelector"), spath + ".podSelector")
    types = as_list(spec.get("policyTypes"), spath + ".policyTypes")
    for i, ptype in enumerate(types):
        if ptype not in POLICY_TYPES:
            raise ObjectError("%s.policyTypes[%d]" % (spath, i), "invalid policy type %r (expected Ingress or Egress)" % (ptype,))
    egress_raw = as_list(spec.get("egress"), spath + ".egress")
    if not types:
        # Omitted policyTypes: Ingress always, Egress only when the policy has egress rules.
        types = ["Ingress"] + (["Egress"] if egress_raw else [])
    policy = Policy(index, namespace, name, pod_sel, "Ingress" in types, "Egress" in types)
    policy.ingress_rules = _parse_rules(policy, spec.get("ingress"), "ingress", spath + ".ingress")
    policy.egress_rules = _parse_rules(policy, egress_raw, "egress", spath + ".egress")
    return policy


# --- cluster objects ------------------------------------------------------------------------------


class Pod(object):
    __slots__ = ("namespace", "name", "ref", "labels", "items", "ip", "ports", "named")

    def __init__(self, namespace, name, labels, items, ip, named):
        self.namespace = namespace
        self.name = name
        self.ref = "%s/%s" % (namespace, name)
        self.labels = labels
        self.items = items
        self.ip = ip
        self.named = named      # {(name, protocol): frozenset(numbers)}


def parse_pod(raw, index, namespaces):
    path = "pods[%d]" % index
    if not isinstance(raw, dict):
        raise ObjectError(path, "must be a mapping, got %s" % _kind(raw))
    namespace = parse_name(raw.get("namespace"), path + ".namespace")
    if namespace not in namespaces:
        raise ObjectError(path + ".namespace", "unknown namespace %r" % namespace)
    name = parse_name(raw.get("name"), path + ".name")
    labels, items = parse_labels(raw.get("labels"), path + ".labels")
    ip = None
    if raw.get("ip") not in (None, ""):
        ip = parse_ip(raw["ip"], path + ".ip")
    named = {}
    for i, port in enumerate(as_list(raw.get("ports"), path + ".ports")):
        ppath = "%s.ports[%d]" % (path, i)
        if not isinstance(port, dict):
            raise ObjectError(ppath, "must be a mapping, got %s" % _kind(port))
        number = port_number(port.get("containerPort"), ppath + ".containerPort")
        protocol = _protocol(port.get("protocol"), ppath + ".protocol")
        pname = port.get("name")
        if pname is not None:
            if not isinstance(pname, str):
                raise ObjectError(ppath + ".name", "must be a string, got %s" % _kind(pname))
            named.setdefault((pname, protocol), set()).add(number)
    named = dict((k, frozenset(v)) for k, v in named.items())
    return Pod(namespace, name, labels, items, ip, named)


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
        return cls("ip", ip=parse_ip(str(ip), "address"))

    @classmethod
    def parse(cls, text, path="endpoint"):
        """``"ns/name"`` or ``"ip:addr"`` (an Endpoint is returned as is)."""
        if isinstance(text, Endpoint):
            return text
        if not isinstance(text, str):
            raise ObjectError(path, "must be 'namespace/pod' or 'ip:address', got %s" % _kind(text))
        if text.startswith("ip:"):
            return cls("ip", ip=parse_ip(text[3:], path))
        parts = text.split("/")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ObjectError(path, "invalid endpoint %r (expected 'namespace/pod' or 'ip:address')" % text)
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


def probe_protocol(value, path="protocol"):
    if isinstance(value, str) and value.upper() in PROTOCOLS:
        return value.upper()
    raise ObjectError(path, "unsupported protocol %r (expected TCP, UDP or SCTP)" % (value,))
