# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``haproxy_routing``: the load balancer's frontends, host/path ACLs and backends, per exposure."""

from __future__ import annotations

DOCUMENTATION = r"""
name: haproxy_routing
short_description: What the load balancer's HAProxy configuration routes, per exposure
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Turns the normalised virtual hosts (the output of P(netzone.segmentation.lb_vhosts#filter)) into what the
    HAProxy configuration prints, so that the template only loops and prints.
  - Each vhost is named by its position (C(vh0), C(vh1), ...), the same id in every frontend and backend.
options:
  _input:
    description: The normalised list of virtual hosts.
    type: list
    elements: dict
    required: true
  listeners:
    description:
      - Per exposure (C(public), C(internal)) a mapping with C(address), C(https_port) and C(http_port).
      - An exposure's plain-HTTP frontend is left out when its C(http_port) is V(0) or empty.
    type: dict
    required: true
  default_vhost:
    description: The name of the vhost that answers requests no host name and path matched on its exposure.
    type: str
    default: ""
  request_headers:
    description:
      - Request header names that reach the nodes on the WAF route besides the built-in allow-list (letters,
        digits and C(-); none that the load balancer sets or that claims an identity or a route).
    type: list
    elements: str
    default: []
seealso:
  - plugin: netzone.segmentation.lb_vhosts
    plugin_type: filter
"""

EXAMPLES = r"""
- name: The routing of two vhosts
  ansible.builtin.debug:
    msg: >-
      {{ [{'name': 'shop.example.com', 'service': 'web'}, {'name': 'api.example.com', 'service': 'api', 'sticky': true}]
         | netzone.segmentation.lb_vhosts
         | netzone.segmentation.haproxy_routing({'public': {'address': '*', 'https_port': 443, 'http_port': 80}}) }}
  # exposures[0].frontends: fe_public_https (bind *:443), fe_public_http (bind *:80);
  # sticky[0].backend == 'be_vh1_sticky'
"""

RETURN = r"""
_value:
  description:
    - C(exposures), one per exposure that has vhosts, each with C(name), C(frontends) (C(name), C(bind), C(tls),
      C(scheme)), C(vhosts) (the routes of its vhosts), C(default) (the default vhost's id or V(null)), C(default_name) (its name) and
      C(bypass) (whether any of its vhosts lets static paths skip the WAF).
    - A route has C(id), C(name), C(hosts) (the host names, space-separated), C(path_acls) (C(exact), C(prefix);
      empty for a vhost served at C(/)), C(match) (the ACLs that select the vhost), C(backend), C(sticky),
      C(sticky_cookie), C(redirect_http), C(hsts), C(hsts_max_age), C(rate_limit), C(rate_table) and
      C(bypass_paths) (space-separated).
    - C(sticky) and C(rate_limited), the routes of the vhosts with sticky sessions and with a rate limit.
    - C(rewrites), each with C(hosts), C(exact), C(prefix), C(pattern) and C(replacement).
    - C(edge), the edge's own rules (C(forged_headers), the header names that claim an identity or a route;
      C(node_headers_only) and C(bypass_headers_only), regular expressions of every header name outside the
      allow-list of each route, removed before a node; C(bypass_headers), C(plain_header_value) and
      C(plain_header_length), the headers a bypass keeps and the shape their values must have;
      C(restricted_extensions), C(restricted_files) and C(crs_restricted_files), what a WAF bypass prefix
      refuses). A route's C(bypass) has C(exact) and C(prefix), its bypass prefixes bounded at a C(/).
  type: dict
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import haproxy_routing as _haproxy_routing
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import run


def haproxy_routing(vhosts, listeners, default_vhost="", request_headers=None):
    """The routing of normalised vhosts, see :func:`vhosts.haproxy_routing`."""
    return run("haproxy_routing", _haproxy_routing, vhosts, listeners, default_vhost, request_headers or [])


class FilterModule:
    """netzone.segmentation.haproxy_routing"""

    def filters(self):
        return {"haproxy_routing": haproxy_routing}
