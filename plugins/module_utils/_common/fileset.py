# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a set of text files into a directory all at once: stage everything, then swap each file in.

Files this code wrote before and no longer produces are removed (they are listed in ``.netzone-files``);
nothing else in the directory is touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import InputError

INDEX = ".netzone-files"


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def plan(dest, files):
    """``{"create": [...], "update": [...], "remove": [...], "unchanged": [...]}`` for ``files`` (name -> text)."""
    previous = (_read(os.path.join(dest, INDEX)) or "").split()
    out = {"create": [], "update": [], "remove": [], "unchanged": []}
    for name in sorted(files):
        current = _read(os.path.join(dest, name))
        if current is None:
            out["create"].append(name)
        elif current != files[name]:
            out["update"].append(name)
        else:
            out["unchanged"].append(name)
    out["remove"] = sorted(n for n in previous if n not in files and os.path.exists(os.path.join(dest, n)))
    return out


def _safe(name):
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts) or name == INDEX:
        raise InputError("files", "invalid file name %r" % name)
    return name


def write(dest, files, mode=0o644):
    """Stage every file in a temporary directory beside ``dest``, then move them into place; returns the plan."""
    for name in files:
        _safe(name)
    result = plan(dest, files)
    if not (result["create"] or result["update"] or result["remove"]) and os.path.exists(os.path.join(dest, INDEX)):
        return result
    os.makedirs(dest, exist_ok=True)
    stage = tempfile.mkdtemp(prefix=".netzone-stage-", dir=dest)
    try:
        for name in result["create"] + result["update"] + [INDEX]:
            path = os.path.join(stage, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(files[name] if name != INDEX else "\n".join(sorted(files)) + "\n")
            os.chmod(path, mode)
        for name in result["create"] + result["update"] + [INDEX]:
            target = os.path.join(dest, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(os.path.join(stage, name), target)
        for name in result["remove"]:
            os.remove(os.path.join(dest, name))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return result


def diff(dest, files, planned):
    """Ansible's ``diff`` for a :func:`plan`: one before/after entry with the content of each file created,
    updated or removed (an empty side for a file that does not exist yet or any more)."""
    out = []
    for name in sorted(planned["create"] + planned["update"] + planned["remove"]):
        path = os.path.join(dest, name)
        before = _read(path) if name not in planned["create"] else ""
        out.append({"before_header": path if name not in planned["create"] else "%s (absent)" % path,
                    "after_header": path if name not in planned["remove"] else "%s (removed)" % path,
                    "before": before or "", "after": files.get(name, "")})
    return out
