"""scripts/lab-images.sh takes the Debian mirror from the controller's apt sources.

Each case lays out an apt configuration under a temporary root (VIGIL_APT_ROOT) and
runs ``lab-images.sh --print-mirror``, which prints the archive and security mirrors
it would build the lab images from, and exits before anything needs root or Docker.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "lab-images.sh"
DEFAULT = ("http://deb.debian.org/debian", "http://deb.debian.org/debian-security")


def mirrors(tmp_path: Path, files: Dict[str, str], env: Optional[Dict[str, str]] = None) -> Tuple[str, str]:
    for rel, text in files.items():
        path = tmp_path / "etc" / "apt" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_DEBIAN")}
    run_env.update(env or {}, VIGIL_APT_ROOT=str(tmp_path))
    proc = subprocess.run(["bash", str(SCRIPT), "--print-mirror"], env=run_env,
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    archive, security = proc.stdout.split()
    return archive, security


DEBIAN_SOURCES = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example.org/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def test_deb822_local_mirror_is_used_for_archive_and_security(tmp_path):
    assert mirrors(tmp_path, {"sources.list.d/debian.sources": DEBIAN_SOURCES}) == (
        "http://mirror.example.org/debian", "http://mirror.example.org/debian-security")


def test_one_line_sources_list_with_options_and_an_apt_proxy_url(tmp_path):
    text = ("# deb-src lines and third-party repositories do not count\n"
            "deb-src http://src.example.org/debian bookworm main\n"
            "deb [arch=amd64 signed-by=/usr/share/keyrings/docker.gpg] https://download.example.com/linux/debian bookworm stable\n"
            "deb [ signed-by=/usr/share/keyrings/debian-archive-keyring.gpg ] http://apt-proxy:3142/deb.debian.org/debian bookworm main contrib\n"
            "deb http://apt-proxy:3142/security.debian.org/debian-security bookworm-security main\n")
    assert mirrors(tmp_path, {"sources.list": text}) == (
        "http://apt-proxy:3142/deb.debian.org/debian", "http://apt-proxy:3142/security.debian.org/debian-security")


def test_third_party_and_disabled_stanzas_are_skipped(tmp_path):
    files = {
        "sources.list.d/a-nodesource.sources": "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\n"
                                               "Suites: nodistro\nComponents: main\n",
        "sources.list.d/b-disabled.sources": "Enabled: no\nTypes: deb\nURIs: http://old.example.org/debian\n"
                                             "Suites: bookworm\nComponents: main\n",
        "sources.list.d/c-contrib-only.sources": "Types: deb\nURIs: http://contrib.example.org/debian\n"
                                                 "Suites: bookworm\nComponents: contrib non-free\n",
        "sources.list.d/d-src.sources": "Types: deb-src\nURIs: http://src.example.org/debian\n"
                                        "Suites: bookworm\nComponents: main\n",
        "sources.list.d/debian.sources": DEBIAN_SOURCES,
    }
    assert mirrors(tmp_path, files)[0] == "http://mirror.example.org/debian"


def test_sources_list_comes_before_sources_list_d_as_in_apt(tmp_path):
    files = {"sources.list": "deb http://first.example.org/debian trixie main\n",
             "sources.list.d/debian.sources": DEBIAN_SOURCES}
    assert mirrors(tmp_path, files) == ("http://first.example.org/debian", "http://mirror.example.org/debian-security")


OTHER_REPOSITORY = {
    "sources.list.d/other.sources": "Types: deb\nURIs: https://x.example.org/repo\nSuites: stable-x\nComponents: main\n",
}


@pytest.mark.parametrize("files", [{}, OTHER_REPOSITORY])
def test_deb_debian_org_when_apt_names_no_debian_mirror(tmp_path, files):
    assert mirrors(tmp_path, files) == DEFAULT


def test_the_variables_override_apt(tmp_path):
    env = {"VIGIL_DEBIAN_MIRROR": "http://override.example.org/debian",
           "VIGIL_DEBIAN_SECURITY_MIRROR": "http://override.example.org/debian-security"}
    assert mirrors(tmp_path, {"sources.list.d/debian.sources": DEBIAN_SOURCES}, env) == (
        "http://override.example.org/debian", "http://override.example.org/debian-security")
