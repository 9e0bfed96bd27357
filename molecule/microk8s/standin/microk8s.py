# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in `microk8s`: status, enable/disable, add-node, join, config and the kubectl calls of the role."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin as s  # noqa: E402  pylint: disable=wrong-import-position

# what the wrappers of a worker node (clustered.lock) print: microk8s-kubectl.wrapper and microk8s-add-node.wrapper,
# microk8s-status.wrapper (exit 0), is_cluster_locked() of common/utils.py for enable/disable (exit 1)
WORKER_MSG = ("This MicroK8s deployment is acting as a node in a cluster. "
              "Please use the microk8s %s on the master.")
WORKER_STATUS = "This MicroK8s deployment is acting as a node in a cluster.\nPlease use the control plane node."
WORKER_LOCKED = "This MicroK8s deployment is acting as a node in a cluster.\nPlease use the master node."


# kubectl drain blocked by a PodDisruptionBudget until its --timeout (wording after k8s.io/kubectl/pkg/drain;
# the pod is illustrative)
DRAIN_BLOCKED = ('error when evicting pods/"web-7d4b9c6f5-2xk8p" -n "frontend" (will retry after 5s): Cannot evict pod '
                 "as it would violate the pod's disruption budget.\n"
                 'error: unable to drain node "{0}" due to error: [error when evicting pods/"web-7d4b9c6f5-2xk8p" -n '
                 '"frontend": global timeout reached: {1}], continuing command...\n'
                 "There are pending nodes to be drained:\n {0}\n"
                 'error when evicting pods/"web-7d4b9c6f5-2xk8p" -n "frontend": global timeout reached: {1}')


def poll_all(st, names, kind):
    """One poll of ``kind`` on every node: {name: ready}."""
    ready = {}
    for name in names:
        other = st.node(name)
        ready[name] = not s.poll(other, kind)
        st.save(other)
    return ready


def drain(st, target, args):
    other = st.node(target)
    other["cordoned"] = True
    st.save(other)
    print("node/%s cordoned" % target)
    settings = s.slow_settings()
    if int(settings.get("drain_failures", 0)) > 0:
        settings["drain_failures"] = int(settings["drain_failures"]) - 1
        s.save_slow_settings(settings)
        timeout = ([a.split("=", 1)[1] for a in args if a.startswith("--timeout=")] or ["0s"])[0]
        print("evicting pod frontend/web-7d4b9c6f5-2xk8p")
        s.die(DRAIN_BLOCKED.format(target, timeout), 1)
    print("node/%s drained" % target)
    return 0


def kubectl(st, node, args):
    if node.get("worker"):
        s.die(WORKER_MSG % "kubectl", 0, sys.stdout)
    if node.get("stopped"):
        s.die(s.STOPPED_TEXT, 1)
    if s.poll(node, "status_not_ready"):
        st.save(node)
        s.die(s.API_REFUSED, 1)
    st.save(node)
    names = s.members(st, node)
    if args[:2] == ["get", "nodes"] and "json" in args:
        ready = poll_all(st, names, "node_not_ready")
        print(s.kube_list([s.k8s_node(st.node(n), ready[n]) for n in names]))
        return 0
    if args[:2] == ["get", "pods"] and "k8s-app=calico-node" in args:
        ready = poll_all(st, names, "calico_not_ready")
        print(s.kube_list([s.calico_pod(st.node(n), ready[n]) for n in names]))
        return 0
    if args[:1] in (["drain"], ["uncordon"]):
        target = args[1]
        if target not in names:
            s.die('Error from server (NotFound): nodes "%s" not found' % target)
        if args[0] == "drain":
            return drain(st, target, args)
        other = st.node(target)
        other["cordoned"] = False
        st.save(other)
        print("node/%s uncordoned" % target)
        return 0
    if args[:1] == ["apply"] and args[1] == "-f":
        with open(args[2], encoding="utf-8") as handle:
            content = handle.read()
        lead = st.node(s.leader_of(st, node))
        lead["applied_autodetection"] = content.split("IP_AUTODETECTION_METHOD", 1)[1].split("value:", 1)[1].split("\n", 1)[0].strip()
        st.save(lead)
        print("daemonset.apps/calico-node configured")
        return 0
    s.die("stand-in kubectl does not know %r" % args)
    return 1


def status(st, node, args):
    """status.py: the worker wrapper first, then exit_if_stopped(), then (wait_for_ready()) and print."""
    if node.get("worker"):
        s.die(WORKER_STATUS, 0, sys.stdout)
    if node.get("stopped"):
        print(s.STOPPED_TEXT)
        return 0
    polls = 1
    if "--wait-ready" in args or "-w" in args:
        timeout = int(args[args.index("--timeout") + 1]) if "--timeout" in args else 0
        polls = timeout // 2 + 1 if timeout else int(node.get("status_not_ready", 0)) + 1
    ready = not s.poll(node, "status_not_ready", polls)
    st.save(node)
    if "--format" in args and args[args.index("--format") + 1] == "yaml":
        sys.stdout.write(s.render_status(st, node, ready))
    else:
        print("microk8s is running" if ready else s.NOT_READY_TEXT)
    return 0 if ready else 1


def main(argv):
    s.log("microk8s", argv)
    if not argv:
        s.die("Usage: microk8s [OPTIONS] COMMAND [ARGS]...")
    cmd, args = argv[0], argv[1:]
    with s.State() as st:
        node = st.node()
        if not node["installed"]:
            s.die("microk8s: command not found (stand-in: the snap is not installed)", 127)
        if cmd == "status":
            return status(st, node, args)
        if cmd == "kubectl":
            return kubectl(st, node, args)
        if cmd in ("enable", "disable"):
            if node.get("worker"):
                s.die(WORKER_LOCKED, 1, sys.stdout)
            lead = st.node(s.leader_of(st, node))
            known = [a[0] for a in s.ADDONS]
            for item in args:
                name = item.split(":", 1)[0].split("/")[-1]
                if name not in known:
                    s.die("Addon %s was not found in any repository" % name)
                enabled = lead.setdefault("addons", [])
                if cmd == "enable":
                    if name in enabled:
                        print("Addon %s is already enabled" % name)
                        continue
                    enabled.append(name)
                    lead.setdefault("addon_args", {})[name] = item.split(":", 1)[1] if ":" in item else ""
                    print("Infer repository core for addon %s\nEnabling %s\n%s is enabled" % (name, name, name))
                else:
                    if name not in enabled:
                        print("Addon %s is already disabled" % name)
                        continue
                    enabled.remove(name)
                    print("Infer repository core for addon %s\nDisabling %s\n%s is disabled" % (name, name, name))
            st.save(lead)
            return 0
        if cmd == "add-node":
            if node.get("cluster") and node.get("worker"):
                s.die(WORKER_MSG % "add-node", 1, sys.stdout)
            tokens = st.tokens()
            token = "%032x" % (0x4c2ba6a2d8f04a1a9b3e7d5f6a1c0e92 + len(tokens))
            check = "6d1a4f0e2b7c"
            tokens[token] = s.leader_of(st, node)
            st.save_tokens(tokens)
            urls = ["%s:25000/%s/%s" % (node["address"], token, check), "198.51.100.11:25000/%s/%s" % (token, check)]
            print(json.dumps({"token": "%s/%s" % (token, check), "urls": urls}, indent=2))
            return 0
        if cmd == "join":
            url = args[0]
            worker = "--worker" in args
            host = url.split(":", 1)[0]
            token = url.split("/")[1] if "/" in url else ""
            print("Contacting cluster at %s" % host)
            tokens = st.tokens()
            lead_name = tokens.pop(token, None)
            if lead_name is None:
                print("Connection failed. Invalid token (500).")
                return 6
            st.save_tokens(tokens)
            lead = st.node(lead_name)
            if node["name"] in lead.get("members", []):
                print("Connection failed. The joining node (%s) is already known to dqlite (504)." % node["name"])
                return 6
            lead.setdefault("members", [lead["name"]]).append(node["name"])
            st.save(lead)
            node.update(cluster=lead_name, worker=worker, members=[])
            s.make_slow(node, ("node_not_ready", "calico_not_ready"))
            st.save(node)
            if worker:
                sys.stdout.write(s.fixture("join-worker.txt").split("\n", 1)[1])
            else:
                sys.stdout.write(s.fixture("join-control-plane.txt").split("\n", 1)[1])
            return 0
        if cmd == "config":
            text = s.fixture("client.config").replace("192.0.2.11", node["address"])
            sys.stdout.write(text)
            return 0
    s.die("stand-in microk8s does not know %r" % argv)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
