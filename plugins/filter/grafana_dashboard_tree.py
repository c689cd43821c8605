# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the grafana role copies dashboard trees on the host (grafana_dashboard_dirs, grafana_dashboard_copies).

Both take the trees to copy: [{root, entries}], ``root`` the directory on the host and
``entries`` what the community.general.filetree lookup lists for the tree's source
directory on the controller ({path, src, state}).

grafana_dashboard_dirs(trees)
  returns every root and, under it, every directory of its tree (the provider's folders).

grafana_dashboard_copies(trees)
  returns {src, dest} for every *.json file of the trees.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Dict, Iterator, List, Tuple

from ansible.errors import AnsibleFilterError
from ansible_collections.vigil.monitoring.plugins.plugin_utils.filter_input import FilterInputError, as_list

_JSON = re.compile(r"[.]json$")


def _walk(trees: Any, caller: str) -> Iterator[Tuple[str, List[Mapping]]]:
    try:
        for tree in as_list(trees, "%s: the trees" % caller):
            if not isinstance(tree, Mapping) or "root" not in tree:
                raise AnsibleFilterError("%s: every tree needs root and entries (the filetree lookup), got %r" % (caller, tree))
            entries = [entry for entry in as_list(tree.get("entries"), "%s: the entries of %s" % (caller, tree["root"]))
                       if isinstance(entry, Mapping)]
            yield str(tree["root"]), entries
    except FilterInputError as exc:
        raise AnsibleFilterError(str(exc)) from None


def grafana_dashboard_dirs(trees: Any) -> List[str]:
    """The roots and the directories under them."""
    found = []
    for root, entries in _walk(trees, "grafana_dashboard_dirs"):
        found.append(root)
        found += ["%s/%s" % (root, entry["path"]) for entry in entries if entry.get("state") == "directory"]
    return found


def grafana_dashboard_copies(trees: Any) -> List[Dict[str, Any]]:
    """{src, dest} of every dashboard file (*.json) of the trees."""
    return [{"src": entry["src"], "dest": "%s/%s" % (root, entry["path"])}
            for root, entries in _walk(trees, "grafana_dashboard_copies")
            for entry in entries if entry.get("state") == "file" and _JSON.search(str(entry.get("path", "")))]


class FilterModule:
    """Grafana dashboard trees."""

    def filters(self):
        return {"grafana_dashboard_dirs": grafana_dashboard_dirs, "grafana_dashboard_copies": grafana_dashboard_copies}
