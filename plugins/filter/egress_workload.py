# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: egress_workload
short_description: Compile the proxy zone's egress proxies from a normalised matrix
version_added: 0.2.0
author: netzone maintainers (@netzone)
description:
  - Turns the C(egress) section of a normalised matrix (the output of P(netzone.segmentation.matrix#filter))
    into the proxy zone's workload, in its namespace.
  - "A Squid forward proxy: one named port per source zone, the zone's domain and port allow-lists, IP literals
    and the special-purpose and private ranges always refused, unlisted requests refused with 403 (or allowed and
    logged in report-only zones), every access log line naming the zone."
  - "An HAProxy TLS origination listener per origination: the provider verified with its CA, SNI, the client
    certificate presented."
  - ConfigMaps, Secrets, Deployments (2 replicas, probes, resources, non-root, read-only root filesystem, spread
    over nodes, a checksum annotation that rolls the pods on change), ClusterIP Services, PodDisruptionBudgets.
  - Returns an empty list when the matrix has no C(egress) section.
options:
  _input:
    description: A normalised matrix.
    type: dict
    required: true
  files:
    description:
      - "The contents of the files the originations name, as C({path: PEM text}), read on the controller
        (with C(no_log)). Needed for the Secrets unless O(secrets=false)."
    type: dict
  secrets:
    description:
      - V(include) returns the Secrets with their data.
      - "V(apart) returns C({manifests, secret_data}): the Secrets without data in C(manifests), their data as
        C({namespace/name: {key: base64}}) for the P(netzone.segmentation.zone_policies#module) module's
        O(netzone.segmentation.zone_policies#module:secret_data) option (C(no_log)), so that no key material is ever
        shown in a task's arguments."
      - V(omit) leaves them out (rendering to files), so that no key material is written; O(files) is not needed.
    type: str
    choices: [include, apart, omit]
    default: include
  squid_image:
    description: The Squid image (name and pinned tag).
    type: str
  haproxy_image:
    description: The HAProxy image (name and pinned tag).
    type: str
  replicas:
    description: Replicas of each Deployment.
    type: int
seealso:
  - plugin: netzone.segmentation.zone_manifests
    plugin_type: filter
"""

EXAMPLES = r"""
- name: The proxy zone's workload, without Secrets (to write to files)
  ansible.builtin.set_fact:
    __egress: "{{ netzone_matrix | netzone.segmentation.matrix(groups=groups, hostvars=hostvars)
                  | netzone.segmentation.egress_workload(secrets='omit') }}"
"""

RETURN = r"""
_value:
  description:
    - The manifests, in apply order (configuration, then Services, Deployments and budgets).
    - With O(secrets=apart), a dict C({manifests, secret_data}).
  type: raw
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._model.egress_workload import compile_egress
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import filter_error, run
from ansible_collections.netzone.segmentation.plugins.plugin_utils.matrix_input import require_normalized


def egress_workload(data, files=None, secrets="include", squid_image=None, haproxy_image=None, replicas=None):
    """The proxy zone's workload."""
    matrix = require_normalized("egress_workload", data)
    if secrets not in ("include", "apart", "omit"):
        raise filter_error("egress_workload", "secrets must be include, apart or omit, got %r" % (secrets,))
    if files is not None and not isinstance(files, dict):
        raise filter_error("egress_workload", "files must be a mapping of path to file content")
    if replicas is not None and (isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1):
        raise filter_error("egress_workload", "replicas must be a positive integer, got %r" % (replicas,))
    options = {"squid_image": squid_image, "haproxy_image": haproxy_image, "replicas": replicas}
    manifests = run("egress_workload", compile_egress, matrix, files, options, secrets != "omit")
    if secrets != "apart":
        return manifests
    out = {"manifests": [], "secret_data": {}}
    for obj in manifests:
        if obj["kind"] == "Secret":
            out["secret_data"]["%s/%s" % (obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj["data"]
            obj = {k: v for k, v in obj.items() if k != "data"}
        out["manifests"].append(obj)
    return out


class FilterModule:
    """netzone.segmentation.egress_workload"""

    def filters(self):
        return {"egress_workload": egress_workload}
