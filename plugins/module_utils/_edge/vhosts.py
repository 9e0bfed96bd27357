# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and normalisation of the ``vhosts`` list of the netzone matrix.

Pure Python, no Ansible imports. Every problem is reported as a
:class:`~errors.MatrixError` whose path names the offending item
(``vhosts[1].tls.key: ...``); no other exception type leaves
:func:`normalize_vhosts` for any input.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._common.validators import is_dns1035_label, is_dns_label
from ansible_collections.netzone.segmentation.plugins.module_utils._common import schema
from ansible_collections.netzone.segmentation.plugins.module_utils._common.validators import did_you_mean

DEFAULT_ZONE = "frontend"
DEFAULT_PORT = 80
HSTS_MAX_AGE = 63072000
STICKY_COOKIE = "NZSRV"
EXPOSURES = ("public", "internal")

VHOST_KEYS = frozenset((
    "name", "aliases", "exposure", "zone", "service", "port", "paths", "tls",
    "redirect_http", "hsts", "hsts_max_age", "sticky", "sticky_cookie", "rate_limit", "waf",
))
PATH_KEYS = frozenset(("path", "rewrite", "service", "port"))
TLS_KEYS = frozenset(("cert", "key", "chain"))
WAF_KEYS = frozenset(("exclusions", "bypass_paths"))

_COOKIE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# An URL path prefix: starts with '/', no whitespace, no characters that would
# need quoting in an HAProxy or nginx configuration.
_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*")


def _mapping(value, path):
    return schema.mapping(value, path)


def _unknown_keys(value, allowed, path):
    schema.unknown_keys(value, allowed, path)


def _bool(value, path, default):
    return schema.boolean(value, path, default)


def _int(value, path, default, low, high):
    return schema.integer(value, path, default, low, high)


def _port(value, path, default):
    return default if value is None else schema.port(value, path)


def _string(value, path):
    return schema.non_empty_string(value, path)


def hostname(value, path):
    """Return ``value`` lower-cased if it is a DNS host name (a leading ``*.`` wildcard allowed)."""
    name = _string(value, path).lower()
    if len(name) > 253:
        raise MatrixError(path, "host name longer than 253 characters")
    labels = name.split(".")
    if labels[0] == "*" and len(labels) > 2:
        labels = labels[1:]
    for label in labels:
        if not is_dns_label(label):
            raise MatrixError(path, "%r is not a valid DNS host name" % value)
    if labels[-1].isdigit():
        raise MatrixError(path, "%r is not a valid DNS host name (numeric top-level label)" % value)
    return name


def _url_path(value, path):
    text = _string(value, path)
    if not _PATH.fullmatch(text) or "//" in text:
        raise MatrixError(path, "%r is not an absolute URL path prefix (starts with '/', no spaces or quotes)" % value)
    return text


def _service(value, path):
    text = _string(value, path)
    if not is_dns1035_label(text):
        raise MatrixError(path, "%r is not a valid Kubernetes Service name" % value)
    return text


def _cookie(value, path):
    if value is None:
        return STICKY_COOKIE
    if not isinstance(value, str) or not _COOKIE.fullmatch(value):
        raise MatrixError(path, "expected a cookie name (letters, digits, '_' and '-'), got %s"
                          % (repr(value) if isinstance(value, str) else schema.got(value)))
    return value


def _paths(raw, path, service, port):
    if raw is None:
        raw = [{"path": "/"}]
    if not isinstance(raw, list) or not raw:
        raise MatrixError(path, schema.expected("a non-empty list of paths", raw))
    result = []
    seen = set()
    for index, item in enumerate(raw):
        here = "%s[%d]" % (path, index)
        if isinstance(item, str):
            item = {"path": item}
        item = _mapping(item, here)
        _unknown_keys(item, PATH_KEYS, here)
        prefix = _url_path(item.get("path"), here + ".path")
        if len(prefix) > 1:
            prefix = prefix.rstrip("/") or "/"
        if prefix in seen:
            raise MatrixError(here + ".path", "duplicate path %r" % prefix)
        seen.add(prefix)
        rewrite = item.get("rewrite")
        if rewrite is not None:
            rewrite = _url_path(rewrite, here + ".rewrite")
        result.append({
            "path": prefix,
            "rewrite": rewrite,
            "service": _service(item["service"], here + ".service") if item.get("service") is not None else service,
            "port": _port(item.get("port"), here + ".port", port),
        })
    return result


def _tls(raw, path):
    if raw is None or raw == "selfsigned":
        return {"mode": "selfsigned", "cert": None, "key": None, "chain": None}
    if isinstance(raw, str):
        raise MatrixError(path, "expected 'selfsigned' or an object with cert and key, got %r" % raw)
    raw = _mapping(raw, path)
    allowed = TLS_KEYS | {"mode"}
    _unknown_keys(raw, allowed, path)
    if raw.get("mode", "provided") == "selfsigned" and raw.get("cert") is None and raw.get("key") is None:
        return {"mode": "selfsigned", "cert": None, "key": None, "chain": None}
    if raw.get("mode", "provided") != "provided":
        if raw.get("mode") == "selfsigned":
            raise MatrixError(path + ".mode", "'selfsigned' takes no cert or key: remove them, or set mode: provided")
        schema.one_of(raw.get("mode"), ("provided", "selfsigned"), path + ".mode")
    result = {"mode": "provided"}
    for key in ("cert", "key"):
        if raw.get(key) is None:
            raise MatrixError("%s.%s" % (path, key), "is required (a path to a PEM file on the controller)")
        result[key] = _string(raw[key], "%s.%s" % (path, key))
    chain = raw.get("chain")
    result["chain"] = _string(chain, path + ".chain") if chain is not None else None
    return result


def _waf(raw, path):
    if raw is None:
        raw = {}
    raw = _mapping(raw, path)
    _unknown_keys(raw, WAF_KEYS, path)
    exclusions = raw.get("exclusions") or []
    if not isinstance(exclusions, list):
        raise MatrixError(path + ".exclusions", schema.expected("a list of rule ids", exclusions))
    ids = []
    for index, rule in enumerate(exclusions):
        ids.append(_int(rule, "%s.exclusions[%d]" % (path, index), None, 1, 9999999))
    bypass = raw.get("bypass_paths") or []
    if not isinstance(bypass, list):
        raise MatrixError(path + ".bypass_paths", schema.expected("a list of URL path prefixes", bypass))
    prefixes = []
    for index, prefix in enumerate(bypass):
        here = "%s.bypass_paths[%d]" % (path, index)
        prefix = _url_path(prefix, here)
        if prefix == "/":
            raise MatrixError(here, "'/' would send the whole vhost around the WAF; list static prefixes only")
        prefixes.append(prefix)
    return {"exclusions": sorted(set(ids)), "bypass_paths": prefixes}


def _vhost(raw, path, zones):
    raw = _mapping(raw, path)
    _unknown_keys(raw, VHOST_KEYS, path)
    if raw.get("name") is None:
        raise MatrixError(path + ".name", "is required")
    name = hostname(raw["name"], path + ".name")
    aliases_raw = raw.get("aliases") or []
    if not isinstance(aliases_raw, list):
        raise MatrixError(path + ".aliases", schema.expected("a list of host names", aliases_raw))
    aliases = [hostname(alias, "%s.aliases[%d]" % (path, index)) for index, alias in enumerate(aliases_raw)]
    exposure = raw.get("exposure", "public")
    if exposure is None:
        exposure = "public"
    schema.one_of(exposure, EXPOSURES, path + ".exposure")
    zone = raw.get("zone")
    if zone is None:
        zone = DEFAULT_ZONE
    if not isinstance(zone, str) or not zone:
        raise MatrixError(path + ".zone", schema.expected("a zone name", zone))
    if zones is not None and zone not in zones:
        raise MatrixError(path + ".zone", "unknown zone %r%s" % (zone, did_you_mean(zone, zones)))
    if raw.get("service") is None:
        raise MatrixError(path + ".service", "is required (the Kubernetes Service the Ingress points to)")
    service = _service(raw["service"], path + ".service")
    port = _port(raw.get("port"), path + ".port", DEFAULT_PORT)
    return {
        "name": name,
        "aliases": aliases,
        "exposure": exposure,
        "zone": zone,
        "service": service,
        "port": port,
        "paths": _paths(raw.get("paths"), path + ".paths", service, port),
        "tls": _tls(raw.get("tls"), path + ".tls"),
        "redirect_http": _bool(raw.get("redirect_http"), path + ".redirect_http", True),
        "hsts": _bool(raw.get("hsts"), path + ".hsts", True),
        "hsts_max_age": _int(raw.get("hsts_max_age"), path + ".hsts_max_age", HSTS_MAX_AGE, 0, 1000000000),
        "sticky": _bool(raw.get("sticky"), path + ".sticky", False),
        "sticky_cookie": _cookie(raw.get("sticky_cookie"), path + ".sticky_cookie"),
        "rate_limit": _int(raw.get("rate_limit"), path + ".rate_limit", 0, 0, 1000000000),
        "waf": _waf(raw.get("waf"), path + ".waf"),
    }


def normalize_vhosts(raw, zones, path="vhosts"):
    """Validate the matrix's ``vhosts`` list and return it with every key present.

    :param raw: the user's list (``None`` means no vhosts).
    :param zones: the set of known zone names, or ``None`` to skip the zone check
        (the load balancer role, given vhosts directly, knows no zones).
    :param path: the path of the list in error messages.
    :raises MatrixError: for anything wrong, naming its exact path.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise MatrixError(path, schema.expected("a list of virtual hosts", raw))
    if zones is not None:
        try:
            zones = set(zones)
        except TypeError:
            raise MatrixError(path, "internal: zones must be a collection of names")
    result = []
    owners = {}
    for index, item in enumerate(raw):
        here = "%s[%d]" % (path, index)
        vhost = _vhost(item, here, zones)
        for position, host in enumerate([vhost["name"]] + vhost["aliases"]):
            where = here + (".name" if position == 0 else ".aliases[%d]" % (position - 1))
            if host in owners:
                raise MatrixError(where, "duplicate host name %r (already used by %s)" % (host, owners[host]))
            owners[host] = here
        result.append(vhost)
    _wildcards_apart(result, path)
    return result


def vhost_warnings(raw, path="vhosts"):
    """What is valid but probably not meant: a public vhost without ``tls``, which silently gets a self-signed
    certificate that browsers refuse (``tls: selfsigned`` written out says it is meant, and is not warned)."""
    out = []
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, dict) or item.get("tls") is not None:
            continue
        if (item.get("exposure") or "public") != "public":
            continue
        out.append("%s[%d].tls: not set, so the public vhost %r gets a self-signed certificate, which browsers "
                   "refuse: give tls: {cert, key} (PEM files on the controller), or write tls: selfsigned if that "
                   "is meant" % (path, index, item.get("name")))
    return out


def _wildcards_apart(vhosts, path):
    """Refuse a host name of one vhost that another vhost's ``*.`` name covers: each request's host name
    selects one vhost, everywhere it is matched (HAProxy's routing, rewrites and sticky backends, the WAF's
    exclusions), with no precedence rule to get wrong."""
    wildcards = {}
    for index, vhost in enumerate(vhosts):
        for name in [vhost["name"]] + vhost["aliases"]:
            if name.startswith("*."):
                wildcards[name[2:]] = (index, name)
    for index, vhost in enumerate(vhosts):
        for position, name in enumerate([vhost["name"]] + vhost["aliases"]):
            base = name.split(".", 1)[1] if "." in name else ""
            owner = wildcards.get(base)
            if owner is None or owner[0] == index or name.startswith("*."):
                continue
            where = "%s[%d]" % (path, index) + (".name" if position == 0 else ".aliases[%d]" % (position - 1))
            raise MatrixError(where, "host name %r is also covered by %r of %s[%d]: a wildcard matches one label, "
                                     "and a name may belong to one vhost only (move it into that vhost, or list "
                                     "the other vhost's names instead of the wildcard)"
                              % (name, owner[1], path, owner[0]))


def vhost_id(index):
    """The stable identifier of the vhost at ``index`` in rendered configurations (``vh0``...)."""
    return "vh%d" % index


#: One DNS label, as a ``*.`` wildcard host name stands for it (one label, as in a TLS wildcard certificate).
_LABEL_RX = "[a-z0-9]([a-z0-9-]*[a-z0-9])?"


def host_match(names):
    """How a vhost's host names are matched against the normalised host name (lower case, no port, no
    trailing dot): ``{"exact": "a.test b.test" (space-separated, may be empty), "haproxy_regex": str or None,
    "waf_regex": str}``. A ``*.base`` name matches exactly one label before ``base`` (``x.base``, never
    ``base`` nor ``y.x.base``). The HAProxy regex has no backslash (``[.]`` for a dot), since HAProxy's
    configuration parser would read one itself; the WAF regex (ModSecurity ``@rx``, PCRE) also allows a port."""
    exact = [name for name in names if not name.startswith("*.")]
    wild = [name[2:] for name in names if name.startswith("*.")]
    haproxy = None
    if wild:
        haproxy = "^%s[.](%s)$" % (_LABEL_RX, "|".join(base.replace(".", "[.]") for base in wild))
    alternatives = [re.escape(name) for name in exact] + ["%s%s" % (_LABEL_RX, re.escape("." + base)) for base in wild]
    return {"exact": " ".join(exact), "haproxy_regex": haproxy,
            "waf_regex": "^(?:%s)(?::[0-9]+)?$" % "|".join(alternatives)}


def _route(vhost, index):
    """One vhost as the HAProxy configuration names and matches it."""
    ident = vhost_id(index)
    names = host_match([vhost["name"]] + vhost["aliases"])
    paths = [entry["path"] for entry in vhost["paths"]]
    # A vhost served at '/' only matches on its host names; otherwise on a host name and one of its paths.
    path_acls = [] if paths == ["/"] else [{"exact": path, "prefix": path.rstrip("/") + "/"} for path in paths]
    return {
        "id": ident,
        "name": vhost["name"],
        "hosts": names["exact"],
        "host_regex": names["haproxy_regex"],
        "path_acls": path_acls,
        "match": "%s_host %s_path" % (ident, ident) if path_acls else "%s_host" % ident,
        "backend": "be_%s_sticky" % ident if vhost["sticky"] else "be_nodes",
        "sticky": vhost["sticky"],
        "sticky_cookie": vhost["sticky_cookie"],
        "redirect_http": vhost["redirect_http"],
        "hsts": vhost["hsts"],
        "hsts_max_age": vhost["hsts_max_age"],
        "rate_limit": vhost["rate_limit"],
        "rate_table": "st_%s_rate" % ident,
        "bypass_paths": " ".join(vhost["waf"]["bypass_paths"]),
        "bypass": bypass_match(vhost["waf"]["bypass_paths"]),
    }


def _rewrites(vhosts):
    """The path rewrites of every vhost, in vhost and path order (applied on the way to the nodes)."""
    result = []
    for vhost in vhosts:
        names = host_match([vhost["name"]] + vhost["aliases"])
        for entry in vhost["paths"]:
            if entry["rewrite"] is None:
                continue
            base = entry["path"].rstrip("/")
            result.append({
                "hosts": names["exact"],
                "host_regex": names["haproxy_regex"],
                "pattern": "^%s(/|$)(.*)" % re.escape(base),
                "replacement": entry["rewrite"].rstrip("/") + "/\\2",
                "exact": base or "/",
                "prefix": base + "/",
            })
    return result


def _vip_bind(listener, port):
    """The extra bind of an exposure's virtual address (``None`` when there is none, or when the listener's
    address is a wildcard, which covers it). ``transparent`` lets HAProxy bind it on the backup load balancer,
    which does not hold it yet, without the host-wide ``net.ipv4.ip_nonlocal_bind``."""
    vip = str(listener.get("vip") or "")
    if not vip or str(listener.get("address") or "") in ("", "*", "0.0.0.0", "::", "[::]", vip):
        return None
    return "%s:%s transparent" % ("[%s]" % vip if ":" in vip else vip, port)


#: Listener addresses that mean every address: ``*`` and ``""`` (HAProxy: every IPv4 address), ``0.0.0.0``
#: (every IPv4 address) and ``::`` (every IPv6 address and, dual-stack, every IPv4 one too).
_ANY = {"": "any", "*": "any", "0.0.0.0": "ipv4", "::": "any"}


def _listen_scope(text):
    """``("any"|"ipv4", None)`` for a wildcard, else ``("one", ip_address)`` (a name is compared as written)."""
    text = str(text or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if text in _ANY:
        return _ANY[text], None
    try:
        return "one", ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return "one", text.lower()


def _same_listener(first, second):
    """Whether two listening addresses (same port) overlap: one socket would take the other's connections."""
    (kind1, addr1), (kind2, addr2) = _listen_scope(first), _listen_scope(second)
    if kind1 == "any" or kind2 == "any":
        return True
    if kind1 == "ipv4" or kind2 == "ipv4":
        other = addr2 if kind1 == "ipv4" else addr1
        return other is None or not isinstance(other, ipaddress.IPv6Address) or other.ipv4_mapped is not None
    return addr1 == addr2


def _listeners_apart(exposures, listeners):
    """Refuse a public and an internal frontend on overlapping address/port pairs (wildcards included): the
    kernel would spread the connections over both frontends, and internal vhosts would answer the internet."""
    binds = []
    for exposure in exposures:
        listener = listeners[exposure["name"]]
        for frontend in exposure["frontends"]:
            port = listener["https_port"] if frontend["tls"] else listener["http_port"]
            what = "%s %s frontend" % (exposure["name"], "HTTPS" if frontend["tls"] else "HTTP")
            addresses = [("loadbalancer_%s_address" % exposure["name"], listener.get("address"))]
            if frontend["vip_bind"]:
                addresses.append(("loadbalancer_%s_vip" % exposure["name"], listener.get("vip")))
            for var, address in addresses:
                binds.append((exposure["name"], what, var, str(address or ""), str(port)))
    for index, (exposure, what, var, address, port) in enumerate(binds):
        for other_exposure, other_what, other_var, other_address, other_port in binds[index + 1:]:
            if exposure == other_exposure or port != other_port or not _same_listener(address, other_address):
                continue
            raise MatrixError(other_var, "the %s (%s = %r, port %s) and the %s (%s = %r, port %s) share a "
                              "listener; a public and an internal frontend must never overlap (a wildcard address "
                              "covers every address): give them distinct addresses or ports"
                              % (what, var, address, port, other_what, other_var, other_address, other_port))


def haproxy_routing(vhosts, listeners, default_vhost="", request_headers=()):
    """What the HAProxy configuration routes, computed from normalised vhosts, so its template only prints.

    :param vhosts: the list returned by :func:`normalize_vhosts`.
    :param listeners: per exposure (``public``, ``internal``) a mapping with ``address``, ``https_port`` and
        ``http_port`` (a false ``http_port`` means no plain-HTTP frontend), and optionally ``vip`` (the
        exposure's virtual address, bound as well unless ``address`` is a wildcard).
    :param default_vhost: the name of the vhost that takes requests no host/path matched on its exposure.
    :param request_headers: header names that reach the nodes on the WAF route besides :data:`NODE_HEADERS`
        (``loadbalancer_request_headers``), checked by :func:`edge_rules`.
    :returns: ``{"exposures": [...], "sticky": [...], "rate_limited": [...], "rewrites": [...]}``.
        Each exposure that has vhosts has ``name``, ``frontends`` (``name``, ``bind``, ``vip_bind`` (the
        virtual address with ``transparent``, or ``None``), ``tls``, ``scheme``: HTTPS first, then plain HTTP),
        ``vhosts`` (the routes of its vhosts), ``default`` (the id of the
        default vhost, or ``None``) and ``bypass`` (whether any of its vhosts lets static paths skip the WAF).
        A route has the vhost's ``id`` (:func:`vhost_id` of its position), ``hosts``, ``path_acls``
        (``exact``, ``prefix``), ``match`` (the ACLs that select it), ``backend`` and its settings.
    """
    routes = [_route(vhost, index) for index, vhost in enumerate(vhosts)]
    exposures = []
    for exposure in EXPOSURES:
        mine = [route for route, vhost in zip(routes, vhosts) if vhost["exposure"] == exposure]
        if not mine:
            continue
        listener = listeners.get(exposure)
        if not isinstance(listener, dict):
            raise MatrixError("listeners." + exposure, "is required (address, https_port, http_port) for its vhosts")
        frontends = [{"name": "fe_%s_https" % exposure, "tls": True, "scheme": "https",
                      "bind": "%s:%s" % (listener["address"], listener["https_port"]),
                      "vip_bind": _vip_bind(listener, listener["https_port"])}]
        if listener.get("http_port"):
            frontends.append({"name": "fe_%s_http" % exposure, "tls": False, "scheme": "http",
                              "bind": "%s:%s" % (listener["address"], listener["http_port"]),
                              "vip_bind": _vip_bind(listener, listener["http_port"])})
        default = [route["id"] for route in mine if route["name"] == default_vhost]
        exposures.append({
            "name": exposure,
            "frontends": frontends,
            "vhosts": mine,
            "default": default[0] if default else None,
            "default_name": default_vhost if default else None,
            "bypass": any(route["bypass_paths"] for route in mine),
        })
    _listeners_apart(exposures, listeners)
    return {
        "exposures": exposures,
        "sticky": [route for route in routes if route["sticky"]],
        "rate_limited": [route for route in routes if route["rate_limit"] > 0],
        "rewrites": _rewrites(vhosts),
        "waf_exclusions": [{"id": 10000 + position, "host_regex": host_match([vhost["name"]] + vhost["aliases"])["waf_regex"],
                            "rules": vhost["waf"]["exclusions"]}
                           for position, vhost in enumerate(v for v in vhosts if v["waf"]["exclusions"])],
        "edge": edge_rules(request_headers),
    }


# --- The edge: what the load balancer removes, refuses or keeps off the WAF bypass --------------------

#: Request headers with which a client could claim an identity, an address, a scheme, a host or a route to
#: the nodes behind the load balancer. The load balancer removes them from every request before it reaches
#: a node (after the WAF has seen them): the nodes get only what the load balancer set. Header names with an
#: underscore are removed too, whatever they spell: many servers and frameworks read ``X_Real_IP`` as
#: ``X-Real-IP`` (CGI turns both into ``HTTP_X_REAL_IP``), and the ingress controller drops them anyway.
FORGEABLE_HEADERS = (
    "x-real-ip", "forwarded", "x-forwarded-host", "x-forwarded-port", "x-forwarded-prefix", "x-forwarded-server",
    "x-forwarded-scheme", "x-forwarded-ssl", "x-original-url", "x-original-uri", "x-rewrite-url",
    "x-http-method-override", "x-http-method", "x-method-override", "true-client-ip", "x-client-ip",
    "x-cluster-client-ip", "client-ip",
)

#: CRS rule 920440's ``tx.restricted_extensions`` (OWASP CRS 3.3.4, rules/REQUEST-901-INITIALIZATION.conf,
#: as packaged in Debian 12's modsecurity-crs 3.3.4-1): files with these extensions are never static content.
RESTRICTED_EXTENSIONS = (
    ".asa", ".asax", ".ascx", ".axd", ".backup", ".bak", ".bat", ".cdx", ".cer", ".cfg", ".cmd", ".com",
    ".config", ".conf", ".cs", ".csproj", ".csr", ".dat", ".db", ".dbf", ".dll", ".dos", ".htr", ".htw", ".ida",
    ".idc", ".idq", ".inc", ".ini", ".key", ".licx", ".lnk", ".log", ".mdb", ".old", ".pass", ".pdb", ".pol",
    ".printer", ".pwd", ".rdb", ".resources", ".resx", ".sql", ".swp", ".sys", ".vb", ".vbs", ".vbproj",
    ".vsdisco", ".webinfo", ".xsd", ".xsx",
)

#: Rule 930130's list is the CRS's own file (read by HAProxy where the CRS is installed); these are the
#: version-control and environment files that CRS 3.3's list lacks (CRS 4 has them).
RESTRICTED_FILES_EXTRA = (".git/", ".gitignore", ".env", ".svn/", ".hg/", ".bzr/", "cvs/", ".ds_store",
                          ".idea/", ".vscode/", ".npmrc", ".dockerenv", "id_rsa", "id_ed25519")

#: Where the CRS keeps rule 930130's list of restricted files (Debian's modsecurity-crs).
CRS_RESTRICTED_FILES = "/usr/share/modsecurity-crs/rules/restricted-files.data"


def bypass_match(prefixes):
    """The path ACL values of WAF bypass prefixes, each bounded at a ``/``: ``/static`` and ``/static/`` both
    cover ``/static`` and ``/static/...``, never ``/staticadmin``.  ``{"exact": str, "prefix": str}``."""
    exact, begins = [], []
    for prefix in prefixes:
        base = prefix.rstrip("/")
        exact.append(base)
        begins.append(base + "/")
    return {"exact": " ".join(dict.fromkeys(exact)), "prefix": " ".join(dict.fromkeys(begins))}


#: What a node may receive, on either route: the request headers of the HTTP semantics (RFC 9110/9111), content
#: negotiation, conditional and range requests, CORS, fetch metadata and client hints, trace context, the
#: anti-CSRF headers of common frameworks, and what the load balancer itself sets (Host, X-Request-ID,
#: X-Forwarded-For, X-Forwarded-Proto). Every other header is removed before a node (after the WAF has seen
#: it): no identity or route a client claims (X-Forwarded-User, X-Remote-User, X-Auth-Request-*,
#: X-Forwarded-Client-Cert, Forwarded, X-Real-IP, ...) reaches one. ``loadbalancer_request_headers`` adds names.
NODE_HEADERS = (
    "host", "x-request-id", "x-forwarded-for", "x-forwarded-proto",
    "accept", "accept-encoding", "accept-language", "accept-charset", "cache-control", "pragma",
    "content-type", "content-length", "content-encoding", "content-language", "transfer-encoding",
    "cookie", "authorization",
    "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range", "range",
    "origin", "referer", "user-agent", "dnt", "upgrade-insecure-requests", "priority",
    "access-control-request-method", "access-control-request-headers",
    "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-user",
    "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform",
    "traceparent", "tracestate",
    "x-requested-with", "x-csrf-token", "x-xsrf-token",
)

#: What a request on the static bypass may keep of the client's headers (what a browser sends for an image,
#: a stylesheet or a script); Cookie and Authorization are never kept there. Each value must have a plain
#: shape (:data:`PLAIN_HEADER_VALUE`, at most :data:`PLAIN_HEADER_LENGTH` characters, sent once): a request
#: with one outside it goes through the WAF instead (never refused for it).
BYPASS_HEADERS = (
    "accept", "accept-encoding", "accept-language", "cache-control", "pragma",
    "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range", "range",
    "origin", "referer", "user-agent", "dnt", "upgrade-insecure-requests", "priority",
    "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-user",
    "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform",
)

#: The characters of a plain header value on the bypass: letters, digits, space and
#: ``" ( ) * + , - . / : ; = ? _ ! # & ~``, what browsers send in these headers (Sec-CH-UA's quoted brands,
#: ETags, Accept lists, Referer URLs without percent-encoding). No ``'``, ``<``, ``>``, backslash, backtick,
#: ``%``, ``$``, ``{``, ``}``, ``|``, ``[``, ``]``, ``@``, no control character.
PLAIN_HEADER_VALUE = r'[^A-Za-z0-9 "()*+,./:;=?_!#&~-]'
PLAIN_HEADER_LENGTH = 512

#: Header names the load balancer sets itself, or that claim an identity or a route: never added by
#: ``loadbalancer_request_headers``.
_NEVER_ADDED = frozenset(("host", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "forwarded")
                         + FORGEABLE_HEADERS)
_IDENTITY_HEADER = re.compile(r"^x-(forwarded|remote|auth|original|real|client|user|authenticated)(-|$)")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*\Z")


def node_headers(extra=()):
    """The header names that reach a node on the WAF route: :data:`NODE_HEADERS` and ``extra`` (lower case).
    Raises :class:`MatrixError` (path ``loadbalancer_request_headers[i]``) for a name that is not a plain
    token (letters, digits, ``-``; an underscore reads as ``-`` to many servers), that the load balancer sets,
    or that claims an identity or a route."""
    if not isinstance(extra, (list, tuple)):
        raise MatrixError("loadbalancer_request_headers", schema.expected("a list of header names", extra))
    names = list(NODE_HEADERS)
    for index, name in enumerate(extra):
        path = "loadbalancer_request_headers[%d]" % index
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise MatrixError(path, "%r is not a header name of letters, digits and '-'" % (name,))
        lower = name.lower()
        if lower in _NEVER_ADDED or _IDENTITY_HEADER.match(lower):
            raise MatrixError(path, "%r claims an identity, an address or a route, or is set by the load balancer: "
                                    "it never reaches a node from a client" % name)
        if lower not in names:
            names.append(lower)
    return names


def _only(names):
    """A regular expression (HAProxy's PCRE2) that matches every header name except ``names`` (lower-case
    tokens of letters, digits and ``-``: nothing to escape, and HAProxy's parser reads backslashes itself)."""
    return "^(?!(?:%s)$)" % "|".join(names)


def edge_rules(request_headers=()):
    """The values the HAProxy configuration prints for the edge's own rules (see the constants above)."""
    return {
        "forged_headers": "^(%s)$" % "|".join(FORGEABLE_HEADERS),
        "node_headers": node_headers(request_headers),
        "node_headers_only": _only(node_headers(request_headers)),
        "bypass_headers_only": _only(("host", "x-request-id", "x-forwarded-for", "x-forwarded-proto")
                                     + BYPASS_HEADERS),
        "bypass_headers": list(BYPASS_HEADERS),
        "plain_header_value": PLAIN_HEADER_VALUE,
        "plain_header_length": PLAIN_HEADER_LENGTH,
        "restricted_extensions": " ".join(RESTRICTED_EXTENSIONS),
        "restricted_files": " ".join(RESTRICTED_FILES_EXTRA),
        "crs_restricted_files": CRS_RESTRICTED_FILES,
    }
