#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install an Elastic integration package in Fleet at a pinned version (Fleet's package manager, EPM)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kibana_fleet_package
short_description: Install an Elastic integration package in Fleet at a pinned version
version_added: 0.2.0
description:
  - Installs, upgrades or removes an integration package through Kibana's Fleet package manager (EPM).
    C(GET /api/fleet/epm/packages/<name>/<version>) reads what is installed, C(POST) the same path installs that
    version from the package registry Kibana uses, C(POST /api/fleet/epm/packages) installs it from a package file
    (O(src)), C(DELETE /api/fleet/epm/packages/<name>/<version>) removes it.
  - The installed version is compared with O(version); the package is installed only when it differs (or is
    missing), so a second run writes nothing. A lower O(version) than the installed one (a downgrade) is refused
    unless O(force=true).
  - B(Offline sites.) Point Kibana at an internal Elastic Package Registry (C(xpack.fleet.registryUrl) in
    C(kibana.yml)), or give the package file in O(src) (C(<name>-<version>.zip) as the registry serves it, or
    a C(.tar.gz)); the file must hold C(<name>-<version>/manifest.yml).
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  name:
    description: Package name, for example C(fortinet_fortigate), C(pfsense), C(cisco_ios), C(system), C(windows).
    type: str
    required: true
  version:
    description: The version to install (pin what your registry offers). Required when O(state=present).
    type: str
  state:
    description: Whether the package must be installed. Fleet refuses to remove a package that a policy uses.
  src:
    description:
      - A package file on the host that runs the module (the controller when delegated), installed by upload instead
        of from the registry. Its name ends in C(.zip), C(.tar.gz) or C(.tgz).
    type: path
  force:
    description: Install even when the installed version is higher (a downgrade).
    type: bool
    default: false
  ignore_constraints:
    description: Install even when the package's Kibana version constraint does not match (registry installs only).
    type: bool
    default: false
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.kibana,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
"""

EXAMPLES = r"""
- name: Elastic's FortiGate integration, pinned
  vigil.monitoring.kibana_fleet_package:
    url: https://kibana-1.example.org:5601
    url_username: vigil_fleet
    url_password: "{{ vault_es_fleet_password }}"
    name: fortinet_fortigate
    version: 1.25.6

- name: The same package from a file (offline site), the connection set once for the block
  module_defaults:
    group/vigil.monitoring.kibana:
      url: https://kibana-1.example.org:5601
      url_username: vigil_fleet
      url_password: "{{ vault_es_fleet_password }}"
  block:
    - name: Upload the package file
      vigil.monitoring.kibana_fleet_package:
        name: fortinet_fortigate
        version: 1.25.6
        src: /srv/packages/fortinet_fortigate-1.25.6.zip
      delegate_to: localhost
"""

RETURN = r"""
package:
  description: C(name), the installed C(version) (null when not installed), C(install_status) and C(install_source).
  returned: always
  type: dict
previous_version:
  description: The version installed before the task (null when none was).
  returned: always
  type: str
"""

import os  # noqa: E402
import re  # noqa: E402
import tarfile  # noqa: E402
import zipfile  # noqa: E402
from typing import Any, Dict, List, Optional, Tuple  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import (  # noqa: E402
    ApiResource,
    reconcile,
    state_option,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (  # noqa: E402
    KibanaClient,
    elastic_module,
    kibana_argument_spec,
)
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import ApiError, quote_segment  # noqa: E402

PACKAGES = "/api/fleet/epm/packages"
CONTENT_TYPES = ((".zip", "application/zip"), (".tar.gz", "application/gzip"), (".tgz", "application/gzip"))


def argument_spec() -> Dict[str, Any]:
    return kibana_argument_spec(
        name=dict(type="str", required=True),
        version=dict(type="str"),
        state=state_option(),
        src=dict(type="path"),
        force=dict(type="bool", default=False),
        ignore_constraints=dict(type="bool", default=False),
    )


def version_key(version: str) -> Tuple[Any, ...]:
    """Order of package versions (semantic versions; a pre-release sorts before its release)."""
    main, _sep, pre = str(version).partition("-")
    numbers = tuple(int(p) if p.isdigit() else 0 for p in main.split("."))
    return numbers + ((1,) if not pre else (0, pre))


def installed_info(item: Dict[str, Any]) -> Dict[str, Any]:
    """What Fleet says is installed: ``installationInfo`` (8.x), else the older ``savedObject.attributes``."""
    info = item.get("installationInfo")
    if not isinstance(info, dict):
        info = (item.get("savedObject") or {}).get("attributes") or {}
    return info if isinstance(info, dict) else {}


def members(path: str) -> List[str]:
    """The file names inside a package file (ValueError when it is neither a zip nor a gzip tar)."""
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    with tarfile.open(path, "r:gz") as archive:
        return archive.getnames()


class Package(ApiResource):
    """An installed package: only its version and status are compared."""

    kind = "Fleet package"
    result_key = "package"
    installed: Optional[Dict[str, Any]] = None

    @property
    def name(self) -> str:
        return self.params["name"]

    def path(self, version: Optional[str]) -> str:
        path = "%s/%s" % (PACKAGES, quote_segment(self.params["name"]))
        return path + ("/%s" % quote_segment(version) if version else "")

    # -- options ----------------------------------------------------------------------
    def validate(self) -> Optional[str]:
        p = self.params
        if not p["version"]:
            return "state=present needs version: the package version to install (pin what your registry offers)"
        if not re.match(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$", p["version"]):
            return "version %r is not a package version such as 1.25.6" % p["version"]
        if p["src"]:
            return self.src_problem(p["src"])
        return None

    def content_type(self) -> Optional[str]:
        return next((kind for suffix, kind in CONTENT_TYPES if self.params["src"].endswith(suffix)), None)

    def src_problem(self, src: str) -> Optional[str]:
        if self.content_type() is None:
            return "src %s is not a package file: its name must end in .zip, .tar.gz or .tgz" % src
        if not os.path.isfile(src):
            return "src %s does not exist on the host that runs this task" % src
        try:
            names = members(src)
        except (OSError, ValueError, zipfile.BadZipFile, tarfile.TarError) as exc:
            return "src %s cannot be read as a package file: %s" % (src, exc)
        manifest = "%s-%s/manifest.yml" % (self.params["name"], self.params["version"])
        if not any(n == manifest or n.endswith("/" + manifest) for n in names):
            return "src %s is not the package %s %s: it holds no %s" % (
                src, self.params["name"], self.params["version"], manifest)
        return None

    # -- the resource -----------------------------------------------------------------
    def fetch(self) -> Optional[Dict[str, Any]]:
        version = self.params["version"] if self.state == "present" else None
        status, answer = self.client.request("GET", self.path(version), expected=(200, 404), expect=dict)
        if status == 404:
            if self.state == "present" and not self.params["src"]:
                raise ApiError("GET", self.client.base_url + self.path(version), 404, answer)
            return None
        item = answer.get("item") or {}
        info = installed_info(item)
        if item.get("status") != "installed" and info.get("install_status") not in ("installed", "install_failed"):
            return None
        self.installed = {"name": self.params["name"], "version": info.get("version") or item.get("version"),
                          "install_status": info.get("install_status", "installed"),
                          "install_source": info.get("install_source")}
        return self.installed

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return {"name": raw["name"], "version": raw["version"], "install_status": raw["install_status"]}

    def desired(self) -> Dict[str, Any]:
        return {"name": self.params["name"], "version": self.params["version"], "install_status": "installed"}

    def update_problem(self, raw: Any, current: Dict[str, Any], desired: Dict[str, Any]) -> Optional[str]:
        if current["version"] and version_key(current["version"]) > version_key(desired["version"]) \
                and not self.params["force"]:
            return ("Fleet package %s is installed at %s, higher than the pinned %s; a downgrade needs force=true (and "
                    "Fleet reinstalls the package's assets)" % (self.name, current["version"], desired["version"]))
        return None

    def install(self) -> Any:
        p = self.params
        if p["src"]:
            with open(p["src"], "rb") as handle:
                data = handle.read()
            return self.client.request("POST", PACKAGES, body=data, headers={"Content-Type": self.content_type()},
                                       expect=dict)[1]
        body: Dict[str, Any] = {}
        if p["force"]:
            body["force"] = True
        if p["ignore_constraints"]:
            body["ignore_constraints"] = True
        return self.client.request("POST", self.path(p["version"]), body=body, expect=dict)[1]

    def create(self) -> Any:
        return self.install()

    def update(self, raw: Dict[str, Any]) -> Any:
        return self.install()

    def delete(self, raw: Dict[str, Any]) -> None:
        self.client.request("DELETE", self.path(raw["version"]), expect=None)

    def written(self, desired: Dict[str, Any], answer: Any) -> Dict[str, Any]:
        return desired

    def returned(self, after: Optional[Dict[str, Any]], raw: Any, answer: Any, changed: bool) -> Any:
        if after is None:
            return {"name": self.name, "version": None, "install_status": "not_installed", "install_source": None}
        source = "upload" if self.params["src"] else "registry"
        if not changed and raw is not None:
            source = raw.get("install_source")
        return dict(after, install_source=source)

    def error_hint(self, exc: ApiError) -> str:
        if exc.method == "GET" and exc.status == 404:
            return ("The package registry Kibana uses has no %s %s: pin a version it offers, point Kibana at your "
                    "internal registry (xpack.fleet.registryUrl), or give the package file in src"
                    % (self.name, self.params["version"]))
        return ""

    def delete_hint(self) -> str:
        return "Fleet refuses to remove a package that an agent policy uses; remove its package policies first"

    def extra_result(self) -> Dict[str, Any]:
        return {"previous_version": (self.installed or {}).get("version")}


def main() -> None:
    module = elastic_module(argument_spec())
    reconcile(Package(module, KibanaClient(module)))


if __name__ == "__main__":
    main()
