# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The custom exporter's configuration, checked on the controller with the exporter's own schema.

custom_exporter_config_problems(config, variables=None)
  config:    the document the role writes to /etc/vigil/custom_exporter/config.yml
             (listen_address, default_timeout, max_concurrency, web_config_file, sources)
  variables: {field of the document: name to show}; by default the role's variables
             (sources -> custom_exporter_sources, listen_address ->
             custom_exporter_web_listen_address, ...); {} keeps the file's field names
  returns    every problem the schema finds, [] when there is none. The messages are the
             exporter's own (plugins/module_utils/custom_exporter_config.py, which the
             exporter's package holds as vigil_custom_exporter.schema), starting with the
             variable and the entry: "custom_exporter_sources[0] (fw).metrics[1].name: ...".
             They never show header values or URL passwords. What only the host can tell
             (JMESPath queries compile, CA files exist) is left to the exporter's
             --config.check when the file is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List, Optional

from ansible.errors import AnsibleFilterError

from ansible_collections.vigil.monitoring.plugins.module_utils.custom_exporter_config import problems

ROLE_VARIABLES = {
    "sources": "custom_exporter_sources",
    "listen_address": "custom_exporter_web_listen_address",
    "default_timeout": "custom_exporter_default_timeout",
    "max_concurrency": "custom_exporter_max_concurrency",
}


def _named(message: str, variables: Mapping[str, str]) -> str:
    """The message with its leading field (``sources[0] ...``, ``listen_address: ...``) renamed."""
    for field, name in variables.items():
        if message.startswith(field) and message[len(field):len(field) + 1] in ("[", ".", ":"):
            return name + message[len(field):]
    return message


def custom_exporter_config_problems(config: Any, variables: Optional[Mapping[str, str]] = None) -> List[str]:
    """Every problem of the exporter's configuration document, named after the role's variables."""
    if variables is None:
        variables = ROLE_VARIABLES
    if not isinstance(variables, Mapping) or not all(isinstance(v, str) for v in variables.values()):
        raise AnsibleFilterError("custom_exporter_config_problems: variables must map field names to names, got %r"
                                 % (variables,))
    # Ansible hands mappings over as its own types; the schema checks plain dicts and lists.
    return [_named(message, variables) for message in problems(_plain(config))]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


class FilterModule:
    """Custom exporter filters."""

    def filters(self) -> Dict[str, Any]:
        return {"custom_exporter_config_problems": custom_exporter_config_problems}
