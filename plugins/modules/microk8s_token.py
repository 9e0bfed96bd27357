#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: microk8s_token
short_description: Issue a MicroK8s join token on a control-plane node
version_added: 0.1.0
description:
  - Runs C(microk8s add-node --format json) and returns the join URLs, the one on O(prefer_address) first.
  - Each run issues a new token, so it always reports a change; the C(netzone.segmentation.microk8s) role runs it only
    for a host that is not yet a member of the cluster. In check mode no token is issued.
  - By default the token can be used once (MicroK8s' default); the role issues one per joining host.
  - The returned URLs carry the token, so register the result in a task with C(no_log).
extends_documentation_fragment:
  - netzone.segmentation.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: none
    details: every run issues a new token.
options:
  bin_dir:
    description: Directory of the C(microk8s) command.
    type: path
    default: /snap/bin
  ttl:
    description:
      - Seconds the token stays valid (C(--token-ttl)); C(-1) (MicroK8s' default) makes it valid for one join.
      - Any other negative number is refused before MicroK8s is called.
    type: int
    default: -1
  prefer_address:
    description: Address of this node that the joining node reaches; its URL comes first.
    type: str
author:
  - netzone maintainers (@netzone)
"""

EXAMPLES = r"""
- name: Issue a token on the first control-plane node
  netzone.segmentation.microk8s_token:
    prefer_address: 192.0.2.11
  delegate_to: cp1
  register: token
  no_log: true
"""

RETURN = r"""
urls:
  description: Join URLs (C(<ip>:25000/<token>/<fingerprint>)), the one on O(prefer_address) first; empty in check mode.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s import microk8s as mk
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.microk8s_cli import Cli


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bin_dir=dict(type="path", default="/snap/bin"),
            ttl=dict(type="int", default=-1),
            prefer_address=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    if module.params["ttl"] < -1:
        module.fail_json(msg="microk8s_token: ttl must be -1 (MicroK8s' default: valid for one join) or a number of "
                             "seconds, got %d" % module.params["ttl"])
    if module.check_mode:
        module.exit_json(changed=True, urls=[])
    cli = Cli(module, bin_dir=module.params["bin_dir"])
    args = ["add-node", "--format", "json"]
    if module.params["ttl"] != -1:
        args += ["--token-ttl", str(module.params["ttl"])]
    try:
        rc, out, err = cli.microk8s(args)
        token = mk.parse_add_node(out)
    except mk.Microk8sError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=True, urls=mk.order_join_urls(token["urls"], module.params["prefer_address"]))


if __name__ == "__main__":
    main()
