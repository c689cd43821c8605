"""The exporter as a package: its wheel (lookup service_wheel), installed with pip into a throwaway venv.

The wheel is what the role installs on hosts: built on the controller with the standard
library, installed with ``pip install --no-index --no-deps``. These tests install it the
same way and run the installed ``vigil-custom-exporter`` command.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from ansible_collections.vigil.monitoring.plugins.lookup import service_wheel
from custom_exporter.conftest import EXAMPLE_CONFIG, PACKAGE, SRC
from service_package import install_wheel, make_venv, package_files, run_installed, setuptools_wheel

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "plugins" / "module_utils" / "custom_exporter_config.py"
INIT = SRC / "vigil_custom_exporter" / "__init__.py"


def _version() -> str:
    for line in INIT.read_text(encoding="utf-8").splitlines():
        if line.startswith("__version__ = "):
            return line.split('"')[1]
    raise AssertionError("no __version__ in %s" % INIT)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel the role would copy, written to a temporary cache directory."""
    built = service_wheel.cached_wheel(PACKAGE, tmp_path_factory.mktemp("wheels"))
    return Path(built["path"])


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding the wheel, installed the role's way (its dependencies from the test venv)."""
    target = tmp_path_factory.mktemp("venv") / "venv"
    install_wheel(make_venv(target, with_pip=False), wheel)
    return target


def _run(target: Path, *args: str) -> subprocess.CompletedProcess:
    return run_installed(target, "vigil-custom-exporter", *args)


def test_installed_command_prints_the_packages_version(installed: Path):
    proc = _run(installed, "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "vigil_custom_exporter %s" % _version()


def test_installed_command_checks_a_configuration(installed: Path, tmp_path: Path):
    proc = _run(installed, "--config.check", "--config.file", str(EXAMPLE_CONFIG))
    assert proc.returncode == 0, proc.stderr
    assert "config OK" in proc.stdout and "3 sources, 4 metrics" in proc.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"sources": [{"name": "fw", "type": "http", "url": "http://127.0.0.1:1/",
                                                "metrics": [{"name": "fw-vpn"}]}]}))
    proc = _run(installed, "--config.check", "--config.file", str(bad))
    assert proc.returncode == 1
    assert "sources[0] (fw).metrics[0].name: 'fw-vpn' is not a valid Prometheus metric name" in proc.stderr


def test_installed_package_is_the_wheels_not_the_checkouts(installed: Path):
    code = "import vigil_custom_exporter.schema as s, vigil_custom_exporter as p; print(p.__file__); print(s.__file__)"
    proc = subprocess.run([str(installed / "bin" / "python"), "-c", code], capture_output=True, text=True,
                          timeout=60, check=True, cwd=str(installed))
    for path in proc.stdout.split():
        assert Path(path).resolve().is_relative_to(installed.resolve()), path


def test_the_schema_is_one_file_for_the_role_and_the_exporter(wheel: Path):
    """The package's schema is the collection's module_utils file: a link in the checkout, a copy in the wheel."""
    linked = SRC / "vigil_custom_exporter" / "schema.py"
    assert linked.is_symlink() and not os.path.isabs(os.readlink(linked))
    assert linked.resolve() == SCHEMA.resolve()
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("vigil_custom_exporter/schema.py") == SCHEMA.read_bytes()


def test_the_wheel_is_reproducible_and_changes_with_any_file(tmp_path: Path):
    first = service_wheel.build_wheel(PACKAGE)
    assert service_wheel.build_wheel(PACKAGE) == first
    name, version, filename, content = first
    assert (name, version, filename) == ("vigil-custom-exporter", _version(),
                                         "vigil_custom_exporter-%s-py3-none-any.whl" % _version())
    copy = tmp_path / "project"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / "src" / "vigil_custom_exporter" / "sources.py").open("a", encoding="utf-8") as handle:
        handle.write("# a change that keeps the version\n")
    changed = service_wheel.build_wheel(copy)
    assert changed[:3] == first[:3] and changed[3] != content


def test_the_wheel_holds_the_package_its_metadata_and_a_valid_record(wheel: Path):
    version = _version()
    dist_info = "vigil_custom_exporter-%s.dist-info/" % version
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert {n for n in names if not n.startswith(dist_info)} == {
            "vigil_custom_exporter/%s.py" % m for m in (
                "__init__", "__main__", "cli", "collector", "config", "schema", "server", "sources", "webconfig")}
        metadata = archive.read(dist_info + "METADATA").decode()
        assert "Name: vigil-custom-exporter\n" in metadata and "Version: %s\n" % version in metadata
        assert "Requires-Python: >=3.9\n" in metadata and "Requires-Dist: jmespath>=1.0\n" in metadata
        assert archive.read(dist_info + "entry_points.txt").decode() == (
            "[console_scripts]\nvigil-custom-exporter = vigil_custom_exporter.cli:main\n\n")
        for line in archive.read(dist_info + "RECORD").decode().splitlines():
            path, digest, size = line.split(",")
            if path == dist_info + "RECORD":
                continue
            content = archive.read(path)
            assert digest == service_wheel._record_hash(content) and int(size) == len(content), path


def test_the_cache_keeps_a_build_under_its_sha256(tmp_path: Path):
    built = service_wheel.cached_wheel(PACKAGE, tmp_path)
    path = Path(built["path"])
    assert path.parent.name == built["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.parent.parent == tmp_path / "vigil_custom_exporter"
    path.write_bytes(b"damaged")
    assert Path(service_wheel.cached_wheel(PACKAGE, tmp_path)["path"]).read_bytes() != b"damaged"


def test_setuptools_builds_the_same_package_for_developers(wheel: Path, tmp_path: Path):
    """pyproject.toml's [build-system] (pip install -e, python -m build) makes the same files and entry point."""
    pytest.importorskip("setuptools")
    theirs = setuptools_wheel(PACKAGE, tmp_path)
    assert theirs.name == wheel.name
    assert package_files(theirs) == package_files(wheel)
    with zipfile.ZipFile(theirs) as archive:
        entry_points = archive.read("vigil_custom_exporter-%s.dist-info/entry_points.txt" % _version()).decode()
    assert "vigil-custom-exporter = vigil_custom_exporter.cli:main" in entry_points
