#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_access
short_description: Say whether a cluster answers, and if not, why; which kubeconfig and render directory to use
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - The one place for three rules every stage of the collection shares.
  - "The kubeconfig: O(kubeconfig), else C(netzone_kubeconfig), else the MicroK8s role's C(microk8s_kubeconfig_dest),
    else C(microk8s-kubeconfig.yaml) beside the playbook."
  - "The render directory: O(render_dir), else C(netzone_render_dir), else C(build/) of the collection checkout the
    playbook is in, else C(build) in the current directory. A relative directory is relative to the directory
    C(ansible-playbook) runs from (the action plugin makes it absolute on the controller)."
  - "Why there is no cluster: no host in O(node_group), no kubeconfig file, or an API server that does not answer
    one read-only request (the first that applies)."
  - The action plugin reads the variables on the controller; the module checks the kubeconfig and asks the API
    server on the host it runs on (use C(delegate_to) for another one).
extends_documentation_fragment:
  - netzone.segmentation.attributes
  - netzone.segmentation.attributes.read_only
options:
  kubeconfig:
    description: The kubeconfig file; empty means the rule above.
    type: path
  render_dir:
    description: The render directory; empty means the rule above.
    type: str
  node_group:
    description: The inventory group of the cluster nodes; without a host in it there is no cluster.
    type: str
    default: microk8s
  has_nodes:
    description: Whether O(node_group) has hosts; set by the action plugin from C(groups).
    type: bool
    default: true
  probe:
    description: Ask the API server; V(false) only applies the kubeconfig and render directory rules.
    type: bool
    default: true
  request_timeout:
    description: Seconds to wait for the API server's answer.
    type: float
    default: 10
notes:
  - It never changes anything; the request is a LIST of namespaces.
seealso:
  - module: netzone.segmentation.zone_policies
"""

EXAMPLES = r"""
- name: Is there a cluster to apply to?
  netzone.segmentation.cluster_access:
  register: __cluster

- name: Say why not
  ansible.builtin.debug:
    msg: "No cluster: {{ __cluster.reason }}; the plan goes to {{ __cluster.render_dir }}"
  when: not __cluster.reachable
"""

RETURN = r"""
reachable:
  description: Whether the API server answered.
  returned: always
  type: bool
reason:
  description: Why there is no cluster; empty when it answered.
  returned: always
  type: str
  sample: the inventory has no host in group 'microk8s'
kubeconfig:
  description: The kubeconfig in use.
  returned: always
  type: str
render_dir:
  description: Where plans and reports go (an absolute path).
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.cluster_access import no_cluster_reason
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import NetzoneError
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.connection import (
    HAS_KUBERNETES,
    connect,
    list_objects,
)


def _probe(kubeconfig, timeout):
    """None when the API server answered one LIST, else the reason it did not."""
    if not HAS_KUBERNETES:
        return "the kubernetes Python client is not installed"
    try:
        list_objects(connect({"kubeconfig": kubeconfig, "request_timeout": timeout}), "v1", "Namespace", "namespaces")
    except NetzoneError as exc:
        return str(exc)
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type="path"),
            render_dir=dict(type="str"),
            node_group=dict(type="str", default="microk8s"),
            has_nodes=dict(type="bool", default=True),
            probe=dict(type="bool", default=True),
            request_timeout=dict(type="float", default=10),
        ),
        supports_check_mode=True,
    )
    params = module.params
    kubeconfig = params["kubeconfig"] or ""
    exists = bool(kubeconfig) and os.path.isfile(kubeconfig)
    error = None
    if not params["probe"]:
        error = "it was not asked (probe=false)"
    elif params["has_nodes"] and exists:
        error = _probe(kubeconfig, params["request_timeout"])
    reason = no_cluster_reason(params["node_group"], params["has_nodes"], kubeconfig, exists, error)
    module.exit_json(changed=False, reachable=not reason, reason=reason, kubeconfig=kubeconfig,
                     render_dir=params["render_dir"] or "")


if __name__ == "__main__":
    main()
