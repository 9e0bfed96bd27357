# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The matrix ``egress`` section: who may reach what on the internet, through which proxy port (plain Python).

The proxy zone holds the only way out: a forward proxy (Squid) with **one port per source zone**, and TLS
origination listeners (HAProxy), one per origination.  A zone's identity is the port its NetworkPolicy lets
it reach, never a pod address.  :func:`normalize_egress` validates the section and returns::

    {"zone": "proxy", "namespace": "proxy", "internet_peer": "internet",
     "zones": {zone: {"port": 3128, "domains": ["api.example.com", "*.example.org"], "ports": [443],
                      "report_only": False, "service": "egress-proxy-backend"}},
     "originations": [{"name": "payments", "from": ["backend"], "port": 8080,
                       "upstream": {"url": "https://api.pay.example:8443", "host": "api.pay.example", "port": 8443},
                       "ca": "files/pay-ca.pem", "client_cert": {"cert": ..., "key": ...} | None,
                       "service": "egress-origin-payments"}]}

:func:`egress_flows` derives the flows into the proxy zone (each zone: its own proxy port and the ports of
the originations that list it) and from the proxy zone to the internet peer (the allowed ports and the
upstream ports), as services named ``egress-proxy-<zone>``, ``egress-origin-<name>`` and ``egress-upstream``.
A flow written in ``flows`` into the proxy zone from a zone the section lists is refused: it would be written
twice (other flows in, such as monitoring's, stay allowed).
Every invalid input raises :class:`MatrixError` naming the path (``egress.zones.bakend: unknown zone``).
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import key_path as _key
from ansible_collections.netzone.segmentation.plugins.module_utils._common import schema
from ansible_collections.netzone.segmentation.plugins.module_utils._common.validators import did_you_mean

SECTION_KEYS = ("zone", "internet_peer", "zones", "originations")
ZONE_KEYS = ("port", "domains", "ports", "report_only")
ORIGINATION_KEYS = ("name", "from", "upstream", "ca", "client_cert", "port")
DEFAULT_PROXY_PORT = 3128
DEFAULT_ORIGINATION_PORT = 8080
DEFAULT_ALLOWED_PORTS = (443,)
#: Container ports the workload uses for itself (health endpoints): never a zone's or an origination's port.
RESERVED_PORTS = (8404, 8405)
PROXY_SERVICE_NAME = "egress-proxy"
ORIGINATION_DEPLOYMENT = "egress-origination"
UPSTREAM_SERVICE = "egress-upstream"

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_UPSTREAM = re.compile(r"^https://([^/:?#\s]+)(?::(\d{1,5}))?/?$")


# The schema toolkit's words, under the names this module has always used.
_fail = schema.fail
_type_name = schema.got
_expect = schema.expect
_mapping = schema.mapping
_list = schema.optional_list
_port = schema.port


def _is_ip_literal(text):
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return False


def hostname(value, path, what="a domain"):
    """A DNS name (lowercased) with at least two labels; IP literals and single labels are refused."""
    _expect(value, str, path, what + " (a string)")
    name = value.strip().rstrip(".").lower()
    if _is_ip_literal(name):
        _fail(path, "%r is an IP address: give a domain name (IP literals are always refused by the proxy)" % value)
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(len(label) <= 63 and _LABEL.fullmatch(label) for label in labels):
        _fail(path, "%r is not a valid domain name (like api.example.com)" % value)
    if labels[-1].isdigit():
        _fail(path, "%r is not a valid domain name (the last label is numeric)" % value)
    return name


def domain(value, path):
    """``api.example.com`` or ``*.example.com`` (every name below example.com, not example.com itself)."""
    _expect(value, str, path, "a domain (a string)")
    text = value.strip()
    if text.startswith("*."):
        base = hostname(text[2:], path)
        return "*." + base
    if "*" in text:
        _fail(path, "%r: a wildcard is only allowed as the whole first label ('*.example.com')" % value)
    return hostname(text, path)


def _file(value, path):
    _expect(value, str, path, "a file path on the controller (a string)")
    if not value.strip():
        _fail(path, "must name a file on the controller")
    return value


def _proxy_zone(raw, zones, guards_egress, path):
    zone = raw.get("zone")
    if zone is None:
        zone = "proxy" if "proxy" in zones else (guards_egress[0] if len(guards_egress) == 1 else None)
        if zone is None:
            _fail(path + ".zone", "is required (no zone named 'proxy')")
    _expect(zone, str, path + ".zone", "a zone name")
    if zone not in zones:
        _fail(path + ".zone", "unknown zone %r%s" % (zone, did_you_mean(zone, zones)))
    return zone


def normalize_egress(raw, zones, peers, path="egress"):
    """Validate the ``egress`` section (None: no section).  ``zones``/``peers``: the normalised ones."""
    if raw is None:
        return None
    _mapping(raw, path, SECTION_KEYS)
    zone = _proxy_zone(raw, zones, [], path)
    internet_peer = raw.get("internet_peer", "internet")
    _expect(internet_peer, str, path + ".internet_peer", "a peer name")
    if internet_peer not in peers:
        _fail(path + ".internet_peer", "unknown peer %r" % internet_peer)
    if not peers[internet_peer]["internet"]:
        _fail(path + ".internet_peer", "peer %r is not an internet peer (internet: true, or a 0.0.0.0/0 block)"
              % internet_peer)
    used_ports = {}  # port -> path of its first use

    def claim(port, ppath):
        if port in RESERVED_PORTS:
            _fail(ppath, "port %d is reserved for the proxies' health endpoints (%s)"
                  % (port, ", ".join(map(str, RESERVED_PORTS))))
        if port in used_ports:
            _fail(ppath, "duplicate port %d (already used by %s)" % (port, used_ports[port]))
        used_ports[port] = ppath

    zpath = path + ".zones"
    raw_zones = raw.get("zones")
    if raw_zones is None:
        raw_zones = {}
    _expect(raw_zones, dict, zpath, "an object of zone name to allow-list")
    out_zones = {}
    explicit = [(name, spec.get("port")) for name, spec in sorted(raw_zones.items(), key=lambda kv: str(kv[0]))
                if isinstance(name, str) and isinstance(spec, dict) and spec.get("port") is not None]
    for name, port in explicit:
        claim(_port(port, _key(_key(zpath, name), "port")), _key(_key(zpath, name), "port"))
    next_port = DEFAULT_PROXY_PORT
    for name in sorted(raw_zones, key=str):
        if not isinstance(name, str):
            _fail(zpath, "expected zone names as keys, got %s (%r)" % (_type_name(name), name))
        spath = _key(zpath, name)
        if name not in zones:
            _fail(spath, "unknown zone %r%s" % (name, did_you_mean(name, zones)))
        if name == zone:
            _fail(spath, "the proxy zone %r does not go through its own proxy" % name)
        spec = raw_zones[name]
        if spec is None:
            spec = {}
        _mapping(spec, spath, ZONE_KEYS)
        port = spec.get("port")
        if port is None:
            while next_port in used_ports or next_port in RESERVED_PORTS:
                next_port += 1
            port = next_port
            claim(port, spath + ".port")
        domains = []
        for i, entry in enumerate(_list(spec.get("domains"), spath + ".domains")):
            dpath = "%s.domains[%d]" % (spath, i)
            name_ = domain(entry, dpath)
            if name_ in domains:
                _fail(dpath, "duplicate domain %r" % name_)
            domains.append(name_)
        allowed = []
        raw_ports = spec.get("ports", list(DEFAULT_ALLOWED_PORTS))
        for i, entry in enumerate(_list(raw_ports, spath + ".ports")):
            ppath = "%s.ports[%d]" % (spath, i)
            value = _port(entry, ppath)
            if value in allowed:
                _fail(ppath, "duplicate port %d" % value)
            allowed.append(value)
        if not allowed:
            _fail(spath + ".ports", "must list at least one port (default: [443])")
        report_only = _expect(spec.get("report_only", False), bool, spath + ".report_only", "a boolean")
        out_zones[name] = {"port": port, "domains": domains, "ports": sorted(allowed), "report_only": report_only,
                           "service": "%s-%s" % (PROXY_SERVICE_NAME, name)}

    opath = path + ".originations"
    originations, names = [], {}
    raw_origs = _list(raw.get("originations"), opath)
    for i, spec in enumerate(raw_origs):  # explicit ports first, so that defaults never take them
        if isinstance(spec, dict) and spec.get("port") is not None:
            claim(_port(spec["port"], "%s[%d].port" % (opath, i)), "%s[%d].port" % (opath, i))
    next_port = DEFAULT_ORIGINATION_PORT
    for i, spec in enumerate(raw_origs):
        ipath = "%s[%d]" % (opath, i)
        _mapping(spec, ipath, ORIGINATION_KEYS)
        for required in ("name", "from", "upstream", "ca"):
            if required not in spec:
                _fail("%s.%s" % (ipath, required), "is required%s" % (
                    " (the CA that signs the provider's certificate: verification is always on)"
                    if required == "ca" else ""))
        oname = _expect(spec["name"], str, ipath + ".name", "a name")
        if len(oname) > 40 or not _LABEL.fullmatch(oname):
            _fail(ipath + ".name", "%r is not a valid name (lowercase letters, digits and '-', at most 40 "
                                   "characters: it names a Service)" % oname)
        if oname in names:
            _fail(ipath + ".name", "duplicate origination %r (also %s)" % (oname, names[oname]))
        if oname in (PROXY_SERVICE_NAME, ORIGINATION_DEPLOYMENT) or oname.startswith(PROXY_SERVICE_NAME + "-"):
            _fail(ipath + ".name", "%r is reserved for the proxy's own objects" % oname)
        names[oname] = ipath
        sources = spec["from"] if isinstance(spec["from"], list) else [spec["from"]]
        if not sources:
            _fail(ipath + ".from", "must name at least one zone")
        for j, src in enumerate(sources):
            fpath = "%s.from[%d]" % (ipath, j) if isinstance(spec["from"], list) else ipath + ".from"
            _expect(src, str, fpath, "a zone name")
            if src not in zones:
                _fail(fpath, "unknown zone %r%s" % (src, did_you_mean(src, zones)))
            if src == zone:
                _fail(fpath, "the proxy zone %r does not call its own originations" % src)
        upstream = _expect(spec["upstream"], str, ipath + ".upstream", "a URL like https://api.example.com[:port]")
        match = _UPSTREAM.fullmatch(upstream.strip())
        if not match:
            _fail(ipath + ".upstream", "%r is not https://host[:port] (TLS is always on; no path)" % upstream)
        host = hostname(match.group(1), ipath + ".upstream", "a host name")
        up_port = _port(int(match.group(2)), ipath + ".upstream") if match.group(2) else 443
        ca = _file(spec["ca"], ipath + ".ca")
        client = spec.get("client_cert")
        if client is not None:
            _mapping(client, ipath + ".client_cert", ("cert", "key"))
            for part in ("cert", "key"):
                if part not in client:
                    _fail("%s.client_cert.%s" % (ipath, part), "is required")
            client = {"cert": _file(client["cert"], ipath + ".client_cert.cert"),
                      "key": _file(client["key"], ipath + ".client_cert.key")}
        port = spec.get("port")
        if port is None:
            while next_port in used_ports or next_port in RESERVED_PORTS:
                next_port += 1
            port = next_port
            claim(port, ipath + ".port")
        originations.append({
            "name": oname, "from": sorted(set(sources)), "port": port,
            "upstream": {"url": "https://%s%s" % (host, "" if up_port == 443 else ":%d" % up_port),
                         "host": host, "port": up_port},
            "ca": ca, "client_cert": client, "service": "egress-origin-%s" % oname})
    if not out_zones and not originations:
        _fail(path, "lists no zone and no origination: remove the section, or add zones (allow-lists)")
    return {"zone": zone, "namespace": zones[zone]["namespace"], "internet_peer": internet_peer,
            "zones": out_zones, "originations": originations}


def egress_services(egress):
    """The named port sets the derived flows use: ``{name: [{port, end_port, protocol}]}``."""
    out = {}
    for name, spec in egress["zones"].items():
        out[spec["service"]] = [{"port": spec["port"], "end_port": None, "protocol": "TCP"}]
    for orig in egress["originations"]:
        out[orig["service"]] = [{"port": orig["port"], "end_port": None, "protocol": "TCP"}]
    upstream = sorted({p for spec in egress["zones"].values() for p in spec["ports"]}
                      | {o["upstream"]["port"] for o in egress["originations"]})
    out[UPSTREAM_SERVICE] = [{"port": p, "end_port": None, "protocol": "TCP"} for p in upstream]
    return out


def egress_flows(egress):
    """The flows the section implies, as ``(flow, path)`` pairs for the matrix's flow merger."""
    into = {}
    for name, spec in egress["zones"].items():
        into.setdefault(name, []).append(spec["service"])
    for orig in egress["originations"]:
        for src in orig["from"]:
            into.setdefault(src, []).append(orig["service"])
    out = [({"from": src, "to": egress["zone"], "services": sorted(services)}, "egress.zones")
           for src, services in sorted(into.items())]
    out.append(({"from": egress["zone"], "to": egress["internet_peer"], "services": [UPSTREAM_SERVICE]},
                "egress"))
    return out


def check_written_flows(raw_flows, egress, services):
    """Refuse a flow written in ``flows`` into the proxy zone on a port of the section (a zone's proxy port or an
    origination's): those flows are derived, each zone to its own port only; written, they would be written
    twice or open one zone's port to another.  Other flows in (monitoring's metrics port) stay allowed."""
    if egress is None or not isinstance(raw_flows, list):
        return
    zone = egress["zone"]
    owners = {spec["port"]: "egress.zones.%s" % name for name, spec in egress["zones"].items()}
    owners.update({o["port"]: "the origination %r" % o["name"] for o in egress["originations"]})
    for i, flow in enumerate(raw_flows):
        if not isinstance(flow, dict):
            continue
        targets = flow.get("to") if isinstance(flow.get("to"), list) else [flow.get("to")]
        refs = flow.get("services") if isinstance(flow.get("services"), list) else []
        if zone not in targets:
            continue
        for ref in refs:
            for entry in services.get(ref, []) if isinstance(ref, str) else []:
                if entry["protocol"] != "TCP":
                    continue
                hit = sorted(p for p in owners if entry["port"] <= p <= (entry["end_port"] or entry["port"]))
                if hit:
                    _fail("flows[%d]" % i, "port %d of the proxy zone %r belongs to %s: flows to it are derived "
                                           "from the egress section (each zone reaches its own port only); remove "
                                           "this flow" % (hit[0], zone, owners[hit[0]]))
