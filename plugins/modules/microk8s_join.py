#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: microk8s_join
short_description: Join this node to a MicroK8s cluster
version_added: 0.1.0
description:
  - Runs C(microk8s join <url>) (with C(--worker) for a worker) with each URL of O(urls) in turn until one succeeds.
  - Whether the node must join is decided before (the C(netzone.segmentation.microk8s) role compares the cluster's
    node list with the inventory); a failed join fails with MicroK8s' own message and what to check.
extends_documentation_fragment:
  - netzone.segmentation.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: none
    details: the caller decides whether the node joins; a second join with the same single-use token fails.
options:
  urls:
    description: Join URLs from M(netzone.segmentation.microk8s_token).
    type: list
    elements: str
    required: true
  worker:
    description: Join as a worker (no control plane, no datastore vote).
    type: bool
    default: false
  bin_dir:
    description: Directory of the C(microk8s) command.
    type: path
    default: /snap/bin
author:
  - netzone maintainers (@netzone)
"""

EXAMPLES = r"""
- name: Join as a worker
  netzone.segmentation.microk8s_join:
    urls: "{{ token.urls }}"
    worker: true
"""

RETURN = r"""
url:
  description: The URL the node joined with (token hidden).
  returned: success, not in check mode
  type: str
stdout:
  description: What C(microk8s join) printed.
  returned: success, not in check mode
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s import microk8s as mk
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.microk8s_cli import Cli


def main():
    module = AnsibleModule(
        argument_spec=dict(
            urls=dict(type="list", elements="str", required=True),
            worker=dict(type="bool", default=False),
            bin_dir=dict(type="path", default="/snap/bin"),
        ),
        supports_check_mode=True,
    )
    for url in module.params["urls"]:
        for part in url.split("/")[1:]:
            module.no_log_values.add(part)
    if module.check_mode:
        module.exit_json(changed=True)
    if not module.params["urls"]:
        module.fail_json(msg="microk8s_join: no join URL (was the token issued in check mode?)")
    cli = Cli(module, bin_dir=module.params["bin_dir"])
    failures = []
    try:
        for url in module.params["urls"]:
            args = ["join", url] + (["--worker"] if module.params["worker"] else [])
            rc, out, err = cli.microk8s(args, check=False)
            if mk.join_succeeded(rc, out):
                module.exit_json(changed=True, url=url.split("/")[0], stdout=out)
            failures.append(mk.join_failure(rc, out, err))
            if not mk.join_try_next_url(rc, out):
                break
    except mk.Microk8sError as exc:
        module.fail_json(msg=str(exc))
    module.fail_json(msg=failures[-1], attempts=failures)


if __name__ == "__main__":
    main()
