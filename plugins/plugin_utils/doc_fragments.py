# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation text the API families' doc fragments share (plugins/doc_fragments)."""

from __future__ import annotations


def action_group(family: str) -> str:
    """The ``attributes`` block of a family's fragment: its modules belong to group/vigil.monitoring.<family>."""
    return r"""
attributes:
  action_group:
    description: Set the connection options once per play or block with C(module_defaults) and C(group/vigil.monitoring.%s).
    support: full
    membership: [vigil.monitoring.%s]
""" % (family, family)
