# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus durations (``model.ParseDuration``), the one rule for filters and modules.

Units in decreasing order, each at most once: ``y w d h m s ms``; ``0`` alone is a
duration. The alert catalog checks ``for`` with it; the Grafana modules compare rule
``for``, group intervals and notification timings in its canonical form.
"""

from __future__ import annotations

import re
from typing import Any, Optional

UNITS = (("y", 365 * 86400000), ("w", 7 * 86400000), ("d", 86400000), ("h", 3600000),
         ("m", 60000), ("s", 1000), ("ms", 1))
DURATION_RE = re.compile(
    r"^(?:0|(?=\d)(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?)$"
)


def duration_ms(value: Any) -> Optional[int]:
    """Milliseconds of a Prometheus duration (C(90s), C(1h30m), C(0)); None if invalid.

    Integers are taken as seconds, which is how Grafana writes rule group intervals.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * 1000 if value >= 0 else None
    match = DURATION_RE.match(str(value).strip())
    if not match:
        return None
    return sum(int(part or 0) * mult for part, (_unit, mult) in zip(match.groups(), UNITS))


def format_duration(ms: int) -> str:
    """Canonical Prometheus form: 300000 -> C(5m), 0 -> C(0s); y, w and d only when exact."""
    if ms == 0:
        return "0s"
    out = []
    for unit, mult in UNITS:
        if unit in ("y", "w", "d") and ms % mult:
            continue
        count, ms = divmod(ms, mult)
        if count:
            out.append("%d%s" % (count, unit))
    return "".join(out)


def canonical_duration(value: Any) -> Any:
    """Canonical string of a duration; the value unchanged when it does not parse."""
    ms = duration_ms(value)
    return value if ms is None else format_duration(ms)


def check_duration(value: Any, argname: str) -> Optional[str]:
    """A message naming ``argname`` when ``value`` is not a duration; None when it is."""
    if duration_ms(value) is None:
        return "%s must be a duration such as 30s, 5m or 1h30m (units ms, s, m, h, d, w, y), got %r" % (argname, value)
    return None
