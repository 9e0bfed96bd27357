# shellcheck shell=bash
# Source this to run ansible, molecule, pytest by hand with the same environment as the Makefile:
#   . tools/env.sh
_nz_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$_nz_root/.venv/bin:$PATH"
# the venv's site-packages, whatever its Python version
export ANSIBLE_COLLECTIONS_PATH="$_nz_root/build/collections:$("$_nz_root/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
export PYTHONPATH="$_nz_root/build/collections"
unset _nz_root
