#!/usr/bin/env python
"""Print the failed tasks of a molecule log, short, for the end of a failed run.

CI keeps only the head and the tail of a long output: a scenario that fails shows its recap there, but the task
that failed is thousands of lines up. ``make molecule`` keeps each scenario's log and, when one fails, prints
this summary last: for each failed task of the action that failed (converge, idempotence, verify...), its play,
its name, the host and the first lines of what it said.

    tools/molecule_failures.py LOG [--lines N]
"""

import argparse
import itertools
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Molecule's rich console prefixes every Ansible line with a gutter ("  │ ").
GUTTER = re.compile(r"^\s*│\s?")
FAILED = re.compile(r"^(fatal|failed): \[([^\]]+)\]")
HEADER = re.compile(r"^(PLAY|TASK|RUNNING HANDLER) \[(.*)$")
# What ends a failure's text: the next host's result, the recap, molecule's own lines.
STOP = ("ok: [", "changed: [", "skipping: [", "PLAY RECAP", "INFO ", "WARNING ", "ERROR ", "DETAILS")
# A molecule action, as its plain output ("[ha > converge]") or its console ("ha ➜ converge:") names it.
STEP = r"(?:\[\S+ > ([^\s\]]+)\]|\S+ (?:>|➜) ([^\s:]+):?)"
FAILED_ACTION = re.compile(STEP + " Executed: Failed")
ACTION = re.compile(r"^INFO\s+" + STEP + " Executing")


def clean(line):
    return GUTTER.sub("", ANSI.sub("", line.rstrip("\n")))


def failures(lines, context):
    """[(action, play, task, text lines)] for each failed (not ignored) task in ``lines``."""
    found, action, play, task = [], "?", "?", "?"
    index = 0
    while index < len(lines):
        line = clean(lines[index])
        moved = ACTION.match(line)
        if moved:
            action = moved.group(1) or moved.group(2)
        header = HEADER.match(line)
        if header:
            name = header.group(2).rstrip("*").rstrip()
            # Long task names wrap onto the next line(s) up to the closing bracket.
            while "]" not in name and index + 1 < len(lines):
                index += 1
                name += " " + clean(lines[index]).strip().rstrip("*").rstrip()
            name = name.split("]")[0]
            if header.group(1) == "PLAY":
                play = name
            else:
                task = name
        if FAILED.match(line):
            block, ignored = [line], False
            for text in map(clean, itertools.islice(lines, index + 1, None)):
                ignored = text.startswith("...ignoring")
                if ignored or HEADER.match(text) or FAILED.match(text) or text.startswith(STOP):
                    break
                if len(block) < context:
                    block.append(text)
            if not ignored:
                found.append((action, play, task, block))
        index += 1
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("log")
    parser.add_argument("--lines", type=int, default=12, help="lines shown of each failure (default 12)")
    args = parser.parse_args(argv)
    try:
        with open(args.log, encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
    except OSError as exc:
        print("molecule_failures.py: %s" % exc, file=sys.stderr)
        return 2
    found = failures(lines, args.lines)
    # Only the action molecule says failed: a verify may fail tasks on purpose (bad input, rescued).
    failed_actions = {m.group(1) or m.group(2) for m in map(FAILED_ACTION.search, map(clean, lines)) if m}
    if failed_actions:
        found = [entry for entry in found if entry[0] in failed_actions]
    if not found:
        print("no failed task in %s (see the log for molecule's own error)" % args.log)
        return 0
    for action, play, task, block in found:
        print("--- %s / play %r / task %r" % (action, play, task))
        for text in block:
            print("    " + (text if len(text) <= 400 else text[:400] + " …"))
    print("(the whole log: %s)" % args.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
