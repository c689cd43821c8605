"""Small validators shared by the configuration and the drivers; every message names the field."""

from __future__ import annotations

import os
import re
from typing import Any, Mapping, Optional, Sequence

# Prometheus-style durations (1h30m, 20s, 2d), the form the alert catalog uses.
_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (7 * 86400, 86400, 3600, 60, 1)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class ConfigError(Exception):
    """The configuration is invalid; the message names the field and says what is expected."""


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError("%s must be a mapping, got %s" % (where, type(value).__name__))
    return value


def only_keys(value: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        raise ConfigError("%s: unknown field(s) %s (known: %s)" % (where, ", ".join(unknown), ", ".join(allowed)))


def string(value: Any, where: str, pattern: Optional["re.Pattern[str]"] = None) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError("%s must be a non-empty string" % where)
    if pattern is not None and not pattern.match(value):
        raise ConfigError("%s %r does not match %s" % (where, value, pattern.pattern))
    return value


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError("%s must be true or false, got %r" % (where, value))
    return value


def integer(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError("%s must be an integer from %d to %d, got %r" % (where, low, high, value))
    return value


def seconds(value: Any, where: str, high: int = 366 * 86400) -> int:
    """Whole seconds from an integer or a duration such as 20s, 15m, 1h30m, 7d."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not value or match is None:
            raise ConfigError("%s %r is not a duration (write e.g. 30s, 15m, 1h or 1h30m)" % (where, value))
        value = sum(int(part or 0) * unit for part, unit in zip(match.groups(), _UNITS))
    return integer(value, where, 1, high)


def absolute_path(value: Any, where: str) -> str:
    path = string(value, where)
    if not os.path.isabs(path):
        raise ConfigError("%s must be an absolute path, got %r" % (where, path))
    return path


def optional(raw: Mapping[str, Any], key: str, default: Any) -> Any:
    """raw[key], or default when the key is absent or null."""
    value = raw.get(key)
    return default if value is None else value
