# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is there a cluster to talk to, and if not, why; which kubeconfig; where plans and reports go.

One place for the three rules every stage shares (plain Python, no Ansible):

* the kubeconfig: ``netzone_kubeconfig``, else the MicroK8s role's ``microk8s_kubeconfig_dest``, else
  ``microk8s-kubeconfig.yaml`` beside the playbook (where the MicroK8s role leaves it by default);
* the render directory: ``netzone_render_dir``, else ``build/`` of the collection checkout the playbook is
  in, else ``build`` in the current directory;
* why there is no cluster: no cluster node in the inventory, no kubeconfig, or an API server that does not
  answer (the first that applies), or ``""`` when one answers.
"""

from __future__ import annotations

import os

KUBECONFIG_NAME = "microk8s-kubeconfig.yaml"


def kubeconfig_path(netzone_kubeconfig=None, microk8s_kubeconfig_dest=None, playbook_dir=None):
    """The kubeconfig the stages use (see the module docstring)."""
    for candidate in (netzone_kubeconfig, microk8s_kubeconfig_dest):
        if candidate:
            return str(candidate)
    return os.path.join(playbook_dir or ".", KUBECONFIG_NAME)


def render_dir(netzone_render_dir=None, playbook_dir=None):
    """Where plans and reports are written (see the module docstring)."""
    if netzone_render_dir:
        return str(netzone_render_dir)
    if playbook_dir:
        checkout = os.path.dirname(os.path.abspath(playbook_dir))
        if os.path.isfile(os.path.join(checkout, "galaxy.yml")):
            return os.path.join(checkout, "build")
    return "build"


def no_cluster_reason(node_group, has_nodes, kubeconfig, kubeconfig_exists, probe_error=None):
    """Why there is no cluster to talk to, or ``""`` when its API server answered.

    :param probe_error: the message of a failed API request, ``None`` when it answered (only looked at when
        the other conditions hold).
    """
    if not has_nodes:
        return "the inventory has no host in group '%s'" % node_group
    if not kubeconfig_exists:
        return "no kubeconfig at %s (the cluster stage writes it; or set netzone_kubeconfig)" % kubeconfig
    if probe_error is not None:
        text = " ".join(str(probe_error).split())
        return "the API server did not answer: %s" % (text[:197] + "..." if len(text) > 200 else text)
    return ""
