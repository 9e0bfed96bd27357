#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: reachability
short_description: Check the live cluster against the traffic matrix, cell by cell
version_added: 0.1.0
description:
  - Reads the live namespaces, pods and NetworkPolicies (three LIST requests), evaluates them with the collection's
    NetworkPolicy engine, and reports every matrix cell (zone or peer to zone or peer, per probe port) as expected
    against actual, with the pods involved.
  - Fails on a mismatch (a flow the matrix allows that the policies deny, or the reverse) unless O(fail_on_mismatch=false).
    The message names each mismatch and the objects behind it; for what the matrix does not allow, the policies that
    allow it (RV(extra_allowed_by)), and which of them this collection does not manage (a foreign allow policy that
    opens more than the matrix, for example).
  - A zone without running pods cannot be checked; its cells have status C(no-pods).
author:
  - netzone maintainers (@netzone)
extends_documentation_fragment:
  - netzone.segmentation.attributes
  - netzone.segmentation.attributes.read_only
  - netzone.segmentation.k8s_connection
  - netzone.segmentation.attributes.action_group_k8s
  - netzone.segmentation.matrix_input
options:
  fail_on_mismatch:
    description:
      - Fail the task when a cell's actual reachability differs from the matrix.
    type: bool
    default: true
seealso:
  - module: netzone.segmentation.zone_policies
"""

EXAMPLES = r"""
- name: Prove the live cluster allows exactly the matrix of the plan
  netzone.segmentation.reachability:
    plan: "{{ zones_plan }}"
    kubeconfig: /root/.kube/microk8s.config

- name: The same from the matrix as written
  netzone.segmentation.reachability:
    matrix: "{{ netzone_matrix }}"
    inventory: "{{ groups | netzone.segmentation.inventory(hostvars) }}"
    kubeconfig: /root/.kube/microk8s.config
"""

RETURN = r"""
cells:
  description: Every cell, expected against actual (probe ports as C(port/PROTOCOL)).
  returned: always
  type: list
  elements: dict
  sample: [{from: backend, to: db, expected: [5432/TCP], actual: [5432/TCP], partial: [], status: ok, pairs: 4}]
mismatches:
  description: Each port of a cell where the live policies and the matrix differ, with an example pair and the explanation.
  returned: always
  type: list
  elements: dict
summary:
  description: Counts of cells by status, and the probe ports.
  returned: always
  type: dict
pods:
  description: Pods taken into account, by namespace.
  returned: always
  type: dict
  sample: {frontend: [web-0, web-1]}
extra_allowed_by:
  description: The policies (C(namespace/name)) whose rules allow what the matrix does not.
  returned: always
  type: list
  elements: str
  sample: [db/team-open]
owned_policies:
  description: The live policies managed by this collection (the others are someone else's).
  returned: always
  type: list
  elements: str
  sample: [db/netzone-default-deny]
"""

import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netzone.segmentation.plugins.module_utils._common.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import NetzoneError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import MATRIX_INPUT_ARGS, MATRIX_INPUT_RULES
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import matrix_from_params
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import (
    HAS_KUBERNETES,
    K8S_CONNECTION_ARGS,
    KUBERNETES_IMPORT_ERROR,
    K8sConnectionError,
    connect,
    list_objects,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.sync import ApiFailure


ALLOWED_BY = re.compile(r"([a-z0-9][-a-z0-9.]*/[a-z0-9][-a-z0-9.]*) rule (?:ingress|egress)\[\d+\]")


def check(params, transport):
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.objects import cluster_state
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_cluster

    matrix = matrix_from_params(params)[0]
    objects = list_objects(transport, "v1", "Namespace", "namespaces")
    objects += [p for p in list_objects(transport, "v1", "Pod", "pods")
                if (p.get("status") or {}).get("podIP") and (p.get("status") or {}).get("phase", "Running") == "Running"]
    objects += list_objects(transport, "networking.k8s.io/v1", "NetworkPolicy", "networkpolicies")
    namespaces, pods, policies = cluster_state(objects)
    result = verify_cluster(matrix, namespaces, pods, policies)
    by_ns = {}
    for pod in pods:
        by_ns.setdefault(pod["namespace"], []).append(pod["name"])
    result["pods"] = {ns: sorted(names) for ns, names in sorted(by_ns.items())}
    refs = set()
    for mismatch in result["mismatches"]:
        if mismatch["kind"] == "extra":
            refs.update(ALLOWED_BY.findall(mismatch["explanation"]))
    result["extra_allowed_by"] = sorted(refs)
    result["owned_policies"] = sorted(
        "%s/%s" % (p["metadata"].get("namespace"), p["metadata"].get("name")) for p in policies
        if ((p.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE)
    return result


def main():
    argument_spec = dict(
        fail_on_mismatch=dict(type="bool", default=True),
    )
    argument_spec.update(K8S_CONNECTION_ARGS)
    argument_spec.update(MATRIX_INPUT_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **MATRIX_INPUT_RULES)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        result = check(module.params, connect(module.params))
    except ApiFailure as exc:
        module.fail_json(msg="reachability: %s" % exc, status=exc.status)
    except (NetzoneError, K8sConnectionError) as exc:
        module.fail_json(msg="reachability: %s" % exc)
    if result["mismatches"] and module.params["fail_on_mismatch"]:
        first = result["mismatches"][:5]
        opening = ""
        if result["extra_allowed_by"]:
            foreign = [ref for ref in result["extra_allowed_by"] if ref not in result["owned_policies"]]
            opening = "; what the matrix does not allow is allowed by %s%s" % (
                ", ".join(result["extra_allowed_by"]),
                " (not managed by this collection: %s)" % ", ".join(foreign) if foreign else "")
        module.fail_json(msg="the live cluster differs from the matrix in %d place(s)%s; first: %s" % (
            len(result["mismatches"]), opening, " | ".join("%s -> %s %s/%s %s (%s -> %s): %s" % (
                m["from"], m["to"], m["port"], m["protocol"], m["kind"], m["src"], m["dst"], m["explanation"])
                for m in first)),
            changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
