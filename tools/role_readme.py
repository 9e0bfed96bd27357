"""Regenerate the variable table of a role README from its ``meta/argument_specs.yml``.

Usage: ``python tools/role_readme.py roles/<role> [--check]``.  The table replaces what stands between
``<!-- BEGIN VARIABLES -->`` and ``<!-- END VARIABLES -->`` in ``roles/<role>/README.md``.
With ``--check`` nothing is written and the exit code says whether the README is current.
"""
import json
import os
import sys

import yaml

BEGIN = "<!-- BEGIN VARIABLES -->"
END = "<!-- END VARIABLES -->"


def _cell(value):
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text.replace("|", "\\|").replace("\n", " ")


def _describe(spec):
    desc = spec.get("description", "")
    if isinstance(desc, list):
        desc = " ".join(desc)
    return desc


def table(role_dir):
    """Return the Markdown tables (one per entry point) for the role's argument specs."""
    with open(os.path.join(role_dir, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    out = []
    for entry in sorted(specs, key=lambda e: (e != "main", e)):
        spec = specs[entry]
        options = spec.get("options", {}) or {}
        out.append("### Entry point `%s`\n" % entry)
        if spec.get("short_description"):
            out.append("%s\n" % spec["short_description"])
        out.append("| variable | type | required | default | description |")
        out.append("| --- | --- | --- | --- | --- |")
        for name in sorted(options):
            opt = options[name]
            kind = opt.get("type", "str")
            if kind == "list" and opt.get("elements"):
                kind = "list of %s" % opt["elements"]
            if opt.get("choices"):
                kind += " (%s)" % ", ".join(str(c) for c in opt["choices"])
            default = "`%s`" % _cell(opt["default"]) if "default" in opt else ""
            out.append("| `%s` | %s | %s | %s | %s |" % (
                name, kind, "yes" if opt.get("required") else "no", default, _cell(_describe(opt))))
        out.append("")
    return "\n".join(out)


def main(argv):
    if not argv or argv[0].startswith("-"):
        sys.stderr.write(__doc__)
        return 2
    role_dir = argv[0].rstrip("/")
    readme = os.path.join(role_dir, "README.md")
    with open(readme, encoding="utf-8") as handle:
        text = handle.read()
    if BEGIN not in text or END not in text:
        sys.stderr.write("%s: markers %s / %s missing\n" % (readme, BEGIN, END))
        return 2
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    new = "%s%s\n%s\n%s%s" % (head, BEGIN, table(role_dir), END, tail)
    if "--check" in argv:
        if new != text:
            sys.stderr.write("%s: variable table is stale; run tools/role_readme.py %s\n" % (readme, role_dir))
            return 1
        return 0
    if new != text:
        with open(readme, "w", encoding="utf-8") as handle:
            handle.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
