# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's modules in-process against the test API server (real HTTP, real kubernetes client)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "apiserver"))
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "support"))

import harness  # noqa: E402  pylint: disable=import-error,wrong-import-position

from ansible.module_utils import basic  # noqa: E402
from module_args import patch_module_args  # noqa: E402  pylint: disable=import-error,wrong-import-position


class ModuleExit(Exception):
    """exit_json or fail_json was called: ``result`` holds what the module returned."""

    def __init__(self, result, failed):
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


def _exit(self, **kwargs):  # pylint: disable=unused-argument
    kwargs.setdefault("changed", False)
    raise ModuleExit(kwargs, False)


def _fail(self, msg, **kwargs):  # pylint: disable=unused-argument
    kwargs["msg"] = msg
    kwargs["failed"] = True
    raise ModuleExit(kwargs, True)


@pytest.fixture(scope="session")
def apiserver_session():
    running = harness.RunningServer()
    yield running
    running.stop()


@pytest.fixture
def apiserver(apiserver_session):
    apiserver_session.reset()
    return apiserver_session


@pytest.fixture
def run_module():
    """``run_module(main, args, check_mode=False, diff=False) -> result dict`` (``failed`` set on failure)."""

    def run(main, args, check_mode=False, diff=False):
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(args), mock.patch.object(basic.AnsibleModule, "exit_json", _exit), \
                mock.patch.object(basic.AnsibleModule, "fail_json", _fail):
            try:
                main()
            except ModuleExit as done:
                result = done.result
                result["failed"] = done.failed
                return result
        raise AssertionError("the module returned without exit_json or fail_json")

    return run


@pytest.fixture
def run_script(tmp_path):
    """``run_script(module, args) -> (exit code, result dict)``: the module's file run as Ansible runs it
    (``python module.py ARGS_FILE``, its ``if __name__ == "__main__"`` included), ``invocation`` left out."""

    def run(module, args):
        path = tmp_path / "module-args.json"
        path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        done = subprocess.run([sys.executable, module.__file__, str(path)], capture_output=True, text=True,
                              check=False, timeout=120, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        result = json.loads(done.stdout)
        result.pop("invocation", None)
        return done.returncode, result

    return run
