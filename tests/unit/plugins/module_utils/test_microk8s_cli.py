# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snap and microk8s command runner: absolute paths, a failed command is one error by default, and a missing
command names the path it looked for."""

from __future__ import annotations

import pytest

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.microk8s import Microk8sError
from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.microk8s_cli import Cli


class Module:
    """What the runner needs of an AnsibleModule: run_command, answering from a table."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def run_command(self, argv):
        self.calls.append(argv)
        return self.answers.get(tuple(argv[1:]), (0, "", ""))


def _bins(tmp_path):
    for name in ("microk8s", "snap"):
        path = tmp_path / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return tmp_path


def test_commands_run_by_absolute_path_and_a_failure_is_one_error_by_default(tmp_path):
    bins = _bins(tmp_path)
    module = Module({("refresh", "microk8s"): (1, "", "error: cannot refresh"), ("status",): (1, "", "down")})
    cli = Cli(module, bin_dir=str(bins), snap_bin=str(bins / "snap"), host="n1")
    with pytest.raises(Microk8sError) as err:
        cli.snap(["refresh", "microk8s"])
    assert str(err.value) == "'%s/snap refresh microk8s' failed (exit 1): error: cannot refresh" % bins
    assert cli.snap(["refresh", "microk8s"], check=False) == (1, "", "error: cannot refresh")
    with pytest.raises(Microk8sError) as err:
        cli.microk8s(["status"])
    assert str(err.value) == "'%s/microk8s status' failed (exit 1): down" % bins
    killed = Cli(Module({("status",): (-9, "", "")}), bin_dir=str(bins), snap_bin=str(bins / "snap"), host="n1")
    with pytest.raises(Microk8sError) as err:        # killed by a signal: a negative exit code is a failure too
        killed.microk8s(["status"])
    assert str(err.value).startswith("'%s/microk8s status' failed (exit -9)" % bins)
    assert cli.kubectl(["get", "nodes"]) == (0, "", "")
    assert module.calls[-1] == [str(bins / "microk8s"), "kubectl", "get", "nodes"]
    assert [call[0] for call in module.calls] == [str(bins / "snap")] * 2 + [str(bins / "microk8s")] * 2


def test_a_missing_command_names_the_path_it_looked_for(tmp_path):
    cli = Cli(Module({}), bin_dir=str(tmp_path), snap_bin=str(tmp_path / "snap"))
    with pytest.raises(Microk8sError) as err:
        cli.microk8s(["status"])
    assert str(err.value) == (
        "MicroK8s is not installed on this host (%s/microk8s not found): run the role without check mode to "
        "install it, or point microk8s_bin_dir at the snap's bin directory" % tmp_path)
    with pytest.raises(Microk8sError) as err:
        cli.snap(["list"])
    assert str(err.value) == (
        "no snapd on this host (%s/snap not found): install snapd first (apt-get install snapd) or point "
        "microk8s_snap_bin at the snap command" % tmp_path)


def test_a_file_that_is_not_executable_is_no_command(tmp_path):
    """A microk8s that exists but cannot be run (mode 0644, say, after a bad copy) is refused the same way."""
    (tmp_path / "microk8s").write_text("#!/bin/sh\necho never\n")
    (tmp_path / "microk8s").chmod(0o644)
    cli = Cli(Module({}), bin_dir=str(tmp_path), snap_bin=str(tmp_path / "snap"))
    with pytest.raises(Microk8sError) as err:
        cli.microk8s(["status"])
    assert str(err.value).startswith("MicroK8s is not installed on this host (%s/microk8s not found)" % tmp_path)
