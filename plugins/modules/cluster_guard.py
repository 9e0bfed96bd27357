#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_guard
short_description: Refuse a zone plan that would lock the platform out, before anything is applied
version_added: 0.1.0
description:
  - Reads the cluster (three LIST requests) and evaluates the computed policies, then fails with an explanation
    for each lockout it finds. It never writes.
  - "C(cni): no policy-enforcing CNI (Calico, Canal, Cilium, kube-router, Antrea, Weave Net) has a ready DaemonSet, so
    the policies would be silently ignored."
  - "C(ingress_host_network): a DaemonSet or Deployment in the ingress zone's namespace runs on the host network, where
    namespaced policies cannot select it."
  - "C(dns_pods): no pod in the DNS namespace has the labels the DNS egress policies allow."
  - "C(plan): the computed policies cut DNS from a zone, or the API server from a zone that needs it (the ingress zone
    and O(api_server_zones)); proven with the collection's NetworkPolicy engine."
  - "C(load_balancers): the load balancer addresses admitted into the ingress zone and the hosts of the inventory group
    O(load_balancer_group) differ."
  - "C(pod_security): a pod running in a zone namespace, or the pod template of a DaemonSet or Deployment there, that the
    zone's Pod Security level refuses (in the ingress zone, its pod admission policy). Admission control does not
    look at running pods again, so a host-network pod admitted before the labels keeps bypassing every NetworkPolicy.
    O(pod_security_violations) decides whether these fail the guard or are returned as warnings."
  - "C(host_network): a pod, DaemonSet or Deployment of any namespace on the host network or with a hostPort that the
    cluster-wide admission policy C(netzone-host-network) does not admit (not controlled by a DaemonSet of the matrix's
    C(guards.host_network_allowed)). Problems when C(guards.host_network) is C(deny) (their next pod would be refused)
    and O(pod_security_violations=fail); warnings otherwise."
  - When the API cannot be reached, it fails with one message that says so.
author:
  - netzone maintainers (@netzone)
extends_documentation_fragment:
  - netzone.segmentation.attributes
  - netzone.segmentation.attributes.read_only
  - netzone.segmentation.k8s_connection
  - netzone.segmentation.attributes.action_group_k8s
  - netzone.segmentation.matrix_input
options:
  manifests:
    description:
      - The objects to be applied, when they are not simply the compiled O(matrix) (used by the C(plan) check).
      - Not with O(plan), whose manifests were proven when it was built.
    type: list
    elements: dict
  load_balancer_group:
    description:
      - Inventory group of the load balancers.
    type: str
    default: loadbalancers
  api_server_peer:
    description:
      - Name of the matrix peer that stands for the API server.
    type: str
    default: api_server
  api_server_zones:
    description:
      - Zones that need the API server, besides the ingress zone.
    type: list
    elements: str
    default: []
  skip:
    description:
      - Checks not to run.
    type: list
    elements: str
    choices: [cni, ingress_host_network, dns_pods, plan, load_balancers, pod_security, host_network]
    default: []
  pod_security_violations:
    description:
      - What the C(pod_security) check's findings do. C(fail) makes them problems (the guard fails); C(warn) returns
        them in RV(pod_security) and as warnings, and the guard passes.
    type: str
    choices: [fail, warn]
    default: fail
seealso:
  - module: netzone.segmentation.zone_policies
"""

EXAMPLES = r"""
- name: Refuse a plan that would lock the platform out
  netzone.segmentation.cluster_guard:
    plan: "{{ netzone_matrix | netzone.segmentation.plan(groups=groups, hostvars=hostvars) }}"
    kubeconfig: /root/.kube/microk8s.config

- name: The same from the matrix as written (normalised and proven here)
  netzone.segmentation.cluster_guard:
    matrix: "{{ netzone_matrix }}"
    inventory: "{{ groups | netzone.segmentation.inventory(hostvars) }}"
    kubeconfig: /root/.kube/microk8s.config
"""

RETURN = r"""
checks:
  description: Each check and its outcome (C(ok), C(failed), C(skipped), or C(warned) for C(pod_security) findings
    under O(pod_security_violations=warn) and C(host_network) findings in the warn stage).
  returned: always
  type: dict
  sample: {cni: ok, ingress_host_network: ok, dns_pods: ok, plan: ok, load_balancers: failed, pod_security: ok}
problems:
  description: One sentence per lockout found.
  returned: always
  type: list
  elements: str
  sample: ["no policy-enforcing CNI is running (...): the NetworkPolicies would be accepted and silently ignored"]
cni:
  description: The policy-enforcing CNI DaemonSets found.
  returned: when the C(cni) check ran
  type: list
  elements: str
  sample: [kube-system/calico-node]
pod_security:
  description: Pods and workload pod templates in zone namespaces that the zone's Pod Security would refuse.
  returned: when the C(pod_security) check ran
  type: list
  elements: dict
  sample:
    - {zone: frontend, namespace: frontend, kind: Pod, name: debug, policy: "baseline:v1.33",
       violations: "host namespaces (hostNetwork=true)"}
host_network:
  description: Pods and workload pod templates of any namespace on the host network or with a hostPort that the
    admission policy C(netzone-host-network) does not admit.
  returned: when the C(host_network) check ran
  type: list
  elements: dict
  sample:
    - {namespace: default, kind: Pod, name: on-the-host, uses: hostNetwork}
requests:
  description: API requests this call made.
  returned: always
  type: int
  sample: 3
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netzone.segmentation.plugins.module_utils._model import guard
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import NetzoneError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import MATRIX_INPUT_ARGS, MATRIX_INPUT_RULES
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import matrix_from_params, offline_checks
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import (
    HAS_KUBERNETES,
    K8S_CONNECTION_ARGS,
    KUBERNETES_IMPORT_ERROR,
    K8sConnectionError,
    connect,
    list_objects,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.sync import ApiFailure


def run_checks(params, transport):
    # Imported here: the compiler and the engine are only needed once the connection works.
    from ansible_collections.netzone.segmentation.plugins.module_utils._model.proof import verify_matrix

    matrix, inventory = matrix_from_params(params)
    plan = params.get("plan")
    skip = set(params["skip"])
    checks, problems, extra = {}, [], {}

    def record(name, found):
        checks[name] = "failed" if found else "ok"
        problems.extend(found)

    daemonsets = None
    if "cni" not in skip:
        daemonsets = list_objects(transport, "apps/v1", "DaemonSet", "daemonsets")
        extra["cni"] = sorted("%s/%s" % (d["metadata"].get("namespace"), d["metadata"]["name"]) for d in daemonsets
                              if d["metadata"]["name"] in guard.POLICY_CNIS)
        record("cni", guard.check_cni(daemonsets))
    ingress_zone = matrix["guards"].get("ingress_zone")
    if "ingress_host_network" not in skip and ingress_zone:
        namespace = matrix["zones"][ingress_zone]["namespace"]
        workloads = list_objects(transport, "apps/v1", "DaemonSet", "daemonsets", namespace=namespace)
        workloads += list_objects(transport, "apps/v1", "Deployment", "deployments", namespace=namespace)
        record("ingress_host_network", guard.check_ingress_host_network(workloads, namespace))
    if "dns_pods" not in skip:
        dns = matrix["cluster"]["dns"]
        selector = ",".join("%s=%s" % kv for kv in sorted(dns["pod_labels"].items()))
        pods = list_objects(transport, "v1", "Pod", "pods", namespace=dns["namespace"], label_selector=selector)
        record("dns_pods", guard.check_dns_pods(matrix, pods))
    if "plan" not in skip or "load_balancers" not in skip:
        # The plan was proven when it was built: its proof, not a second one.
        proof = None
        if "plan" not in skip:
            proof = plan["proof"] if plan is not None else verify_matrix(matrix, params["manifests"])
        for name, found in offline_checks(matrix, proof, inventory, params).items():
            record(name, found)
    objects = None
    if "pod_security" not in skip or "host_network" not in skip:
        objects = list_objects(transport, "v1", "Pod", "pods")
        objects += daemonsets if daemonsets is not None else list_objects(transport, "apps/v1", "DaemonSet",
                                                                          "daemonsets")
        objects += list_objects(transport, "apps/v1", "Deployment", "deployments")
    if "host_network" not in skip:
        extra["host_network"] = guard.host_network_violations(matrix, objects)
        found = guard.check_host_network(matrix, objects)
        if matrix["guards"]["host_network"] == "deny" and params["pod_security_violations"] == "fail":
            record("host_network", found)
        else:
            checks["host_network"] = "warned" if found else "ok"
            extra.setdefault("warnings", []).extend(found)
    if "pod_security" not in skip:
        extra["pod_security"] = guard.pod_security_violations(matrix, objects)
        found = guard.check_pod_security(matrix, objects)
        if params["pod_security_violations"] == "fail":
            record("pod_security", found)
        else:
            checks["pod_security"] = "warned" if found else "ok"
            extra.setdefault("warnings", []).extend(found)
    for name in skip:
        checks[name] = "skipped"
    return checks, problems, extra


def main():
    argument_spec = dict(
        manifests=dict(type="list", elements="dict"),
        load_balancer_group=dict(type="str", default="loadbalancers"),
        api_server_peer=dict(type="str", default="api_server"),
        api_server_zones=dict(type="list", elements="str", default=[]),
        skip=dict(type="list", elements="str", default=[], choices=list(guard.CHECKS)),
        pod_security_violations=dict(type="str", default="fail", choices=["fail", "warn"]),
    )
    argument_spec.update(K8S_CONNECTION_ARGS)
    argument_spec.update(MATRIX_INPUT_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=MATRIX_INPUT_RULES["mutually_exclusive"] + [("plan", "manifests")],
                           required_one_of=MATRIX_INPUT_RULES["required_one_of"])
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    transport = None
    try:
        transport = connect(module.params)
        checks, problems, extra = run_checks(module.params, transport)
    except ApiFailure as exc:
        module.fail_json(msg="cluster guard: %s" % exc, status=exc.status, requests=transport.requests)
    except (NetzoneError, K8sConnectionError) as exc:
        module.fail_json(msg="cluster guard: %s" % exc)
    for warning in extra.pop("warnings", []):
        module.warn("cluster guard: %s" % warning)
    result = dict(changed=False, checks=checks, problems=problems, requests=transport.requests, **extra)
    if problems:
        module.fail_json(msg="cluster guard refuses the plan, it would lock the platform out: %s" % "; ".join(problems),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
