# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load balancer role's settings, checked all at once before the role touches a host (plain Python).

:func:`check_settings` returns one message per wrong setting, each starting with the variable to change
(``loadbalancer_waf_mode: expected one of 'blocking', 'detection', got 'block' (did you mean 'blocking'?)``),
so that one run shows everything to fix.  It accepts exactly what the role's former single assert accepted;
the vhosts are normalised here too (:func:`vhosts.normalize_vhosts`) and the listeners checked as the routing
computes them (:func:`vhosts.haproxy_routing`), so a bad vhost or an overlapping listener is one more message
rather than a stop before the others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import MatrixError
from ansible_collections.netzone.segmentation.plugins.module_utils._common.validators import did_you_mean, json_type
from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import (
    haproxy_routing,
    normalize_vhosts,
    vhost_warnings,
)

WAF_MODES = ("blocking", "detection")
PARANOIA_LEVELS = (1, 2, 3, 4)
#: Smallest ring buffer HAProxy's logs go through (bytes).
MIN_LOG_RING_SIZE = 16384

_NAME = re.compile(r"[A-Za-z0-9._-]+")
_ADDRESS = re.compile(r"[A-Za-z0-9.:_-]+")
_LOG_SERVER = re.compile(r"([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}")
_THREADS = re.compile(r"[1-9][0-9]{0,2}")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _choices(value, choices):
    return ", ".join(repr(choice) for choice in choices), did_you_mean(value, [str(c) for c in choices])


def _nodes(nodes, group):
    """The backend nodes' problems.  ``group``: the inventory group they came from, or ``None`` when they are
    ``loadbalancer_backend_nodes``."""
    if group is not None:
        where = "loadbalancer_backend_group"
        if not nodes:
            return ["%s: group %r has no host: add the cluster nodes to it, or list them in "
                    "loadbalancer_backend_nodes (each a name and an address)" % (where, group)]
    else:
        where = "loadbalancer_backend_nodes"
        if not isinstance(nodes, list):
            return ["%s: expected a list of nodes (each a name and an address), got %s" % (where, json_type(nodes))]
        if not nodes:
            return ["%s: no backend node: list the cluster nodes (each a name and an address)" % where]
    problems = []
    seen = {}
    for index, node in enumerate(nodes):
        here = "%s[%d]" % (where, index) if group is None else "%s: host %r of group %r" % (
            where, node.get("name") if isinstance(node, Mapping) else node, group)
        if not isinstance(node, Mapping):
            problems.append("%s: expected an object with name and address, got %s" % (here, json_type(node)))
            continue
        name, address = node.get("name"), node.get("address")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.append("%s: expected a node name of letters, digits, '.', '_' and '-', got %s"
                            % (here + ".name" if group is None else here, _shown(name)))
        elif name in seen:
            problems.append("%s.name: duplicate node name %r (already used by %s[%d])" % (here, name, where, seen[name]))
        else:
            seen[name] = index
        if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
            if group is None:
                problems.append("%s.address: expected an IP address or host name, got %s" % (here, _shown(address)))
            else:
                problems.append("%s has the address %s, not an IP address or host name: set its netzone_address "
                                "or ansible_host" % (here, _shown(address)))
    return problems


def _shown(value):
    """A value as a message shows it: a string quoted, anything else by its JSON type."""
    return repr(str(value)) if isinstance(value, str) else json_type(value)


def _ports_apart(settings):
    """The WAF hop, the stats page and the syslog input: three distinct ports."""
    names = ("loadbalancer_waf_port", "loadbalancer_stats_port", "loadbalancer_syslog_port")
    problems = []
    for index, name in enumerate(names):
        for earlier in names[:index]:
            if str(settings.get(name)) == str(settings.get(earlier)):
                problems.append("%s: port %s is also %s; the WAF hop (loadbalancer_waf_port), the stats page "
                                "(loadbalancer_stats_port) and the syslog input (loadbalancer_syslog_port) each need "
                                "their own port" % (name, settings.get(name), earlier))
                break
    return problems


def _schemes_apart(settings):
    """No port serves HTTPS on one frontend and plain HTTP on another (the WAF tells the scheme by the port)."""
    internal = bool(settings.get("loadbalancer_internal_address"))
    https = [("loadbalancer_public_https_port", settings.get("loadbalancer_public_https_port"))]
    http = [("loadbalancer_public_http_port", settings.get("loadbalancer_public_http_port"))]
    if internal:
        https.append(("loadbalancer_internal_https_port", settings.get("loadbalancer_internal_https_port")))
        http.append(("loadbalancer_internal_http_port", settings.get("loadbalancer_internal_http_port")))
    problems = []
    for http_var, http_port in http:
        if not http_port:
            continue
        for https_var, https_port in https:
            if str(https_port) == str(http_port):
                problems.append("%s: port %s serves plain HTTP here and HTTPS as %s; the WAF tells a request's "
                                "scheme by the port its client connected to, so they must differ"
                                % (http_var, http_port, https_var))
                break
    return problems


def _logs(settings):
    problems = []
    server = settings.get("loadbalancer_log_server")
    if not server and not settings.get("loadbalancer_syslog"):
        problems.append("loadbalancer_log_server: is empty and loadbalancer_syslog is false, so HAProxy's logs would "
                        "go nowhere: give a syslog server as host:port (TCP), or set loadbalancer_syslog to true "
                        "(the local rsyslog)")
    elif server and not (isinstance(server, str) and _LOG_SERVER.fullmatch(server)):
        problems.append("loadbalancer_log_server: expected a syslog server as host:port (TCP), [IPv6]:port for an "
                        "IPv6 address, got %s" % _shown(server))
    ring = settings.get("loadbalancer_log_ring_size")
    if not _is_int(ring):
        problems.append("loadbalancer_log_ring_size: expected an integer (bytes), got %s" % _shown(ring))
    elif ring < MIN_LOG_RING_SIZE:
        problems.append("loadbalancer_log_ring_size: %d bytes is too small; it must be at least %d"
                        % (ring, MIN_LOG_RING_SIZE))
    return problems


def check_settings(settings, nodes, group=None, tls_profiles=(), listeners=None):
    """Every problem of the load balancer role's input, one message per wrong setting.

    :param settings: the role's variables by their names (``loadbalancer_vhosts``, ``loadbalancer_waf_mode``...).
    :param nodes: the backend nodes, each ``{name, address}``.
    :param group: the inventory group the nodes came from, or ``None`` when they are ``loadbalancer_backend_nodes``.
    :param tls_profiles: the names of the TLS profiles the role knows.
    :param listeners: the frontends' addresses and ports per exposure, as :func:`vhosts.haproxy_routing` takes them.
    :returns: ``{"problems": [message, ...], "vhosts": the normalised vhosts (``[]`` when they are wrong),
        "warnings": what is valid but probably not meant (a public vhost without ``tls``)}``.
    """
    if not isinstance(settings, Mapping):
        raise MatrixError("settings", "expected an object of the role's variables, got %s" % json_type(settings))
    problems = []
    vhosts = []
    vhosts_ok = False
    try:
        vhosts = normalize_vhosts(settings.get("loadbalancer_vhosts"), None, path="loadbalancer_vhosts")
    except MatrixError as exc:
        problems.append(str(exc))
    else:
        vhosts_ok = True
        if not vhosts:
            vhosts_ok = False
            problems.append("loadbalancer_vhosts: no virtual host to serve: give at least one (or define "
                            "netzone_matrix with its vhosts)")
    problems.extend(_nodes(nodes, group))

    profile = settings.get("loadbalancer_tls_profile")
    if not isinstance(profile, str) or profile not in tls_profiles:
        choices, hint = _choices(profile, sorted(tls_profiles))
        problems.append("loadbalancer_tls_profile: expected one of %s, got %s%s" % (choices, _shown(profile), hint))
    mode = settings.get("loadbalancer_waf_mode")
    if mode not in WAF_MODES:
        choices, hint = _choices(mode, WAF_MODES)
        problems.append("loadbalancer_waf_mode: expected one of %s, got %s%s" % (choices, _shown(mode), hint))
    level = settings.get("loadbalancer_waf_paranoia_level")
    if not _is_int(level) or level not in PARANOIA_LEVELS:
        problems.append("loadbalancer_waf_paranoia_level: expected an integer from 1 to 4 (the CRS paranoia level), "
                        "got %s" % (level if _is_int(level) else _shown(level)))

    internal = [vhost["name"] for vhost in vhosts if vhost["exposure"] == "internal"]
    internal_missing = bool(internal) and not settings.get("loadbalancer_internal_address")
    if internal_missing:
        problems.append("loadbalancer_internal_address: is empty, but the vhost(s) %s are exposure: internal; set it "
                        "to the load balancer's address on the internal network, or make them public"
                        % ", ".join(internal))

    problems.extend(_ports_apart(settings))
    user = settings.get("loadbalancer_stats_user")
    if not isinstance(user, str) or not _NAME.fullmatch(user):
        problems.append("loadbalancer_stats_user: expected a user name of letters, digits, '.', '_' and '-', got %s"
                        % _shown(user))
    threads = settings.get("loadbalancer_haproxy_threads")
    if str(threads) != "auto" and not _THREADS.fullmatch(str(threads)):
        problems.append("loadbalancer_haproxy_threads: %r is neither auto nor a number of threads (1-999)"
                        % str(threads))
    problems.extend(_logs(settings))
    schemes = _schemes_apart(settings)
    problems.extend(schemes)

    # The listeners, as the routing sees them: only when the vhosts and the ports it reads are sound.
    if vhosts_ok and not internal_missing and not schemes and listeners is not None:
        try:
            haproxy_routing(vhosts, listeners, settings.get("loadbalancer_default_vhost") or "")
        except MatrixError as exc:
            problems.append(str(exc))
    warnings = vhost_warnings(settings.get("loadbalancer_vhosts"), "loadbalancer_vhosts") if vhosts_ok else []
    return {"problems": problems, "vhosts": vhosts if vhosts_ok else [], "warnings": warnings}
