"""In-process fake of OpenCTI's GraphQL endpoint, for the queries pycti sends for an IOC import.

pycti posts ``{"query": ..., "variables": ...}`` to ``/graphql`` with ``Authorization:
Bearer <token>``. The fake dispatches on the operation name of the query text (pycti names
every operation) and answers like the platform:

* HTTP 200 with ``{"data": ...}``, or with ``{"errors": [{"message", "name", "extensions":
  {"code"}}]}`` for a refused request (OpenCTI answers GraphQL errors with status 200);
  a missing or wrong token is ``AUTH_REQUIRED``;
* ``healthCheck`` (``about { version }``);
* ``Indicator(id)`` resolves an internal ID or a ``standard_id`` (OpenCTI derives an
  indicator's standard ID from its pattern: UUIDv5 in the STIX namespace
  ``00abedb4-aa42-466c-9c01-fed23315a9b7`` of the canonical JSON ``{"pattern": ...}``,
  computed here independently of pycti); ``indicator`` is ``null`` when nothing matches;
* ``Indicators`` (filters on ``pattern``), ``IndicatorAdd`` (the platform's checks: name,
  pattern, pattern_type and main observable type required, score 0-100, ``valid_until``
  after ``valid_from``; an existing pattern is upserted, not duplicated);
* ``StixCyberObservables`` with ``entity_type`` and ``value`` or ``hashes.<ALGO>``
  filters, ``StixCyberObservableAdd`` (one typed input such as ``IPv4Addr``);
* ``Labels``/``LabelAdd``, ``ExternalReference(id)``/``ExternalReferenceAdd``,
  ``StixCoreRelationshipAdd`` (``based-on`` links the observable to the indicator's
  ``observables`` edges).

Live streams and RSS feeds (OpenCTI's schema: ``opencti.graphql`` and the module
``ingestion-rss.graphql``; pycti has no classes for them, Vigil's modules send these):

* ``StreamCollections`` (``streamCollections(first, after)``, paged for real),
  ``StreamCollectionAdd`` (``StreamCollectionAddInput``: name of 2 characters or more and not
  blank, ``filters`` the JSON text of a FilterGroup whose filters all have a key),
  ``StreamCollectionEdit`` (``streamCollectionEdit(id) { fieldPatch(input: [EditInput]) }``;
  name, description, filters, stream_live, stream_public; booleans as the UI sends them,
  ``["true"]``, or as JSON booleans), ``StreamCollectionDelete`` (``streamCollectionEdit(id)
  { delete }``);
* ``IngestionRsss`` (paged), ``IngestionRssAdd`` (``IngestionRssAddInput``: name, uri of 5
  characters or more, description, report_types, created_by_ref and object_marking_refs that
  must exist, ingestion_running, current_state_date, user_id, scheduling_period),
  ``IngestionRssFieldPatch`` (``[EditInput]``, a scalar value is taken as a list of one, as
  GraphQL coerces it), ``IngestionRssDelete``; ``advance_rss(name, date)`` does what the
  ingestion manager does after reading a feed (moves ``current_state_date``);
* pycti's ``MarkingDefinitions`` (filter ``definition``; TLP 2.0 markings are there from the
  start, as on a new platform) and ``Identities`` (filter ``name``; ``add_identity`` seeds one).

``GET /health?health_access_key=...`` answers 200 with the right key (``health_key``).

Any other operation is recorded in ``unknown`` and answered with a GraphQL error, so a test
sees at once when pycti starts sending something the fake does not know.

Helpers: ``mutations()`` / ``queries()`` list the operation names sent, ``down`` makes the
endpoint answer 503 (platform starting), ``refuse`` maps an operation name to an error
message the platform returns for it (one refusal per call).
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
import uuid
from typing import Any, Dict, List, Optional, Tuple

from standins.base import FakeApi, Request

STIX_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
OPERATION = re.compile(r"^\s*(query|mutation)\s+(\w+)")
OBSERVABLE_INPUTS = {
    "IPv4-Addr": "IPv4Addr",
    "IPv6-Addr": "IPv6Addr",
    "Domain-Name": "DomainName",
    "Url": "Url",
    "StixFile": "StixFile",
}


def canonical(data: Dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def standard_id(kind: str, data: Dict[str, Any]) -> str:
    return "%s--%s" % (kind, uuid.uuid5(STIX_NAMESPACE, canonical(data)))


def graphql_error(message: str, code: str = "FUNCTIONAL_ERROR") -> Dict[str, Any]:
    return {"errors": [{"message": message, "name": code, "extensions": {"code": code}}], "data": None}


class OpenCTIFake(FakeApi):
    def __init__(self, token: str = "4e2b0a36-6d0c-4c36-9b6b-3c1e2f5a7d90", version: str = "7.261026.0",
                 health_key: str = "fake-health-key") -> None:
        super().__init__()
        self.token = token
        self.health_key = health_key
        self.version = version
        self.down = 0
        self.refuse: Dict[str, str] = {}
        self.unknown: List[str] = []
        self.indicators: Dict[str, Dict[str, Any]] = {}
        self.observables: Dict[str, Dict[str, Any]] = {}
        self.labels: Dict[str, Dict[str, Any]] = {}
        self.references: Dict[str, Dict[str, Any]] = {}
        self.relationships: List[Dict[str, Any]] = []
        self.streams: Dict[str, Dict[str, Any]] = {}
        self.rss: Dict[str, Dict[str, Any]] = {}
        self.identities: Dict[str, Dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.markings: Dict[str, Dict[str, Any]] = {
            definition: {"id": self._new_id(), "definition_type": "TLP", "definition": definition,
                         "standard_id": standard_id("marking-definition", {"definition": definition,
                                                                           "definition_type": "TLP"}),
                         "entity_type": "Marking-Definition", "x_opencti_order": order, "x_opencti_color": "#ffffff"}
            for order, definition in enumerate(("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"))
        }

    # -- helpers for tests --------------------------------------------------------
    def operations(self) -> List[Tuple[str, str]]:
        ops = []
        for req in self.requests:
            match = OPERATION.match((req.body or {}).get("query", "")) if isinstance(req.body, dict) else None
            if match:
                ops.append((match.group(1), match.group(2)))
        return ops

    def mutations(self) -> List[str]:
        return [name for kind, name in self.operations() if kind == "mutation"]

    def queries(self) -> List[str]:
        return [name for kind, name in self.operations() if kind == "query"]

    def indicator_by_value(self, value: str) -> Optional[Dict[str, Any]]:
        return next((i for i in self.indicators.values() if i["name"] == value), None)

    def _new_id(self) -> str:
        return str(uuid.UUID(int=next(self._ids), version=4))

    # -- dispatch -------------------------------------------------------------------
    def handle(self, req: Request) -> Tuple[int, Any]:
        if self.down > 0:
            self.down -= 1
            return 503, {"message": "platform starting"}
        if req.path == "/health" and req.method == "GET":
            if (req.query.get("health_access_key") or [""])[0] != self.health_key:
                return 401, {"status": "unauthorized"}
            return 200, {"status": "success"}
        if req.path != "/graphql" or req.method != "POST":
            return 404, {"message": "not found"}
        if req.headers.get("authorization") != "Bearer %s" % self.token:
            return 200, graphql_error("You must be logged in to do this.", "AUTH_REQUIRED")
        body = req.body if isinstance(req.body, dict) else {}
        match = OPERATION.match(body.get("query") or "")
        if not match:
            self.unknown.append((body.get("query") or "")[:80])
            return 200, graphql_error("fake OpenCTI: anonymous operation")
        name = match.group(2)
        if name in self.refuse:
            return 200, graphql_error(self.refuse.pop(name))
        handler = getattr(self, "op_" + name, None)
        if handler is None:
            self.unknown.append(name)
            return 200, graphql_error("fake OpenCTI: unknown operation %s" % name)
        variables = body.get("variables") or {}
        try:
            return 200, {"data": handler(variables)}
        except ValueError as exc:
            return 200, graphql_error(str(exc))

    # -- filters ------------------------------------------------------------------
    @staticmethod
    def _filters(variables: Dict[str, Any]) -> Dict[str, List[str]]:
        """FilterGroup -> {key: values}; only 'and' groups of 'eq' filters, as pycti sends them."""
        group = variables.get("filters") or {}
        out: Dict[str, List[str]] = {}
        for item in group.get("filters") or []:
            key = item["key"][0] if isinstance(item["key"], list) else item["key"]
            if item.get("operator", "eq") != "eq":
                raise ValueError("fake OpenCTI: operator %s not supported" % item.get("operator"))
            out[key] = list(item["values"])
        return out

    @staticmethod
    def _connection(nodes: List[Dict[str, Any]]) -> Dict[str, Any]:
        return {
            "edges": [{"node": node} for node in nodes],
            "pageInfo": {"startCursor": None, "endCursor": None, "hasNextPage": False,
                         "hasPreviousPage": False, "globalCount": len(nodes)},
        }

    # -- platform ------------------------------------------------------------------
    def op_healthCheck(self, variables):  # noqa: N802 - GraphQL operation names
        return {"about": {"version": self.version}}

    # -- indicators ----------------------------------------------------------------
    def _indicator_node(self, indicator: Dict[str, Any]) -> Dict[str, Any]:
        node = dict(indicator)
        node["observables"] = {"edges": [{"node": {"id": oid, "entity_type": self.observables[oid]["entity_type"],
                                                   "observable_value": self.observables[oid]["observable_value"]}}
                                         for oid in indicator["observable_ids"]]}
        node["objectLabel"] = [{"id": lid, "value": self.labels_by_id()[lid]["value"], "color": "#ff0000"}
                               for lid in indicator["label_ids"]]
        node.pop("observable_ids")
        node.pop("label_ids")
        return node

    def labels_by_id(self) -> Dict[str, Dict[str, Any]]:
        return {label["id"]: label for label in self.labels.values()}

    def op_Indicator(self, variables):  # noqa: N802
        wanted = variables["id"]
        for indicator in self.indicators.values():
            if wanted in (indicator["id"], indicator["standard_id"]):
                return {"indicator": self._indicator_node(indicator)}
        return {"indicator": None}

    def op_Indicators(self, variables):  # noqa: N802
        filters = self._filters(variables)
        nodes = [self._indicator_node(i) for i in self.indicators.values()
                 if all(i.get(key) in values for key, values in filters.items())]
        return {"indicators": self._connection(nodes)}

    def op_IndicatorAdd(self, variables):  # noqa: N802
        data = variables["input"]
        for field in ("name", "pattern", "pattern_type", "x_opencti_main_observable_type"):
            if not data.get(field):
                raise ValueError("Missing mandatory attribute: %s" % field)
        score = data.get("x_opencti_score")
        if score is not None and not 0 <= int(score) <= 100:
            raise ValueError("x_opencti_score must be between 0 and 100")
        now = datetime.datetime.now(datetime.timezone.utc)
        valid_from = data.get("valid_from") or now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if data.get("valid_until") and data["valid_until"] <= valid_from:
            raise ValueError("The valid until date must be greater than the valid from date")
        for label_id in data.get("objectLabel") or []:
            if label_id not in self.labels_by_id():
                raise ValueError("Label %s not found" % label_id)
        sid = standard_id("indicator", {"pattern": data["pattern"].strip()})
        existing = next((i for i in self.indicators.values() if i["standard_id"] == sid), None)
        if existing is None:
            existing = {
                "id": self._new_id(),
                "standard_id": sid,
                "entity_type": "Indicator",
                "parent_types": ["Basic-Object", "Stix-Object", "Stix-Core-Object", "Stix-Domain-Object"],
                "name": data["name"],
                "pattern": data["pattern"],
                "pattern_type": data["pattern_type"],
                "description": data.get("description"),
                "x_opencti_score": score if score is not None else 50,
                "x_opencti_detection": bool(data.get("x_opencti_detection")),
                "x_opencti_main_observable_type": data["x_opencti_main_observable_type"],
                "indicator_types": data.get("indicator_types"),
                "valid_from": valid_from,
                "valid_until": data.get("valid_until"),
                "external_reference_ids": list(data.get("externalReferences") or []),
                "observable_ids": [],
                "label_ids": list(data.get("objectLabel") or []),
            }
            self.indicators[existing["id"]] = existing
        node = self._indicator_node(existing)
        return {"indicatorAdd": {key: node[key] for key in ("id", "standard_id", "entity_type", "parent_types",
                                                            "observables")}}

    # -- observables -------------------------------------------------------------
    def op_StixCyberObservables(self, variables):  # noqa: N802
        filters = self._filters(variables)
        nodes = []
        for observable in self.observables.values():
            ok = True
            for key, values in filters.items():
                if key == "entity_type":
                    ok = ok and observable["entity_type"] in values
                elif key == "value":
                    ok = ok and observable.get("value") in values
                elif key.startswith("hashes."):
                    ok = ok and observable.get("hashes", {}).get(key[len("hashes."):]) in values
                else:
                    raise ValueError("fake OpenCTI: filter key %s not supported" % key)
            if ok:
                nodes.append({k: v for k, v in observable.items() if k not in ("hashes", "value")})
        return {"stixCyberObservables": self._connection(nodes)}

    def op_StixCyberObservableAdd(self, variables):  # noqa: N802
        kind = variables["type"]
        typed = variables.get(OBSERVABLE_INPUTS.get(kind, "")) or {}
        if kind not in OBSERVABLE_INPUTS or not typed:
            raise ValueError("fake OpenCTI: observable type %s without its input" % kind)
        hashes = {h["algorithm"]: h["hash"] for h in typed.get("hashes") or []}
        value = typed.get("value")
        if kind == "StixFile":
            if not hashes:
                raise ValueError("Missing mandatory attribute: hashes or name")
            key = {"hashes": hashes}
            shown = next(iter(hashes.values()))
        else:
            if not value:
                raise ValueError("Missing mandatory attribute: value")
            key = {"value": value}
            shown = value
        sid = standard_id(kind.lower() if kind != "StixFile" else "file", key)
        existing = next((o for o in self.observables.values() if o["standard_id"] == sid), None)
        if existing is None:
            existing = {
                "id": self._new_id(),
                "standard_id": sid,
                "entity_type": kind,
                "parent_types": ["Basic-Object", "Stix-Object", "Stix-Core-Object", "Stix-Cyber-Observable"],
                "observable_value": shown,
                "value": value,
                "hashes": hashes,
                "x_opencti_score": variables.get("x_opencti_score"),
                "x_opencti_description": variables.get("x_opencti_description"),
                "label_ids": list(variables.get("objectLabel") or []),
                "external_reference_ids": list(variables.get("externalReferences") or []),
            }
            self.observables[existing["id"]] = existing
        return {"stixCyberObservableAdd": {key: existing[key] for key in ("id", "standard_id", "entity_type",
                                                                          "parent_types")}}

    # -- labels --------------------------------------------------------------------
    def op_Labels(self, variables):  # noqa: N802
        filters = self._filters(variables)
        nodes = [dict(label) for label in self.labels.values()
                 if all(label.get(key) in values for key, values in filters.items())]
        return {"labels": self._connection(nodes)}

    def op_LabelAdd(self, variables):  # noqa: N802
        value = (variables["input"].get("value") or "").strip()
        if not value:
            raise ValueError("Missing mandatory attribute: value")
        if value not in self.labels:
            now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            self.labels[value] = {"id": self._new_id(), "value": value, "color": "#ff0000", "created_at": now,
                                  "updated_at": now, "standard_id": standard_id("label", {"value": value})}
        return {"labelAdd": dict(self.labels[value])}

    # -- external references ------------------------------------------------------------
    def op_ExternalReference(self, variables):  # noqa: N802
        wanted = variables["id"]
        for reference in self.references.values():
            if wanted in (reference["id"], reference["standard_id"]):
                return {"externalReference": dict(reference)}
        return {"externalReference": None}

    def op_ExternalReferenceAdd(self, variables):  # noqa: N802
        data = variables["input"]
        if data.get("url"):
            sid = standard_id("external-reference", {"url": data["url"]})
        elif data.get("source_name") and data.get("external_id"):
            sid = standard_id("external-reference",
                              {"source_name": data["source_name"], "external_id": data["external_id"]})
        else:
            raise ValueError("Missing mandatory attribute: source_name and external_id, or url")
        if sid not in self.references:
            self.references[sid] = {
                "id": self._new_id(), "standard_id": sid, "entity_type": "External-Reference",
                "parent_types": ["Basic-Object", "Stix-Meta-Object"], "created_at": None, "updated_at": None,
                "created": None, "modified": None, "source_name": data.get("source_name"),
                "description": data.get("description"), "url": data.get("url"), "hash": None,
                "external_id": data.get("external_id"),
            }
        return {"externalReferenceAdd": dict(self.references[sid])}

    # -- relationships -------------------------------------------------------------
    def op_StixCoreRelationshipAdd(self, variables):  # noqa: N802
        data = variables["input"]
        if data.get("relationship_type") != "based-on":
            raise ValueError("fake OpenCTI: only based-on relationships")
        indicator = self.indicators.get(data.get("fromId"))
        observable = self.observables.get(data.get("toId"))
        if indicator is None or observable is None:
            raise ValueError("Restricted entity already exists or not found: %s -> %s"
                             % (data.get("fromId"), data.get("toId")))
        if observable["id"] not in indicator["observable_ids"]:
            indicator["observable_ids"].append(observable["id"])
            self.relationships.append({"id": self._new_id(), "from": indicator["id"], "to": observable["id"],
                                       "relationship_type": "based-on"})
        rel = next(r for r in self.relationships if r["from"] == indicator["id"] and r["to"] == observable["id"])
        return {"stixCoreRelationshipAdd": {"id": rel["id"], "standard_id": "relationship--%s" % uuid.uuid4(),
                                            "entity_type": "based-on", "parent_types": ["basic-relationship"]}}

    # -- paging --------------------------------------------------------------------
    @staticmethod
    def _page(nodes: List[Dict[str, Any]], variables: Dict[str, Any]) -> Dict[str, Any]:
        """A Relay page: ``first`` nodes after the cursor ``after`` (the index of the last node read)."""
        first = int(variables.get("first") or 500)
        start = int(variables["after"]) + 1 if variables.get("after") not in (None, "") else 0
        chunk = nodes[start:start + first]
        end = start + len(chunk) - 1
        return {
            "edges": [{"cursor": str(start + i), "node": node} for i, node in enumerate(chunk)],
            "pageInfo": {"startCursor": str(start) if chunk else "", "endCursor": str(end) if chunk else "",
                         "hasNextPage": start + len(chunk) < len(nodes), "hasPreviousPage": start > 0,
                         "globalCount": len(nodes)},
        }

    @staticmethod
    def _edit_values(item: Dict[str, Any]) -> List[Any]:
        """EditInput.value is [Any]!: GraphQL coerces a single value into a list of one."""
        value = item.get("value")
        return value if isinstance(value, list) else [value]

    @staticmethod
    def _boolean(value: Any, key: str) -> bool:
        """A Boolean attribute from an EditInput value: the UI sends "true"/"false", scripts send true/false."""
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise ValueError("%s expects a boolean, got %r" % (key, value))

    @staticmethod
    def _check_name(name: Any) -> str:
        if not isinstance(name, str) or len(name) < 2 or not name.strip():
            raise ValueError("name: the value must be at least 2 characters and not blank")
        return name

    # -- live streams (stream collections) ------------------------------------------
    @staticmethod
    def _check_filters(text: Any) -> str:
        """The platform parses the FilterGroup and refuses a filter without a key."""
        if text in (None, ""):
            return ""
        try:
            group = json.loads(text)
        except (TypeError, ValueError):
            raise ValueError("Incorrect filters format: not JSON") from None

        def walk(node: Any) -> None:
            if not isinstance(node, dict) or set(node) - {"mode", "filters", "filterGroups"}:
                raise ValueError("Incorrect filters format")
            for item in node.get("filters") or []:
                if not item.get("key"):
                    raise ValueError("A filter key must be defined for every filter")
            for sub in node.get("filterGroups") or []:
                walk(sub)

        walk(group)
        return text

    def op_StreamCollections(self, variables):  # noqa: N802
        return {"streamCollections": self._page([dict(s) for s in self.streams.values()], variables)}

    def op_StreamCollectionAdd(self, variables):  # noqa: N802
        data = variables["input"]
        stream = {
            "id": self._new_id(),
            "name": self._check_name(data.get("name")),
            "description": data.get("description"),
            "filters": self._check_filters(data.get("filters")),
            "stream_live": bool(data.get("stream_live", False)),
            "stream_public": bool(data.get("stream_public", False)),
        }
        self.streams[stream["id"]] = stream
        return {"streamCollectionAdd": dict(stream)}

    def op_StreamCollectionEdit(self, variables):  # noqa: N802
        stream = self.streams.get(variables["id"])
        if stream is None:
            raise ValueError("Cant find element to update")
        for item in variables["input"]:
            key, values = item["key"], self._edit_values(item)
            if key in ("stream_live", "stream_public"):
                stream[key] = self._boolean(values[0], key)
            elif key == "filters":
                stream[key] = self._check_filters(values[0])
            elif key == "name":
                stream[key] = self._check_name(values[0])
            elif key == "description":
                stream[key] = values[0]
            else:
                raise ValueError("Attribute %s is not editable on StreamCollection" % key)
        return {"streamCollectionEdit": {"fieldPatch": dict(stream)}}

    def op_StreamCollectionDelete(self, variables):  # noqa: N802
        if self.streams.pop(variables["id"], None) is None:
            raise ValueError("Cant find element to delete")
        return {"streamCollectionEdit": {"delete": variables["id"]}}

    # -- RSS ingestions -------------------------------------------------------------
    def _rss_node(self, feed: Dict[str, Any]) -> Dict[str, Any]:
        hidden = ("created_by_ref", "object_marking_refs", "user_id")
        node = {key: value for key, value in feed.items() if key not in hidden}
        identity = self.identities.get(feed["created_by_ref"] or "")
        node["defaultCreatedBy"] = {"id": identity["id"], "entity_type": identity["entity_type"],
                                    "name": identity["name"]} if identity else None
        by_id = {m["id"]: m for m in self.markings.values()}
        node["defaultMarkingDefinitions"] = [{"id": mid, "entity_type": "Marking-Definition",
                                              "definition": by_id[mid]["definition"],
                                              "definition_type": by_id[mid]["definition_type"]}
                                             for mid in feed["object_marking_refs"]]
        user = feed["user_id"]
        node["user"] = {"id": user, "entity_type": "User", "name": "user " + user} if user else None
        return node

    def _check_refs(self, created_by: Any, markings: Any) -> None:
        if created_by and created_by not in self.identities:
            raise ValueError("Identity %s not found" % created_by)
        known = {m["id"] for m in self.markings.values()}
        for marking in markings or []:
            if marking not in known:
                raise ValueError("Marking definition %s not found" % marking)

    def op_IngestionRsss(self, variables):  # noqa: N802
        return {"ingestionRsss": self._page([self._rss_node(f) for f in self.rss.values()], variables)}

    def op_IngestionRssAdd(self, variables):  # noqa: N802
        data = variables["input"]
        uri = data.get("uri")
        if not isinstance(uri, str) or len(uri) < 5:
            raise ValueError("uri: the value must be at least 5 characters")
        self._check_refs(data.get("created_by_ref"), data.get("object_marking_refs"))
        unknown = set(data) - {"name", "description", "uri", "current_state_date", "ingestion_running", "user_id",
                               "created_by_ref", "object_marking_refs", "report_types", "scheduling_period"}
        if unknown:
            raise ValueError("Variable \"$input\" got invalid value: field %s is not defined by type "
                             "\"IngestionRssAddInput\"" % sorted(unknown)[0])
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        feed = {
            "id": self._new_id(),
            "standard_id": "ingestion-rss--%s" % uuid.uuid4(),
            "entity_type": "IngestionRss",
            "parent_types": ["Basic-Object", "Internal-Object"],
            "created_at": now,
            "updated_at": now,
            "name": self._check_name(data.get("name")),
            "description": data.get("description"),
            "uri": uri,
            "report_types": list(data.get("report_types") or []),
            "current_state_date": data.get("current_state_date"),
            "ingestion_running": bool(data.get("ingestion_running", False)),
            "scheduling_period": data.get("scheduling_period"),
            "created_by_ref": data.get("created_by_ref") or None,
            "object_marking_refs": list(data.get("object_marking_refs") or []),
            "user_id": data.get("user_id") or None,
        }
        self.rss[feed["id"]] = feed
        return {"ingestionRssAdd": self._rss_node(feed)}

    def op_IngestionRssFieldPatch(self, variables):  # noqa: N802
        feed = self.rss.get(variables["id"])
        if feed is None:
            raise ValueError("Cant find element to update")
        for item in variables["input"]:
            key, values = item["key"], self._edit_values(item)
            if key == "ingestion_running":
                feed[key] = self._boolean(values[0], key)
            elif key in ("report_types", "object_marking_refs"):
                values = [v for v in values if v != ""]
                if key == "object_marking_refs":
                    self._check_refs(None, values)
                feed[key] = values
            elif key in ("created_by_ref", "user_id"):
                value = values[0] if values else None
                if key == "created_by_ref":
                    self._check_refs(value, [])
                feed[key] = value or None
            elif key == "name":
                feed[key] = self._check_name(values[0])
            elif key in ("description", "uri", "current_state_date", "scheduling_period"):
                feed[key] = values[0]
            else:
                raise ValueError("Attribute %s is not editable on IngestionRss" % key)
        return {"ingestionRssFieldPatch": self._rss_node(feed)}

    def op_IngestionRssDelete(self, variables):  # noqa: N802
        if self.rss.pop(variables["id"], None) is None:
            raise ValueError("Cant find element to delete")
        return {"ingestionRssDelete": variables["id"]}

    def advance_rss(self, name: str, date: str) -> None:
        """What the ingestion manager does after reading a feed: its current_state_date moves on."""
        feed = next(f for f in self.rss.values() if f["name"] == name)
        feed["current_state_date"] = date

    # -- markings and identities (pycti's MarkingDefinitions, Identities) ---------------
    def op_MarkingDefinitions(self, variables):  # noqa: N802
        filters = self._filters(variables)
        nodes = [dict(m) for m in self.markings.values()
                 if all(m.get(key) in values for key, values in filters.items())]
        return {"markingDefinitions": self._connection(nodes)}

    def add_identity(self, name: str, entity_type: str = "Organization") -> Dict[str, Any]:
        identity = {"id": self._new_id(), "standard_id": standard_id("identity", {"name": name.lower(),
                                                                                  "identity_class": "organization"}),
                    "entity_type": entity_type, "name": name, "identity_class": "organization"}
        self.identities[identity["id"]] = identity
        return identity

    def op_Identities(self, variables):  # noqa: N802
        filters = self._filters(variables)
        nodes = [dict(i) for i in self.identities.values()
                 if all(i.get(key) in values for key, values in filters.items())]
        return {"identities": self._connection(nodes)}
