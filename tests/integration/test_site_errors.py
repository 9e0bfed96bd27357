# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The errors a newcomer meets with playbooks/site.yml: each ends with ONE message that says what to change.

Every case runs ansible-playbook on this machine with a small inventory (loopback addresses only) and checks
the failing task's message, and that nothing else failed.  Cases that could touch the host are run so that
they stop before any change: the port check runs in check mode, the MicroK8s case stops at its preflight.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SITE = os.path.join(ROOT, "playbooks", "site.yml")
PY = "/usr/bin/python3"
LB = {"ansible_connection": "local", "ansible_python_interpreter": PY, "netzone_address": "127.0.30.1"}
NODE = {"ansible_connection": "local", "ansible_python_interpreter": PY, "netzone_address": "127.0.30.5"}


def _inventory(tmp_path, loadbalancers=None, microk8s=None, matrix=None):
    inv = {"all": {"children": {"loadbalancers": {"hosts": loadbalancers if loadbalancers is not None else {"lb1": LB}},
                                "microk8s": {"hosts": microk8s if microk8s is not None else {"node1": NODE}}}}}
    if matrix is not None:
        inv["all"]["vars"] = {"netzone_matrix": matrix}
    path = tmp_path / "inventory"
    path.mkdir(exist_ok=True)
    (path / "hosts.yml").write_text(yaml.safe_dump(inv))
    return str(path)


def _run(inventory, *extra):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_HOST_KEY_CHECKING="False")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, SITE] + list(extra)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc


def _failure(proc):
    """The failure that ends the run: (host, task, msg).  Only one task may count as failed in the recap (a
    rescued filter error, shown before the rescue's message, does not)."""
    assert proc.returncode != 0, proc.stdout
    failures = re.findall(r"^TASK \[(.+?)\] \*+\n(?:(?!TASK \[).*\n)*?fatal: \[(.+?)\]: FAILED! => (\{.*\})$", proc.stdout, re.M)
    assert failures, proc.stdout[-4000:]
    recap = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout, re.M)
    assert sum(int(entry[2]) for entry in recap) == 1, "expected exactly one failed task:\n" + proc.stdout[-4000:]
    task, host, result = failures[-1]
    assert proc.stdout.rstrip().endswith(tuple(line for line in proc.stdout.rstrip().splitlines()[-len(recap):]))
    return host, task, re.sub(r"\s+", " ", yaml.safe_load(result)["msg"])


def _matrix(**changes):
    matrix = {"services": {"http": ["80/tcp"], "postgres": ["5432/tcp"]},
              "peers": {"load_balancers": {"from_group": "loadbalancers"}},
              "zones": {"ingress": {}, "frontend": {}, "backend": {}},
              "flows": [{"from": "load_balancers", "to": "ingress", "services": ["http"]},
                        {"from": "ingress", "to": "frontend", "services": ["http"]},
                        {"from": "frontend", "to": "backend", "services": ["http"]}],
              "vhosts": [{"name": "shop.example.com", "exposure": "public", "service": "web"}]}
    matrix.update(changes)
    return matrix


def test_bad_matrix(tmp_path):
    matrix = _matrix()
    matrix["flows"][2]["to"] = "bakend"
    host, task, msg = _failure(_run(_inventory(tmp_path, matrix=matrix)))
    assert (host, task) == ("localhost", "Say what to change in the matrix")
    assert msg.startswith("The traffic matrix is not valid: flows[2].to: unknown zone or peer 'bakend' "
                          "(did you mean 'backend'?). Change netzone_matrix in "), msg
    assert msg.endswith("/group_vars/all.yml (or add the hosts/addresses it names to the inventory), then run again.")


def test_missing_address_variable(tmp_path):
    """A load balancer host known by name only: the matrix cannot give the ingress zone its address."""
    inventory = _inventory(tmp_path, loadbalancers={"lb-edge": {"ansible_connection": "local"}}, matrix=_matrix())
    host, task, msg = _failure(_run(inventory))
    assert task == "Say what to change in the matrix"
    assert "peers.load_balancers.from_group: host 'lb-edge' of group 'loadbalancers' has no IP address ('lb-edge'): " \
           "set netzone_address or ansible_host to an IP" in msg, msg


def test_missing_internal_address_variable(tmp_path):
    matrix = _matrix(vhosts=[{"name": "intranet.example.com", "exposure": "internal", "service": "web"}])
    host, task, msg = _failure(_run(_inventory(tmp_path, matrix=matrix)))
    assert task == "Check that internal virtual hosts have an internal load balancer address"
    assert msg == ("The virtual host(s) intranet.example.com are exposure: internal, but load balancer host(s) lb1 "
                   "have no loadbalancer_internal_address. Set loadbalancer_internal_address (an address of the load "
                   "balancer on the internal network) in group_vars/loadbalancers.yml, or make the vhosts public.")


def test_unreachable_host(tmp_path):
    # Port 1 on a loopback address: nothing listens, the connection is refused at once (no traffic leaves).
    lb = {"ansible_host": "127.0.30.9", "ansible_port": 1, "ansible_user": "deploy", "ansible_connection": "ssh"}
    host, task, msg = _failure(_run(_inventory(tmp_path, loadbalancers={"lb1": lb}, matrix=_matrix())))
    assert (host, task) == ("lb1", "Say what to change for a host that does not answer")
    assert msg.startswith("Host lb1 (127.0.30.9) is unreachable: "), msg
    assert "Connection refused" in msg
    assert msg.endswith("Check ansible_host, ansible_user and ansible_port for lb1 in the inventory, and that "
                        "`ssh deploy@127.0.30.9` works (or remove the host from the inventory).")


def test_no_snapd_on_a_cluster_host():
    """The lab with netzone_lab_microk8s=true on a host without snapd (this one): the MicroK8s role says so."""
    assert not os.path.exists("/usr/bin/snap"), "this test needs a host without snapd"
    proc = _run(os.path.join(ROOT, "inventories", "lab"), "--tags", "cluster", "-e", "netzone_lab_microk8s=true",
                "-e", "microk8s_node_address=127.0.0.1")
    host, task, msg = _failure(proc)
    assert (host, task) == ("localhost", "netzone.segmentation.microk8s : Fail when snapd is missing")
    assert msg == ("localhost: no snapd on this cluster host (/usr/bin/snap not found). MicroK8s is a snap: install "
                   "snapd first (apt-get install snapd, then log in again or reboot), or set microk8s_snap_bin if snap "
                   "lives elsewhere.")
    assert "netzone-lab-node" not in proc.stdout


def test_port_in_use_on_the_load_balancer(tmp_path):
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.30.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        # The settings are right (they are checked first, before the ports): the node is given explicitly, as
        # the cluster group is left empty so that only the load balancer stage runs.
        lb = dict(LB, loadbalancer_public_address="127.0.30.1", loadbalancer_public_https_port=port,
                  loadbalancer_install_packages=False,
                  loadbalancer_backend_nodes=[{"name": "node1", "address": NODE["netzone_address"]}])
        # Check mode: if the check let it through, the role would still change nothing on this host.
        proc = _run(_inventory(tmp_path, loadbalancers={"lb1": lb}, microk8s={}, matrix=_matrix()), "--tags", "loadbalancer",
                    "--check")
    finally:
        holder.close()
    host, task, msg = _failure(proc)
    assert (host, task) == ("lb1", "netzone.segmentation.loadbalancer : Stop when another program holds a port the load "
                                   "balancer needs")
    assert msg.startswith("Port 127.0.30.1:%d (public HTTPS frontend) on lb1 is already in use by '" % port), msg
    assert "(pid %d) (listening on 127.0.30.1:%d)" % (os.getpid(), port) in msg
    assert msg.endswith("Stop that program, or set loadbalancer_public_https_port to a free port in "
                        "group_vars/loadbalancers.yml.")
