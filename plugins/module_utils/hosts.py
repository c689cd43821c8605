# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host names and the address Prometheus scrapes: one rule for filters and modules.

* A host name is dot-separated labels of 1 to 63 letters, digits and ``-`` (not at either
  end of a label), at most 253 characters, optionally with the root's trailing dot.
  Scrape targets may also carry ``_`` (container and inventory names often do).
* The address of an inventory host is ``vigil_metrics_address``, else ``ansible_host``,
  else its inventory name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Pattern, Tuple


def hostname_pattern(label_chars: str) -> Pattern[str]:
    """A host-name regex whose labels are made of ``label_chars`` (a character class body) and ``-``."""
    label = "[%s](?:[%s-]{0,61}[%s])?" % (label_chars, label_chars, label_chars)
    return re.compile(r"^(?=.{1,253}$)%s(?:\.%s)*\.?$" % (label, label))


HOSTNAME_RE = hostname_pattern("A-Za-z0-9")
TARGET_HOST_RE = hostname_pattern("A-Za-z0-9_")

METRICS_ADDRESS_VARIABLES: Tuple[str, ...] = ("vigil_metrics_address", "ansible_host")


def is_set(value: Any) -> bool:
    """A host variable that holds something (not None, not blank, not an empty list)."""
    if value is None:
        return False
    if isinstance(value, (list, tuple)):
        return len(value) > 0
    return str(value).strip() != ""


def metrics_address(host: str, hostvars_of_host: Mapping) -> str:
    """The address Prometheus reaches ``host`` at: vigil_metrics_address, else ansible_host, else the name."""
    for name in METRICS_ADDRESS_VARIABLES:
        value = hostvars_of_host.get(name)
        if is_set(value):
            return str(value).strip()
    return host
