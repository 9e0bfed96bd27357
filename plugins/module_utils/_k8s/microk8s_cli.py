# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running the ``snap`` and ``microk8s`` commands for the microk8s_* modules (absolute paths only)."""

from __future__ import annotations

import os

from ansible_collections.netzone.segmentation.plugins.module_utils._k8s.microk8s import Microk8sError, cli_failure

COMMON_ARGS = dict(
    bin_dir=dict(type="path", default="/snap/bin"),
)


class Cli:
    """Runs ``<bin_dir>/microk8s ...`` and ``<snap_bin> ...`` through ``module.run_command``.

    Under ``become`` the PATH often lacks ``/snap/bin``: commands are always called by absolute path.
    """

    def __init__(self, module, bin_dir="/snap/bin", snap_bin=None, host="this host"):
        self.module = module
        self.host = host
        self.bin_dir = bin_dir
        self.snap_bin = snap_bin

    def _check(self, path, what):
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            raise Microk8sError(what)

    def snap(self, args, check=True):
        self._check(self.snap_bin, "no snapd on this host (%s not found): install snapd first (apt-get install snapd) "
                                   "or point microk8s_snap_bin at the snap command" % self.snap_bin)
        return self._run([self.snap_bin] + list(args), check)

    def microk8s(self, args, check=True):
        path = os.path.join(self.bin_dir, "microk8s")
        self._check(path, "MicroK8s is not installed on this host (%s not found): run the role without "
                          "check mode to install it, or point microk8s_bin_dir at the snap's bin directory" % path)
        return self._run([path] + list(args), check)

    def kubectl(self, args, check=True):
        return self.microk8s(["kubectl"] + list(args), check)

    def _run(self, argv, check):
        rc, out, err = self.module.run_command(argv)
        if check and rc != 0:
            raise Microk8sError(cli_failure(argv, rc, out, err, self.host))
        return rc, out, err
