#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service_audit
short_description: List every NodePort, LoadBalancer or externalIPs Service of the cluster, and optionally fail on them
version_added: 0.1.0
description:
  - Lists the Services of every namespace (one LIST, paged with C(limit) and C(continue)) and reports those of type C(NodePort) or C(LoadBalancer)
    (a LoadBalancer Service allocates node ports too), and those of any type with C(spec.externalIPs), on which
    kube-proxy answers on every node (CVE-2020-8554). They bypass the load balancer entry point.
  - The admission policy applied by the C(zones) role stops new ones; this finds those that existed before it, which
    admission control cannot see.
  - With O(mode=fail) the task fails when a Service outside O(exempt_namespaces) is found.
author:
  - netzone maintainers (@netzone)
extends_documentation_fragment:
  - netzone.segmentation.attributes
  - netzone.segmentation.attributes.read_only
  - netzone.segmentation.k8s_connection
  - netzone.segmentation.attributes.action_group_k8s
options:
  mode:
    description:
      - C(report) returns the findings; C(warn) adds a warning per finding; C(fail) fails the task on a finding.
    type: str
    choices: [report, warn, fail]
    default: fail
  exempt_namespaces:
    description:
      - Namespaces whose Services are reported but never fail the task (the admission policy's exemptions).
    type: list
    elements: str
    default: []
seealso:
  - module: netzone.segmentation.zone_policies
"""

EXAMPLES = r"""
- name: Fail when a Service opens node ports
  netzone.segmentation.service_audit:
    mode: fail
    exempt_namespaces: [ingress]
    kubeconfig: /root/.kube/microk8s.config
"""

RETURN = r"""
services:
  description: Every NodePort and LoadBalancer Service and every Service with external IPs, exempt ones flagged.
  returned: always
  type: list
  elements: dict
  sample: [{namespace: shop, name: web, type: NodePort, node_ports: [30080], external_ips: [], exempt: false,
            ports: [{port: 80, protocol: TCP, node_port: 30080}]}]
violations:
  description: How many findings are outside O(exempt_namespaces).
  returned: always
  type: int
  sample: 1
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netzone.segmentation.plugins.module_utils._model import service_audit as audit
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import (
    HAS_KUBERNETES,
    K8S_CONNECTION_ARGS,
    KUBERNETES_IMPORT_ERROR,
    K8sConnectionError,
    connect,
    list_objects,
)
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.sync import ApiFailure


def main():
    argument_spec = dict(
        mode=dict(type="str", choices=["report", "warn", "fail"], default="fail"),
        exempt_namespaces=dict(type="list", elements="str", default=[]),
    )
    argument_spec.update(K8S_CONNECTION_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        services = list_objects(connect(module.params), "v1", "Service", "services")
    except ApiFailure as exc:
        module.fail_json(msg="service audit: %s" % exc, status=exc.status)
    except K8sConnectionError as exc:
        module.fail_json(msg="service audit: %s" % exc)
    found = audit.findings(services, module.params["exempt_namespaces"])
    violations = [f for f in found if not f["exempt"]]
    result = dict(changed=False, services=found, violations=len(violations))
    lines = audit.summary(violations)
    if violations and module.params["mode"] == "fail":
        module.fail_json(msg="%d Service(s) open node ports or external IPs and bypass the load balancer: %s"
                         % (len(violations), "; ".join(lines)), **result)
    if module.params["mode"] == "warn":
        for line in lines:
            module.warn("Service bypasses the load balancer: %s" % line)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
