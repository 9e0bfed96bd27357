#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: probe_pods
short_description: Send real packets between the zones with short-lived probe pods, and compare with the matrix
version_added: 0.2.0
description:
  - In every zone namespace, starts a responder pod that answers on every service port of the matrix and on the port
    just above each range, then a prober pod that connects to the responder of every zone (its own included) and to
    the DNS pods on the DNS ports. A probe counts as reached only when the answer names the expected pod.
  - Each prober writes its results to its termination message, kept by the API server in the pod's status; nothing
    else is read (no log or exec access is needed).
  - Every object carries the label C(app.kubernetes.io/managed-by=netzone-verify) and the run id, runs as non-root
    with no capability (the zones' Pod Security admits it), has C(activeDeadlineSeconds) set to O(timeout), and is
    deleted at the end, also when the run fails. Objects of an earlier run that died are deleted first.
  - Probes go only to the addresses of the pods of this run and of the DNS pods, never outside the cluster.
  - Reports changed=false (nothing is left behind). In check mode it does nothing.
  - In diff mode it returns the probe objects in the zone namespaces before and after the run (see the C(diff_mode)
    attribute); this costs four more LIST requests per zone namespace (Pods and ConfigMaps, before and after).
author:
  - netzone maintainers (@netzone)
extends_documentation_fragment:
  - netzone.segmentation.attributes
  - netzone.segmentation.k8s_connection
  - netzone.segmentation.attributes.action_group_k8s
  - netzone.segmentation.matrix_input
attributes:
  check_mode:
    support: full
    details: In check mode no pod is created and no probe is sent.
  diff_mode:
    support: partial
    details:
      - The diff lists the probe objects (Pods and ConfigMaps labelled C(app.kubernetes.io/managed-by=netzone-verify))
        in the zone namespaces, as C(Kind namespace/name), before the run and after it, also when the run fails.
        Objects an earlier run left behind show as removed, objects of this run whose deletion failed as added;
        this run's own objects, created and deleted within the run, show in neither, so a clean run has an equal
        before and after (an empty diff).
      - In check mode there is no diff, since the module does not reach the cluster.
  idempotent:
    support: full
    details: Every object it creates is deleted before it returns.
options:
  program:
    description:
      - The text of the probe program (the verify role passes its C(files/netzone_probe.py)); it runs in the pods
        with C(python3), from a ConfigMap.
    type: str
    required: true
  image:
    description:
      - A container image with C(python3) (the standard library is enough). Pin it.
    type: str
    default: docker.io/library/python:3.12-alpine
  timeout:
    description:
      - Seconds for the whole run; also the pods' C(activeDeadlineSeconds).
    type: int
    default: 180
  probe_timeout:
    description:
      - Seconds to wait for the answer to one probe.
    type: float
    default: 1.0
  settle:
    description:
      - Seconds a prober waits before its first probe, for the policy engine to learn the new pods' addresses.
    type: float
    default: 3.0
  fail_on_mismatch:
    description:
      - Fail when a probe's outcome differs from the matrix.
    type: bool
    default: true
seealso:
  - module: netzone.segmentation.reachability
"""

EXAMPLES = r"""
- name: Probe the zones with real packets
  netzone.segmentation.probe_pods:
    plan: "{{ zones_plan }}"
    program: "{{ lookup('ansible.builtin.file', 'netzone_probe.py') }}"
    kubeconfig: /root/.kube/microk8s.config
"""

RETURN = r"""
probes:
  description: How many probes were sent.
  returned: unless in check mode
  type: int
  sample: 540
mismatches:
  description: Each probe whose outcome differs from the matrix.
  returned: unless in check mode
  type: list
  elements: dict
  sample: [{from: frontend, to: db, port: 5432, protocol: TCP, expected: false, live: true,
            text: "frontend -> db 5432/TCP: answered, the matrix says denied"}]
diff:
  description: In diff mode, the probe objects before and after the run, each a sorted list of C(Kind namespace/name).
  returned: in diff mode, unless in check mode
  type: dict
  sample: {before: {probe_objects: ["Pod frontend/netzone-probe-3f2a9c1d-r"]}, after: {probe_objects: []}}
cells:
  description: Per (from, to) zone pair, the probe ports the matrix opens and those found open.
  returned: unless in check mode
  type: list
  elements: dict
seconds:
  description: Duration of the run.
  returned: unless in check mode
  type: float
run_id:
  description: The run's id (label C(netzone.io/probe-run)).
  returned: unless in check mode
  type: str
"""

import uuid

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import NetzoneError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import MATRIX_INPUT_ARGS, MATRIX_INPUT_RULES
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import matrix_from_params
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import (
    HAS_KUBERNETES,
    K8S_CONNECTION_ARGS,
    KUBERNETES_IMPORT_ERROR,
    K8sConnectionError,
    connect,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.probe_pods import ProbeRun


def _diff(run, before):
    """``{"diff": ...}`` when in diff mode (``before`` was listed), else nothing; when listing what is left fails,
    no diff either (after a failed run, its error is the one to report)."""
    if before is None:
        return {}
    try:
        return {"diff": run.diff(before)}
    except (NetzoneError, K8sConnectionError):
        return {}


def main():
    argument_spec = dict(
        program=dict(type="str", required=True),
        image=dict(type="str", default="docker.io/library/python:3.12-alpine"),
        timeout=dict(type="int", default=180),
        probe_timeout=dict(type="float", default=1.0),
        settle=dict(type="float", default=3.0),
        fail_on_mismatch=dict(type="bool", default=True),
    )
    argument_spec.update(K8S_CONNECTION_ARGS)
    argument_spec.update(MATRIX_INPUT_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **MATRIX_INPUT_RULES)
    if module.check_mode:
        module.exit_json(changed=False, skipped=True, msg="check mode: no probe pod created")
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    params = module.params
    run, before = None, None
    try:
        matrix = matrix_from_params(params)[0]
        run = ProbeRun(connect(params), matrix, params["program"], params["image"], uuid.uuid4().hex[:8],
                       timeout=params["timeout"], probe_timeout=params["probe_timeout"], settle=params["settle"])
        if module._diff:
            before = run.leftovers()
        stale = run.cleanup()
        result = run.run()
    except (NetzoneError, K8sConnectionError, ValueError) as exc:
        module.fail_json(msg="probe pods: %s" % exc, **_diff(run, before))
    result.update(_diff(run, before))
    if stale:
        module.warn("deleting an earlier run's probe objects failed: %s" % "; ".join(stale))
    if result["cleanup_errors"]:
        module.warn("deleting this run's probe objects failed: %s" % "; ".join(result["cleanup_errors"]))
    if result["mismatches"] and params["fail_on_mismatch"]:
        module.fail_json(msg="%d of %d probes differ from the matrix; first: %s" % (
            len(result["mismatches"]), result["probes"], " | ".join(m["text"] for m in result["mismatches"][:5])),
            changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
