#!/usr/bin/env python
"""Extract the request-body schemas of the Elasticsearch endpoints Vigil calls.

    scripts/extract_es_spec.py CHECKOUT [--commit SHA] [--branch 8.17] [-o OUT]

CHECKOUT is a checkout of https://github.com/elastic/elasticsearch-specification
(Apache-2.0) at the branch of the Elasticsearch version Vigil deploys
(roles/elasticsearch/defaults: ``elasticsearch_version``). The script reads the
specification's own OpenAPI rendering, ``output/openapi/elasticsearch-openapi.json``,
keeps only the request bodies of OPERATIONS below and the component schemas they
reference, and corrects three places where that rendering is lossier than the
TypeScript specification it is generated from (read from ``specification/**.ts`` in
the same checkout):

* a class that ``implements AdditionalProperties<K, V>`` accepts keys it does not
  declare (the rendering drops that): it gets ``x-open: true``;
* ``UserDefinedValue`` (any JSON value) is rendered as a bare ``{"type": "object"}``
  (the converter marks it FIXME): every bare object schema becomes ``{}`` (any);
* an internally tagged union (``@variants internal tag='type' default='object'``)
  gets ``x-tag`` and ``x-default-tag`` so a validator picks the variant by its tag;
* a container (``@variants container``: exactly one of its variant keys, plus any
  ``@variant container_property`` keys) gets ``x-container: true``.

Descriptions and examples are dropped. The output (default
tests/standins/spec/elasticsearch_requests.json) is what the Elasticsearch fake
validates request bodies against (tests/standins/spec_check.py).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "standins" / "spec" / "elasticsearch_requests.json"

# (method, path as the specification names it): every Elasticsearch call with a body
# that Vigil's modules and roles make (docs/elastic-modules.md, "What the fakes enforce").
OPERATIONS: List[Tuple[str, str]] = [
    ("PUT", "/_ingest/pipeline/{id}"),
    ("POST", "/_ingest/pipeline/_simulate"),
    ("PUT", "/_ilm/policy/{policy}"),
    ("PUT", "/_index_template/{name}"),
    ("PUT", "/_component_template/{name}"),
    ("PUT", "/_snapshot/{repository}"),
    ("PUT", "/_slm/policy/{policy_id}"),
    ("PUT", "/_security/role/{name}"),
    ("PUT", "/_security/user/{username}"),
    ("POST", "/_security/user/{username}/_password"),
    ("POST", "/_security/api_key"),
    ("PUT", "/_security/api_key/{id}"),
    ("DELETE", "/_security/api_key"),
    ("PUT", "/_cluster/settings"),
]

KEPT_KEYS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "oneOf",
    "anyOf",
    "allOf",
    "$ref",
    "nullable",
    "minProperties",
    "maxProperties",
    "discriminator",
}
REF_PREFIX = "#/components/schemas/"


def ts_facts(spec_dir: Path) -> Tuple[Set[str], Dict[str, Tuple[str, str]], Set[str]]:
    """Open classes, internally tagged unions and containers, as ``namespace:Name`` of the OpenAPI rendering."""
    open_classes: Set[str] = set()
    containers: Set[str] = set()
    container_re = re.compile(r"@variants container\b[^/]*?\*/\s*export class (\w+)", re.S)
    tagged: Dict[str, Tuple[str, str]] = {}
    class_re = re.compile(
        r"export class (\w+)(?:<[^>{]*>)?\s*(?:extends [^{]*?)?implements\s+AdditionalPropert(?:y|ies)\b"
    )
    union_re = re.compile(
        r"@variants internal tag='(\w+)'(?: default='(\w+)')?[^/]*?\*/\s*export type (\w+)",
        re.S,
    )
    for path in sorted(spec_dir.rglob("*.ts")):
        namespace = ".".join(path.parent.relative_to(spec_dir).parts)
        text = path.read_text(encoding="utf-8")
        for match in class_re.finditer(text):
            open_classes.add("%s:%s" % (namespace, match.group(1)))
        for match in union_re.finditer(text):
            tagged["%s:%s" % (namespace, match.group(3))] = (
                match.group(1),
                match.group(2) or "",
            )
        for match in container_re.finditer(text):
            containers.add("%s:%s" % (namespace, match.group(1)))
    return open_classes, tagged, containers


def clean(node: Any) -> Any:
    """Keep the validating keywords; a bare object schema (UserDefinedValue) becomes "any"."""
    if isinstance(node, list):
        return [clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k == "discriminator" else clean(v)) for k, v in node.items() if k in KEPT_KEYS}
    if "properties" in node:
        out["properties"] = {k: clean(v) for k, v in node["properties"].items()}
    if out == {"type": "object"}:
        return {}
    return out


def refs(node: Any) -> Set[str]:
    found: Set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            found.add(ref[len(REF_PREFIX) :])
        for key, value in node.items():
            if key == "properties":
                for sub in value.values():
                    found |= refs(sub)
            else:
                found |= refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= refs(item)
    return found


def body_schema(doc: Dict[str, Any], method: str, path: str) -> Tuple[Any, bool]:
    operation = doc["paths"][path][method.lower()]
    body = operation.get("requestBody")
    if body is None:
        raise SystemExit("%s %s has no request body in the specification" % (method, path))
    if "$ref" in body:
        body = doc["components"]["requestBodies"][body["$ref"].rsplit("/", 1)[1]]
    return body["content"]["application/json"]["schema"], bool(body.get("required"))


def extract(checkout: Path) -> Dict[str, Any]:
    doc = json.loads((checkout / "output" / "openapi" / "elasticsearch-openapi.json").read_text(encoding="utf-8"))
    open_classes, tagged, containers = ts_facts(checkout / "specification")
    components = doc["components"]["schemas"]
    operations: Dict[str, Any] = {}
    todo: List[str] = []
    for method, path in OPERATIONS:
        schema, required = body_schema(doc, method, path)
        operations["%s %s" % (method, path)] = {
            "body": clean(schema),
            "required": required,
        }
        todo.extend(refs(schema))
    schemas: Dict[str, Any] = {}
    while todo:
        name = todo.pop()
        if name in schemas:
            continue
        raw = components[name]
        schema = clean(raw)
        if name in open_classes:
            schema["x-open"] = True
        if name in containers:
            schema["x-container"] = True
        if name in tagged:
            schema["x-tag"], schema["x-default-tag"] = tagged[name]
        schemas[name] = schema
        todo.extend(refs(raw))
    return {"operations": operations, "schemas": dict(sorted(schemas.items()))}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("checkout", type=Path)
    parser.add_argument("--branch", default="8.17")
    parser.add_argument("--commit", default="")
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    data = extract(args.checkout)
    data = dict(
        {
            "source": {
                "repository": "https://github.com/elastic/elasticsearch-specification",
                "branch": args.branch,
                "commit": args.commit,
                "files": [
                    "output/openapi/elasticsearch-openapi.json",
                    "specification/**/*.ts",
                ],
                "license": "Apache-2.0",
                "generated_by": "scripts/extract_es_spec.py",
            }
        },
        **data,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print("%s: %d operations, %d schemas" % (args.out, len(data["operations"]), len(data["schemas"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
