#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: microk8s_addons
short_description: Enable the wanted MicroK8s addons, disable the ones removed from the list
version_added: 0.1.0
description:
  - Reads C(microk8s status --format yaml), enables the wanted addons that are disabled, and disables the addons this
    module enabled on an earlier run that are no longer wanted.
  - What the module manages is recorded in O(state_file) on the node, so addons that MicroK8s enables by itself
    (C(ha-cluster), C(helm), C(helm3)) or that an operator enabled by hand are never disabled.
  - MicroK8s cannot change the arguments of an enabled addon in place (C(dns:1.1.1.1)); a change of O(addons[].args)
    of an enabled addon is reported in RV(args_changed) and a warning, and left to the operator (disable, re-run).
  - An addon wanted with arguments that is enabled but was not enabled by this module has unknown arguments
    (MicroK8s enables C(dns) on install, without the company resolvers). It is disabled and enabled again with the
    wanted arguments, once (RV(reenabled)); from then on the module knows its arguments.
  - Waits up to O(timeout) seconds for MicroK8s to be ready first; a node that is not ready by then, or is stopped,
    fails the task with what to do.
  - Run it on a control-plane node.
extends_documentation_fragment:
  - netzone.segmentation.attributes
  - netzone.segmentation.attributes.full
options:
  addons:
    description: The wanted addons.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Addon name, optionally with its repository (C(community/argocd)).
        type: str
        required: true
      args:
        description: Arguments, passed as C(name:args) (C(dns:192.0.2.53,192.0.2.54)).
        type: str
        default: ''
  dns_upstream:
    description: Upstream DNS servers for C(dns) when its O(addons[].args) is empty (the company DNS).
    type: list
    elements: str
    default: []
  disable_removed:
    description: Disable the addons this module enabled before and that are no longer in O(addons).
    type: bool
    default: true
  state_file:
    description: Where the module records the addons it manages (JSON).
    type: path
    default: /var/snap/microk8s/common/netzone-addons.json
  bin_dir:
    description: Directory of the C(microk8s) command.
    type: path
    default: /snap/bin
  timeout:
    description:
      - Seconds C(microk8s status --wait-ready) waits for the node before the addons are read. A node that is not
        ready by then, or is stopped, fails the task with what to do.
    type: int
    default: 300
  host_label:
    description: How to call this host in messages (the inventory name).
    type: str
    default: this host
  bound_label:
    description: What sets O(timeout) (e.g. the role variable); the failure message says to raise it when the node is only slow.
    type: str
author:
  - netzone maintainers (@netzone)
"""

EXAMPLES = r"""
- name: DNS with the company resolvers, ingress and RBAC
  netzone.segmentation.microk8s_addons:
    addons:
      - name: dns
      - name: ingress
      - name: rbac
    dns_upstream: [192.0.2.53, 192.0.2.54]
"""

RETURN = r"""
enabled:
  description: The C(microk8s enable) arguments run (or that would run in check mode).
  returned: always
  type: list
  elements: str
  sample: ['dns:192.0.2.53,192.0.2.54', ingress, rbac]
disabled:
  description: The addons disabled (or that would be in check mode).
  returned: always
  type: list
  elements: str
  sample: [metrics-server]
reenabled:
  description: Enabled addons with unknown arguments, disabled and enabled again with the wanted ones (see RV(enabled)).
  returned: always
  type: list
  elements: str
  sample: [dns]
managed:
  description: The addons this module manages after the run, with their arguments.
  returned: always
  type: dict
  sample: {dns: '192.0.2.53,192.0.2.54', ingress: '', rbac: ''}
args_changed:
  description: Enabled addons whose wanted arguments differ from those of the run that enabled them.
  returned: always
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s import microk8s as mk
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.microk8s_cli import Cli


def read_state(path):
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise mk.Microk8sError("cannot read %s (%s): remove it and re-run; addons are then only enabled, never disabled, "
                               "until the next run" % (path, exc))
    return data.get("managed", {}) if isinstance(data, dict) else {}


def run(module, cli):
    params = module.params
    wanted = mk.normalize_addons(params["addons"], params["dns_upstream"])
    rc, out, err = cli.microk8s(["status", "--format", "yaml", "--wait-ready", "--timeout", str(params["timeout"])], check=False)
    status = mk.parse_status(out if out.strip() else err, rc, params["host_label"])
    problem = mk.status_problem(status, params["host_label"], params["timeout"], params["bound_label"])
    if problem:
        raise mk.Microk8sError("addons cannot be read: " + problem)
    before = read_state(params["state_file"])
    plan = mk.addon_plan(status, wanted, before if params["disable_removed"] else {})
    if plan["unknown"]:
        raise mk.Microk8sError("microk8s_addons: MicroK8s does not know %s: check the spelling against "
                               "'microk8s status', or add the addon repository first (microk8s addons repo add)"
                               % ", ".join(plan["unknown"]))
    state_changed = before != plan["managed"]
    result = {
        "changed": bool(plan["enable"] or plan["disable"] or state_changed),
        "enabled": [a["command"] for a in plan["enable"]],
        "disabled": plan["disable"],
        "reenabled": plan["reenable"],
        "managed": plan["managed"],
        "args_changed": plan["args_changed"],
        "diff": {
            "before": {"enabled": plan["enabled_before"], "managed": before},
            "after": {"enabled": plan["enabled_after"], "managed": plan["managed"]},
            "before_header": "microk8s status", "after_header": "microk8s status",
        },
    }
    for name in plan["args_changed"]:
        module.warn("addon %s: its args changed to %r but MicroK8s cannot change them while it is enabled: "
                    "run 'microk8s disable %s' on the node and re-run the play" % (name, plan["managed"][name], name))
    if module.check_mode:
        return result
    for name in plan["reenable"]:
        cli.microk8s(["disable", name])
    for addon in plan["enable"]:
        cli.microk8s(["enable", addon["command"]])
    for name in plan["disable"]:
        cli.microk8s(["disable", name])
    if state_changed:
        directory = os.path.dirname(params["state_file"])
        if directory and not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        tmp = params["state_file"] + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"managed": plan["managed"]}, handle, indent=2, sort_keys=True)
            handle.write("\n")
        module.atomic_move(tmp, params["state_file"])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            addons=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                args=dict(type="str", default=""),
            )),
            dns_upstream=dict(type="list", elements="str", default=[]),
            disable_removed=dict(type="bool", default=True),
            state_file=dict(type="path", default="/var/snap/microk8s/common/netzone-addons.json"),
            bin_dir=dict(type="path", default="/snap/bin"),
            timeout=dict(type="int", default=300),
            host_label=dict(type="str", default="this host"),
            bound_label=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    cli = Cli(module, bin_dir=module.params["bin_dir"], host=module.params["host_label"])
    try:
        result = run(module, cli)
    except mk.Microk8sError as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
