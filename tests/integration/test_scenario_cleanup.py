# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A converge that fails half way, then ``molecule destroy``: nothing of the scenario is left.

The egress scenario is converged with one bad variable: an origination on port 443, which the ``haproxy`` user
the daemon runs as may not bind. ``haproxy -c`` (run as root) accepts the configuration, so the stand-ins and
Squid are up when HAProxy exits and the wait for its listeners fails. ``molecule destroy`` must then end every
process the scenario started (by the PIDs it recorded, read here before destroy), and remove its directory.
Loopback only (127.0.40.0/24, as the scenario itself); bounded in time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCENARIO = os.path.join(ROOT, "molecule", "egress")
TEST_DIR = "/tmp/netzone-egress-test"   # the scenario's egress_test_dir (molecule/egress/vars/egress.yml)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/sbin/haproxy")
                                or not os.path.exists("/usr/sbin/squid"),
                                reason="needs root, squid and haproxy (make deps installs them)")


def _env():
    venv_bin = os.path.dirname(sys.executable)
    site = sysconfig.get_paths()["purelib"]
    collections = os.path.join(ROOT, "build", "collections")
    return dict(os.environ, PATH=venv_bin + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1",
                ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", NO_COLOR="1",
                ANSIBLE_COLLECTIONS_PATH=collections + os.pathsep + site, PYTHONPATH=collections)


def _molecule(*args, timeout):
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "molecule"), *args], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=timeout, check=False)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _ours():
    """Every process whose command line names the scenario's directory (the daemons and stand-ins do)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as handle:
                    cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if TEST_DIR in cmdline and _alive(int(entry)):
                found.append((int(entry), cmdline))
    return found


def test_destroy_after_a_failed_converge_leaves_nothing(tmp_path):
    if _ours() or os.path.exists(TEST_DIR):
        pytest.skip("the egress scenario runs already (%s exists): not touching another run" % TEST_DIR)
    with open(os.path.join(SCENARIO, "vars", "egress.yml"), encoding="utf-8") as handle:
        matrix = yaml.safe_load(handle)["egress_test_matrix"]
    matrix["egress"]["originations"][0]["port"] = 443
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"egress_test_matrix": matrix}))
    started = {}
    try:
        converge = _molecule("converge", "-s", "egress", "--", "-e", "@%s" % bad, timeout=600)
        log = converge.stdout + converge.stderr
        assert converge.returncode != 0, log[-3000:]
        assert "Wait for every zone's port and every origination's listener" in log, log[-3000:]
        with open(os.path.join(TEST_DIR, "haproxy.log"), encoding="utf-8", errors="replace") as handle:
            haproxy_log = handle.read()
        assert "cannot bind socket (Permission denied) for [127.0.40.2:443]" in haproxy_log, haproxy_log
        assert "initial directory" not in haproxy_log, haproxy_log
        for name in ("squid", "haproxy", "standin"):
            path = os.path.join(TEST_DIR, name + ".pid")
            with open(path, encoding="ascii") as handle:
                started[name] = int(handle.read().strip())
        assert _alive(started["squid"]) and _alive(started["standin"]), started   # failed half way, really
        assert not _alive(started["haproxy"]), started
        # started from a directory every user may enter, never from the clone (a clone under a 0700
        # directory made HAProxy stop with "Impossible to get back to initial directory"; Squid then moves
        # on its own to /tmp)
        cwds = dict((name, os.readlink("/proc/%d/cwd" % pid)) for name, pid in started.items() if name != "haproxy")
        assert cwds == {"squid": "/tmp", "standin": "/"}, cwds
    finally:
        destroy = _molecule("destroy", "-s", "egress", timeout=300)
    assert destroy.returncode == 0, (destroy.stdout + destroy.stderr)[-3000:]
    assert [name for name, pid in started.items() if _alive(pid)] == []
    assert _ours() == []
    assert not os.path.exists(TEST_DIR)
