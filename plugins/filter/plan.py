# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``plan``: the matrix normalised, compiled, proven and checked, once, as one value."""

from __future__ import annotations

DOCUMENTATION = r"""
name: plan
short_description: Build the plan of the zones once - normalised matrix, every manifest, the proof, a digest
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Validates and normalises the matrix (with O(overrides) put in first), compiles every object of the zones
    (namespaces, policies, admission policy, Ingresses), adds O(extra_policies) and the proxy zone's workload
    (O(egress)), proves that the policies allow exactly the matrix, and runs the cluster guard's offline checks
    (the DNS and API server needs, the load balancer addresses).
  - The result is what P(netzone.segmentation.render#module) writes and P(netzone.segmentation.zone_policies#module)
    applies; C(zone_policies) refuses a plan with a mismatch, with a problem, or changed since it was built
    (its C(digest) no longer matches).
  - "An invalid matrix fails with one message naming the path, for example
    C(flows[3].to: unknown zone or peer 'bakend' (did you mean 'backend'?))."
options:
  _input:
    description: The matrix as the user wrote it, or V(null) for the article's model.
    type: dict
    required: true
  groups:
    description: The inventory groups (the C(groups) magic variable), for C(from_group) peers and the load balancer check.
    type: dict
  hostvars:
    description: The C(hostvars) magic variable, for host addresses.
    type: dict
  inventory:
    description: "An explicit inventory view C({groups: {name: [hosts]}, addresses: {host: ip}}), instead of O(groups) and O(hostvars)."
    type: dict
  overrides:
    description: "C({section: {key: value}}) put into the matrix before validation (see P(netzone.segmentation.matrix_with_overrides#filter))."
    type: dict
  extra_policies:
    description: NetworkPolicies applied with the computed ones; they are proven with them.
    type: list
    elements: dict
  egress:
    description:
      - "The proxy zone's settings: C(secrets) (V(omit), the default: no Secret objects, for rendering; V(apart):
        the Secrets without their data, which P(netzone.segmentation.egress_workload#filter) gives apart, so a plan
        never carries key material), C(files) (C({path: PEM text}) of the files the egress section names, read on the controller),
        C(squid_image), C(haproxy_image), C(replicas)."
    type: dict
  guard:
    description:
      - "The offline checks' settings: C(skip) (V(plan), V(load_balancers)), C(load_balancer_group), C(api_server_peer),
        C(api_server_zones); as in P(netzone.segmentation.cluster_guard#module)."
    type: dict
  reuse:
    description:
      - A plan built before in the same run (for example C(zones_plan)). It is returned as it is when it was built
        from the same inputs and has not changed since, so the matrix is normalised and proven once per run.
    type: dict
seealso:
  - module: netzone.segmentation.render
  - module: netzone.segmentation.zone_policies
  - plugin: netzone.segmentation.matrix
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Build the plan of the inventory's matrix
  ansible.builtin.set_fact:
    __plan: "{{ netzone_matrix | netzone.segmentation.plan(groups=groups, hostvars=hostvars) }}"

- name: Stop on a mismatch or a problem
  ansible.builtin.assert:
    that: __plan.proof.mismatches | length == 0 and __plan.problems | length == 0
    fail_msg: "{{ (__plan.proof.mismatches | map(attribute='explanation') | list) + __plan.problems }}"
"""

RETURN = r"""
_value:
  description:
    - "C(matrix) (normalised), C(inventory), C(manifests) (in apply order), C(proof) (C(cells), C(mismatches),
      C(summary)), C(checks) (offline check to problems), C(problems) (all of them, one sentence each),
      C(warnings) (valid but probably not meant, shown as warnings, such as a peer CIDR with host bits set),
      C(version), C(inputs) (a digest of what it was built from) and C(digest) (C(sha256:...) over the matrix, the
      manifests, the mismatches and the checks)."
  type: dict
"""

from ansible.utils.display import Display

from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import build_plan
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import inventory_from, run

display = Display()


def plan(data, groups=None, hostvars=None, inventory=None, overrides=None, extra_policies=None, egress=None, guard=None,
         reuse=None):
    """The plan of the zones."""
    built = run("plan", build_plan, data, inventory_from(groups, hostvars, inventory), overrides, extra_policies, egress,
                guard, reuse)
    if built is not reuse:
        for warning in built.get("warnings") or []:
            display.warning("netzone.segmentation.plan: %s" % warning)
    return built


class FilterModule:
    """netzone.segmentation.plan"""

    def filters(self):
        return {"plan": plan}
