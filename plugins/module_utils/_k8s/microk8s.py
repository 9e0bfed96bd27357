# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing and decisions for the MicroK8s role: plain Python, no Ansible, no I/O.

Every parser takes the text a real command prints (``snap list``, ``microk8s status --format yaml``,
``microk8s add-node --format json``, ``kubectl get nodes -o json`` ...) and returns plain data; every
decision function takes that data and says what to do.  Errors the user can fix are raised as
:class:`Microk8sError` with one message saying what to change.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.netzone.segmentation.plugins.module_utils._common.errors import Microk8sError

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

SNAP_NAME = "microk8s"
RISKS = ("stable", "candidate", "beta", "edge")
API_SERVER_PORT = 16443
CONTROL_PLANE_LABEL = "node.kubernetes.io/microk8s-controlplane"
WORKER_LABEL = "node.kubernetes.io/microk8s-worker"
ROLES = ("control-plane", "worker")
AUTODETECTION_PREFIXES = ("interface=", "skip-interface=", "can-reach=", "cidr=")
AUTODETECTION_WORDS = ("first-found", "kubernetes-internal-ip")


# --------------------------------------------------------------------------------------------
# snap
# --------------------------------------------------------------------------------------------
def normalize_channel(channel):
    """Return ``track/risk[/branch]`` for a snap channel as a user or ``snap list`` writes it.

    ``1.31`` and ``1.31/stable`` are the same channel, so are ``stable`` and ``latest/stable``.
    """
    if channel is None:
        raise Microk8sError("microk8s_channel: a snap channel is required, e.g. '1.31/stable'")
    text = str(channel).strip()
    if not text or text == "-" or " " in text or text.startswith("/") or text.endswith("/"):
        raise Microk8sError("microk8s_channel: %r is not a snap channel; write track/risk, e.g. '1.31/stable'" % (channel,))
    parts = text.split("/")
    if len(parts) > 3:
        raise Microk8sError("microk8s_channel: %r has too many parts; write track/risk[/branch]" % (channel,))
    if len(parts) == 1:
        return ("latest/%s" % text) if text in RISKS else ("%s/stable" % text)
    if parts[0] in RISKS:
        # risk/branch
        return "latest/" + text
    if parts[1] not in RISKS:
        raise Microk8sError("microk8s_channel: %r: the risk must be one of %s" % (channel, ", ".join(RISKS)))
    return text


def channels_match(installed, wanted):
    """True when the tracking channel shown by ``snap list`` is the wanted channel.

    ``snap list`` shortens ``track/risk/branch`` to ``track/risk/…``: such a channel matches a wanted
    channel with the same track and risk and any branch.
    """
    inst = installed.replace("\u2026", "").rstrip("/")
    truncated = inst != installed
    inst_n = normalize_channel(inst)
    want_n = normalize_channel(wanted)
    if truncated:
        return want_n.startswith(inst_n + "/")
    return inst_n == want_n


def parse_snap_list(text):
    """Parse ``snap list [name]`` into ``{name: {...}}``; an empty dict when nothing is listed."""
    result = {}
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return result
    header = lines[0].split()
    if header[:3] != ["Name", "Version", "Rev"]:
        raise Microk8sError("cannot read the output of 'snap list': unexpected header %r" % lines[0])
    has_tracking = "Tracking" in header
    for line in lines[1:]:
        cols = line.split()
        if has_tracking and len(cols) >= 6:
            name, version, rev, tracking, publisher, notes = cols[:6]
        elif not has_tracking and len(cols) >= 5:
            name, version, rev, publisher, notes = cols[:5]
            tracking = "-"
        else:
            raise Microk8sError("cannot read the output of 'snap list': line %r" % line)
        result[name] = {
            "name": name,
            "version": version,
            "revision": rev,
            "tracking": tracking,
            "publisher": publisher,
            "notes": [] if notes == "-" else notes.split(","),
        }
    return result


def snap_plan(list_text, wanted_channel, list_rc=0, list_stderr=""):
    """Decide what to do with the microk8s snap from ``snap list microk8s``.

    Returns ``action`` (``install``, ``refresh`` or ``none``), the installed and wanted channels,
    version, revision and whether automatic refreshes are held.
    """
    wanted = normalize_channel(wanted_channel)
    plan = {"installed": False, "action": "install", "wanted_channel": wanted, "channel": None,
            "version": None, "revision": None, "held": False, "classic": False}
    if list_rc != 0:
        if "no matching snaps installed" in (list_stderr or "") or "No snaps are installed" in (list_stderr or ""):
            return plan
        raise Microk8sError("'snap list %s' failed: %s" % (SNAP_NAME, (list_stderr or "").strip() or "exit %s" % list_rc))
    snaps = parse_snap_list(list_text)
    info = snaps.get(SNAP_NAME)
    if info is None:
        return plan
    plan.update(installed=True, version=info["version"], revision=info["revision"],
                held="held" in info["notes"], classic="classic" in info["notes"])
    if info["tracking"] == "-":
        # a locally installed (sideloaded) snap tracks no channel: leave it alone
        plan.update(channel=None, action="none")
        return plan
    inst = info["tracking"].replace("\u2026", "").rstrip("/")
    plan["channel"] = normalize_channel(inst)
    plan["action"] = "none" if channels_match(info["tracking"], wanted) else "refresh"
    return plan


def hold_action(held, want_hold):
    """``hold``, ``unhold`` or ``none`` for the snap refresh hold."""
    if want_hold and not held:
        return "hold"
    if not want_hold and held:
        return "unhold"
    return "none"


# --------------------------------------------------------------------------------------------
# microk8s status --format yaml
# --------------------------------------------------------------------------------------------
def _yaml_bool(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "yes")


# What MicroK8s prints instead of a status (canonical/microk8s, tests/fixtures/microk8s/README.md):
# a stopped node (``exit_if_stopped()`` of common/utils.py, exit 0), a node that is not ready yet
# (``print_yaml()`` of status.py, exit 1 since 1.28), a worker node (the status wrapper, exit 0).
STOPPED_TEXT = "microk8s is not running, try microk8s start"
NOT_READY_TEXT = "microk8s is not running. Use microk8s inspect for a deeper inspection."
WORKER_TEXT = "This MicroK8s deployment is acting as a node in a cluster."
LOW_MEMORY_TEXT = "This node does not have enough RAM to host the Kubernetes control plane services"
PERMISSION_TEXT = "Insufficient permissions to access MicroK8s."
STATES = ("ready", "not-ready", "stopped")


def _status_result(state, message="", ha=None, addons=None):
    return {"state": state, "running": state == "ready", "message": message,
            "high_availability": ha or {"enabled": False, "nodes": []}, "addons": addons or {}}


def _not_a_status(text, rc, host):
    """A clear error for the outputs of ``microk8s status`` that say why there is no status."""
    if WORKER_TEXT in text:
        return Microk8sError("%s is a MicroK8s worker node: it has no cluster status of its own; read the status "
                             "on a control-plane node (the first host of microk8s_cluster_hosts)" % host)
    if LOW_MEMORY_TEXT in text:
        return Microk8sError("MicroK8s on %s refuses to run the control plane (low-memory guard): join it as a worker "
                             "(microk8s_role: worker) or give it more RAM and run 'microk8s start "
                             "--disable-low-memory-guard' there" % host)
    if PERMISSION_TEXT in text:
        return Microk8sError("the user running the play on %s may not use MicroK8s: run the role with become: true, "
                             "or add that user to the 'microk8s' group (microk8s_users)" % host)
    return Microk8sError("cannot read the output of 'microk8s status --format yaml' on %s (exit %s): %r"
                         % (host, rc, text[:300]))


def parse_status(text, rc=0, host="this host"):
    """Parse ``microk8s status --format yaml`` (and its exit code ``rc``).

    Returns ``state`` (``ready``, ``not-ready`` or ``stopped``), ``running`` (ready), ``message`` (what MicroK8s
    said when it is not ready or stopped), ``high_availability`` ``{enabled, nodes: [{address, role}]}`` and
    ``addons`` ``{name: {status, repository, version, description}}``.

    The shapes, all in tests/fixtures/microk8s: a ready node (exit 0); a node that is not ready (``running:
    False``, exit 1 since MicroK8s 1.28, 0 before), whose ``message:`` line is indented by two spaces after the
    ``high-availability:`` block, so YAML puts it under ``high-availability`` (MicroK8s up to 1.20 used three
    spaces, which is not YAML at all); a stopped node, which prints one sentence and exits 0.  A worker node,
    a node under the low-memory guard or a user without permission raise :class:`Microk8sError` saying what to do.
    """
    text = text or ""
    if STOPPED_TEXT in text:
        return _status_result("stopped", STOPPED_TEXT)
    data = None
    if HAS_YAML:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            data = None
    if not isinstance(data, dict) or not isinstance(data.get("microk8s"), dict):
        match = re.search(r"^\s*running:\s*(\S+)\s*$", text, re.MULTILINE)
        if not match:
            raise _not_a_status(text, rc, host)
        msg = re.search(r"^\s*message:\s*(.+)$", text, re.MULTILINE)
        ready = _yaml_bool(match.group(1))
        return _status_result("ready" if ready else "not-ready", msg.group(1).strip() if msg else "",
                              {"enabled": bool(re.search(r"^\s+enabled:\s*True", text, re.MULTILINE)), "nodes": []})
    mk = data["microk8s"]
    ha = data.get("high-availability") if isinstance(data.get("high-availability"), dict) else {}
    message = mk.get("message") or ha.get("message") or data.get("message") or ""
    nodes = []
    for node in ha.get("nodes") or []:
        if isinstance(node, dict):
            nodes.append({"address": str(node.get("address", "")), "role": str(node.get("role", ""))})
    addons = {}
    for item in data.get("addons") or []:
        if not isinstance(item, dict) or "name" not in item:
            continue
        name = str(item["name"])
        entry = {
            "status": str(item.get("status", "")),
            "repository": str(item.get("repository") or "core"),
            "version": "" if item.get("version") is None else str(item.get("version")),
            "description": str(item.get("description") or ""),
        }
        # the same name in two repositories: keep both, keyed by repository/name as well
        if name in addons:
            addons["%s/%s" % (addons[name]["repository"], name)] = addons[name]
            addons["%s/%s" % (entry["repository"], name)] = entry
        addons[name] = entry
    ready = _yaml_bool(mk.get("running", False))
    if ready and rc not in (0, None):
        raise _not_a_status(text, rc, host)
    return _status_result("ready" if ready else "not-ready", str(message),
                          {"enabled": _yaml_bool(ha.get("enabled", False)), "nodes": nodes}, addons)


def status_problem(status, host="this host", waited=None, bound=None):
    """None when ``status`` (of :func:`parse_status`) is ready; else one message saying what to do.

    ``waited``: the seconds ``microk8s status --wait-ready --timeout`` waited, if it did; ``bound``: what sets
    that wait (the role variable), named in the message.
    """
    if status.get("state", "ready" if status.get("running") else "not-ready") == "ready":
        return None
    said = status.get("message") or ""
    if status.get("state") == "stopped":
        return ("MicroK8s is stopped on %s (it says: %s): someone ran 'microk8s stop' and it stays stopped, "
                "reboots included, until started. Run 'microk8s start' on %s, then re-run the play." % (host, said, host))
    after = " after waiting %s s" % waited if waited else ""
    if waited and bound:
        after += " (%s)" % bound
    slow = ("raise %s and re-run the play" % bound) if bound else "re-run the play or wait longer"
    return ("MicroK8s on %s is not ready%s (it says: %s): its API server or its node is not up. Run 'microk8s "
            "inspect' on %s and read the report (services, disk, memory); if it is only slow, %s."
            % (host, after, said or NOT_READY_TEXT, host, slow))


def cli_failure(argv, rc, out, err, host="this host"):
    """One message for a failed ``microk8s`` command; a stopped node says to start it."""
    text = "%s\n%s" % (out or "", err or "")
    if STOPPED_TEXT in text:
        return status_problem(_status_result("stopped", STOPPED_TEXT), host)
    if any(marker in text for marker in (WORKER_TEXT, LOW_MEMORY_TEXT, PERMISSION_TEXT)):
        return str(_not_a_status(text, rc, host))
    return "'%s' failed (exit %s): %s" % (" ".join(argv), rc, text.strip()[:2000])


def normalize_addons(addons, dns_upstream=None):
    """Validate the wanted addons: a list of names or ``{name, args}``; returns ``[{name, args}]``.

    ``dns`` without args gets the company DNS servers (``dns_upstream``) as ``dns:1.2.3.4,5.6.7.8``.
    """
    out = []
    seen = set()
    for index, item in enumerate(addons or []):
        if isinstance(item, str):
            name, args = item, ""
        elif isinstance(item, dict):
            name, args = item.get("name"), item.get("args") or ""
        else:
            raise Microk8sError("microk8s_addons[%d]: write a name or {name: ..., args: ...}" % index)
        if isinstance(name, str) and ":" in name:
            raise Microk8sError("microk8s_addons[%d].name: %r: put the arguments in args, not after ':'" % (index, name))
        if not isinstance(name, str) or not re.match(r"^([a-z0-9][a-z0-9-]*/)?[a-z0-9][a-z0-9.-]*$", name):
            raise Microk8sError("microk8s_addons[%d].name: %r is not an addon name (e.g. dns, community/argocd)" % (index, name))
        if name in seen:
            raise Microk8sError("microk8s_addons[%d].name: %s is listed twice" % (index, name))
        seen.add(name)
        args = str(args).strip()
        if _own_name(name) == "dns" and not args and dns_upstream:
            for server in dns_upstream:
                try:
                    ipaddress.ip_address(str(server))
                except ValueError:
                    raise Microk8sError("microk8s_dns_upstream: %r is not an IP address" % (server,))
            args = ",".join(str(s) for s in dns_upstream)
        out.append({"name": name, "args": args})
    return out


def addon_command(addon):
    """The argument MicroK8s' enable takes: ``dns:1.1.1.1`` (the form of the MicroK8s dns docs)."""
    return "%s:%s" % (addon["name"], addon["args"]) if addon["args"] else addon["name"]


def _own_name(name):
    """An addon's name as ``microk8s status`` lists it: ``community/argocd`` is ``argocd`` there."""
    return name.split("/")[-1]


def _status_entry(status, name):
    if name in status["addons"]:
        return status["addons"][name]
    entry = status["addons"].get(_own_name(name))
    if entry is not None and "/" in name and entry["repository"] != name.split("/")[0]:
        return None
    return entry


def addon_plan(status, wanted, managed_before=None):
    """Compare the wanted addons with ``microk8s status`` and what the role enabled before.

    * ``enable``: wanted addons that are disabled (``[{name, args, command}]``);
    * ``disable``: addons the role enabled on an earlier run (``managed_before``) that are no longer
      wanted and are still enabled — addons MicroK8s or an operator enabled are never touched;
    * ``managed``: what the role manages after this run (the wanted names);
    * ``args_changed``: enabled addons whose args differ from the last run: MicroK8s cannot change
      them in place (disable + enable), so they are reported, not changed;
    * ``unknown``: wanted addons that ``microk8s status`` does not list (typo, or repository missing);
    * ``reenable``: wanted addons with args that are enabled but were not enabled by the role, so their args
      are unknown — MicroK8s itself enables ``dns`` on install without them: they are disabled and enabled
      again with the wanted args (also listed in ``enable``), once; after that the role knows their args;
    * ``enabled_before``/``enabled_after``: the enabled addons by the names ``microk8s status`` lists them
      (``argocd`` for ``community/argocd``), now and once the plan is carried out (what a diff shows).
    """
    problem = status_problem(status)
    if problem:
        raise Microk8sError("addons cannot be read: " + problem)
    managed_before = managed_before or {}
    if isinstance(managed_before, list):
        managed_before = dict((name, "") for name in managed_before)
    enable, unknown, args_changed, reenable = [], [], [], []
    wanted_names = set()
    for addon in wanted:
        wanted_names.add(addon["name"])
        entry = _status_entry(status, addon["name"])
        if entry is None:
            unknown.append(addon["name"])
            continue
        if entry["status"] != "enabled":
            enable.append(dict(addon, command=addon_command(addon)))
        elif addon["name"] in managed_before:
            if managed_before[addon["name"]] != addon["args"]:
                args_changed.append(addon["name"])
        elif addon["args"]:
            reenable.append(addon["name"])
            enable.append(dict(addon, command=addon_command(addon)))
    disable = []
    for name in sorted(managed_before):
        if name in wanted_names:
            continue
        entry = _status_entry(status, name)
        if entry is not None and entry["status"] == "enabled":
            disable.append(name)
    managed = dict((a["name"], a["args"]) for a in wanted if a["name"] not in unknown)
    enabled_before = sorted(n for n, e in status["addons"].items() if e["status"] == "enabled" and "/" not in n)
    enabled_after = sorted((set(enabled_before) | set(_own_name(a["name"]) for a in enable))
                           - set(_own_name(name) for name in disable))
    return {"enable": enable, "disable": disable, "managed": managed, "unknown": unknown,
            "args_changed": args_changed, "reenable": reenable,
            "enabled_before": enabled_before, "enabled_after": enabled_after}


# --------------------------------------------------------------------------------------------
# add-node / join
# --------------------------------------------------------------------------------------------
def parse_add_node(text):
    """Parse ``microk8s add-node --format json``: ``{token, urls}``."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise Microk8sError("cannot read the output of 'microk8s add-node --format json': %r" % (text or "")[:200])
    if not isinstance(data, dict) or not data.get("token") or not isinstance(data.get("urls"), list) or not data["urls"]:
        raise Microk8sError("'microk8s add-node --format json' gave no token or no join URL: %r" % (text or "")[:200])
    for url in data["urls"]:
        if not re.match(r"^[^/\s]+:\d+/[0-9A-Za-z]+(/[0-9A-Za-z]+)?$", str(url)):
            raise Microk8sError("'microk8s add-node' gave an unexpected join URL %r" % (url,))
    return {"token": str(data["token"]), "urls": [str(u) for u in data["urls"]]}


def _url_host(url):
    host = url.split("/", 1)[0].rsplit(":", 1)[0]
    return host.strip("[]")


def order_join_urls(urls, preferred=None):
    """Join URLs with the one on ``preferred`` (the first node's cluster address) first."""
    if not preferred:
        return list(urls)
    first = [u for u in urls if _url_host(u) == str(preferred)]
    return first + [u for u in urls if u not in first]


def join_failure(rc, stdout, stderr):
    """One message from a failed ``microk8s join``: MicroK8s prints its reasons on stdout."""
    lines = [line.strip() for line in ((stdout or "") + "\n" + (stderr or "")).splitlines() if line.strip()]
    reasons = [line for line in lines if not line.startswith("Contacting cluster at")
               and not line.startswith("Waiting for this node")]
    reason = " ".join(reasons) if reasons else "no output"
    hint = ""
    if "Invalid token" in reason or "invalid token" in reason:
        hint = " The token was used or has expired: re-run the play, a new one is issued for each join."
    elif "Could not verify the identity" in reason:
        hint = " The first node's certificate changed since the token was issued: re-run the play."
    elif "reachable" in reason or "Connection refused" in reason or "timed out" in reason:
        hint = " Open TCP 25000 (cluster agent), 16443 (API server) and 19001 (dqlite) between the nodes."
    return "microk8s join failed (exit %s): %s%s" % (rc, reason, hint)


def join_try_next_url(rc, stdout):
    """After a failed join, is another URL of the same token worth trying?

    Not when the cluster agent answered (``Connection failed. ... (status)``) or the certificate did not match:
    those say the same on every address.  Yes when the address could not be reached.
    """
    text = stdout or ""
    return not ("Connection failed." in text or "Could not verify the identity" in text)


def join_succeeded(rc, stdout):
    """True when ``microk8s join`` reports success."""
    return rc == 0 and "Successfully joined the cluster" in (stdout or "")


# --------------------------------------------------------------------------------------------
# kubectl get nodes / pods
# --------------------------------------------------------------------------------------------
def _items(text, what):
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        if WORKER_TEXT in (text or ""):
            raise Microk8sError("'microk8s kubectl get %s' ran on a worker node, which has no API server of its own: "
                                "run it on a control-plane node (the first host of microk8s_cluster_hosts)" % what)
        raise Microk8sError("cannot read the output of 'microk8s kubectl get %s -o json': %r" % (what, (text or "")[:200]))
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise Microk8sError("'microk8s kubectl get %s -o json' did not return a List" % what)
    return data["items"]


def _condition(obj, kind):
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond.get("status") == "True"
    return False


def parse_nodes(text):
    """Parse ``kubectl get nodes -o json`` into ``[{name, address, ready, schedulable, role}]``."""
    nodes = []
    for item in _items(text, "nodes"):
        meta = item.get("metadata") or {}
        labels = meta.get("labels") or {}
        address = None
        for addr in (item.get("status") or {}).get("addresses") or []:
            if addr.get("type") == "InternalIP":
                address = addr.get("address")
                break
        role = "worker" if WORKER_LABEL in labels else "control-plane"
        nodes.append({"name": meta.get("name"), "address": address, "ready": _condition(item, "Ready"),
                      "schedulable": not (item.get("spec") or {}).get("unschedulable", False), "role": role})
    return nodes


def find_node(nodes, name):
    """The node called ``name`` (Kubernetes node names are lower case), or None."""
    name = (name or "").lower()
    for node in nodes:
        if (node.get("name") or "").lower() == name:
            return node
    return None


def join_plan(nodes, hosts):
    """Who must join: ``hosts`` is ``[{host, name, role}]`` in inventory order (the first control plane issues tokens).

    Returns ``members`` (already in the node list), ``joiners`` (``[{host, name, role}]``), ``role_mismatch``
    (members whose MicroK8s role differs from the inventory: changing it takes ``microk8s leave``, which
    the role never does by itself) and ``foreign`` (nodes of the cluster that are not in the inventory).
    """
    members, joiners, mismatch = [], [], []
    names = set()
    for host in hosts:
        role = host.get("role", "control-plane")
        if role not in ROLES:
            raise Microk8sError("%s: microk8s_role must be one of %s, not %r" % (host.get("host"), ", ".join(ROLES), role))
        name = (host.get("name") or "").lower()
        if not name:
            raise Microk8sError("%s: microk8s_node_name is empty" % host.get("host"))
        if name in names:
            raise Microk8sError("%s: node name %r is used by two hosts; set microk8s_node_name per host" % (host.get("host"), name))
        names.add(name)
        node = find_node(nodes, name)
        if node is None:
            joiners.append({"host": host.get("host"), "name": name, "role": role})
            continue
        members.append(host.get("host"))
        if node["role"] != role:
            mismatch.append({"host": host.get("host"), "name": name, "inventory": role, "cluster": node["role"]})
    if hosts and not any(h.get("role", "control-plane") == "control-plane" for h in hosts):
        raise Microk8sError("the cluster needs at least one control-plane host: set microk8s_role: control-plane on the first one")
    foreign = [n["name"] for n in nodes if (n.get("name") or "").lower() not in names]
    control_planes = [h for h in hosts if h.get("role", "control-plane") == "control-plane"]
    return {"members": members, "joiners": joiners, "role_mismatch": mismatch, "foreign": foreign,
            "control_planes": len(control_planes), "high_availability": len(control_planes) >= 3}


def parse_calico_pods(text):
    """Parse ``kubectl get pods -l k8s-app=calico-node -o json`` into ``[{name, node, phase, ready}]``."""
    pods = []
    for item in _items(text, "pods"):
        meta = item.get("metadata") or {}
        status = item.get("status") or {}
        containers = status.get("containerStatuses") or []
        ready = _condition(item, "Ready") and bool(containers) and all(c.get("ready") for c in containers)
        pods.append({"name": meta.get("name"), "node": (item.get("spec") or {}).get("nodeName"),
                     "phase": status.get("phase"), "ready": ready})
    return pods


def calico_check(pods, node_names):
    """Is calico-node Running and Ready on every node?  ``{ok, missing, not_ready, message}``."""
    by_node = {}
    for pod in pods:
        by_node.setdefault((pod.get("node") or "").lower(), []).append(pod)
    missing, not_ready = [], []
    for name in node_names:
        found = by_node.get((name or "").lower(), [])
        if not found:
            missing.append(name)
        elif not any(p["phase"] == "Running" and p["ready"] for p in found):
            not_ready.append("%s (%s)" % (name, ", ".join("%s %s" % (p["name"], p["phase"]) for p in found)))
    ok = not missing and not not_ready and bool(node_names)
    parts = []
    if missing:
        parts.append("no calico-node pod on %s" % ", ".join(missing))
    if not_ready:
        parts.append("calico-node not Running and Ready on %s" % "; ".join(not_ready))
    message = "" if ok else (
        "Calico is not running on every node (%s): NetworkPolicies are ignored without it. Check "
        "'microk8s kubectl -n kube-system describe ds/calico-node' and that no other CNI "
        "(e.g. the flannel of 'microk8s disable ha-cluster') replaced it." % "; ".join(parts or ["no nodes"]))
    return {"ok": ok, "missing": missing, "not_ready": not_ready, "message": message}


def cluster_ready(nodes, pods, expected=()):
    """Every expected node is in the cluster, every node is Ready and runs calico-node: ``{ok, message}``."""
    names = [n["name"] for n in nodes]
    missing = [name for name in expected if find_node(nodes, name) is None]
    not_ready = [n["name"] for n in nodes if not n["ready"]]
    calico = calico_check(pods, names)
    parts = []
    if missing:
        parts.append("not in the cluster: %s (did the join fail? see 'microk8s kubectl get nodes' on the first node)" % ", ".join(missing))
    if not_ready:
        parts.append("not Ready: %s (see 'microk8s kubectl describe node NAME')" % ", ".join(not_ready))
    if not calico["ok"]:
        parts.append(calico["message"])
    return {"ok": not parts, "message": " ".join(parts), "calico": calico}


# --------------------------------------------------------------------------------------------
# name resolution, kubeconfig, Calico autodetection, kube-proxy
# --------------------------------------------------------------------------------------------
def parse_getent_hosts(text):
    """Addresses from ``getent hosts NAME`` (first column of each line)."""
    return [line.split()[0] for line in (text or "").splitlines() if line.split()]


def resolution_problem(host, name, expected, getent_rc, getent_stdout):
    """None when ``name`` resolves to ``expected`` on ``host``; else what to fix."""
    addresses = parse_getent_hosts(getent_stdout) if getent_rc == 0 else []
    if expected in addresses:
        return None
    if not addresses:
        got = "does not resolve"
    else:
        got = "resolves to %s" % ", ".join(addresses)
    return ("%s: node name %r %s, MicroK8s needs it to resolve to the node address %s on every node: add "
            "'%s %s' to /etc/hosts (or DNS), or set microk8s_node_address/microk8s_node_name for that host"
            % (host, name, got, expected, expected, name))


def rewrite_kubeconfig_server(text, address, port=API_SERVER_PORT):
    """Point every ``server:`` of a kubeconfig at ``https://address:port``; returns (text, count)."""
    host = address
    try:
        if ipaddress.ip_address(address).version == 6:
            host = "[%s]" % address
    except ValueError:
        pass
    new, count = re.subn(r"^(\s*server:\s*)https://\S+\s*$", lambda m: "%shttps://%s:%s" % (m.group(1), host, port),
                         text or "", flags=re.MULTILINE)
    if count == 0:
        raise Microk8sError("the kubeconfig from 'microk8s config' has no 'server:' line")
    return new, count


def validate_ip_autodetection(method):
    """Check a Calico ``IP_AUTODETECTION_METHOD`` value; returns it stripped."""
    value = (method or "").strip()
    if value in AUTODETECTION_WORDS:
        return value
    for prefix in AUTODETECTION_PREFIXES:
        if value.startswith(prefix) and len(value) > len(prefix):
            rest = value[len(prefix):]
            if prefix == "cidr=":
                for cidr in rest.split(","):
                    try:
                        ipaddress.ip_network(cidr.strip(), strict=False)
                    except ValueError:
                        raise Microk8sError("microk8s_calico_ip_autodetection: %r is not a CIDR" % cidr)
            return value
    raise Microk8sError(
        "microk8s_calico_ip_autodetection: %r is not a Calico autodetection method; use interface=eth1, "
        "can-reach=192.0.2.1, cidr=192.0.2.0/24, skip-interface=..., first-found or kubernetes-internal-ip" % (method,))


IP_AUTODETECTION_RE = r'(- name: IP_AUTODETECTION_METHOD\s*\n\s*value: )"?[^"\n]*"?'


def set_ip_autodetection(text, method):
    """Set the calico-node ``IP_AUTODETECTION_METHOD`` in MicroK8s' cni.yaml; returns (text, old)."""
    value = validate_ip_autodetection(method)
    match = re.search(IP_AUTODETECTION_RE, text or "")
    if not match:
        raise Microk8sError("cni.yaml has no IP_AUTODETECTION_METHOD for calico-node: is the CNI Calico?")
    old = re.search(r'value: "?([^"\n]*)"?', match.group(0)).group(1)
    new = re.sub(IP_AUTODETECTION_RE, lambda m: '%s"%s"' % (m.group(1), value), text, count=1)
    return new, old
