# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the wheel of a service the collection ships (services/<name>) on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: service_wheel
author: Vigil maintainers (@vigil-monitoring)
version_added: 0.1.0
short_description: Build the wheel of a service the collection ships, on the controller
description:
  - Builds a pure-Python wheel (tag C(py3-none-any)) of a service of this collection, the project
    in C(services/<name>) (C(pyproject.toml) with a C([project]) table, the code under C(src/)),
    with Python's standard library only. No build backend, package index or network is used, on the
    controller or on the hosts; roles copy the wheel and install it into the service's venv with
    C(pip install --no-index --no-deps).
  - The wheel is reproducible, the same files give the same bytes (entries in order, fixed
    timestamps and modes, stored uncompressed), so its sha256 tells whether a host holds this build.
  - It is written to a cache directory on the controller, under its sha256, and reused while the
    files stay the same; the five most recent builds of each service are kept.
  - Reads C(pyproject.toml) with C(tomllib), so the controller needs Python 3.11 or later (or the
    C(tomli) package).
  - Used by the roles vigil.monitoring.custom_exporter and vigil.monitoring.responder.
options:
  _terms:
    description: Names of services in the collection's C(services) directory, e.g. C(vigil_custom_exporter).
    type: list
    elements: str
    required: true
  cache_dir:
    description:
      - Directory on the controller where the wheels are kept.
      - Default C(vigil/service-wheels) under Ansible's home (C(ANSIBLE_HOME), usually C(~/.ansible)).
    type: path
    env:
      - name: VIGIL_SERVICE_WHEEL_DIR
"""

EXAMPLES = r"""
- name: Build the exporter's wheel
  ansible.builtin.set_fact:
    exporter_wheel: "{{ lookup('vigil.monitoring.service_wheel', 'vigil_custom_exporter') }}"

- name: Copy it to the host
  ansible.builtin.copy:
    src: "{{ exporter_wheel.path }}"
    dest: "/opt/vigil/custom_exporter/{{ exporter_wheel.filename }}"
    mode: "0644"
"""

RETURN = r"""
_raw:
  description: One entry per service.
  type: list
  elements: dict
  contains:
    name:
      description: The distribution name, from C(pyproject.toml).
      type: str
      sample: vigil-custom-exporter
    version:
      description: The version, from C(pyproject.toml) or the package's C(__version__).
      type: str
      sample: 1.1.0
    filename:
      description: The wheel's file name, as pip expects it.
      type: str
      sample: vigil_custom_exporter-1.1.0-py3-none-any.whl
    path:
      description: Where the wheel is on the controller.
      type: path
    sha256:
      description: The sha256 of the wheel, in hexadecimal.
      type: str
"""

import ast
import base64
import csv
import hashlib
import io
import os
import re
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

from ansible import constants as C
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

# The collection's root: plugins/lookup/service_wheel.py -> ../..
COLLECTION_ROOT = Path(__file__).resolve().parents[2]
SERVICES_DIR = COLLECTION_ROOT / "services"
SERVICE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# PEP 440 public versions of the forms the services use (1.2.3, 1.2.3rc1, 1.2.3.post1, 1.2.3.dev1).
VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?$")
# Every entry gets the earliest time a zip file can hold, and one mode: the bytes depend on the files only.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = stat.S_IFREG | 0o644
GENERATOR = "vigil.monitoring.service_wheel 1"
KEEP_BUILDS = 5


class WheelError(Exception):
    """The project cannot be made into a wheel; the message says why and where."""


def _load_toml(path: Path) -> Dict[str, Any]:
    try:
        import tomllib as toml  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10 controllers
        try:
            import tomli as toml  # type: ignore[no-redef]
        except ImportError:
            raise WheelError("reading %s needs Python 3.11 or later on the controller, or the tomli package" % path) from None
    try:
        with path.open("rb") as handle:
            return toml.load(handle)
    except (OSError, ValueError) as exc:
        raise WheelError("cannot read %s: %s" % (path, exc)) from None


def _packages(src: Path) -> List[Path]:
    packages = sorted(p for p in src.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
    if not packages:
        raise WheelError("%s holds no package (a directory with __init__.py)" % src)
    return packages


def _module_version(package: Path) -> str:
    """``__version__ = "..."`` of the package's ``__init__.py``, read without importing it."""
    tree = ast.parse((package / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
    raise WheelError("%s/__init__.py sets no __version__ = \"...\" (pyproject.toml has a dynamic version)" % package)


def _project(project_dir: Path) -> Dict[str, Any]:
    """The [project] table, with its version resolved."""
    pyproject = project_dir / "pyproject.toml"
    project = dict(_load_toml(pyproject).get("project") or {})
    if not isinstance(project.get("name"), str) or not project["name"]:
        raise WheelError("%s: [project] needs a name" % pyproject)
    if "version" in project.get("dynamic", []):
        project["version"] = _module_version(_packages(project_dir / "src")[0])
    version = project.get("version")
    if not isinstance(version, str) or not VERSION_RE.match(version):
        raise WheelError("%s: version %r is not a version this builder writes (e.g. 1.2.3)" % (pyproject, version))
    return project


def _metadata(project: Mapping[str, Any], project_dir: Path) -> str:
    """Core metadata 2.1 (the METADATA file) from the [project] table."""
    lines = ["Metadata-Version: 2.1", "Name: %s" % project["name"], "Version: %s" % project["version"]]
    if project.get("description"):
        lines.append("Summary: %s" % project["description"])
    licence = project.get("license")
    if isinstance(licence, dict) and licence.get("text"):
        lines.append("License: %s" % licence["text"])
    if project.get("requires-python"):
        lines.append("Requires-Python: %s" % project["requires-python"])
    lines += ["Requires-Dist: %s" % dependency for dependency in project.get("dependencies", [])]
    for extra, dependencies in sorted((project.get("optional-dependencies") or {}).items()):
        lines.append("Provides-Extra: %s" % extra)
        lines += ['Requires-Dist: %s; extra == "%s"' % (dependency, extra) for dependency in dependencies]
    body = ""
    readme = project.get("readme")
    if isinstance(readme, str):
        lines.append("Description-Content-Type: %s" % ("text/markdown" if readme.endswith(".md") else "text/plain"))
        body = "\n" + (project_dir / readme).read_text(encoding="utf-8")
    return "\n".join(lines) + "\n" + body


def _entry_points(project: Mapping[str, Any]) -> str:
    scripts = project.get("scripts") or {}
    if not scripts:
        return ""
    return "[console_scripts]\n" + "".join("%s = %s\n" % item for item in sorted(scripts.items())) + "\n"


def _source_files(src: Path) -> List[Tuple[str, bytes]]:
    """(path in the wheel, content) of every file of the packages; links are read through."""
    files = []
    for package in _packages(src):
        for base, dirs, names in os.walk(package, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(names):
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = Path(base) / name
                files.append((path.relative_to(src).as_posix(), path.read_bytes()))
    return files


def _record_hash(content: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode("ascii")


def build_wheel(project_dir: Path) -> Tuple[str, str, str, bytes]:
    """(name, version, file name, wheel bytes) of the project, the same bytes for the same files."""
    project = _project(project_dir)
    dist = re.sub(r"[-_.]+", "_", project["name"]).lower()
    dist_info = "%s-%s.dist-info" % (dist, project["version"])
    entries = _source_files(project_dir / "src")
    entries.append((dist_info + "/METADATA", _metadata(project, project_dir).encode("utf-8")))
    entries.append((dist_info + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: %s\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                                           % GENERATOR).encode("ascii")))
    entry_points = _entry_points(project)
    if entry_points:
        entries.append((dist_info + "/entry_points.txt", entry_points.encode("utf-8")))
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, content in entries:
        writer.writerow([name, _record_hash(content), len(content)])
    writer.writerow([dist_info + "/RECORD", "", ""])
    entries.append((dist_info + "/RECORD", record.getvalue().encode("utf-8")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as wheel:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix, so that external_attr holds the mode
            info.external_attr = FILE_MODE << 16
            wheel.writestr(info, content)
    filename = "%s-%s-py3-none-any.whl" % (dist, project["version"])
    return project["name"], project["version"], filename, buffer.getvalue()


def _prune(service_dir: Path) -> None:
    """Keep the most recent builds of one service."""
    builds = sorted((p for p in service_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[KEEP_BUILDS:]:
        for child in old.iterdir():
            child.unlink()
        old.rmdir()


def cached_wheel(project_dir: Path, cache_dir: Path) -> Dict[str, str]:
    """Build the project's wheel and keep it under cache_dir/<name>/<sha256>/; what the lookup returns."""
    name, version, filename, content = build_wheel(project_dir)
    digest = hashlib.sha256(content).hexdigest()
    service_dir = cache_dir / project_dir.name
    target_dir = service_dir / digest
    target = target_dir / filename
    if not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != digest:
        target_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        handle, partial = tempfile.mkstemp(dir=str(target_dir), prefix=".partial-")
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.chmod(partial, 0o644)
        os.replace(partial, str(target))
        _prune(service_dir)
    os.utime(str(target_dir))  # the most recently used build is kept longest
    return {"name": name, "version": version, "filename": filename, "path": str(target), "sha256": digest}


def service_dir(term: Any) -> Path:
    """The project directory of a service of this collection, named by the lookup's term."""
    if isinstance(term, str) and SERVICE_NAME_RE.match(term) and (SERVICES_DIR / term).is_dir():
        return SERVICES_DIR / term
    known = sorted(p.name for p in SERVICES_DIR.iterdir() if p.is_dir()) if SERVICES_DIR.is_dir() else []
    raise AnsibleLookupError("service_wheel: %r is not a service of this collection (services/: %s)"
                             % (term, ", ".join(known) or "none"))


class LookupModule(LookupBase):
    """vigil.monitoring.service_wheel"""

    def run(self, terms: List[Any], variables: Any = None, **kwargs: Any) -> List[Dict[str, str]]:
        self.set_options(var_options=variables, direct=kwargs)
        cache_dir = Path(self.get_option("cache_dir") or os.path.join(C.config.get_config_value("ANSIBLE_HOME"),
                                                                      "vigil", "service-wheels"))
        results = []
        for term in terms:
            project_dir = service_dir(term)
            try:
                results.append(cached_wheel(project_dir, cache_dir))
            except (WheelError, OSError, SyntaxError) as exc:
                raise AnsibleLookupError("service_wheel: cannot build %s: %s" % (term, exc)) from None
        return results
