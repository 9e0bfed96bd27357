# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``lb_vhosts``: validate and normalise the load balancer's virtual hosts."""

from __future__ import annotations

DOCUMENTATION = r"""
name: lb_vhosts
short_description: Validate and normalise a list of virtual hosts for the load balancer
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Checks the C(vhosts) list of the netzone matrix (or a list given directly to the load balancer role) and
    returns it with every key present and its default filled in.
  - "A bad entry fails with one message that names its path, for example C(vhosts[1].tls.key: is required)."
  - Normalising an already normalised list returns it unchanged.
options:
  _input:
    description: The list of virtual hosts (V(null) means none).
    type: list
    elements: dict
    required: true
  zones:
    description:
      - The known zone names; each vhost's C(zone) must be one of them.
      - Omit it (or give V(null)) to skip that check, for vhosts that come from an already validated matrix.
    type: list
    elements: str
seealso:
  - plugin: netzone.segmentation.matrix
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Normalise the vhosts given to the role
  ansible.builtin.set_fact:
    vhosts: "{{ [{'name': 'shop.example.com', 'service': 'web'}] | netzone.segmentation.lb_vhosts }}"
  # vhosts[0].tls == {'mode': 'selfsigned', 'cert': None, 'key': None, 'chain': None}
"""

RETURN = r"""
_value:
  description:
    - The normalised list. Each item has C(name), C(aliases), C(exposure), C(zone), C(service), C(port),
      C(paths) (each with C(path), C(rewrite), C(service), C(port)), C(tls) (C(mode), C(cert), C(key), C(chain)),
      C(redirect_http), C(hsts), C(hsts_max_age), C(sticky), C(sticky_cookie), C(rate_limit) and
      C(waf) (C(exclusions), C(bypass_paths)).
  type: list
  elements: dict
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._edge.vhosts import normalize_vhosts
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import run


def lb_vhosts(value, zones=None):
    """Return ``value`` normalised by :func:`normalize_vhosts`; errors name the filter and the path."""
    return run("lb_vhosts", normalize_vhosts, value, zones)


class FilterModule:
    """The ``lb_vhosts`` filter."""

    def filters(self):
        return {"lb_vhosts": lb_vhosts}
