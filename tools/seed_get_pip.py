"""Seed ansible-test's get-pip cache so that `ansible-test sanity --venv` works without its CDN.

ansible-test bootstraps each virtualenv by running ``~/.ansible/test/cache/get_pip_<ver>.py``, which it
normally downloads from a host that this network does not reach.  We fetch the same pip release as a wheel
from PyPI (``pip download``) and write a small bootstrap script that runs ``pip install`` from that wheel,
which is what get-pip does.
"""
import glob
import os
import re
import subprocess
import sys

import ansible_test._internal.python_requirements as pr  # noqa: E402  (ansible-core's own pin)

SOURCE = open(pr.__file__, encoding="utf-8").read()
VERSION = re.search(r"pip='([0-9.]+)'", SOURCE).group(1)
CACHE = os.path.expanduser("~/.ansible/test/cache")
SCRIPT = os.path.join(CACHE, "get_pip_%s.py" % VERSION.replace(".", "_"))

TEMPLATE = '''"""get-pip stand-in written by netzone tools/seed_get_pip.py: installs pip {version} from a wheel."""
import sys
WHEEL = {wheel!r}
sys.path.insert(0, WHEEL)
from pip._internal.cli.main import main  # noqa: E402
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", "--no-index", WHEEL]
              + [a for a in args if not a.startswith("pip==")]))
'''


def main():
    os.makedirs(CACHE, exist_ok=True)
    wheels = glob.glob(os.path.join(CACHE, "pip-%s-*.whl" % VERSION))
    if not wheels:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                               "-d", CACHE, "pip==%s" % VERSION])
        wheels = glob.glob(os.path.join(CACHE, "pip-%s-*.whl" % VERSION))
    wheel = wheels[0]
    text = TEMPLATE.format(version=VERSION, wheel=wheel)
    if not os.path.exists(SCRIPT) or open(SCRIPT, encoding="utf-8").read() != text:
        with open(SCRIPT, "w", encoding="utf-8") as handle:
            handle.write(text)
    print("ansible-test get-pip cache: %s (pip %s)" % (SCRIPT, VERSION))


if __name__ == "__main__":
    main()
