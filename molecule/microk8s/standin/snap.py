# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in `snap`: the subcommands community.general.snap and the microk8s role call."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin as s  # noqa: E402  pylint: disable=wrong-import-position


def install_files(node):
    base = s.data_dir(node["name"])
    os.makedirs(os.path.join(base, "args", "cni-network"), exist_ok=True)
    os.makedirs(os.path.join(base, "credentials"), exist_ok=True)
    shutil.copyfile(os.path.join(s.FIXTURES, "kube-proxy.args"), os.path.join(base, "args", "kube-proxy"))
    shutil.copyfile(os.path.join(s.FIXTURES, "cni-calico-node-env.yaml"), os.path.join(base, "args", "cni-network", "cni.yaml"))


def parse_opts(args):
    opts = {"classic": False, "channel": "latest/stable", "names": []}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--classic":
            opts["classic"] = True
        elif arg == "--channel":
            i += 1
            opts["channel"] = args[i]
        elif arg.startswith("--channel="):
            opts["channel"] = arg.split("=", 1)[1]
        elif arg.startswith("--"):
            opts.setdefault("flags", []).append(arg)
        else:
            opts["names"].append(arg)
        i += 1
    return opts


def table(rows):
    header = ["Name", "Version", "Rev", "Tracking", "Publisher", "Notes"]
    rows = [header] + rows
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    return "\n".join("  ".join(r[c].ljust(widths[c]) for c in range(len(header))).rstrip() for r in rows) + "\n"


def main(argv):
    s.log("snap", argv)
    if not argv:
        s.die("error: missing command")
    cmd, args = argv[0], argv[1:]
    if cmd == "version":
        sys.stdout.write(s.fixture("snap-version.txt"))
        return 0
    if cmd == "info":
        if args != ["microk8s"]:
            s.die("warning: no snap found for %r" % " ".join(args))
        sys.stdout.write(s.fixture("snap-info.txt"))
        return 0
    with s.State() as st:
        node = st.node()
        if cmd == "list":
            rows = [["core20", "20230801", "2015", "latest/stable", "canonical\u2713", "base"],
                    ["snapd", "2.63", "21759", "latest/stable", "canonical\u2713", "snapd"]]
            mine = []
            if node["installed"]:
                notes = ",".join(["classic"] + (["held"] if node.get("held") else []))
                mine = [["microk8s", node["version"], node["revision"], node["channel"], "canonical\u2713", notes]]
            if args:
                if args != ["microk8s"] or not mine:
                    s.die("error: no matching snaps installed")
                rows = mine
            else:
                rows = sorted(rows + mine)
            sys.stdout.write(table(rows))
            return 0
        if cmd in ("install", "refresh"):
            opts = parse_opts(args)
            if "--hold=forever" in opts.get("flags", []) or "--hold" in opts.get("flags", []):
                node["held"] = True
                st.save(node)
                print('General refreshes of "microk8s" held indefinitely')
                return 0
            if "--unhold" in opts.get("flags", []):
                node["held"] = False
                st.save(node)
                print('Removed general refresh hold of "microk8s"')
                return 0
            if opts["names"] != ["microk8s"]:
                s.die("error: stand-in knows only the microk8s snap, not %r" % opts["names"])
            if not opts["classic"]:
                s.die('error: This revision of snap "microk8s" was published using classic confinement and thus may perform\n'
                      '       arbitrary system changes outside of the security sandbox that snaps are usually confined to,\n'
                      '       which may put your system at risk.')
            channel = opts["channel"] if "/" in opts["channel"] else opts["channel"] + "/stable"
            if channel not in s.RELEASES:
                s.die('error: requested a non-existing branch on %s for snap "microk8s"' % channel)
            if cmd == "install" and node["installed"]:
                print('snap "microk8s" is already installed, see \'snap help refresh\'')
                return 0
            if cmd == "refresh" and not node["installed"]:
                s.die('error: snap "microk8s" is not installed')
            version, revision = s.RELEASES[channel]
            first = not node["installed"]
            node.update(installed=True, channel=channel, version=version, revision=revision, address=s.ADDRESS)
            if first:
                node.update(addons=list(s.DEFAULT_ENABLED), members=[node["name"]], held=False)
                install_files(node)
            s.make_slow(node)
            st.save(node)
            print("microk8s (%s) %s from Canonical\u2713 %s" % (channel, version, "installed" if first else "refreshed"))
            return 0
        if cmd == "restart":
            if not node["installed"]:
                s.die('error: snap "microk8s" not found')
            node["restarts"] = node.get("restarts", 0) + 1
            s.make_slow(node, ("status_not_ready", "node_not_ready"))
            st.save(node)
            print("Restarted.")
            return 0
        if cmd == "get" and args[:1] == ["system"]:
            key = args[1]
            value = node.get("system", {}).get(key)
            if value is None:
                s.die('error: snap "core" has no "%s" configuration option' % key)
            print(value)
            return 0
        if cmd == "set" and args[:1] == ["system"]:
            for pair in args[1:]:
                key, value = pair.split("=", 1)
                node.setdefault("system", {})[key] = value
            st.save(node)
            return 0
    s.die("error: stand-in snap does not know %r" % argv)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
