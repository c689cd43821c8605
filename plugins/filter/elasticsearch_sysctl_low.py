# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel settings below what Elasticsearch needs (vigil.monitoring.elasticsearch_sysctl_low).

elasticsearch_sysctl_low(results)
  results: the results of ansible.builtin.slurp looped over elasticsearch_sysctl | dict2items
           (each with ``content``, base64 of /proc/sys/..., and ``item`` {key, value})
  returns "<key> is <current>, needs <value>" for each setting below its value; a current
  value that is not a number counts as below.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, List

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list, whole_number


def _current(result: Mapping) -> str:
    try:
        return base64.b64decode(str(result.get("content", ""))).decode("utf-8", errors="replace").strip()
    except (binascii.Error, ValueError):
        return ""


def _number_or(text: str, fallback: int) -> int:
    try:
        return whole_number(text, "the current value")
    except FilterInputError:
        return fallback


def elasticsearch_sysctl_low(results: Any) -> List[str]:
    """One sentence per kernel setting below what Elasticsearch needs."""
    found = []
    try:
        for result in as_list(results, "the slurped kernel settings"):
            item = result["item"]
            current = _current(result)
            needed = whole_number(item["value"], "elasticsearch_sysctl %s" % item["key"])
            if _number_or(current, -1) < needed:
                found.append("%s is %s, needs %s" % (item["key"], current, item["value"]))
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None
    except (KeyError, TypeError):
        raise AnsibleFilterError("elasticsearch_sysctl_low: pass the results of the slurp task looped over "
                                 "elasticsearch_sysctl | dict2items") from None
    return found


class FilterModule:
    """Elasticsearch kernel settings."""

    def filters(self):
        return {"elasticsearch_sysctl_low": elasticsearch_sysctl_low}
