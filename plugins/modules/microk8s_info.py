#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: microk8s_info
short_description: Read the state of a MicroK8s node and cluster
version_added: 0.1.0
description:
  - Runs read-only commands (C(snap list microk8s), C(microk8s status --format yaml), C(microk8s kubectl get nodes -o json),
    C(microk8s kubectl get pods -n kube-system -l k8s-app=calico-node -o json), C(getent hosts), C(microk8s config)) and
    returns what they say, parsed, with the decisions the C(netzone.segmentation.microk8s) role takes from them
    (install, refresh or leave the snap; which hosts must join; is Calico running on every node).
  - Changes nothing; runs in check mode too.
extends_documentation_fragment:
  - netzone.segmentation.attributes
  - netzone.segmentation.attributes.read_only
options:
  gather:
    description:
      - What to read. C(snap) needs O(channel). C(nodes) with O(hosts) also returns the join plan.
        C(calico) reads the nodes too. C(kubeconfig) needs O(api_address).
    type: list
    elements: str
    choices: [snap, status, nodes, calico, kubeconfig]
    default: [snap]
  snap_bin:
    description: Absolute path of the C(snap) command.
    type: path
    default: /usr/bin/snap
  bin_dir:
    description: Directory of the C(microk8s) command (the snap's bin directory).
    type: path
    default: /snap/bin
  channel:
    description: The snap channel the node should track (C(1.31/stable)); with C(snap), the answer says whether to install or refresh.
    type: str
  hold:
    description: Whether automatic snap refreshes of microk8s should be held; with C(snap), the answer says whether to hold or unhold.
    type: bool
  hosts:
    description: The cluster hosts in inventory order, the first control-plane node first; with C(nodes), who must join.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: Inventory name.
        type: str
        required: true
      name:
        description: Kubernetes node name (the host name, lower case).
        type: str
        required: true
      role:
        description: MicroK8s role of the node.
        type: str
        choices: [control-plane, worker]
        default: control-plane
  resolve:
    description: Node names that must resolve on this host, and to which address (checked with C(getent hosts)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Node name.
        type: str
        required: true
      address:
        description: The address it must resolve to.
        type: str
        required: true
  getent_bin:
    description: Absolute path of C(getent).
    type: path
    default: /usr/bin/getent
  host_label:
    description: How to call this host in messages (the inventory name).
    type: str
    default: this host
  api_address:
    description: Address written as the API server in the returned kubeconfig.
    type: str
  api_port:
    description: API server port written in the returned kubeconfig.
    type: int
    default: 16443
  ready_timeout:
    description:
      - With C(status), wait up to this many seconds for MicroK8s to be ready (C(microk8s status --wait-ready --timeout)),
        and fail with what to do if it is not ready by then or is stopped. V(0) reads the status as it is, without waiting.
    type: int
    default: 0
  bound_label:
    description:
      - What sets the bound of a wait (O(ready_timeout), or O(retries) and O(delay)), e.g. the role variable; the failure
        message says to raise it when the node is only slow.
    type: str
  expect_nodes:
    description: Node names that must be in the cluster; with C(calico), RV(cluster_ready) is false until they are.
    type: list
    elements: str
    default: []
  wait:
    description:
      - With C(calico), check again every O(delay) seconds, up to O(retries) more times, until RV(cluster_ready) is true,
        and fail with what is missing if it never is.
    type: bool
    default: false
  retries:
    description: How many more checks O(wait) makes.
    type: int
    default: 30
  delay:
    description: Seconds between the checks of O(wait).
    type: int
    default: 10
author:
  - netzone maintainers (@netzone)
"""

EXAMPLES = r"""
- name: What would the role do with the snap?
  netzone.segmentation.microk8s_info:
    gather: [snap]
    channel: 1.31/stable
  register: probe

- name: Nodes, join plan and Calico, read on the first control-plane node
  netzone.segmentation.microk8s_info:
    gather: [nodes, calico]
    hosts:
      - {host: cp1, name: node1}
      - {host: cp2, name: node2}
      - {host: wk1, name: node3, role: worker}
  delegate_to: cp1
  register: cluster
"""

RETURN = r"""
snap:
  description: The snap, parsed from C(snap list microk8s), and what to do (its C(action) is install, refresh or none).
  returned: when C(snap) is gathered
  type: dict
  sample: {installed: true, action: refresh, channel: 1.31/stable, wanted_channel: 1.32/stable, version: v1.31.9,
           revision: '8148', held: true, classic: true, hold_action: none}
status:
  description:
    - C(microk8s status --format yaml), parsed. C(state) is C(ready), C(not-ready) or C(stopped); C(message) is what
      MicroK8s said when it is not ready or stopped.
  returned: when C(status) is gathered and MicroK8s is installed
  type: dict
  sample: {state: ready, running: true, message: '', high_availability: {enabled: true, nodes: [{address: '192.0.2.11:19001', role: voter}]},
           addons: {dns: {status: enabled, repository: core, version: 1.9.0, description: CoreDNS}}}
nodes:
  description: The cluster's nodes from C(kubectl get nodes -o json).
  returned: when C(nodes) or C(calico) is gathered
  type: list
  elements: dict
  sample: [{name: node1, address: 192.0.2.11, ready: true, schedulable: true, role: control-plane}]
join:
  description: Which O(hosts) are members and which must join.
  returned: when C(nodes) is gathered with O(hosts)
  type: dict
  sample: {members: [cp1], joiners: [{host: wk1, name: node3, role: worker}], role_mismatch: [], foreign: [],
           control_planes: 2, high_availability: false}
calico:
  description: Whether calico-node is Running and Ready on every node.
  returned: when C(calico) is gathered
  type: dict
  sample: {ok: false, missing: [node3], not_ready: [], message: 'Calico is not running on every node (...)'}
cluster_ready:
  description: Every node of O(expect_nodes) is in the cluster, every node is Ready and runs calico-node; otherwise the message says what is not.
  returned: when C(calico) is gathered
  type: dict
  sample: {ok: false, message: 'not Ready: node3 (see ...)'}
resolution_problems:
  description: One message per node name of O(resolve) that does not resolve to its address.
  returned: always
  type: list
  elements: str
kubeconfig:
  description: The admin kubeconfig of C(microk8s config) with the server set to O(api_address):O(api_port).
  returned: when C(kubeconfig) is gathered
  type: str
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s import microk8s as mk
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.microk8s_cli import Cli


def gather(module, cli):
    params = module.params
    wanted = set(params["gather"])
    result = {"changed": False, "resolution_problems": []}

    if "snap" in wanted:
        if not params["channel"]:
            raise mk.Microk8sError("gather snap needs channel")
        rc, out, err = cli.snap(["list", mk.SNAP_NAME], check=False)
        plan = mk.snap_plan(out, params["channel"], list_rc=rc, list_stderr=err)
        if params["hold"] is not None:
            plan["hold_action"] = mk.hold_action(plan["held"], params["hold"])
        result["snap"] = plan

    if "status" in wanted:
        argv = ["status", "--format", "yaml"]
        if params["ready_timeout"]:
            argv += ["--wait-ready", "--timeout", str(params["ready_timeout"])]
        rc, out, err = cli.microk8s(argv, check=False)
        status = mk.parse_status(out if out.strip() else err, rc, params["host_label"])
        result["status"] = status
        problem = mk.status_problem(status, params["host_label"], params["ready_timeout"], params["bound_label"])
        if params["ready_timeout"] and problem:
            raise mk.Microk8sError(problem)

    if wanted & {"nodes", "calico"}:
        rc, out, err = cli.kubectl(["get", "nodes", "-o", "json"])
        nodes = mk.parse_nodes(out)
        result["nodes"] = nodes
        if params["hosts"]:
            result["join"] = mk.join_plan(nodes, params["hosts"])
        if "calico" in wanted:
            rc, out, err = cli.kubectl(["get", "pods", "-n", "kube-system", "-l", "k8s-app=calico-node", "-o", "json"])
            ready = mk.cluster_ready(nodes, mk.parse_calico_pods(out), params["expect_nodes"])
            attempts = 1
            while params["wait"] and not ready["ok"] and attempts <= params["retries"]:
                time.sleep(params["delay"])
                attempts += 1
                nodes = mk.parse_nodes(cli.kubectl(["get", "nodes", "-o", "json"])[1])
                rc, out, err = cli.kubectl(["get", "pods", "-n", "kube-system", "-l", "k8s-app=calico-node", "-o", "json"])
                ready = mk.cluster_ready(nodes, mk.parse_calico_pods(out), params["expect_nodes"])
            result["nodes"] = nodes
            result["calico"] = ready.pop("calico")
            result["cluster_ready"] = dict(ready, attempts=attempts)
            if params["wait"] and not ready["ok"]:
                slow = (" If the nodes are only slow, raise %s and re-run the play." % params["bound_label"]
                        if params["bound_label"] else "")
                raise mk.Microk8sError("after %d checks %d s apart: %s%s" % (attempts, params["delay"], ready["message"], slow))

    for item in params["resolve"]:
        rc, out, err = module.run_command([params["getent_bin"], "hosts", item["name"]])
        problem = mk.resolution_problem(params["host_label"], item["name"], item["address"], rc, out)
        if problem:
            result["resolution_problems"].append(problem)

    if "kubeconfig" in wanted:
        if not params["api_address"]:
            raise mk.Microk8sError("gather kubeconfig needs api_address")
        rc, out, err = cli.microk8s(["config"])
        result["kubeconfig"] = mk.rewrite_kubeconfig_server(out, params["api_address"], params["api_port"])[0]
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gather=dict(type="list", elements="str", default=["snap"], choices=["snap", "status", "nodes", "calico", "kubeconfig"]),
            snap_bin=dict(type="path", default="/usr/bin/snap"),
            bin_dir=dict(type="path", default="/snap/bin"),
            channel=dict(type="str"),
            hold=dict(type="bool"),
            hosts=dict(type="list", elements="dict", default=[], options=dict(
                host=dict(type="str", required=True),
                name=dict(type="str", required=True),
                role=dict(type="str", default="control-plane", choices=["control-plane", "worker"]),
            )),
            resolve=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                address=dict(type="str", required=True),
            )),
            getent_bin=dict(type="path", default="/usr/bin/getent"),
            host_label=dict(type="str", default="this host"),
            api_address=dict(type="str"),
            api_port=dict(type="int", default=16443),
            ready_timeout=dict(type="int", default=0),
            bound_label=dict(type="str"),
            expect_nodes=dict(type="list", elements="str", default=[]),
            wait=dict(type="bool", default=False),
            retries=dict(type="int", default=30),
            delay=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    cli = Cli(module, bin_dir=module.params["bin_dir"], snap_bin=module.params["snap_bin"], host=module.params["host_label"])
    try:
        result = gather(module, cli)
    except mk.Microk8sError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
