"""Stand-in for the get-pip.py that ansible-test downloads to bootstrap pip in its sanity venvs.

ansible-test creates each sanity test's virtual environment without pip and fetches a
pip bootstrap script from its own CI file server, which this project's machines cannot
reach. It also reads the script from a cache path first and documents saving it there
by hand. scripts/sanity.sh puts this file at that path: it bootstraps pip with CPython's
bundled ensurepip (offline), then installs what ansible-test asked for (``pip==<version>``)
from the package index, as get-pip.py would.
"""

from __future__ import annotations

import subprocess
import sys


def main() -> None:
    """Bootstrap pip, then install the packages named on the command line."""
    args = sys.argv[1:]
    options = [arg for arg in args if arg not in ("--no-setuptools", "--no-wheel")]
    # In a child process: ensurepip points PIP_CONFIG_FILE at /dev/null in its own
    # environment, which would hide the site's pip configuration (index, CA) from the
    # install below.
    subprocess.check_call([sys.executable, "-m", "ensurepip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *options])
    if "--no-setuptools" in args:
        subprocess.call([sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes", "setuptools"])


if __name__ == "__main__":
    main()
