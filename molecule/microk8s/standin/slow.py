# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set the stand-in's slowness (standin.py says what each key does).

Usage: slow --defaults key=N ...   what every install, refresh, restart and join starts with (slow.json),
                                   and drain_failures (cluster-wide);
       slow NODE key=value ...     one node now: status_not_ready=N, node_not_ready=N, calico_not_ready=N,
                                   stopped=true|false;
       slow NODE --answers         print the not-ready answers the node gave, as JSON.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin as s  # noqa: E402  pylint: disable=wrong-import-position


def value(text):
    return text == "true" if text in ("true", "false") else int(text)


def main(argv):
    target, pairs = argv[0], argv[1:]
    with s.State() as st:
        if target == "--defaults":
            settings = s.slow_settings()
            settings.update((k, value(v)) for k, v in (p.split("=", 1) for p in pairs))
            s.save_slow_settings(settings)
            return 0
        node = st.node(target)
        if pairs == ["--answers"]:
            print(json.dumps(node.get("answers", {}), sort_keys=True))
            return 0
        for key, text in (p.split("=", 1) for p in pairs):
            if key not in s.SLOW_KINDS + ("stopped",):
                s.die("slow: unknown key %r" % key, 2)
            node[key] = value(text)
        st.save(node)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
