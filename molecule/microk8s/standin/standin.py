# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in `snap`, `microk8s` and `getent` for the molecule scenario `microk8s` (no snapd here).

They print the formats of the real commands (tests/fixtures/microk8s/README.md names the sources), keep
each node's state in $MICROK8S_STANDIN_ROOT/nodes/<node>.json and append every invocation to
$MICROK8S_STANDIN_ROOT/calls.log (one JSON object per line: node, argv), which verify.yml asserts on.
The node is $MICROK8S_STANDIN_NODE, its address $MICROK8S_STANDIN_ADDRESS (set per host through the role's
microk8s_environment).  A cluster is the member list kept in its first node's state; join tokens live in
tokens.json.

Slowness (slow.json, written by the scenario with `slow --defaults`; `slow NODE key=value` sets one node):
after an install, a refresh, a kubelite restart or a join, a node is not ready for a number of *polls*, not
seconds, so the scenario stays fast:
- status_not_ready: `microk8s status` answers `running: False` (exit 1) and `microk8s kubectl` on that node
  is refused (its API server is not up), one poll per call; `status --wait-ready --timeout T` polls
  T/2 + 1 times (status.py's wait_for_ready() checks every 2 s) without sleeping;
- node_not_ready: the node is NotReady in `kubectl get nodes` (one poll per call, on any node);
- calico_not_ready: its calico-node pod is Running but not Ready in `kubectl get pods` (one poll per call);
- drain_failures (cluster-wide): that many `kubectl drain` calls cordon the node and fail (exit 1) as a
  PodDisruptionBudget that allows no eviction makes them fail;
- stopped: the node was stopped (`microk8s stop`): status prints "microk8s is not running, try microk8s
  start" (exit 0), kubectl prints it on stderr (exit 1).
Each node counts the not-ready answers it gave (`answers`), which verify.yml reads to show the role waited.
"""
import fcntl
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "..", "tests", "fixtures", "microk8s")
ROOT = os.environ.get("MICROK8S_STANDIN_ROOT", "")
NODE = os.environ.get("MICROK8S_STANDIN_NODE", "")
ADDRESS = os.environ.get("MICROK8S_STANDIN_ADDRESS", "")

# channel -> (version, revision): what the store would serve
RELEASES = {"1.31/stable": ("v1.31.9", "8148"), "1.32/stable": ("v1.32.3", "7964"), "1.33/stable": ("v1.33.1", "8205")}


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


def fixture_addons(name):
    """[(name, repository, description, version)] of a status fixture, in its order (no PyYAML needed)."""
    addons, item = [], None
    for line in fixture(name).splitlines():
        if line.startswith("  - name: "):
            item = {"name": line[10:]}
            addons.append(item)
        elif item is not None and line.startswith("    ") and ":" in line:
            key, value = line.strip().split(":", 1)
            item[key] = value.strip()
    return [(a["name"], a["repository"], a["description"], a.get("version", "")) for a in addons]


# The core addons as MicroK8s lists them (status-fresh.yaml: addons.yaml of canonical/microk8s-core-addons),
# sorted by (repository, name) like get_available_addons() of common/utils.py.
ADDONS = sorted(fixture_addons("status-fresh.yaml"), key=lambda a: (a[1], a[0]))
# enabled on a fresh install: dns by the default launch configuration, ha-cluster (its lock file), helm and
# helm3 (their binaries are in the snap)
DEFAULT_ENABLED = ["dns", "ha-cluster", "helm", "helm3"]
NOT_READY_TEXT = "microk8s is not running. Use microk8s inspect for a deeper inspection."
STOPPED_TEXT = "microk8s is not running, try microk8s start"


def die(message, rc=1, stream=None):
    (stream or sys.stderr).write(message + "\n")
    sys.exit(rc)


class State:
    """Locked read-modify-write of the stand-in's files."""

    def __enter__(self):
        if not ROOT or not NODE:
            die("stand-in: MICROK8S_STANDIN_ROOT and MICROK8S_STANDIN_NODE must be set", 70)
        os.makedirs(os.path.join(ROOT, "nodes"), exist_ok=True)
        self.lock = open(os.path.join(ROOT, ".lock"), "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.lock, fcntl.LOCK_UN)
        self.lock.close()

    def path(self, node):
        return os.path.join(ROOT, "nodes", node + ".json")

    def node(self, name=None):
        name = name or NODE
        try:
            with open(self.path(name), encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return {"name": name, "installed": False}

    def save(self, data):
        with open(self.path(data["name"]), "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)

    def tokens(self):
        try:
            with open(os.path.join(ROOT, "tokens.json"), encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return {}

    def save_tokens(self, data):
        with open(os.path.join(ROOT, "tokens.json"), "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)


def log(prog, argv):
    if not ROOT:
        return
    os.makedirs(ROOT, exist_ok=True)
    with open(os.path.join(ROOT, "calls.log"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"node": NODE, "prog": prog, "argv": argv}) + "\n")


def data_dir(node):
    return os.path.join(ROOT, "data", node)


def leader_of(st, node):
    return node.get("cluster") or node["name"]


def members(st, node):
    lead = st.node(leader_of(st, node))
    return lead.get("members") or [lead["name"]]


# --------------------------------------------------------------------------------------------
def render_status(st, node, ready=True):
    """microk8s status --format yaml, as status.py print_yaml() prints it (tests/fixtures/microk8s/README.md)."""
    lead = st.node(leader_of(st, node))
    enabled = set(lead.get("addons", []))
    ha = "ha-cluster" in enabled
    out = ["microk8s:", "{:>2}{} {}".format("", "running:", ready), "{:>2}".format("high-availability:"),
           "{:>2}{} {}".format("", "enabled:", ha)]
    if ha:
        out.append("{:>2}{}".format("", "nodes:"))
        for name in members(st, node):
            other = st.node(name)
            if not other.get("worker"):
                out.append("{:>6}address: {:<1}".format("- ", "%s:19001" % other.get("address", "")))
                out.append("{:>6}role: {:<1}".format("", "voter"))
    if ready:
        out.append("{:>2}".format("addons:"))
        for want in (True, False):
            for name, repository, desc, version in ADDONS:
                if (name in enabled) == want:
                    out.append("{:>4}name: {:<1}".format("- ", name))
                    out.append("{:>4}repository: {:<1}".format("", repository))
                    out.append("{:>4}description: {:<1}".format("", desc))
                    out.append("{:>4}version: {:<1}".format("", version))
                    out.append("{:>4}status: {}".format("", "enabled" if want else "disabled"))
    else:
        out.append("{:>2}{} {}".format("", "message:", NOT_READY_TEXT))
    return "\n".join(out) + "\n"


SLOW_KINDS = ("status_not_ready", "node_not_ready", "calico_not_ready")
API_REFUSED = "The connection to the server 127.0.0.1:16443 was refused - did you specify the right host or port?"
NOT_READY_CONDITION = {"status": "False", "type": "Ready", "reason": "KubeletNotReady",
                       "message": "container runtime network not ready: NetworkReady=false "
                                  "reason:NetworkPluginNotReady message:Network plugin returns error: "
                                  "cni plugin not initialized"}


def slow_settings():
    try:
        with open(os.path.join(ROOT, "slow.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


def save_slow_settings(data):
    with open(os.path.join(ROOT, "slow.json"), "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)


def make_slow(node, kinds=SLOW_KINDS):
    """After an install, refresh, restart or join: not ready for the configured number of polls."""
    settings = slow_settings()
    for kind in kinds:
        node[kind] = int(settings.get(kind, 0))


def poll(node, kind, polls=1):
    """Up to ``polls`` (>= 1) checks of ``kind`` on ``node``, stopping at the first ready answer.

    The first N checks after make_slow() answer not ready. True when every check answered not ready.
    """
    left = int(node.get(kind, 0))
    used = min(left, polls)
    node[kind] = left - used
    if used:
        answers = node.setdefault("answers", {})
        answers[kind] = answers.get(kind, 0) + used
    return left >= polls


def k8s_node(other, ready=True):
    labels = {"kubernetes.io/hostname": other["name"], "kubernetes.io/os": "linux", "microk8s.io/cluster": "true"}
    if other.get("worker"):
        labels["node.kubernetes.io/microk8s-worker"] = "microk8s-worker"
    else:
        labels["node.kubernetes.io/microk8s-controlplane"] = "microk8s-controlplane"
    spec = {"unschedulable": True} if other.get("cordoned") else {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"labels": labels, "name": other["name"]}, "spec": spec,
            "status": {"addresses": [{"address": other.get("address"), "type": "InternalIP"},
                                     {"address": other["name"], "type": "Hostname"}],
                       "conditions": [{"status": "True", "type": "Ready", "reason": "KubeletReady"}
                                      if ready else NOT_READY_CONDITION],
                       "nodeInfo": {"kubeletVersion": other.get("version")}}}


def calico_pod(other, ready=True):
    word = "True" if ready else "False"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"labels": {"k8s-app": "calico-node"}, "name": "calico-node-" + other["name"][-5:],
                         "namespace": "kube-system"},
            "spec": {"nodeName": other["name"]},
            "status": {"phase": "Running", "conditions": [{"status": word, "type": "Ready"}],
                       "containerStatuses": [{"name": "calico-node", "ready": ready}]}}


def kube_list(items):
    return json.dumps({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}, indent=4)
