#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zone_policies
short_description: Make the cluster's zone namespaces, NetworkPolicies, admission policy, Ingresses and egress proxies equal to the computed set
version_added: 0.1.0
description:
  - Takes the whole computed set of objects, a proven plan (P(netzone.segmentation.plan#filter)), and makes the cluster
    equal to it in one call.
  - Reads the live objects with ONE label-selected LIST per kind (label C(app.kubernetes.io/managed-by=netzone.segmentation)),
    paged through with C(limit) and C(continue) (500 items a page, fewer if the server caps its pages),
    creates what is missing, updates what differs, leaves equal objects alone, and prunes the
    objects it owns that are no longer computed. A run with nothing to do makes one request per kind and page and writes nothing.
  - Objects are compared in full, once the API server's defaults are filled in. Any field that someone else added, removed
    or changed in an owned object (a rule added to a default-deny, a narrowed pod selector, a match condition on the admission
    policy...) is drift, listed in the C(drift) of RV(actions), shown by C(--check --diff) and restored. Labels and annotations that
    others add are kept; ours must be there with our values.
  - "Apply order: namespaces, allow policies, default-deny policies, the admission policy and its binding, Ingress objects,
    then prune. Traffic allowed both before and after a change is never cut."
  - Never touches an object it does not own. An existing namespace of a zone (for example the one of the MicroK8s ingress
    addon) is adopted, that is its labels are added and it is marked C(netzone.io/adopted) and never deleted;
    any other foreign object with a computed name stops the run with an explanation.
  - A stale write (409 Conflict) is retried from a fresh read. Any other API error stops the run where it is; the next run
    continues from the live state.
  - In check mode every write is sent with the API's server-side dry run (C(dryRun=All)); nothing changes.
author:
  - netzone maintainers (@netzone)
extends_documentation_fragment:
  - netzone.segmentation.attributes
  - netzone.segmentation.k8s_connection
  - netzone.segmentation.attributes.action_group_k8s
attributes:
  check_mode:
    support: full
    details: Writes are sent with C(dryRun=All), so the API server validates them without storing anything.
  diff_mode:
    support: full
    details: One before/after entry per object created, updated or deleted.
  idempotent:
    support: full
options:
  plan:
    description:
      - The plan to apply, the output of the P(netzone.segmentation.plan#filter) filter; its C(manifests) are applied.
      - "Kinds: C(v1/Namespace), C(networking.k8s.io/v1) C(NetworkPolicy) and C(Ingress),
        C(admissionregistration.k8s.io/v1) C(ValidatingAdmissionPolicy) and C(ValidatingAdmissionPolicyBinding),
        and the proxy zone's workload: C(v1) C(ConfigMap), C(Secret) and C(Service), C(apps/v1) C(Deployment),
        C(policy/v1) C(PodDisruptionBudget)."
      - "Nothing unproven is applied: the module refuses, before any request, a plan whose proof has a mismatch, whose
        offline checks found a problem, or that changed after it was built (its C(digest) no longer matches its
        content)."
    type: dict
    required: true
  secret_data:
    description:
      - "The data of the Secret objects of the plan, as C({namespace/name: {key: base64}}), passed apart
        (C(no_log)) so that keys and certificates never appear in the task's arguments or output (the
        P(netzone.segmentation.egress_workload#filter) filter with C(secrets=apart) gives it). Diffs show a
        digest of each value instead of the value."
    type: dict
  kinds:
    description:
      - The kinds this call manages. Owned objects of these kinds that are not computed are pruned.
      - Only the plan's objects of these kinds are applied.
      - C(AdminNetworkPolicy) (C(policy.networking.k8s.io/v1alpha1)) is served only where its CRD is installed (Calico
        3.29+, MicroK8s 1.33+); on a cluster that does not serve it, an object whose every rule passes is left out (see
        RV(not_applied)) and any other is refused before anything is written.
    type: list
    elements: str
    choices: [Namespace, NetworkPolicy, ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding, AdminNetworkPolicy,
              Ingress, ConfigMap, Secret, Service, Deployment, PodDisruptionBudget]
    default: [Namespace, NetworkPolicy, ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding, AdminNetworkPolicy,
              Ingress, ConfigMap, Secret, Service, Deployment, PodDisruptionBudget]
  prune:
    description:
      - Delete the owned objects that are no longer computed.
    type: bool
    default: true
  prune_namespaces:
    description:
      - Also delete owned namespaces of zones that are no longer computed, with everything in them.
      - Adopted namespaces are never deleted.
    type: bool
    default: false
  conflict_retries:
    description:
      - How many times a write that met a 409 Conflict is retried from a fresh read.
    type: int
    default: 3
  namespace_terminating_timeout:
    description:
      - "Seconds to wait for a zone namespace that Kubernetes is deleting (C(Terminating)) to be gone before it is
        created again, for example when a zone comes back right after it was removed. The wait happens before any
        write. When it is still there, the module fails and writes nothing: the message names the namespace, since
        when it is being deleted and what holds it (its remaining content and finalizers, from C(status.conditions))."
      - "0 fails at once."
    type: int
    default: 120
notes:
  - Labels this module once set and no longer computes are left on the objects.
  - "Writes are sent with C(fieldValidation=Strict): an object with a field the API server does not know (a typo in
    an extra policy, C(form) for C(from)) is refused with the field named, instead of being stored without it."
seealso:
  - module: netzone.segmentation.cluster_guard
  - module: netzone.segmentation.reachability
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Apply the zones of the matrix
  netzone.segmentation.zone_policies:
    plan: "{{ netzone_matrix | netzone.segmentation.plan(groups=groups, hostvars=hostvars) }}"
    kubeconfig: /root/.kube/microk8s.config

- name: Apply a plan built earlier, without pruning, through an explicit API URL
  netzone.segmentation.zone_policies:
    plan: "{{ zones_plan }}"
    host: https://10.0.0.10:16443
    api_key: "{{ k8s_token }}"
    ca_cert: /etc/netzone/ca.crt
    prune: false
"""

RETURN = r"""
actions:
  description:
    - The writes made (or, in check mode, validated), in order.
    - An update lists in C(drift) what differed in the live object (a field someone else C(added), C(removed) or
      C(changed), a label of ours missing); the update restores it.
  returned: always
  type: list
  elements: dict
  sample: [{action: create, kind: NetworkPolicy, namespace: frontend, name: netzone-default-deny},
           {action: update, kind: NetworkPolicy, namespace: backend, name: netzone-default-deny,
            drift: ["spec.ingress (added)"]}]
unchanged:
  description: How many computed objects were already equal.
  returned: always
  type: int
  sample: 34
counts:
  description: Writes by action (create, update, delete, adopt).
  returned: always
  type: dict
  sample: {create: 0, update: 1, delete: 2, adopt: 0}
requests:
  description: API requests this call made.
  returned: always
  type: int
  sample: 5
not_applied:
  description:
    - Computed objects not applied because the cluster does not serve their API and they change no verdict (the
      AdminNetworkPolicy of the C(warn) stage of C(guards.unmanaged_internet) on a Calico older than 3.29).
  returned: success
  type: list
  elements: str
  sample: ["AdminNetworkPolicy netzone-unmanaged-no-internet"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import NetzoneError
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import (
    HAS_KUBERNETES,
    K8S_CONNECTION_ARGS,
    KUBERNETES_IMPORT_ERROR,
    K8sConnectionError,
    connect,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.sync import KINDS, Syncer, SyncError, fill_secrets
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import check_plan

KIND_NAMES = [k.kind for k in KINDS]


def main():
    argument_spec = dict(
        plan=dict(type="dict", required=True),
        secret_data=dict(type="dict", no_log=True),
        kinds=dict(type="list", elements="str", choices=KIND_NAMES, default=KIND_NAMES),
        prune=dict(type="bool", default=True),
        prune_namespaces=dict(type="bool", default=False),
        conflict_retries=dict(type="int", default=3),
        namespace_terminating_timeout=dict(type="int", default=120),
    )
    argument_spec.update(K8S_CONNECTION_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    result = dict(changed=False, actions=[], unchanged=0, counts={}, requests=0)
    transport = None
    try:
        plan = check_plan(module.params["plan"])
        manifests = fill_secrets([obj for obj in plan["manifests"] if obj.get("kind") in module.params["kinds"]],
                                 module.params["secret_data"])
        transport = connect(module.params)
        syncer = Syncer(transport, dry_run=module.check_mode, conflict_retries=module.params["conflict_retries"],
                        terminating_timeout=module.params["namespace_terminating_timeout"])
        out = syncer.sync(manifests, kinds=module.params["kinds"], prune=module.params["prune"],
                          prune_namespaces=module.params["prune_namespaces"])
    except SyncError as exc:
        result.update(actions=exc.done, changed=bool(exc.done), requests=transport.requests if transport else 0)
        module.fail_json(msg=exc.message, status=exc.status, **result)
    except (NetzoneError, K8sConnectionError) as exc:
        module.fail_json(msg=str(exc), **result)
    counts = {"create": 0, "update": 0, "delete": 0, "adopt": 0}
    for action in out["actions"]:
        counts[action["action"]] += 1
    result.update(changed=out["changed"], actions=out["actions"], unchanged=out["unchanged"], counts=counts,
                  requests=transport.requests)
    if module._diff:
        result["diff"] = out["diff"]
    # Not "skipped": Ansible reads a true "skipped" in a module's result as "the task was skipped" and hides its
    # changes, so a run that applied everything would show as skipping with changed=0.
    result["not_applied"] = out["skipped"]
    for what in out["skipped"]:
        module.warn("%s was not applied: this cluster does not serve its API (Calico 3.29+, MicroK8s 1.33+); in the "
                    "warn stage it would change no verdict" % what)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
