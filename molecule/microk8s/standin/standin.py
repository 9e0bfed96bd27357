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

# addons.yaml of canonical/microk8s-core-addons (name, description, version), in its order
ADDONS = [
    ("dns", "CoreDNS", "1.9.0"), ("rbac", "Role-Based Access Control for authorisation", ""),
    ("dashboard", "The Kubernetes dashboard", "2.3.0"), ("ingress", "Ingress controller for external access", "1.5.1"),
    ("hostpath-storage", "Storage class; allocates storage from host directory", "1.1.0"),
    ("storage", "Alias to hostpath-storage add-on, deprecated", "1.1.0"),
    ("registry", "Private image registry exposed on localhost:32000", "2.6"),
    ("metrics-server", "K8s Metrics Server for API access to service metrics", "0.5.0"),
    ("gpu", "Automatic enablement of Nvidia CUDA", "1.11.0"),
    ("prometheus", "Prometheus operator for monitoring and logging", "v0.8.0"),
    ("helm", "Helm 2 - the package manager for Kubernetes", "2.16.0"),
    ("helm3", "Helm 3 - Kubernetes package manager", "3.8.0"),
    ("metallb", "Loadbalancer for your Kubernetes cluster", "0.9.3"),
    ("host-access", "Allow Pods connecting to Host services smoothly", "1.0.0"),
    ("ha-cluster", "Configure high availability on the current node", "0.1.0"),
    ("mayastor", "OpenEBS MayaStor", "1.0.1-alpha-2"),
    ("community", "The community addons repository", ""),
]
DEFAULT_ENABLED = ["ha-cluster", "helm", "helm3"]


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


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
    """microk8s status --format yaml, as status.py print_yaml() prints it."""
    out = ["microk8s:", "{:>2}{} {}".format("", "running:", ready), "{:>2}".format("high-availability:")]
    out.append("{:>2}{} {}".format("", "enabled:", True))
    out.append("{:>2}{}".format("", "nodes:"))
    for name in members(st, node):
        other = st.node(name)
        if not other.get("worker"):
            out.append("{:>6}address: {:<1}".format("- ", "%s:19001" % other.get("address", "")))
            out.append("{:>6}role: {:<1}".format("", "voter"))
    lead = st.node(leader_of(st, node))
    enabled = set(lead.get("addons", []))
    if ready:
        out.append("{:>2}".format("addons:"))
        for want in (True, False):
            for name, desc, version in ADDONS:
                if (name in enabled) == want:
                    out.append("{:>4}name: {:<1}".format("- ", name))
                    out.append("{:>4}description: {:<1}".format("", desc))
                    out.append("{:>4}version: {:<1}".format("", version))
                    out.append("{:>4}status: {}".format("", "enabled" if want else "disabled"))
    return "\n".join(out) + "\n"


def k8s_node(other):
    labels = {"kubernetes.io/hostname": other["name"], "kubernetes.io/os": "linux", "microk8s.io/cluster": "true"}
    if other.get("worker"):
        labels["node.kubernetes.io/microk8s-worker"] = "microk8s-worker"
    else:
        labels["node.kubernetes.io/microk8s-controlplane"] = "microk8s-controlplane"
    spec = {"unschedulable": True} if other.get("cordoned") else {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"labels": labels, "name": other["name"]}, "spec": spec,
            "status": {"addresses": [{"address": other.get("address"), "type": "InternalIP"},
                                     {"address": other["name"], "type": "Hostname"}],
                       "conditions": [{"status": "True", "type": "Ready", "reason": "KubeletReady"}],
                       "nodeInfo": {"kubeletVersion": other.get("version")}}}


def calico_pod(other):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"labels": {"k8s-app": "calico-node"}, "name": "calico-node-" + other["name"][-5:],
                         "namespace": "kube-system"},
            "spec": {"nodeName": other["name"]},
            "status": {"phase": "Running", "conditions": [{"status": "True", "type": "Ready"}],
                       "containerStatuses": [{"name": "calico-node", "ready": True}]}}


def kube_list(items):
    return json.dumps({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}, indent=4)
