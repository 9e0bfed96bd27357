# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``matrix_with_overrides``: put a role's overrides into the matrix before it is validated."""

from __future__ import annotations

DOCUMENTATION = r"""
name: matrix_with_overrides
short_description: Put overrides into the traffic matrix before it is validated
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Returns the matrix as written (an empty or null one is the article's model, written out) with O(overrides)
    put into it, section by section, before any validation.
  - So the overrides are validated with the matrix by P(netzone.segmentation.matrix#filter), and the modules
    that take the raw matrix (P(netzone.segmentation.cluster_guard#module),
    P(netzone.segmentation.reachability#module)) see them too.
options:
  _input:
    description: The matrix as the user wrote it; V(null) or an empty mapping means the article's model.
    type: dict
    required: true
  overrides:
    description:
      - "C({section: {key: value}}): each key replaces that key of the matrix's section, for example
        C({guards: {nodeports: warn}})."
      - Empty sections change nothing.
    type: dict
    default: {}
seealso:
  - plugin: netzone.segmentation.matrix
    plugin_type: filter
"""

EXAMPLES = r"""
- name: The matrix with the node-port policy staged to warn
  ansible.builtin.set_fact:
    __matrix_raw: "{{ netzone_matrix | netzone.segmentation.matrix_with_overrides({'guards': {'nodeports': 'warn'}}) }}"
"""

RETURN = r"""
_value:
  description: The raw matrix with the overrides in it (not yet validated or normalised).
  type: dict
"""

from ansible_collections.netzone.segmentation.plugins.module_utils._model.matrix import with_overrides
from ansible_collections.netzone.segmentation.plugins.plugin_utils.filter_support import run


def matrix_with_overrides(data, overrides=None):
    """The raw matrix with the overrides in it."""
    return run("matrix_with_overrides", with_overrides, data, overrides)


class FilterModule:
    """netzone.segmentation.matrix_with_overrides"""

    def filters(self):
        return {"matrix_with_overrides": matrix_with_overrides}
