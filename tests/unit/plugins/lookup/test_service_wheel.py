"""service_wheel: the wheel of a service the collection ships, built on the controller and cached by its sha256."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.vigil.monitoring.plugins.lookup.service_wheel import (
    KEEP_BUILDS,
    SERVICES_DIR,
    WheelError,
    cached_wheel,
    service_dir,
)

# The lookup through ansible-playbook (the role's preflight, its cache under ANSIBLE_HOME) is
# exercised by tests/functional/custom_exporter/test_custom_exporter_role.py.


def _lookup(*terms, cache_dir):
    return [cached_wheel(service_dir(term), Path(cache_dir)) for term in terms]


def test_every_service_of_the_collection_is_built_into_the_cache(tmp_path: Path):
    got = _lookup("vigil_custom_exporter", "vigil_responder", cache_dir=str(tmp_path))
    assert [entry["name"] for entry in got] == ["vigil-custom-exporter", "vigil-responder"]
    for entry in got:
        path = Path(entry["path"])
        assert path.name == entry["filename"]
        assert entry["filename"] == "%s-%s-py3-none-any.whl" % (entry["name"].replace("-", "_"), entry["version"])
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"] == path.parent.name
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None
            assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
            assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
    assert _lookup("vigil_custom_exporter", cache_dir=str(tmp_path)) == got[:1]  # the same build, reused


@pytest.mark.parametrize("term", ["no_such_service", "../plugins", "", 3])
def test_only_services_of_the_collection_are_built(tmp_path: Path, term):
    with pytest.raises(AnsibleLookupError, match=r"is not a service of this collection"
                                                 r" \(services/: vigil_custom_exporter, vigil_responder\)"):
        service_dir(term)


def test_a_project_it_cannot_build_is_named(tmp_path: Path):
    project = tmp_path / "broken"
    (project / "src" / "pkg").mkdir(parents=True)
    (project / "src" / "pkg" / "__init__.py").write_text("VERSION = 1\n")
    (project / "pyproject.toml").write_text('[project]\nname = "broken"\ndynamic = ["version"]\n')
    with pytest.raises(WheelError, match=r"sets no __version__"):
        cached_wheel(project, tmp_path / "cache")


def test_old_builds_are_pruned(tmp_path: Path):
    service_dir = tmp_path / "vigil_responder"
    for number in range(KEEP_BUILDS + 2):
        old = service_dir / ("%064d" % number)
        old.mkdir(parents=True)
        (old / "x.whl").write_bytes(b"old")
        os.utime(old, (number, number))
    entry = cached_wheel(SERVICES_DIR / "vigil_responder", tmp_path)
    kept = sorted(p.name for p in service_dir.iterdir())
    assert len(kept) == KEEP_BUILDS and entry["sha256"] in kept
    assert "%064d" % 0 not in kept and "%064d" % (KEEP_BUILDS + 1) in kept
