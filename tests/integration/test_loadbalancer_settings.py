# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load balancer role with many wrong settings: it stops before it reads or changes anything on the host,
with one message per wrong setting, all in one run.

The role runs on this machine (connection local) in check mode, so that even a regression changes nothing here
(the machine is shared); what is checked is which of the role's tasks ran: only the input checks, before the
port scan, the packages and every file.  The role's paths point into the test's directory, which stays empty.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PY = "/usr/bin/python3"
ROLE = "netzone.segmentation.loadbalancer"
# The role's tasks that may run before it stops: gathering the nodes and checking the settings, nothing else.
VALIDATION_TASKS = {
    "Start from the explicit node list",
    "Take the nodes from the inventory group",
    "Check every setting",
    "Say what to change in the settings (nothing on the host has changed)",
}
EXPECTED = [
    "loadbalancer_vhosts[1].service: is required (the Kubernetes Service the Ingress points to)",
    "loadbalancer_backend_nodes[1].address: expected an IP address or host name, got '127.0.31.6/24'",
    "loadbalancer_stats_port: port 8081 is also loadbalancer_waf_port;",
    "loadbalancer_stats_user: expected a user name of letters, digits, '.', '_' and '-', got 'net zone'",
    "loadbalancer_haproxy_threads: 'two' is neither auto nor a number of threads (1-999)",
    "loadbalancer_log_server: expected a syslog server as host:port (TCP), [IPv6]:port for an IPv6 address, "
    "got 'logs.example.com'",
    "loadbalancer_log_ring_size: 1024 bytes is too small; it must be at least 16384",
    "loadbalancer_public_http_port: port 443 serves plain HTTP here and HTTPS as loadbalancer_public_https_port;",
]


def _run(tmp_path, lb_vars):
    state = tmp_path / "state"
    state.mkdir()
    # Every path the role writes, in the test's directory: it must stay empty.
    lb_vars = dict(lb_vars, ansible_connection="local", ansible_python_interpreter=PY,
                   loadbalancer_install_packages=False, loadbalancer_config_dir=str(state / "haproxy"),
                   loadbalancer_log_file=str(state / "haproxy.log"),
                   loadbalancer_firewall_file=str(state / "netzone_lb.nft"),
                   loadbalancer_keepalived_conf=str(state / "keepalived.conf"),
                   loadbalancer_waf_audit_log=str(state / "audit.log"))
    inventory = {"all": {"children": {"loadbalancers": {"hosts": {"lb1": lb_vars}}}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{
        "name": "The load balancer role alone", "hosts": "loadbalancers", "gather_facts": False,
        "roles": [{"role": ROLE}]}]))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
           str(tmp_path / "play.yml"), "--check"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc, state


def _tasks(stdout):
    """The role's tasks that ran, by name (the argument check Ansible adds is not the role's)."""
    names = re.findall(r"^TASK \[%s : (.+?)\] \*+$" % re.escape(ROLE), stdout, re.M)
    return [name for name in names if not name.startswith("Validating arguments against arg spec")]


def test_every_wrong_setting_at_once_and_nothing_else_ran(tmp_path):
    bad = {
        "loadbalancer_vhosts": [{"name": "shop.example.com", "service": "web"}, {"name": "api.example.com"}],
        "loadbalancer_backend_nodes": [{"name": "node1", "address": "127.0.31.5"},
                                       {"name": "node2", "address": "127.0.31.6/24"}],
        "loadbalancer_stats_port": 8081,
        "loadbalancer_stats_user": "net zone",
        "loadbalancer_haproxy_threads": "two",
        "loadbalancer_log_server": "logs.example.com",
        "loadbalancer_log_ring_size": 1024,
        "loadbalancer_public_address": "127.0.31.1",
        "loadbalancer_public_http_port": 443,
    }
    proc, state = _run(tmp_path, bad)
    assert proc.returncode == 2, proc.stdout[-4000:]
    recap = re.search(r"^lb1\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", proc.stdout, re.M)
    assert recap, proc.stdout[-4000:]
    assert (recap.group(2), recap.group(3)) == ("0", "1"), recap.group(0)
    ran = _tasks(proc.stdout)
    assert ran and ran[-1] == "Say what to change in the settings (nothing on the host has changed)", ran
    # Only the input checks ran: no port scan, no package, no file, no service.
    assert set(ran) <= VALIDATION_TASKS, ran
    failed = re.search(r"^fatal: \[lb1\]: FAILED! => (\{.*\})$", proc.stdout, re.M)
    msg = yaml.safe_load(failed.group(1))["msg"]
    assert not msg.endswith("\n"), msg
    lines = msg.split("\n")
    assert lines[0] == ("loadbalancer: %d setting(s) to change on lb1, nothing on the host has changed:"
                        % len(EXPECTED)), msg
    assert len(lines) == 1 + len(EXPECTED), msg
    for line, expected in zip(lines[1:], EXPECTED):
        assert line.startswith("- " + expected), (line, expected)
    assert not os.listdir(state)


def test_right_settings_pass_the_checks_to_the_port_scan(tmp_path):
    """The same role with its settings right goes past the checks to the port scan, where it stops: a port it
    needs is held here by the test (so the run ends before anything else, check mode or not)."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.31.1", 0))
        holder.listen(1)
        good = {"loadbalancer_vhosts": [{"name": "shop.example.com", "service": "web"}],
                "loadbalancer_backend_nodes": [{"name": "node1", "address": "127.0.31.5"}],
                "loadbalancer_public_address": "127.0.31.1",
                "loadbalancer_public_https_port": holder.getsockname()[1]}
        proc, state = _run(tmp_path, good)
    finally:
        holder.close()
    ran = _tasks(proc.stdout)
    assert ran[:ran.index("Check every setting") + 1] == ["Start from the explicit node list",
                                                          "Take the nodes from the inventory group",
                                                          "Check every setting"], ran
    assert "Say what to change in the settings (nothing on the host has changed)" in ran  # listed, skipped
    assert re.search(r"^skipping: \[lb1\]", proc.stdout, re.M)
    assert ran[-1] == "Stop when another program holds a port the load balancer needs", ran
    assert "is already in use by" in proc.stdout
    assert not os.listdir(state)
