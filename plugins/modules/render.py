#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: render
short_description: Write the manifests and the report of a proven matrix into a directory
version_added: 0.1.0
author: netzone maintainers (@netzone)
description:
  - Writes the compiled manifests (one YAML file per zone or per kind, plus C(manifests/all.yaml) in apply
    order), the report (C(report.html), self-contained, and its Markdown twin C(report.md)) and the diagram
    (C(diagram.dot), and C(diagram.svg) when Graphviz C(dot) is installed) into O(dest).
  - Every file is staged first and then moved into place, so a failure leaves the previous files as they
    were. Files it wrote before and no longer produces are removed; nothing else in O(dest) is touched.
  - "Writes a plan (P(netzone.segmentation.plan#filter)): its normalised matrix, its manifests (Secrets are never
    written, their data stays in the controller's files) and its proof. A plan changed since it was built (its
    C(digest)) is refused."
  - Refuses to write when the proof has mismatches or the plan's offline checks found a problem, unless
    O(allow_mismatches=true).
  - A relative O(dest) is relative to the directory the play runs from; RV(dest) and RV(report) are absolute.
extends_documentation_fragment:
  - netzone.segmentation.attributes
  - netzone.segmentation.attributes.full
options:
  dest:
    description: Directory to write into (created when missing).
    type: path
    required: true
  plan:
    description: The plan (output of the P(netzone.segmentation.plan#filter) filter).
    type: dict
    required: true
  proof:
    description:
      - A proof to report instead of the plan's, for example the live check's cells (module
        P(netzone.segmentation.reachability#module)) with the plan's summary.
    type: dict
  group_by:
    description: One manifest file per V(zone) or per V(kind).
    type: str
    choices: [zone, kind]
    default: zone
  sections:
    description:
      - Extra report sections, each with a C(title) and C(markdown) and/or C(html) text, appended in order.
    type: list
    elements: dict
    default: []
  allow_mismatches:
    description: Write even when the proof has mismatches or the plan a problem (the report then says NOT PROVEN).
    type: bool
    default: false
requirements:
  - PyYAML
  - Graphviz C(dot) for the SVG diagram (optional; without it the report shows the diagram source)
seealso:
  - plugin: netzone.segmentation.plan
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Write manifests and report
  netzone.segmentation.render:
    dest: build/
    plan: "{{ netzone_matrix | netzone.segmentation.plan(groups=groups, hostvars=hostvars) }}"
"""

RETURN = r"""
files:
  description: What changed, by file name relative to O(dest).
  returned: always
  type: dict
  contains:
    create:
      description: Files that were (or would be) created.
      type: list
      elements: str
    update:
      description: Files that were (or would be) rewritten.
      type: list
      elements: str
    remove:
      description: Files written before and no longer produced.
      type: list
      elements: str
    unchanged:
      description: Files already as they should be.
      type: list
      elements: str
report:
  description: Absolute path of the HTML report.
  returned: always
  type: str
dest:
  description: Absolute path of the directory written.
  returned: always
  type: str
diagram:
  description: V(svg) when Graphviz drew the diagram, V(dot-source) when the report shows its source.
  returned: always
  type: str
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netzone.segmentation.plugins.module_utils._common import fileset
from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import NetzoneError
from ansible_collections.netzone.segmentation.plugins.module_utils._model.plan import check_digest
from ansible_collections.netzone.segmentation.plugins.module_utils._report.report import build_files, render_dot

try:
    import yaml
except ImportError:
    YAML_ERROR = traceback.format_exc()
else:
    YAML_ERROR = None


def _dump(obj):
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            plan=dict(type="dict", required=True),
            proof=dict(type="dict"),
            group_by=dict(type="str", choices=["zone", "kind"], default="zone"),
            sections=dict(type="list", elements="dict", default=[]),
            allow_mismatches=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    if YAML_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_ERROR)
    params = module.params
    try:
        plan = check_digest(params["plan"])
    except NetzoneError as exc:
        module.fail_json(msg="%s; nothing was written" % exc)
    proof = params["proof"] or plan["proof"]
    if proof.get("mismatches") and not params["allow_mismatches"]:
        module.fail_json(msg="the policies do not allow exactly the matrix (%d mismatches); nothing was written. "
                             "First: %s" % (len(proof["mismatches"]), proof["mismatches"][0].get("explanation")),
                         mismatches=proof["mismatches"])
    if plan.get("problems") and not params["allow_mismatches"]:
        module.fail_json(msg="the plan is refused, it would lock the platform out: %s; nothing was written"
                             % "; ".join(plan["problems"]), problems=plan["problems"])
    guardrail = (plan.get("guardrail") or {}).get("problems")
    if guardrail and not params["allow_mismatches"]:
        module.fail_json(msg="the plan is refused: %s; nothing was written" % "; ".join(guardrail), problems=guardrail)
    matrix = plan["matrix"]
    manifests = [obj for obj in plan["manifests"] if obj.get("kind") != "Secret"]
    svg = None
    dot = module.get_bin_path("dot")
    if dot:
        rc, out, err = module.run_command([dot, "-Tsvg"], data=render_dot(matrix), binary_data=True)
        if rc != 0:
            module.fail_json(msg="Graphviz dot failed to draw the diagram: %s" % err.strip())
        svg = out
    sections = params["sections"]
    files = build_files(matrix, manifests, proof, _dump, svg=svg, group_by=params["group_by"],
                        sections_md=[(s.get("title", ""), s.get("markdown", "")) for s in sections if s.get("markdown")],
                        sections_html=[(s.get("title", ""), s.get("html", "")) for s in sections if s.get("html")])
    # type=path expands ~ and variables but keeps a relative path relative to the module's working directory,
    # the directory ansible-playbook runs from (a local play); say the real one.
    dest = os.path.abspath(params["dest"])
    try:
        planned = fileset.plan(dest, files)
        changed = bool(planned["create"] or planned["update"] or planned["remove"])
        diff = fileset.diff(dest, files, planned) if module._diff else None
        if changed and not module.check_mode:
            planned = fileset.write(dest, files)
    except (IOError, OSError, NetzoneError) as exc:
        module.fail_json(msg="cannot write %s: %s" % (dest, exc))
    result = dict(changed=changed, files=planned, dest=dest, report=os.path.join(dest, "report.html"),
                  diagram="svg" if svg else "dot-source")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
