#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage an Elasticsearch snapshot repository (_snapshot)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticsearch_snapshot_repository
short_description: Manage an Elasticsearch snapshot repository (shared file system, S3 and others)
version_added: 0.2.0
description:
  - Registers, updates or removes a snapshot repository through C(PUT/GET/DELETE _snapshot/<name>).
  - Compares the stored C(type) and C(settings) with the options after normalising the settings the way
    Elasticsearch stores them (flat dotted keys, string values), and writes only on a difference. A missing
    repository is recognised only by HTTP 404.
  - Elasticsearch verifies a new or changed repository on every node (O(verify)); a shared file system
    repository's C(location) must be under the C(path.repo) of every master and data node.
  - Credentials are never options - an S3 repository's access and secret keys belong in the Elasticsearch
    keystore of every node (C(s3.client.<client>.access_key), C(s3.client.<client>.secret_key)); settings named
    like credentials are refused before any request.
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  state:
    description: Whether the repository must be registered. Removing it leaves its snapshots where they are.
  type:
    description: Repository type (C(fs) a shared file system, C(s3) S3 or an S3-compatible store, C(url), C(azure), C(gcs), C(source)).
    type: str
    choices: [fs, s3, url, azure, gcs, source]
  settings:
    description:
      - The repository's C(settings), for example C(location) and C(compress) for C(fs), C(bucket), C(client),
        C(base_path) for C(s3). Required when O(state=present).
    type: dict
  verify:
    description: Let Elasticsearch check that every node can use the repository before it is registered.
    type: bool
    default: true
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.elasticsearch, vigil.monitoring.elasticsearch.name,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
notes:
  - Needs the C(manage) cluster privilege (Elasticsearch has no narrower named privilege for registering a repository).
"""

EXAMPLES = r"""
- name: A shared file system repository (path.repo lists /srv/snapshots on every node)
  vigil.monitoring.elasticsearch_snapshot_repository:
    url: https://es.lab.example:9200
    url_username: elastic
    url_password: "{{ vault_elastic_password }}"
    name: vigil-snapshots
    type: fs
    settings:
      location: /srv/snapshots/vigil
      compress: true

- name: An S3-compatible bucket (client settings and keys are node settings and keystore entries)
  vigil.monitoring.elasticsearch_snapshot_repository:
    url: https://es.lab.example:9200
    url_username: elastic
    url_password: "{{ vault_elastic_password }}"
    name: vigil-s3
    type: s3
    settings:
      bucket: vigil-snapshots
      client: default
      base_path: prod
"""

RETURN = r"""
repository:
  description: The repository (C(type), C(settings) as stored) after the task, or in check mode as it would be; empty when absent.
  returned: always
  type: dict
"""

from typing import Any, Dict, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (  # noqa: E402
    ElasticResource,
    flatten_settings,
    named_resource_spec,
    run_resource,
    settings_value,
)

TYPES = ("fs", "s3", "url", "azure", "gcs", "source")
# Repository settings that would carry a credential: Elasticsearch 8 reads them from the keystore only.
CREDENTIAL_SETTINGS = ("access_key", "secret_key", "session_token", "key", "sas_token", "credentials_file")
REQUIRED_SETTINGS = {"fs": ("location",), "s3": ("bucket",), "url": ("url",), "azure": (), "gcs": ("bucket",),
                     "source": ("delegate_type",)}


def argument_spec() -> Dict[str, Any]:
    return named_resource_spec(
        type=dict(type="str", choices=list(TYPES)),
        settings=dict(type="dict"),
        verify=dict(type="bool", default=True),
    )


def stored_settings(settings: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    return {key: settings_value(value) for key, value in flatten_settings(settings or {}).items()}


def settings_problem(rtype: Optional[str], settings: Optional[Dict[str, Any]]) -> Optional[str]:
    flat = flatten_settings(settings or {})
    secret = sorted(key for key in flat if key.rsplit(".", 1)[-1] in CREDENTIAL_SETTINGS)
    if secret:
        return ("settings %s look like credentials: Elasticsearch reads repository credentials from the keystore "
                "of every node (for S3: s3.client.<client>.access_key and secret_key), never from the repository's "
                "settings; remove them" % ", ".join(secret))
    missing = [key for key in REQUIRED_SETTINGS.get(rtype or "", ()) if key not in flat]
    if missing:
        return "settings.%s is required for a repository of type %s" % (missing[0], rtype)
    return None


class SnapshotRepository(ElasticResource):
    kind = "snapshot repository"
    result_key = "repository"
    prefix = "/_snapshot"

    def check_options(self) -> Optional[str]:
        return settings_problem(self.params["type"], self.params["settings"]) if self.params["settings"] else None

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return {"type": raw.get("type"), "settings": stored_settings(raw.get("settings"))}

    def desired(self) -> Dict[str, Any]:
        return {"type": self.params["type"], "settings": stored_settings(self.params["settings"])}

    def body(self) -> Dict[str, Any]:
        return {"type": self.params["type"], "settings": self.params["settings"]}

    def create(self) -> Any:
        path = self.path if self.params["verify"] else self.path + "?verify=false"
        return self.client.request("PUT", path, body=self.body(), expect=dict)[1]

    def error_hint(self, exc: Any) -> str:
        if self.params.get("type") == "fs" and "path.repo" in str(getattr(exc, "body", "")):
            return ("Add the location's parent directory to path.repo in elasticsearch.yml on every master and data "
                    "node and restart them (the elasticsearch role does this from elasticsearch_snapshot_repository)")
        return super().error_hint(exc)


def main() -> None:
    run_resource(SnapshotRepository, argument_spec(), required_if=[("state", "present", ("type", "settings"))])


if __name__ == "__main__":
    main()
