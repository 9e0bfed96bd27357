# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Append a phase marker to the stand-in call log (verify.yml splits the log at these markers)."""
import json
import os
import sys

with open(os.path.join(os.environ["MICROK8S_STANDIN_ROOT"], "calls.log"), "a", encoding="utf-8") as handle:
    handle.write(json.dumps({"mark": sys.argv[1]}) + "\n")
