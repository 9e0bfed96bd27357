# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action ``cluster_access``: the kubeconfig and render directory rules read on the controller, then the
module's check on the target (see ``module_utils/_k8s/cluster_access.py``)."""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.cluster_access import kubeconfig_path, render_dir


class ActionModule(ActionBase):
    """Fill in ``kubeconfig``, ``render_dir`` and ``has_nodes`` from the play's variables, then run the module."""

    _VALID_ARGS = frozenset(("kubeconfig", "render_dir", "node_group", "probe", "request_timeout"))

    def _var(self, task_vars, name):
        value = task_vars.get(name)
        return self._templar.template(value) if value is not None else None

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        playbook_dir = self._var(task_vars, "playbook_dir")
        args["kubeconfig"] = args.get("kubeconfig") or kubeconfig_path(
            self._var(task_vars, "netzone_kubeconfig"), self._var(task_vars, "microk8s_kubeconfig_dest"), playbook_dir)
        # A relative directory is relative to where the user runs ansible-playbook (this process's directory),
        # made absolute here, on the controller, so the path the play prints is the one written.
        args["render_dir"] = os.path.abspath(os.path.expanduser(str(
            args.get("render_dir") or render_dir(self._var(task_vars, "netzone_render_dir"), playbook_dir))))
        group = args.setdefault("node_group", "microk8s")
        args["has_nodes"] = bool((task_vars.get("groups") or {}).get(group))
        result.update(self._execute_module(module_name="netzone.segmentation.cluster_access", module_args=args,
                                           task_vars=task_vars))
        return result
