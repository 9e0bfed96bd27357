# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The traffic matrix: validate and normalise ``netzone_matrix`` (plain Python, no Ansible).

One model drives every output of the collection.  :func:`normalize_matrix` takes what a user wrote (or
nothing: the article's model, :data:`DEFAULT_MATRIX`) and returns a fully explicit structure::

    {
      "cluster":  {"pod_cidr", "service_cidr", "api_server_port", "ingress_class",
                   "dns": {"namespace", "pod_labels", "service"}},
      "services": {name: [{"port": int, "end_port": int | None, "protocol": "TCP" | "UDP" | "SCTP"}]},
      "peers":    {name: {"internet": bool, "cidrs": [{"cidr": str, "except": [str]}], "from_group": str | None,
                          "services": [name] | None, "description": str,
                          "exclusions": [{"cidr": str, "reason": str}]}},   # what was cut out, and why
      "zones":    {name: {"namespace": str, "labels": {str: str}, "description": str,
                          "pod_security": {"enforce", "warn", "audit": level, "version": "v1.N" | "latest"}}},
      "flows":    [{"from": name, "to": name, "services": [name]}],   # sorted, one per (from, to)
      "vhosts":   [...],                                              # see vhosts.normalize_vhosts
      "guards":   {"nodeports": "deny" | "warn", "nodeport_exempt_namespaces": [str],
                   "internet_egress_zones": [zone], "ingress_zone": zone | None, "ingress_from": [name],
                   "ingress_host_ports": [int],
                   "unmanaged_internet": "deny" | "warn", "unmanaged_exempt_namespaces": [str],
                   "host_network": "deny" | "warn", "host_network_allowed": ["namespace/daemonset"]},
      "egress":   {...} | None,                                       # see egress.normalize_egress
    }

The guards are the article's rules that are not optional: a flow from a zone to an internet peer (``internet:
true``, or a ``0.0.0.0/0``/``::/0`` block) is refused unless the zone is one of ``internet_egress_zones``
(default: the proxy zone); a flow into the ingress zone is refused unless its source is one of
``ingress_from`` (default: the load balancers), and the load balancers must have a flow into it.

The cluster-wide guardrails reach past the zones (:mod:`cluster_policy`, ``compile.compile_guardrails``): pods of
a namespace that is neither a zone nor ``kube-system`` nor one of ``unmanaged_exempt_namespaces`` get no direct
internet (an AdminNetworkPolicy; ``unmanaged_internet``: ``warn``, the default, applies it with the action Pass,
``deny`` with Deny), and a pod with hostNetwork or a hostPort is refused unless a DaemonSet of
``host_network_allowed`` (``namespace/name``, default: MicroK8s' own, :data:`HOST_NETWORK_ALLOWED_DEFAULT`) owns
it (a ValidatingAdmissionPolicy; ``host_network``: ``warn``, the default, warns and audits, ``deny`` refuses).

Every zone namespace gets Pod Security Admission labels from its ``pod_security`` (level ``privileged``,
``baseline`` or ``restricted`` per mode, one ``version``): by default ``baseline`` enforced, warned and
audited as Kubernetes v1.33 defines it (:data:`POD_SECURITY_DEFAULT`), which refuses hostNetwork, hostPID,
hostIPC, hostPorts, privileged containers and hostPath volumes.  The ingress zone's controller needs
hostPorts, so that zone defaults to ``privileged`` enforced with ``baseline`` warned and audited
(:data:`POD_SECURITY_INGRESS_DEFAULT`), and an admission policy of its own admits only the hostPorts of
``guards.ingress_host_ports`` (default 80 and 443) there, and no host namespace or privileged container.

An internet peer is never wider than the internet: every block of it loses, on top of its own ``except``
list, each IANA special-purpose range of its IP version (:mod:`netranges`: loopback, link-local and the
cloud metadata addresses 169.254.169.254 and fd00:ec2::254, carrier-grade NAT, multicast, reserved space,
...), the cluster's CIDRs, and the address of every host of the inventory (the nodes and the load
balancers are not "the internet", even where their addresses are public).  ``exclusions`` lists each of
these with its reason; ``cidrs[].except`` is the collapsed result that the policies use.

Flows in the result include the zones' ``intra_zone`` services (as flows from a zone to itself) and their
``needs`` (as flows to a peer with the peer's default services).  Any invalid input raises
:class:`MatrixError` whose message names the path (``flows[3].to: unknown zone or peer 'bakend'``); no
other exception escapes for any input.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Mapping

from ansible_collections.netzone.segmentation.plugins.module_utils._model.egress import (
    check_written_flows,
    egress_flows,
    egress_services,
    normalize_egress,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import key_path as _key
from ansible_collections.netzone.segmentation.plugins.module_utils._common.trace import count
from ansible_collections.netzone.segmentation.plugins.module_utils._model import coverage
from ansible_collections.netzone.segmentation.plugins.module_utils._common.netranges import (
    PRIVATE_RANGES, SPECIAL_PURPOSE_V4, SPECIAL_PURPOSE_V6)

from ansible_collections.netzone.segmentation.plugins.module_utils._common.constants import (
    EGRESS_POD_LABELS,
    LOAD_BALANCER_GROUP,
    MANAGED_BY_LABEL,
    NAMESPACE_NAME_LABEL,
    ZONE_LABEL,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._model.pod_security import (
    LABEL_PREFIX as PSA_LABEL_PREFIX,
    PodSecurityError,
    check_level,
    parse_version,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._common.validators import (
    is_dns_label,
    is_label_key,
    is_label_value,
    protocol,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import normalize_vhosts
from ansible_collections.netzone.segmentation.plugins.module_utils._common import schema
from ansible_collections.netzone.segmentation.plugins.module_utils._common.validators import (
    did_you_mean, port_instead_of_name)
RESERVED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "default")
TOP_LEVEL_KEYS = ("cluster", "services", "peers", "zones", "flows", "vhosts", "guards", "egress")

# A service or peer name: like a DNS label, '_' allowed too.
_NAME = re.compile(r"^[a-z0-9]([-_a-z0-9]*[a-z0-9])?$")
_GROUP = re.compile(r"^[A-Za-z0-9_][-A-Za-z0-9_.]*$")
_PORT_SPEC = re.compile(r"^\s*(\d+)(?:\s*-\s*(\d+))?\s*(?:/\s*([A-Za-z]+))?\s*$")

#: The article's model (the collection README, "The matrix").  ``from_group`` peers are resolved from the inventory.
DEFAULT_MATRIX = {
    "cluster": {"pod_cidr": "10.1.0.0/16", "service_cidr": "10.152.183.0/24", "api_server_port": 16443},
    "services": {
        "http": ["80/tcp", "8080/tcp"],
        "https": ["443/tcp"],
        "postgres": ["5432/tcp"],
    },
    "peers": {
        "internet": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES),
                     "description": "the internet: everything but special-purpose ranges (private, loopback, "
                                    "link-local and cloud metadata, ...), the cluster's CIDRs and the inventory's hosts"},
        "load_balancers": {"from_group": "loadbalancers", "description": "the HAProxy hosts in front of the cluster"},
        "api_server": {"from_group": "microk8s", "services": ["kube_api"],
                       "description": "the Kubernetes API server on every control-plane node"},
        "external_db": {"cidrs": ["192.0.2.0/24"], "description": "databases outside the cluster (example range)"},
    },
    "zones": {
        "ingress": {"needs": ["api_server"], "description": "DMZ: the ingress controller"},
        "frontend": {"description": "static content, API gateways, auth proxies, caches; no internet"},
        "backend": {"intra_zone": ["http"], "description": "business services; no direct internet"},
        "proxy": {"description": "forward proxies: the only way to the internet"},
        "db": {"intra_zone": ["postgres"], "description": "stateful services; nothing goes out"},
    },
    "flows": [
        {"from": "load_balancers", "to": "ingress", "services": ["http"]},
        {"from": "ingress", "to": "frontend", "services": ["http"]},
        {"from": "frontend", "to": "backend", "services": ["http"]},
        {"from": "backend", "to": "db", "services": ["postgres"]},
        {"from": "backend", "to": "external_db", "services": ["postgres"]},
        {"from": "proxy", "to": "internet", "services": ["http", "https"]},
    ],
    # backend -> proxy (its own proxy port) and proxy -> internet are derived from this section.
    "egress": {
        "zones": {"backend": {"port": 3128, "domains": ["api.example.com", "*.example.org"], "ports": [443]}},
    },
    "vhosts": [
        {"name": "shop.example.com", "exposure": "public", "zone": "frontend", "service": "web", "port": 80,
         "tls": "selfsigned"},
    ],
}


def default_matrix():
    """Return a deep copy of the article's model, as a user would write it."""
    return copy.deepcopy(DEFAULT_MATRIX)


# The schema toolkit's words, under the names this module has always used.
_fail = schema.fail
_type_name = schema.got
_expect = schema.expect
_list = schema.optional_list


def _mapping(value, path, allowed=None, allow_none=True):
    if value is None and allow_none:
        return {}
    return schema.mapping(value, path, allowed)


def _is_name(value):
    return len(value) <= 63 and bool(_NAME.fullmatch(value))


def _is_group(value):
    return len(value) <= 63 and bool(_GROUP.fullmatch(value))


def _name(value, path, valid=_is_name, what="a name"):
    _expect(value, str, path)
    if not valid(value):
        _fail(path, "%r is not %s (lowercase letters, digits and '-', at most 63 characters)" % (value, what))
    return value


def _network(value, path):
    _expect(value, str, path, "a CIDR string")
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        _fail(path, "invalid CIDR %r" % value)


def _labels(value, path):
    labels = _mapping(value, path)
    out = {}
    for key, val in labels.items():
        if not is_label_key(key):
            _fail(_key(path, key), "invalid label key")
        if not is_label_value(val):
            _fail(_key(path, key), "invalid label value %r (at most 63 letters, digits, '-', '_', '.')" % (val,))
        out[key] = val
    return out


def parse_port(value, path):
    """Parse one port entry: ``80``, ``"80/tcp"``, ``"8000-8080/udp"`` or ``{port, end_port, protocol}``."""
    if isinstance(value, bool):
        _fail(path, "expected a port like 80, '53/udp' or '8000-8080/tcp', got a boolean")
    if isinstance(value, int):
        port, end, proto = value, None, "TCP"
    elif isinstance(value, str):
        match = _PORT_SPEC.fullmatch(value)
        if not match:
            _fail(path, "invalid port %r (expected e.g. 80, '53/udp' or '8000-8080/tcp')" % value)
        port = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else None
        proto = (match.group(3) or "tcp").upper()
    elif isinstance(value, dict):
        _mapping(value, path, ("port", "end_port", "protocol"), allow_none=False)
        port = _expect(value.get("port"), int, path + ".port")
        end = value.get("end_port")
        if end is not None:
            end = _expect(end, int, path + ".end_port")
        proto = _expect(value.get("protocol", "TCP"), str, path + ".protocol").upper()
    else:
        _fail(path, "expected a port like 80, '53/udp' or '8000-8080/tcp', got %s" % _type_name(value))
    if protocol(proto) is None:
        _fail(path, "unknown protocol %r (expected tcp, udp or sctp)" % proto.lower())
    if not 1 <= port <= 65535:
        _fail(path, "port %d out of range 1-65535" % port)
    if end is not None:
        if not 1 <= end <= 65535:
            _fail(path, "port %d out of range 1-65535" % end)
        if end < port:
            _fail(path, "range %d-%d ends before it starts" % (port, end))
        if end == port:
            end = None
    return {"port": port, "end_port": end, "protocol": proto}


def _cluster(raw, path="cluster"):
    raw = _mapping(raw, path, ("pod_cidr", "service_cidr", "api_server_port", "dns", "ingress_class"))
    pod = _network(raw.get("pod_cidr", "10.1.0.0/16"), path + ".pod_cidr")
    svc = _network(raw.get("service_cidr", "10.152.183.0/24"), path + ".service_cidr")
    api_port = raw.get("api_server_port", 16443)
    schema.port(api_port, path + ".api_server_port", "an integer")
    dns = _mapping(raw.get("dns"), path + ".dns", ("namespace", "pod_labels", "ports"))
    dns_ns = _name(dns.get("namespace", "kube-system"), path + ".dns.namespace", is_dns_label, "a namespace name")
    dns_labels = _labels(dns.get("pod_labels", {"k8s-app": "kube-dns"}), path + ".dns.pod_labels")
    if not dns_labels:
        _fail(path + ".dns.pod_labels", "must select the DNS pods (e.g. {k8s-app: kube-dns})")
    dns_ports = [parse_port(p, "%s.dns.ports[%d]" % (path, i))
                 for i, p in enumerate(_list(dns.get("ports", ["53/udp", "53/tcp"]), path + ".dns.ports"))]
    if not dns_ports:
        _fail(path + ".dns.ports", "must list at least one port")
    ingress_class = _name(raw.get("ingress_class", "public"), path + ".ingress_class", is_dns_label, "a class name")
    return {"pod_cidr": str(pod), "service_cidr": str(svc), "api_server_port": api_port,
            "ingress_class": ingress_class,
            "dns": {"namespace": dns_ns, "pod_labels": dns_labels, "ports": _sort_ports(dns_ports)}}


def _sort_ports(ports):
    unique = {(p["protocol"], p["port"], p["end_port"] or 0): p for p in ports}
    return [unique[k] for k in sorted(unique)]


def _services(raw, cluster, path="services"):
    raw = _mapping(raw, path)
    out = {"kube_api": [{"port": cluster["api_server_port"], "end_port": None, "protocol": "TCP"}],
           "dns": cluster["dns"]["ports"]}
    for name in sorted(raw):
        spath = _key(path, name)
        _name(name, spath, what="a service name")
        entries = raw[name]
        if not isinstance(entries, list):
            entries = [entries]
        if not entries:
            _fail(spath, "must list at least one port")
        out[name] = _sort_ports([parse_port(p, "%s[%d]" % (spath, i)) for i, p in enumerate(entries)])
    return out


def _resolve_group(group, inventory, path):
    if inventory is None:
        _fail(path, "no inventory was given to resolve group %r (pass the inventory, or give cidrs)" % group)
    groups = inventory.get("groups") or {}
    addresses = inventory.get("addresses") or {}
    hosts = groups.get(group)
    if not hosts:
        _fail(path, "inventory group %r is missing or empty: add its hosts to the inventory, or give cidrs" % group)
    nets = []
    for host in hosts:
        addr = addresses.get(host, host)
        try:
            ip = ipaddress.ip_address(str(addr))
        except ValueError:
            _fail(path, "host %r of group %r has no IP address (%r): set netzone_address or ansible_host to an IP"
                  % (host, group, addr))
        nets.append(ipaddress.ip_network(ip))
    return nets


def _peers(raw, cluster, services, inventory, bound=None, path="peers"):
    bound = bound or coverage.DEFAULT_INTERNET_BOUND
    raw = _mapping(raw, path)
    cluster_nets = [ipaddress.ip_network(cluster["pod_cidr"]), ipaddress.ip_network(cluster["service_cidr"])]
    inventory_hosts = _inventory_hosts(inventory)
    out = {}
    for name in sorted(raw):
        ppath = _key(path, name)
        _name(name, ppath, what="a peer name")
        twin = [other for other in out if other.replace("_", "-") == name.replace("_", "-")]
        if twin:
            _fail(ppath, "%r and %r differ only by '-' and '_' (policy names would clash)" % (twin[0], name))
        spec = _mapping(raw[name], ppath, ("cidr", "except", "cidrs", "from_group", "services", "description",
                                           "include_cluster", "internet"))
        blocks = []  # (network, [except networks], path)
        if "cidr" in spec:
            net = _network(spec["cidr"], ppath + ".cidr")
            excepts = [_network(e, "%s.except[%d]" % (ppath, i))
                       for i, e in enumerate(_list(spec.get("except"), ppath + ".except"))]
            blocks.append((net, excepts, ppath))
        elif "except" in spec:
            _fail(ppath + ".except", "needs a 'cidr' to be taken from")
        for i, entry in enumerate(_list(spec.get("cidrs"), ppath + ".cidrs")):
            epath = "%s.cidrs[%d]" % (ppath, i)
            if isinstance(entry, dict):
                _mapping(entry, epath, ("cidr", "except"), allow_none=False)
                net = _network(entry.get("cidr"), epath + ".cidr")
                excepts = [_network(e, "%s.except[%d]" % (epath, j))
                           for j, e in enumerate(_list(entry.get("except"), epath + ".except"))]
            else:
                net, excepts = _network(entry, epath), []
            blocks.append((net, excepts, epath))
        group = spec.get("from_group")
        if group is not None:
            _name(group, ppath + ".from_group", _is_group, "a group name")
            for net in _resolve_group(group, inventory, ppath + ".from_group"):
                blocks.append((net, [], ppath + ".from_group"))
        if not blocks:
            _fail(ppath, "needs 'cidr', 'cidrs' or 'from_group'")
        include_cluster = _expect(spec.get("include_cluster", False), bool, ppath + ".include_cluster")
        for net, excepts, bpath in blocks:
            for j, exc in enumerate(excepts):
                if exc.version != net.version or not exc.subnet_of(net) or exc == net:
                    _fail("%s.except[%d]" % (bpath, j), "%s is not strictly inside %s" % (exc, net))
        wide = _internet_by_coverage(blocks, [] if include_cluster else cluster_nets, bound)
        internet = _expect(spec.get("internet", bool(wide)), bool, ppath + ".internet")
        if wide and not internet:
            _fail(ppath + ".internet", "is false, but the peer covers %s, more than %s (guards.internet_bound): "
                  "that is the internet, however it is written; give a named external service a narrow peer of "
                  "its own addresses, or raise guards.internet_bound deliberately"
                  % (wide[1], coverage.bound_text(bound, wide[0])))
        dropped = []
        if internet and len(blocks) > 1:
            blocks, dropped = _drop_special_blocks(blocks)
        cidrs, exclusions = [], dropped
        for net, excepts, bpath in blocks:
            automatic = []
            if not include_cluster:
                automatic += [(c, "the cluster's %s" % what) for c, what in zip(cluster_nets, ("pod CIDR", "service CIDR"))
                              if c.version == net.version and c.subnet_of(net) and c != net]
            if internet:
                automatic += _not_internet(net, bpath, inventory_hosts)
            excepts = excepts + [exc for exc, _reason in automatic]
            exclusions += [{"cidr": str(exc), "reason": reason} for exc, reason in automatic]
            kept = sorted(set(ipaddress.collapse_addresses(excepts)), key=_net_key) if excepts else []
            if net in kept:
                _fail(bpath, "the except list covers all of %s: nothing is left of this block" % net)
            cidrs.append({"cidr": str(net), "except": [str(e) for e in kept]})
        unique = {(c["cidr"], tuple(c["except"])): c for c in cidrs}
        peer_services = spec.get("services")
        if peer_services is not None:
            peer_services = _service_refs(peer_services, services, ppath + ".services")
        description = _expect(spec.get("description", ""), str, ppath + ".description")
        seen = set()
        exclusions = [e for e in exclusions if (e["cidr"], e["reason"]) not in seen and not seen.add((e["cidr"], e["reason"]))]
        out[name] = {"internet": internet, "cidrs": [unique[k] for k in sorted(unique, key=lambda k: (_net_key(ipaddress.ip_network(k[0])), k[1]))],
                     "from_group": group, "services": peer_services, "description": description,
                     "exclusions": exclusions}
    return out


def _internet_by_coverage(blocks, cluster_nets, bound):
    """``(version, "N public IPvV addresses")`` when the blocks (minus their excepts and the cluster's CIDRs)
    cover more public addresses than ``bound`` allows, else ``None``: the internet by coverage, not spelling."""
    space = coverage.minus(coverage.blocks_space([(net, excepts) for net, excepts, _path in blocks]),
                           coverage.networks_space(cluster_nets))
    over = coverage.exceeds(space, bound)
    return (over[0], coverage.describe(space, over[0])) if over else None


def _drop_special_blocks(blocks):
    """An internet peer written as several blocks loses those that lie wholly inside a special-purpose range
    (``0.0.0.0/1`` cut into /8s includes ``10.0.0.0/8``): they are not the internet, the rest is.  A peer whose
    every block is special-purpose keeps them, and is refused by :func:`_not_internet`."""
    kept, dropped = [], []
    for block in blocks:
        special = [(c, n) for c, n in SPECIAL_PURPOSE_V4 + SPECIAL_PURPOSE_V6
                   if ipaddress.ip_network(c).version == block[0].version and block[0].subnet_of(ipaddress.ip_network(c))]
        if special:
            dropped.append({"cidr": str(block[0]), "reason": "IANA special-purpose: %s" % special[0][1]})
        else:
            kept.append(block)
    return (kept, dropped) if kept else (blocks, [])


def _inventory_hosts(inventory):
    """(network of one address, host name) for every inventory host whose address is an IP address."""
    if not inventory:
        return []
    out = []
    addresses = inventory.get("addresses") or {}
    hosts = sorted(set(h for members in (inventory.get("groups") or {}).values() for h in members or ()))
    for host in hosts:
        try:
            ip = ipaddress.ip_address(str(addresses.get(host, host)).strip())
        except ValueError:
            continue  # a name, not an address: nothing to cut out (from_group peers refuse such hosts)
        out.append((ipaddress.ip_network(ip), "inventory host %s" % host))
    return out


def _not_internet(net, path, inventory_hosts):
    """What an internet block ``net`` must not cover: (network, reason) for each special-purpose range and
    each inventory host inside it.  A block that lies wholly inside a special-purpose range is refused."""
    table = SPECIAL_PURPOSE_V4 if net.version == 4 else SPECIAL_PURPOSE_V6
    out = []
    for cidr, name in table:
        special = ipaddress.ip_network(cidr)
        if net.subnet_of(special):
            _fail(path, "%s is special-purpose address space (%s %s), not the internet: give this range its "
                  "own peer without 'internet: true'" % (net, special, name))
        if special.subnet_of(net):
            out.append((special, "IANA special-purpose: %s" % name))
    out += [(host, reason) for host, reason in inventory_hosts
            if host.version == net.version and host.subnet_of(net) and host != net]
    return out


def _net_key(net):
    return (net.version, int(net.network_address), net.prefixlen)


def _service_refs(value, services, path):
    refs = _list(value, path)
    if not refs:
        _fail(path, "must list at least one service")
    for i, ref in enumerate(refs):
        hint = port_instead_of_name(ref, services)
        if not isinstance(ref, str):
            _fail("%s[%d]" % (path, i), "expected a service name, got %s%s" % (_type_name(ref), hint))
        if ref not in services:
            _fail("%s[%d]" % (path, i), "unknown service %r%s" % (ref, hint or _hint(ref, services)))
    return sorted(set(refs))


def _hint(name, known):
    return did_you_mean(name, known)


def _zones(raw, services, peers, path="zones"):
    raw = _mapping(raw, path)
    if not raw:
        _fail(path, "must define at least one zone")
    out, namespaces, extra_flows = {}, {}, []
    for name in sorted(raw):
        zpath = _key(path, name)
        _name(name, zpath, is_dns_label, "a zone name")
        if name in peers or name.replace("-", "_") in peers:
            _fail(zpath, "%r is both a zone and a peer (names must differ, '-' and '_' alike)" % name)
        spec = _mapping(raw[name], zpath, ("namespace", "labels", "intra_zone", "needs", "description",
                                           "pod_security"))
        namespace = _name(spec.get("namespace", name), zpath + ".namespace", is_dns_label, "a namespace name")
        if namespace in RESERVED_NAMESPACES:
            _fail(zpath + ".namespace", "%r is reserved: the collection never writes policies there" % namespace)
        if namespace in namespaces:
            _fail(zpath + ".namespace", "namespace %r is already used by zone %r" % (namespace, namespaces[namespace]))
        namespaces[namespace] = name
        labels = _labels(spec.get("labels"), zpath + ".labels")
        for reserved in (ZONE_LABEL, MANAGED_BY_LABEL, NAMESPACE_NAME_LABEL):
            if reserved in labels:
                _fail("%s.labels.%s" % (zpath, reserved), "is set by the collection")
        for key in labels:
            if key.startswith(PSA_LABEL_PREFIX):
                _fail("%s.labels.%s" % (zpath, key), "is set by the collection: use %s.pod_security" % zpath)
        if "intra_zone" in spec:
            intra = _service_refs(spec["intra_zone"], services, zpath + ".intra_zone")
            extra_flows.append(({"from": name, "to": name, "services": intra}, zpath + ".intra_zone"))
        for i, need in enumerate(_list(spec.get("needs"), zpath + ".needs")):
            npath = "%s.needs[%d]" % (zpath, i)
            _expect(need, str, npath, "a peer name")
            if need not in peers:
                _fail(npath, "unknown peer %r%s" % (need, _hint(need, peers)))
            if not peers[need]["services"]:
                _fail(npath, "peer %r has no default 'services'; write a flow instead" % need)
            extra_flows.append(({"from": name, "to": need, "services": peers[need]["services"]}, npath))
        description = _expect(spec.get("description", ""), str, zpath + ".description")
        out[name] = {"namespace": namespace, "labels": labels, "description": description,
                     "pod_security": spec.get("pod_security")}   # checked by _pod_security (needs the guards)
    return out, extra_flows


#: Pod Security of a zone when the matrix says nothing: baseline (no hostNetwork, hostPort, privileged, ...),
#: evaluated as Kubernetes 1.33 defines it; warn and audit follow enforce.
POD_SECURITY_DEFAULT = {"enforce": "baseline", "version": "v1.33"}
#: The ingress zone's: the controller needs hostPorts, which baseline forbids; the ingress pod admission policy
#: (compile.compile_ingress_pod_admission) admits only the hostPorts of guards.ingress_host_ports instead and
#: refuses host namespaces, privileged containers, hostPath volumes and extra capabilities; warn and audit stay
#: baseline, so everything else baseline forbids is still reported.
POD_SECURITY_INGRESS_DEFAULT = {"enforce": "privileged", "warn": "baseline", "audit": "baseline", "version": "v1.33"}


def _pod_security(zones, ingress_zone, path="zones"):
    """Normalise every zone's ``pod_security`` to ``{enforce, warn, audit, version}``."""
    for name, zone in zones.items():
        ppath = _key(path, name) + ".pod_security"
        raw = _mapping(zone["pod_security"], ppath, ("enforce", "warn", "audit", "version"))
        defaults = POD_SECURITY_INGRESS_DEFAULT if name == ingress_zone else POD_SECURITY_DEFAULT
        enforce = raw.get("enforce", defaults["enforce"])
        settings = {}
        for mode in ("enforce", "warn", "audit"):
            level = raw.get(mode, defaults.get(mode, enforce) if "enforce" not in raw else enforce)
            _expect(level, str, "%s.%s" % (ppath, mode), "a Pod Security level")
            try:
                settings[mode] = check_level(level)
            except PodSecurityError as exc:
                _fail("%s.%s" % (ppath, mode), str(exc))
        version = raw.get("version", defaults["version"])
        _expect(version, str, ppath + ".version", "a Pod Security version")
        try:
            parse_version(version)
        except PodSecurityError as exc:
            _fail(ppath + ".version", str(exc))
        settings["version"] = version
        zone["pod_security"] = settings


def _endpoints(value, zones, peers, path):
    names = value if isinstance(value, list) else [value]
    if not names:
        _fail(path, "must name at least one zone or peer")
    for i, name in enumerate(names):
        npath = "%s[%d]" % (path, i) if isinstance(value, list) else path
        _expect(name, str, npath, "a zone or peer name")
        if name not in zones and name not in peers:
            _fail(npath, "unknown zone or peer %r%s" % (name, _hint(name, list(zones) + list(peers))))
    return names


def _flows(raw, zones, peers, services, extra, path="flows"):
    merged, origins = {}, {}
    items = [(f, "%s[%d]" % (path, i)) for i, f in enumerate(_list(raw, path))] + list(extra)
    for flow, fpath in items:
        _mapping(flow, fpath, ("from", "to", "services", "description"), allow_none=False)
        if "from" not in flow:
            _fail(fpath + ".from", "is required")
        if "to" not in flow:
            _fail(fpath + ".to", "is required")
        sources = _endpoints(flow["from"], zones, peers, fpath + ".from")
        targets = _endpoints(flow["to"], zones, peers, fpath + ".to")
        for src in sources:
            for dst in targets:
                if src in peers and dst in peers:
                    _fail(fpath, "flow %s -> %s joins two peers outside the cluster; one side must be a zone"
                          % (src, dst))
                if "services" in flow:
                    refs = _service_refs(flow["services"], services, fpath + ".services")
                elif dst in peers and peers[dst]["services"]:
                    refs = peers[dst]["services"]
                else:
                    _fail(fpath + ".services", "is required (the destination has no default services)")
                merged.setdefault((src, dst), set()).update(refs)
                origins.setdefault((src, dst), fpath)
    flows = [{"from": s, "to": d, "services": sorted(merged[(s, d)])} for s, d in sorted(merged)]
    return flows, origins


GUARD_KEYS = ("nodeports", "nodeport_exempt_namespaces", "internet_egress_zones", "internet_bound",
              "internet_egress_pods", "ingress_zone", "ingress_from", "ingress_exemptions", "ingress_host_ports",
              "unmanaged_internet", "unmanaged_exempt_namespaces", "host_network", "host_network_allowed")


def _internet_bound(raw, path="guards"):
    """``guards.internet_bound``: {ipv4: prefix length, ipv6: prefix length} (read before the peers)."""
    raw = _mapping(raw, path, GUARD_KEYS)
    bpath = path + ".internet_bound"
    given = _mapping(raw.get("internet_bound"), bpath, ("ipv4", "ipv6"))
    out = {}
    for key, top in (("ipv4", 32), ("ipv6", 128)):
        value = _expect(given.get(key, coverage.DEFAULT_INTERNET_BOUND[key]), int, "%s.%s" % (bpath, key),
                        "a prefix length")
        if not 0 <= value <= top:
            _fail("%s.%s" % (bpath, key), "prefix length %d out of range 0-%d" % (value, top))
        out[key] = value
    return out


def _internet_message(src, what, egress_zones):
    return ("zone %r may not reach the internet %s: internet egress goes through %s "
            "(guards.internet_egress_zones); to permit a named external service, give it a narrow peer of "
            "its own addresses (cidrs), or list its domain for the zone in the egress section"
            % (src, what, " or ".join(map(repr, egress_zones)) or "no zone"))


def _check_internet_reach(zones, peers, flows, origins, egress_zones, bound, spaces):
    """Every zone but the internet-egress zones: no internet peer, and not the internet as a union of peers."""
    reach = {}
    for flow in flows:
        src, dst = flow["from"], flow["to"]
        if src in zones and dst in peers and src not in egress_zones:
            if peers[dst]["internet"]:
                _fail(origins[(src, dst)], _internet_message(src, "peer %r directly" % dst, egress_zones))
            reach.setdefault(src, []).append(dst)
    for src in sorted(reach):
        names = [name for name in reach[src] if any(coverage.public(spaces[name]).values())]
        space = coverage.union(*[spaces[name] for name in names]) if names else coverage.empty()
        over = coverage.exceeds(space, bound)
        if over:
            where = sorted(origins[(src, name)] for name in names)
            _fail(where[-1], _internet_message(
                src, "through peers %s together (%s: %s, more than %s, guards.internet_bound)"
                % (", ".join(map(repr, names)), ", ".join(where), coverage.describe(space, over[0]),
                   coverage.bound_text(bound, over[0])), egress_zones))


def _load_balancer_space(inventory):
    """The load balancers' own addresses (inventory group ``loadbalancers``), or None when not known."""
    hosts = ((inventory or {}).get("groups") or {}).get(LOAD_BALANCER_GROUP) or []
    addresses = (inventory or {}).get("addresses") or {}
    nets = []
    for host in hosts:
        try:
            nets.append(ipaddress.ip_network(ipaddress.ip_address(str(addresses.get(host, host)).strip())))
        except ValueError:
            continue
    return coverage.networks_space(nets) if nets else None


def _ingress_exemptions(raw, peers, path):
    out = []
    for i, entry in enumerate(_list(raw, path)):
        epath = "%s[%d]" % (path, i)
        _mapping(entry, epath, ("peer", "reason"), allow_none=False)
        name = _expect(entry.get("peer"), str, epath + ".peer", "a peer name")
        if name not in peers:
            _fail(epath + ".peer", "unknown peer %r%s" % (name, _hint(name, peers)))
        reason = _expect(entry.get("reason"), str, epath + ".reason",
                         "a reason (why this peer may be wider than the load balancers)")
        if not reason.strip():
            _fail(epath + ".reason", "must say why this peer may reach the ingress zone")
        out.append({"peer": name, "reason": reason.strip()})
    return sorted(out, key=lambda e: e["peer"])


def _check_ingress_sources(ingress_zone, peers, flows, origins, exemptions, lb_space, spaces):
    """A peer that reaches the ingress zone covers the load balancers' addresses only (no public address
    besides theirs, nothing wider), unless a named exemption says otherwise."""
    exempt = {e["peer"] for e in exemptions}
    for flow in flows:
        src = flow["from"]
        if flow["to"] != ingress_zone or src not in peers or src in exempt:
            continue
        space = spaces[src]
        beyond = coverage.minus(space, lb_space) if lb_space is not None else coverage.public(space)
        public = coverage.public(beyond)
        wrong = public if any(public.values()) else beyond if lb_space is not None else coverage.empty()
        if any(wrong.values()):
            nets = coverage.networks(wrong)
            shown = ", ".join(str(n) for n in nets[:4]) + (", ..." if len(nets) > 4 else "")
            what = "public addresses" if wrong is public else "addresses"
            _fail(origins[(src, ingress_zone)],
                  "peer %r would let %s that are not the load balancers' (%s) into the ingress zone %r: only the "
                  "load balancers reach it (inventory group %r); narrow the peer to their addresses, or add a "
                  "named exemption with its reason to guards.ingress_exemptions"
                  % (src, what, shown, ingress_zone, LOAD_BALANCER_GROUP))


def _egress_pods(raw, path):
    labels = _labels(raw, path)
    if not labels:
        _fail(path, "must select the egress proxies' pods by label (e.g. {%s: %s}): in an internet-egress zone "
              "only they reach outside" % next(iter(EGRESS_POD_LABELS.items())))
    return dict(sorted(labels.items()))


#: The DaemonSets of MicroK8s that run on the host network or with hostPorts (``namespace/name``): Calico's node
#: agent (hostNetwork), the ingress addon's controller (hostPorts 80 and 443: nginx up to 1.34, Traefik since)
#: and the MetalLB addon's speaker (hostNetwork).
HOST_NETWORK_ALLOWED_DEFAULT = ("kube-system/calico-node", "ingress/nginx-ingress-microk8s-controller",
                                "ingress/traefik", "metallb-system/speaker")
_STAGES = ("deny", "warn")


def _stage(raw, key, default, path):
    mode = _expect(raw.get(key, default), str, "%s.%s" % (path, key))
    return schema.one_of(mode, _STAGES, "%s.%s" % (path, key), " (staged rollout)")


def _host_network_allowed(raw, path):
    out = []
    for i, entry in enumerate(_list(raw, path)):
        epath = "%s[%d]" % (path, i)
        _expect(entry, str, epath, "'namespace/daemonset'")
        namespace, sep, name = entry.partition("/")
        if not sep or not is_dns_label(namespace) or len(name) > 253 or not re.fullmatch(
                r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name):
            _fail(epath, "expected 'namespace/daemonset' (a namespace name, '/', a DaemonSet name), got %r" % entry)
        out.append(entry)
    return sorted(set(out))


def _cluster_guards(raw, zones, path):
    """The cluster-wide guardrails: direct internet of namespaces the matrix does not manage, host network."""
    exempt = [_name(n, "%s.unmanaged_exempt_namespaces[%d]" % (path, i), is_dns_label, "a namespace name")
              for i, n in enumerate(_list(raw.get("unmanaged_exempt_namespaces"),
                                          path + ".unmanaged_exempt_namespaces"))]
    for i, name in enumerate(exempt):
        for zone, spec in zones.items():
            if spec["namespace"] == name:
                _fail("%s.unmanaged_exempt_namespaces[%d]" % (path, i),
                      "%r is the namespace of zone %r: a zone is managed, its own policies decide" % (name, zone))
    return {"unmanaged_internet": _stage(raw, "unmanaged_internet", "warn", path),
            "unmanaged_exempt_namespaces": sorted(set(exempt) | {"kube-system"}),
            "host_network": _stage(raw, "host_network", "warn", path),
            "host_network_allowed": _host_network_allowed(
                raw.get("host_network_allowed", list(HOST_NETWORK_ALLOWED_DEFAULT)), path + ".host_network_allowed")}


def _guards(raw, zones, peers, flows, origins, inventory=None, has_egress=False, path="guards"):
    raw = _mapping(raw, path, GUARD_KEYS)
    bound = _internet_bound(raw, path)
    spaces = dict((name, coverage.peer_space(peer)) for name, peer in peers.items())
    mode = _expect(raw.get("nodeports", "deny"), str, path + ".nodeports")
    schema.one_of(mode, _STAGES, path + ".nodeports", " (staged rollout)")
    exempt = [_name(n, "%s.nodeport_exempt_namespaces[%d]" % (path, i), is_dns_label, "a namespace name")
              for i, n in enumerate(_list(raw.get("nodeport_exempt_namespaces"), path + ".nodeport_exempt_namespaces"))]
    egress_zones = _list(raw.get("internet_egress_zones", ["proxy"] if "proxy" in zones else []),
                         path + ".internet_egress_zones")
    for i, zone in enumerate(egress_zones):
        _expect(zone, str, "%s.internet_egress_zones[%d]" % (path, i), "a zone name")
        if zone not in zones:
            _fail("%s.internet_egress_zones[%d]" % (path, i), "unknown zone %r%s" % (zone, _hint(zone, zones)))
    ingress_zone = raw.get("ingress_zone", "ingress" if "ingress" in zones else None)
    if ingress_zone is not None:
        _expect(ingress_zone, str, path + ".ingress_zone", "a zone name")
        if ingress_zone not in zones:
            _fail(path + ".ingress_zone", "unknown zone %r%s" % (ingress_zone, _hint(ingress_zone, zones)))
    ingress_from = _list(raw.get("ingress_from", ["load_balancers"] if "load_balancers" in peers else []),
                         path + ".ingress_from")
    for i, name in enumerate(ingress_from):
        _expect(name, str, "%s.ingress_from[%d]" % (path, i), "a zone or peer name")
        if name not in zones and name not in peers:
            _fail("%s.ingress_from[%d]" % (path, i), "unknown zone or peer %r%s" % (name, _hint(name, list(zones) + list(peers))))
    _check_internet_reach(zones, peers, flows, origins, egress_zones, bound, spaces)
    for flow in flows:
        src, dst = flow["from"], flow["to"]
        where = origins[(src, dst)]
        if ingress_zone is not None and dst == ingress_zone and src != dst and src not in ingress_from:
            _fail(where, "only %s may reach the ingress zone %r (guards.ingress_from)"
                  % (" and ".join(map(repr, ingress_from)) or "nobody", ingress_zone))
    exemptions = _ingress_exemptions(raw.get("ingress_exemptions"), peers, path + ".ingress_exemptions")
    if ingress_zone is not None:
        _check_ingress_sources(ingress_zone, peers, flows, origins, exemptions, _load_balancer_space(inventory),
                               spaces)
    egress_pods = _egress_pods(raw["internet_egress_pods"], path + ".internet_egress_pods") \
        if raw.get("internet_egress_pods") is not None else dict(EGRESS_POD_LABELS) if has_egress else {}
    if ingress_zone is not None and ingress_from and not any(
            f["to"] == ingress_zone and f["from"] in ingress_from for f in flows):
        _fail(path + ".ingress_from", "no flow from %s into the ingress zone %r: the platform would be unreachable"
              % (" or ".join(map(repr, ingress_from)), ingress_zone))
    host_ports = _list(raw.get("ingress_host_ports", [80, 443]), path + ".ingress_host_ports")
    for i, port in enumerate(host_ports):
        ipath = "%s.ingress_host_ports[%d]" % (path, i)
        schema.port(port, ipath)
    out = {"nodeports": mode, "nodeport_exempt_namespaces": sorted(set(exempt)),
           "internet_egress_zones": sorted(set(egress_zones)), "internet_bound": bound,
           "internet_egress_pods": egress_pods, "ingress_zone": ingress_zone,
           "ingress_from": sorted(set(ingress_from)), "ingress_exemptions": exemptions,
           "ingress_host_ports": sorted(set(host_ports))}
    out.update(_cluster_guards(raw, zones, path))
    return out


#: Argument spec of the ``netzone.segmentation.matrix_input`` doc fragment (modules that check a cluster).
MATRIX_INPUT_ARGS = {
    "plan": {"type": "dict"},
    "matrix": {"type": "dict"},
    "inventory": {"type": "dict", "default": {}},
}
#: What a module with :data:`MATRIX_INPUT_ARGS` passes to ``AnsibleModule``: a plan or a matrix.
MATRIX_INPUT_RULES = {"mutually_exclusive": [("plan", "matrix")], "required_one_of": [("plan", "matrix")]}


def matrix_from_params(params):
    """Normalise a module's ``matrix`` and ``inventory`` parameters (an empty matrix is the default model)."""
    return normalize_matrix(params.get("matrix") or None, params.get("inventory") or None)


def normalize_matrix(raw=None, inventory=None):
    """Validate ``raw`` (None means the article's default model) and return the normalised matrix.

    ``inventory`` resolves ``from_group`` peers: ``{"groups": {group: [host, ...]}, "addresses": {host: ip}}``
    (a host missing from ``addresses`` must itself be an IP address).
    """
    count("normalise")
    if raw is None:
        raw = default_matrix()
    _mapping(raw, "netzone_matrix", TOP_LEVEL_KEYS)
    if inventory is not None:
        _mapping(inventory, "inventory", ("groups", "addresses"))
    cluster = _cluster(raw.get("cluster"))
    services = _services(raw.get("services"), cluster)
    peers = _peers(raw.get("peers"), cluster, services, inventory, _internet_bound(raw.get("guards")))
    zones, extra = _zones(raw.get("zones"), services, peers)
    egress = normalize_egress(raw.get("egress"), zones, peers)
    if egress is not None:
        check_written_flows(raw.get("flows"), egress, services)
        for name, ports in egress_services(egress).items():
            if name in services:
                _fail(_key("services", name), "the name is taken by the egress section's derived flows")
            services[name] = ports
        extra = extra + egress_flows(egress)
    flows, origins = _flows(raw.get("flows"), zones, peers, services, extra)
    vhosts = normalize_vhosts(raw.get("vhosts"), set(zones))
    guards = _guards(raw.get("guards"), zones, peers, flows, origins, inventory, egress is not None)
    _pod_security(zones, guards["ingress_zone"])
    return {"cluster": cluster, "services": services, "peers": peers, "zones": zones, "flows": flows,
            "vhosts": vhosts, "guards": guards, "egress": egress}


def with_overrides(raw, overrides=None):
    """The matrix as written (an empty one: the article's model) with ``overrides`` put into it, before any
    validation, so that they are validated with it and every consumer of the raw matrix sees them.

    :param overrides: ``{section: {key: value}}``; each key replaces that key of the matrix's section
        (``{"guards": {"nodeports": "warn"}}``). Sections and keys are checked when the result is normalised.
    :raises MatrixError: when ``raw`` or ``overrides`` is not a mapping of that shape.
    """
    matrix = _plain(raw) if raw else default_matrix()
    _mapping(matrix, "matrix", allow_none=False)
    for section, values in _mapping(overrides, "overrides").items():
        values = _mapping(values, _key("overrides", section))
        if not values:
            continue
        current = matrix.get(section)
        if current is None:
            current = matrix[section] = {}
        _mapping(current, section, allow_none=False)
        current.update(_plain(values))
    return matrix


def _plain(value):
    """A copy made of plain dicts and lists, reading every value (so that values a caller computes lazily,
    such as Ansible's templated variables, are computed here, in the caller's context)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
