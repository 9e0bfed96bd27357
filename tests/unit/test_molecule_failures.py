# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/molecule_failures.py: when a scenario fails, the task that failed (of the action molecule names) is
printed short, from molecule's plain output (CI) and from its console output (a terminal)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.join(ROOT, "tools", "molecule_failures.py")
SPEC = importlib.util.spec_from_file_location("molecule_failures", TOOL)
molecule_failures = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(molecule_failures)

# Plain output, as CI gets it: an expected failure in converge (ignored), the real one in idempotence.
PLAIN = """INFO     [ha > converge] Executing

PLAY [Converge - the role] *****************************************************

TASK [Probe something optional] ************************************************
fatal: [lb1]: FAILED! => {"changed": false, "msg": "optional"}
...ignoring

TASK [Start keepalived] ********************************************************
changed: [localhost]
INFO     [ha > converge] Executed: Successful
INFO     [ha > idempotence] Executing

PLAY [Converge - keepalived on both hosts] *************************************

TASK [Start keepalived unless it runs, and wait until lb1 holds both virtual addresses] ***
fatal: [localhost]: FAILED! => {"changed": false, "cmd": ["python3", "ha_lab.py"], "rc": 1}
STDOUT:

public address 192.0.2.10: holders ['lb2']

PLAY RECAP *********************************************************************
localhost                  : ok=0    changed=0    unreachable=0    failed=1
INFO     [ha > verify] Executing
fatal: [lb2]: FAILED! => {"msg": "bad input, rescued on purpose"}
DETAILS
ha > idempotence: Executed: Failed (Ansible return code was 2)
"""

# The console output of a terminal: colours, a gutter, task names wrapped.
RICH = (
    "\x1b[36mINFO    \x1b[0m \x1b[32mha\x1b[0m \u279c \x1b[33mconverge\x1b[0m: \x1b[36mExecuting\x1b[0m\n"
    "  \x1b[2m\u2502\x1b[0m PLAY [Converge - keepalived] ***\n"
    "  \x1b[2m\u2502\x1b[0m TASK [Start keepalived unless it runs, and wait until lb1 holds both\n"
    "  \x1b[2m\u2502\x1b[0m   virtual addresses] ***\n"
    "  \x1b[2m\x1b[31m\u2502\x1b[0m \x1b[0;31mfatal: [localhost]: FAILED! => {\"rc\": 1}\x1b[0m\n"
    "  \x1b[2m\u2502\x1b[0m \n"
    "\x1b[32mha\x1b[0m \u279c \x1b[33mconverge\x1b[0m: \x1b[31mExecuted: Failed\x1b[0m\n"
)


def _run(tmp_path, text, *args):
    log = tmp_path / "molecule.log"
    log.write_text(text, encoding="utf-8")
    return subprocess.run([sys.executable, TOOL, str(log)] + list(args), capture_output=True, text=True,
                          check=False)


def test_plain_output_names_the_failed_task_of_the_failed_action_only(tmp_path):
    done = _run(tmp_path, PLAIN)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ("--- idempotence / play 'Converge - keepalived on both hosts' / task "
                        "'Start keepalived unless it runs, and wait until lb1 holds both virtual addresses'")
    assert "holders ['lb2']" in done.stdout
    # The ignored failure and the verify's rescued one are not shown, nor the recap after the failure.
    assert "optional" not in done.stdout
    assert "rescued on purpose" not in done.stdout
    assert "PLAY RECAP" not in done.stdout
    assert lines[-1] == "(the whole log: %s)" % (tmp_path / "molecule.log")


def test_console_output_colours_gutter_and_wrapped_names(tmp_path):
    done = _run(tmp_path, RICH)
    assert done.stdout.splitlines()[:2] == [
        "--- converge / play 'Converge - keepalived' / task "
        "'Start keepalived unless it runs, and wait until lb1 holds both virtual addresses'",
        '    fatal: [localhost]: FAILED! => {"rc": 1}']


def test_lines_are_bounded(tmp_path):
    text = PLAIN.replace("STDOUT:\n", "STDOUT:\n" + "".join("line %d\n" % n for n in range(50)) + "x" * 900 + "\n")
    done = _run(tmp_path, text, "--lines", "5")
    block = [line for line in done.stdout.splitlines() if line.startswith("    ")]
    assert len(block) == 5
    long = _run(tmp_path, PLAIN.replace("public address", "y" * 900))
    assert max(len(line) for line in long.stdout.splitlines()) <= 4 + 400 + 2


def test_a_log_without_failures_and_a_missing_log(tmp_path):
    done = _run(tmp_path, "INFO     [ha > converge] Executing\nok: [lb1]\n")
    assert done.returncode == 0
    assert done.stdout.startswith("no failed task in ")
    missing = subprocess.run([sys.executable, TOOL, str(tmp_path / "absent.log")], capture_output=True, text=True,
                             check=False)
    assert missing.returncode == 2
    assert "absent.log" in missing.stderr and "Traceback" not in missing.stderr


def test_failures_function_keeps_the_action_play_and_task():
    found = molecule_failures.failures(PLAIN.splitlines(True), 3)
    assert [(action, task) for action, _play, task, _block in found] == [
        ("idempotence", "Start keepalived unless it runs, and wait until lb1 holds both virtual addresses"),
        ("verify", "Start keepalived unless it runs, and wait until lb1 holds both virtual addresses")]
    assert len(found[0][3]) == 3
