# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print, as JSON, the stand-in calls logged after the N-th marker MARK (up to the next marker).

Usage: calls MARK [N] [--mutating]. Each call is "node: prog args"; join tokens are shown as <token>
and the stand-in root as <root>. --mutating keeps only the commands that change a node or the cluster.
"""
import json
import os
import re
import sys

READ_SNAP = {"list", "info", "version", "get"}
WRITE_MICROK8S = {"enable", "disable", "join", "add-node", "leave", "remove-node", "reset", "start", "stop"}
WRITE_KUBECTL = {"drain", "uncordon", "cordon", "apply", "delete", "patch", "create", "replace", "label", "annotate"}


def mutating(call):
    argv = call["argv"]
    if call["prog"] == "snap":
        return bool(argv) and argv[0] not in READ_SNAP
    if call["prog"] == "microk8s":
        if argv[:1] == ["kubectl"]:
            return len(argv) > 1 and argv[1] in WRITE_KUBECTL
        return bool(argv) and argv[0] in WRITE_MICROK8S
    return False


def main(argv):
    only_mutating = "--mutating" in argv
    args = [a for a in argv if not a.startswith("--")]
    mark, occurrence = args[0], int(args[1]) if len(args) > 1 else 1
    root = os.environ["MICROK8S_STANDIN_ROOT"]
    seen, inside, out = 0, False, []
    with open(os.path.join(root, "calls.log"), encoding="utf-8") as handle:
        for line in handle:
            call = json.loads(line)
            if "mark" in call:
                if inside:
                    break
                if call["mark"] == mark:
                    seen += 1
                    inside = seen == occurrence
                continue
            if inside and (not only_mutating or mutating(call)):
                text = "%s: %s %s" % (call["node"], call["prog"], " ".join(call["argv"]))
                text = re.sub(r"/[0-9a-f]{32}/", "/<token>/", text.replace(root, "<root>"))
                out.append(text)
    if seen < occurrence:
        sys.stderr.write("marker %r occurrence %d not in the log\n" % (mark, occurrence))
        return 1
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
