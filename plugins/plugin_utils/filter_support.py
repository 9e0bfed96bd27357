# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every filter of the collection shares: inventory lookup and turning core errors into filter errors."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import NetzoneError


def filter_error(name, exc):
    """An AnsibleFilterError that names the filter and carries the core's path-naming message."""
    return AnsibleFilterError("netzone.segmentation.%s: %s" % (name, exc))


def run(name, func, *args, **kwargs):
    """Call the core; a core error becomes one clear filter error (never a traceback)."""
    try:
        return func(*args, **kwargs)
    except NetzoneError as exc:
        raise filter_error(name, exc)


def inventory_from(groups=None, hostvars=None, inventory=None):
    """The core's inventory view ``{"groups", "addresses"}`` from Ansible's ``groups`` and ``hostvars``.

    A host's address is its ``netzone_address``, else its ``ansible_host``, else its name.
    """
    if inventory is not None:
        return inventory
    if groups is None:
        return None
    if not isinstance(groups, Mapping):
        raise AnsibleFilterError("groups must be a mapping of group name to hosts (pass the 'groups' variable)")
    addresses = {}
    hosts = set()
    for members in groups.values():
        hosts.update(members or [])
    for host in sorted(hosts):
        variables = {}
        if hostvars is not None and host in hostvars:
            variables = hostvars[host]
        address = variables.get("netzone_address") or variables.get("ansible_host") or host
        addresses[host] = str(address)
    return {"groups": dict((k, list(v or [])) for k, v in groups.items()), "addresses": addresses}
