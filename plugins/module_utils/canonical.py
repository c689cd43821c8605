# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canonical JSON and content hashes: the one rule that filters and modules share.

The ``ecs_pipeline`` filter writes ``_meta.vigil_hash`` into the pipelines it builds and
the ``elasticsearch_ingest_pipeline`` module writes (and compares) the same hash, so both
import ``pipeline_hash`` from here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Dict

HASH_KEY = "vigil_hash"


def plain(value: Any) -> Any:
    """A deep copy made of plain dict/list/str/int/float/bool/None (Ansible hands in proxies)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def same(a: Any, b: Any) -> bool:
    """Strict JSON equality: ``true`` is not ``1`` and ``"1"`` is not ``1``."""
    return canonical_json(a) == canonical_json(b)


def pipeline_hash(body: Mapping) -> str:
    """SHA-256 of the canonical JSON of ``body`` without ``_meta.vigil_hash`` (an emptied ``_meta`` is dropped)."""
    clean = plain(body)
    meta = clean.get("_meta")
    if isinstance(meta, dict):
        meta.pop(HASH_KEY, None)
        if not meta:
            clean.pop("_meta")
    return sha256_of(clean)


def with_content_hash(body: Mapping) -> Dict[str, Any]:
    """A plain copy of ``body`` whose ``_meta.vigil_hash`` is the hash of the rest."""
    out = plain(body)
    meta = dict(out.get("_meta") or {})
    meta.pop(HASH_KEY, None)
    meta[HASH_KEY] = pipeline_hash(out)
    out["_meta"] = meta
    return out
