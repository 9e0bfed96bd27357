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
- name: Prove the live cluster allows exactly the matrix
  netzone.segmentation.reachability:
    matrix: "{{ netzone_matrix }}"
    inventory: "{{ zones_inventory }}"
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
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netzone.segmentation.plugins.module_utils.errors import NetzoneError
from ansible_collections.netzone.segmentation.plugins.module_utils.matrix import MATRIX_INPUT_ARGS, matrix_from_params
from ansible_collections.netzone.segmentation.plugins.module_utils.k8s_connection import (
    HAS_KUBERNETES,
    K8S_CONNECTION_ARGS,
    KUBERNETES_IMPORT_ERROR,
    K8sConnectionError,
    connect,
    list_objects,
)
from ansible_collections.netzone.segmentation.plugins.module_utils.k8s_sync import ApiFailure


def check(params, transport):
    from ansible_collections.netzone.segmentation.plugins.module_utils.objects import cluster_state
    from ansible_collections.netzone.segmentation.plugins.module_utils.verify import verify_cluster

    matrix = matrix_from_params(params)
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
    return result


def main():
    argument_spec = dict(
        fail_on_mismatch=dict(type="bool", default=True),
    )
    argument_spec.update(K8S_CONNECTION_ARGS)
    argument_spec.update(MATRIX_INPUT_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
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
        module.fail_json(msg="the live cluster differs from the matrix in %d place(s): %s" % (
            len(result["mismatches"]), "; ".join("%s -> %s %s/%s %s (%s -> %s)" % (
                m["from"], m["to"], m["port"], m["protocol"], m["kind"], m["src"], m["dst"]) for m in first)),
            changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
