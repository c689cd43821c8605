# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading role variables in filters the way the roles' Jinja did, with errors that name them.

``as_list`` and ``as_mapping`` accept what a role variable of that type may hold (None
counts as empty) and raise FilterInputError naming the variable otherwise;
``whole_number`` reads a number as Jinja's ``int`` filter does, but refuses what is not
a number instead of reading it as 0; ``merge`` is Ansible's ``combine(recursive=true)``;
``filter_errors`` turns FilterInputError into the AnsibleFilterError a filter raises.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Dict, List

from ansible.errors import AnsibleFilterError


class FilterInputError(ValueError):
    """A filter's input is not what the role variable it reads may hold."""


def as_list(value: Any, what: str) -> List[Any]:
    """`value` as a list (None: empty); FilterInputError naming `what` when it is not a list."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise FilterInputError("%s must be a list, got %s" % (what, type(value).__name__))
    return list(value)


def as_mapping(value: Any, what: str) -> Mapping:
    """`value` as a mapping (None: empty); FilterInputError naming `what` when it is not one."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FilterInputError("%s must be a mapping, got %s" % (what, type(value).__name__))
    return value


def whole_number(value: Any, what: str) -> int:
    """A whole number written as a number or text ('3', ' 3 ', 3.7 → 3); FilterInputError naming `what` otherwise."""
    if isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return int(float(text))
    except (ValueError, OverflowError):
        raise FilterInputError("%s must be a number, got %r" % (what, value)) from None


def merge(base: Mapping, override: Mapping) -> Dict[str, Any]:
    """`base` with `override` merged into it key by key, mappings recursively (combine(recursive=true))."""
    merged: Dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def filter_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a filter: its FilterInputError becomes AnsibleFilterError with the same message."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except FilterInputError as exc:
            raise AnsibleFilterError(str(exc)) from None
    return wrapper
