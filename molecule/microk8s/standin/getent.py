# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in `getent hosts NAME`: answers from $MICROK8S_STANDIN_ROOT/hosts (this host's /etc/hosts is not touched)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin as s  # noqa: E402  pylint: disable=wrong-import-position


def main(argv):
    s.log("getent", argv)
    if argv[:1] != ["hosts"] or len(argv) != 2:
        s.die("Unknown database: %s" % " ".join(argv), 1)
    with open(os.path.join(s.ROOT, "hosts"), encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) > 1 and argv[1] in fields[1:]:
                print("%-15s %s" % (fields[0], " ".join(fields[1:])))
                return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
