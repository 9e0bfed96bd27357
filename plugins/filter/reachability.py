# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: reachability
short_description: Evaluate NetworkPolicies over cluster objects into a verdict table
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Takes Namespace, Pod and NetworkPolicy objects (as C(kubernetes.core.k8s_info) returns them, or
    manifests) and evaluates, with the collection's NetworkPolicy v1 engine, whether each source may open a
    new connection to each destination on each port.
  - Sources and destinations are pods (C(namespace/name)) or outside addresses (C(ip:203.0.113.5)).
  - Pods that no selector can tell apart are evaluated once as a group, so whole clusters are cheap.
options:
  _input:
    description: Kubernetes objects; kinds other than Namespace, Pod and NetworkPolicy are ignored.
    type: list
    elements: dict
    required: true
  sources:
    description: Source endpoints. Default every pod.
    type: list
    elements: str
  destinations:
    description: Destination endpoints. Default every pod.
    type: list
    elements: str
  ports:
    description: Ports to probe, as C(80), C(80/tcp) or C(53/udp).
    type: list
    elements: raw
    default: ["80/tcp"]
  explain:
    description: Add the engine's explanation to each row (slower; one verdict per row).
    type: bool
    default: false
seealso:
  - plugin: netzone.segmentation.verify_matrix
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Who can reach the database pods on 5432?
  ansible.builtin.debug:
    msg: >-
      {{ (namespaces.resources + pods.resources + policies.resources)
         | netzone.segmentation.reachability(destinations=['db/postgres-0'], ports=['5432/tcp'], explain=true)
         | selectattr('allowed') }}
"""

RETURN = r"""
_value:
  description: One row per (source, destination, port) with C(from), C(to), C(port), C(protocol), C(allowed)
    and, with O(explain), C(explanation). An endpoint to itself is left out.
  type: list
  elements: dict
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._model.evaluate import Engine
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import parse_port
from ansible_collections.netzone.segmentation.plugins.module_utils._model.objects import cluster_state
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import run


def _table(objects, sources, destinations, ports, explain):
    namespaces, pods, policies = cluster_state(objects)
    engine = Engine(namespaces=namespaces, pods=pods, policies=policies)
    probes = []
    for i, port in enumerate(ports or []):
        entry = parse_port(port, "ports[%d]" % i)
        probes.append((entry["port"], entry["protocol"]))
    reach = engine.reachability(sources=sources, destinations=destinations, ports=probes)
    rows = []
    for src, dst, port, protocol, allowed in reach.rows():
        if src == dst:
            continue
        row = {"from": src, "to": dst, "port": port, "protocol": protocol, "allowed": allowed}
        if explain:
            row["explanation"] = engine.verdict(src, dst, port=port, protocol=protocol).explain()
        rows.append(row)
    return rows


def reachability(objects, sources=None, destinations=None, ports=None, explain=False):
    """Verdict table over cluster objects."""
    return run("reachability", _table, objects, sources, destinations, ports or ["80/tcp"], bool(explain))


class FilterModule:
    """netzone.segmentation.reachability"""

    def filters(self):
        return {"reachability": reachability}
