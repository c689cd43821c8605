# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenCTI helpers: indicator CSV parsing and validation, and an idempotent importer on pycti.

The parsing half is pure Python (no pycti) so that it can be tested and reused without
a platform. The importer half talks to OpenCTI through pycti's ``OpenCTIApiClient``:
every create is preceded by a lookup, so that a second run with the same CSV sends no
mutation at all.

Look-ups, and why each is the one OpenCTI itself deduplicates on:

* indicator: by the STIX ID OpenCTI derives from the pattern (``Indicator.generate_id``,
  the ``standard_id`` of an indicator is a UUIDv5 of its pattern);
* observable: by ``value`` and ``entity_type`` (IP, domain, URL) or by ``hashes.<ALGO>``
  (file hashes), the filters OpenCTI's own connectors use;
* label: by ``value``; external reference: by its derived STIX ID (URL, or source name
  and external ID).
"""

from __future__ import annotations

import csv
import datetime
import ipaddress
import json
import re
import time
import traceback
import unicodedata
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import (
    ApiError,
    UntrustedAnswer,
    api_argument_spec,
    guard_requests_session,
    is_certificate_failure,
)

try:
    from pycti import OpenCTIApiClient
    from pycti import __version__ as PYCTI_VERSION
    from pycti.entities.opencti_external_reference import ExternalReference as _PyctiExternalReference
    from pycti.entities.opencti_indicator import Indicator as _PyctiIndicator

    HAS_PYCTI = True
    PYCTI_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the "no pycti" unit test through a flag
    OpenCTIApiClient = None
    PYCTI_VERSION = None
    _PyctiExternalReference = None
    _PyctiIndicator = None
    HAS_PYCTI = False
    PYCTI_IMPORT_ERROR = traceback.format_exc()

# The pycti release this collection is tested with; pycti should match the platform.
PYCTI_TESTED_VERSION = "7.261026.0"

COLUMNS = ("type", "value", "score", "labels", "incident_ref", "valid_until", "description")
COLUMN_ALIASES = {
    "incident": "incident_ref",
    "incident_reference": "incident_ref",
    "incident_id": "incident_ref",
    "label": "labels",
    "expires": "valid_until",
}
TYPES = ("ip", "domain", "url", "sha256", "md5", "sha1")

HASHES = {
    # type: (STIX hash name, hex length, pattern key, pycti simple observable key)
    "md5": ("MD5", 32, "file:hashes.MD5", "File.hashes.MD5"),
    "sha1": ("SHA-1", 40, "file:hashes.'SHA-1'", "File.hashes.SHA-1"),
    "sha256": ("SHA-256", 64, "file:hashes.'SHA-256'", "File.hashes.SHA-256"),
}

_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_HEX = re.compile(r"^[0-9a-f]+$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_URL_SCHEMES = ("http", "https", "ftp", "ftps", "sftp", "ws", "wss")
# OWASP's CSV injection list: a cell starting with one of these is run as a formula by a
# spreadsheet (=, +, -, @; tab and carriage return are trimmed by some readers, so the next
# character counts). Such rows are refused, never altered: the CSV is the analyst's and the
# indicator in OpenCTI must say exactly what it says. OpenCTI exports, and the
# spreadsheets opened on them, then never meet one.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class RowError(ValueError):
    """A problem with one CSV row; the message names the column and the fix."""


def stix_quote(value: str) -> str:
    """A STIX pattern string literal: backslash and single quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def normalise_header(name: str) -> str:
    key = re.sub(r"[\s-]+", "_", (name or "").strip().lower())
    return COLUMN_ALIASES.get(key, key)


def check_ip(value: str) -> Tuple[str, str]:
    """(entity type, canonical address) for one IPv4 or IPv6 address."""
    if "/" in value:
        raise RowError("value %r is a network range; list single addresses (type ip takes one address)" % value)
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise RowError("value %r is not an IPv4 or IPv6 address" % value) from None
    return ("IPv4-Addr" if address.version == 4 else "IPv6-Addr"), str(address)


def check_domain(value: str) -> str:
    domain = value.strip().rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise RowError("value %r is not a valid domain name" % value) from None
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise RowError("value %r is not a valid domain name (expected e.g. c2.example.net)" % value)
    return domain


def check_url(value: str) -> str:
    from urllib.parse import urlsplit

    if any(c.isspace() for c in value):
        raise RowError("value %r is not a valid URL (it contains whitespace)" % value)
    try:
        parts = urlsplit(value)
    except ValueError:
        raise RowError("value %r is not a valid URL" % value) from None
    if parts.scheme.lower() not in _URL_SCHEMES or not parts.netloc:
        raise RowError("value %r is not a valid URL (expected scheme://host/..., scheme one of %s)"
                       % (value, ", ".join(_URL_SCHEMES)))
    return value


def check_hash(kind: str, value: str) -> str:
    digest = value.strip().lower()
    name, length = HASHES[kind][0], HASHES[kind][1]
    if len(digest) != length or not _HEX.match(digest):
        raise RowError("value %r is not a %s hash (%d hexadecimal characters)" % (value, name, length))
    return digest


def check_score(raw: str, default: int) -> int:
    text = (raw or "").strip()
    if not text:
        return default
    try:
        score = int(text)
    except ValueError:
        raise RowError("score %r is not an integer; use a whole number from 0 to 100" % raw) from None
    if not 0 <= score <= 100:
        raise RowError("score %d is out of range; use a whole number from 0 to 100" % score)
    return score


def check_valid_until(raw: str, now: datetime.datetime) -> Optional[str]:
    """ISO 8601 date or date-time -> UTC 'YYYY-MM-DDTHH:MM:SS.000Z'; must be in the future."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        if _DATE_ONLY.match(text):
            when = datetime.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
        else:
            iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
            when = datetime.datetime.fromisoformat(iso)
            if when.tzinfo is None:
                when = when.replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise RowError("valid_until %r is not a date; use YYYY-MM-DD or an ISO 8601 date-time such as "
                       "2030-01-31T00:00:00Z" % raw) from None
    when = when.astimezone(datetime.timezone.utc)
    if when <= now:
        raise RowError("valid_until %s is in the past; OpenCTI refuses an indicator that expires before it is "
                       "valid (leave it empty for OpenCTI's default lifetime)" % text)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def printable(text: str, limit: int = 120) -> str:
    """``text`` for a message: control characters escaped, at most ``limit`` characters."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return shown if len(shown) <= limit else shown[:limit] + "..."


def cell_problem(column: str, raw: Optional[str]) -> Optional[str]:
    """Why a cell is refused (a formula a spreadsheet would run, a control character); None when fine."""
    if not raw:
        return None
    candidates = [raw, raw.strip()] + ([part.strip() for part in raw.split(";")] if column == "labels" else [])
    for text in candidates:
        if text[:1] in FORMULA_PREFIXES:
            return ("%s '%s' starts with %r, which a spreadsheet runs as a formula (CSV injection); rows with "
                    "formula-like cells are refused: remove the leading character" % (
                        column, printable(raw), text[:1]))
    for char in raw:
        if unicodedata.category(char) == "Cc" and char not in "\t\r\n":
            return "%s '%s' contains the control character %r; remove it" % (column, printable(raw), char)
    return None


def split_labels(raw: str, defaults: List[str]) -> List[str]:
    labels: List[str] = []
    for label in list(defaults) + (raw or "").split(";"):
        value = label.strip().lower()
        if value and value not in labels:
            labels.append(value)
    return labels


def indicator_spec(row: Dict[str, str], default_score: int, default_labels: List[str],
                   now: datetime.datetime) -> Dict[str, Any]:
    """Validate one CSV row; return what to import, or raise RowError listing every problem."""
    problems: List[str] = [p for p in (cell_problem(column, row.get(column)) for column in COLUMNS) if p]
    if problems:
        raise RowError("; ".join(problems))
    kind = (row.get("type") or "").strip().lower()
    raw_value = (row.get("value") or "").strip()
    spec: Dict[str, Any] = {"type": kind, "value": raw_value}

    if kind not in TYPES:
        problems.append("type %r is unknown; use one of %s" % (row.get("type") or "", ", ".join(TYPES)))
    elif not raw_value:
        problems.append("value is empty")
    else:
        try:
            if kind == "ip":
                entity, value = check_ip(raw_value)
                stix_type = entity.lower()
                spec.update(value=value, observable_type=entity,
                            pattern="[%s:value = %s]" % (stix_type, stix_quote(value)),
                            observable_key="%s.value" % entity, lookup={"key": "value", "entity_type": entity})
            elif kind == "domain":
                value = check_domain(raw_value)
                spec.update(value=value, observable_type="Domain-Name",
                            pattern="[domain-name:value = %s]" % stix_quote(value),
                            observable_key="Domain-Name.value", lookup={"key": "value", "entity_type": "Domain-Name"})
            elif kind == "url":
                value = check_url(raw_value)
                spec.update(value=value, observable_type="Url", pattern="[url:value = %s]" % stix_quote(value),
                            observable_key="Url.value", lookup={"key": "value", "entity_type": "Url"})
            else:
                value = check_hash(kind, raw_value)
                name, _length, pattern_key, observable_key = HASHES[kind]
                spec.update(value=value, observable_type="StixFile",
                            pattern="[%s = %s]" % (pattern_key, stix_quote(value)),
                            observable_key=observable_key,
                            lookup={"key": "hashes.%s" % name, "entity_type": "StixFile"})
        except RowError as exc:
            problems.append(str(exc))

    for check in (
        lambda: spec.__setitem__("score", check_score(row.get("score") or "", default_score)),
        lambda: spec.__setitem__("valid_until", check_valid_until(row.get("valid_until") or "", now)),
    ):
        try:
            check()
        except RowError as exc:
            problems.append(str(exc))

    if problems:
        raise RowError("; ".join(problems))
    spec["labels"] = split_labels(row.get("labels") or "", default_labels)
    spec["incident_ref"] = (row.get("incident_ref") or "").strip() or None
    spec["description"] = (row.get("description") or "").strip() or None
    return spec


def parse_csv(text: str, delimiter: str, default_score: int, default_labels: List[str],
              now: Optional[datetime.datetime] = None) -> Dict[str, Any]:
    """Parse and validate the CSV text.

    Returns ``{"rows": [...valid specs with 'line'...], "errors": [...], "skipped": [...],
    "unknown_columns": [...]}``. Raises ValueError when the file itself is unusable
    (no header, no ``type`` or ``value`` column).
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    # Comment lines (starting with #) and blank lines are not rows.
    lines = [(number, line) for number, line in enumerate(text.splitlines(keepends=True), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ValueError("the CSV is empty: expected a header line %s and one indicator a line" % ",".join(COLUMNS))
    reader = csv.reader([line for _number, line in lines], delimiter=delimiter, strict=True)
    records: List[Tuple[int, List[str]]] = []
    start = 0
    try:
        for record in reader:
            # A quoted field may span lines: the record starts where the previous one ended.
            records.append((lines[start][0], record))
            start = reader.line_num
    except csv.Error as exc:
        line = lines[min(start, len(lines) - 1)][0]
        raise ValueError("the CSV cannot be read at line %d: %s" % (line, exc)) from None
    header_line = records[0][1]
    header = [normalise_header(name) for name in header_line]
    missing = [name for name in ("type", "value") if name not in header]
    if missing:
        raise ValueError("the CSV header %r has no %s column; the first line must name the columns, e.g. %s"
                         % (",".join(header_line), " or ".join(missing), ",".join(COLUMNS)))
    unknown = [name for name in header if name not in COLUMNS]

    rows: List[Dict[str, Any]] = []
    errors: List[Dict[str, Any]] = []
    skipped: List[Dict[str, Any]] = []
    seen: Dict[Tuple[str, str], int] = {}
    for line, record in records[1:]:
        if len(record) > len(header):
            errors.append({"line": line, "type": record[0] if record else "", "value": "",
                           "error": "%d fields for %d columns; quote values that contain the delimiter %r"
                           % (len(record), len(header), delimiter)})
            continue
        row = dict(zip(header, record))
        try:
            spec = indicator_spec(row, default_score, default_labels, now)
        except RowError as exc:
            errors.append({"line": line, "type": (row.get("type") or "").strip(),
                           "value": (row.get("value") or "").strip(), "error": str(exc)})
            continue
        key = (spec["observable_type"], spec["value"])
        if key in seen:
            skipped.append({"line": line, "type": spec["type"], "value": spec["value"],
                            "reason": "duplicate of line %d" % seen[key]})
            continue
        seen[key] = line
        spec["line"] = line
        rows.append(spec)
    return {"rows": rows, "errors": errors, "skipped": skipped, "unknown_columns": unknown}


# --------------------------------------------------------------------------- importer

HEALTH_QUERY = """
    query healthCheck {
        about {
            version
        }
    }
"""

INDICATOR_ATTRIBUTES = """
    id
    standard_id
    entity_type
    pattern
    name
    x_opencti_score
    valid_until
    observables {
        edges {
            node {
                id
                entity_type
                observable_value
            }
        }
    }
"""

OBSERVABLE_ATTRIBUTES = """
    id
    standard_id
    entity_type
    observable_value
"""


class OpenCTIError(Exception):
    """The platform refused a request or could not be reached."""


def error_message(exc: Exception) -> str:
    """pycti raises ValueError({'name': ..., 'error_message': ...}) for GraphQL errors."""
    if exc.args and isinstance(exc.args[0], dict):
        detail = exc.args[0]
        return "%s: %s" % (detail.get("name", "error"), detail.get("error_message", detail))
    return str(exc)


class IndicatorImporter:
    """Look up, then create what is missing, one CSV row at a time."""

    def __init__(self, client: Any, check_mode: bool, options: Dict[str, Any]):
        self.client = client
        self.check_mode = check_mode
        self.options = options
        self._labels: Dict[str, str] = {}
        self._references: Dict[Tuple[str, str], str] = {}

    # -- look-ups ---------------------------------------------------------------
    def find_indicator(self, spec: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        standard_id = _PyctiIndicator.generate_id(spec["pattern"])
        return self.client.indicator.read(id=standard_id, customAttributes=INDICATOR_ATTRIBUTES)

    def find_observable(self, spec: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        lookup = spec["lookup"]
        return self.client.stix_cyber_observable.read(
            filters={
                "mode": "and",
                "filters": [
                    {"key": "entity_type", "values": [lookup["entity_type"]]},
                    {"key": lookup["key"], "values": [spec["value"]]},
                ],
                "filterGroups": [],
            },
            customAttributes=OBSERVABLE_ATTRIBUTES,
        )

    def label_id(self, value: str) -> str:
        if value not in self._labels:
            label = self.client.label.read(
                filters={"mode": "and", "filters": [{"key": "value", "values": [value]}], "filterGroups": []})
            if label is None:
                label = self.client.label.create(value=value)
            if not label:
                raise OpenCTIError("label %r could not be read or created (the token needs the right to create labels)"
                                   % value)
            self._labels[value] = label["id"]
        return self._labels[value]

    def reference_id(self, ref: str) -> str:
        is_url = bool(re.match(r"^[a-z][a-z0-9+.-]*://", ref, re.I))
        source = self.options["incident_source_name"]
        key = ("url", ref) if is_url else (source, ref)
        if key not in self._references:
            if is_url:
                standard_id = _PyctiExternalReference.generate_id(url=ref)
                kwargs = {"source_name": source, "url": ref}
            else:
                standard_id = _PyctiExternalReference.generate_id(source_name=source, external_id=ref)
                kwargs = {"source_name": source, "external_id": ref}
            reference = self.client.external_reference.read(id=standard_id)
            if reference is None:
                reference = self.client.external_reference.create(**kwargs)
            if not reference:
                raise OpenCTIError("external reference %r could not be read or created" % ref)
            self._references[key] = reference["id"]
        return self._references[key]

    # -- one row ------------------------------------------------------------------
    def import_row(self, spec: Dict[str, Any]) -> Dict[str, Any]:
        """Return {'actions': [...], 'indicator_id', 'observable_id'}; actions empty when all exists."""
        indicator = self.find_indicator(spec)
        observable = self.find_observable(spec) if self.options["create_observables"] else None
        actions: List[str] = []
        if indicator is None:
            actions.append("indicator")
        if self.options["create_observables"]:
            if observable is None:
                actions.append("observable")
            # pycti flattens the indicator's observables connection into observablesIds.
            linked = indicator is not None and observable is not None and observable["id"] in (
                indicator.get("observablesIds") or [])
            if not linked:
                actions.append("relationship")
        result = {
            "actions": actions,
            "indicator_id": indicator["id"] if indicator else None,
            "observable_id": observable["id"] if observable else None,
        }
        if not actions or self.check_mode:
            return result

        labels = [self.label_id(value) for value in spec["labels"]]
        references = [self.reference_id(spec["incident_ref"])] if spec["incident_ref"] else []
        if observable is None and "observable" in actions:
            observable = self.client.stix_cyber_observable.create(
                simple_observable_key=spec["observable_key"],
                simple_observable_value=spec["value"],
                simple_observable_description=spec["description"],
                x_opencti_score=spec["score"],
                objectLabel=labels or None,
                externalReferences=references or None,
                resolve_result_indicators=False,
            )
            if not observable:
                raise OpenCTIError("OpenCTI returned no observable for %s" % spec["value"])
            result["observable_id"] = observable["id"]
        if indicator is None:
            indicator = self.client.indicator.create(
                name=spec["value"],
                pattern=spec["pattern"],
                pattern_type="stix",
                x_opencti_main_observable_type=spec["observable_type"],
                x_opencti_score=spec["score"],
                x_opencti_detection=self.options["detection"],
                description=spec["description"],
                valid_until=spec["valid_until"],
                indicator_types=self.options["indicator_types"] or None,
                objectLabel=labels or None,
                externalReferences=references or None,
            )
            if not indicator:
                raise OpenCTIError("OpenCTI returned no indicator for %s" % spec["pattern"])
            result["indicator_id"] = indicator["id"]
        if "relationship" in actions:
            self.client.stix_core_relationship.create(
                fromId=result["indicator_id"],
                toId=result["observable_id"],
                relationship_type="based-on",
            )
        return result


def connect(params: Dict[str, Any], sleep: Callable[[float], None] = time.sleep) -> Tuple[Any, str]:
    """A pycti client after a bounded health check (the ``about`` query); (client, platform version)."""
    verify: Any = params["validate_certs"]
    if verify and params.get("ca_path"):
        verify = params["ca_path"]
    cert: Any = None
    if params.get("client_cert"):
        cert = (params["client_cert"], params["client_key"]) if params.get("client_key") else params["client_cert"]
    try:
        client = OpenCTIApiClient(
            params["url"],
            params["api_token"],
            log_level="error",
            ssl_verify=verify,
            cert=cert,
            perform_health_check=False,
            requests_timeout=params["timeout"],
        )
    except ValueError as exc:
        raise OpenCTIError(error_message(exc)) from None
    # Redirects, answers that are not JSON objects, bodies cut short: vigil_http's rules.
    session = getattr(client, "session", None)
    if session is None or not hasattr(session, "hooks"):
        raise OpenCTIError("this pycti release (%s) has no requests session to hold to Vigil's transport rules "
                           "(no credentials to another origin, JSON answers only); install pycti==%s"
                           % (PYCTI_VERSION, PYCTI_TESTED_VERSION))
    guard_requests_session(session, params["url"])
    attempts = max(0, params["retries"]) + 1
    last = ""
    for attempt in range(attempts):
        try:
            answer = client.query(HEALTH_QUERY)
            return client, ((answer.get("data") or {}).get("about") or {}).get("version") or "unknown"
        except UntrustedAnswer as exc:
            raise OpenCTIError("OpenCTI at %s: %s" % (params["url"], exc)) from None
        except Exception as exc:  # pylint: disable=broad-except - requests and pycti raise many kinds
            last = str(exc) if isinstance(exc, ApiError) else error_message(exc)
            if "AUTH_REQUIRED" in last or "ForbiddenAccess" in last or is_certificate_failure(last):
                break
            if attempt + 1 < attempts:
                sleep(params["retry_delay"])
    raise OpenCTIError("OpenCTI at %s did not answer the health query (about.version) after %d attempt(s): %s"
                       % (params["url"], attempts, last))


# --------------------------------------------------------------------------- connection options

def connection_argument_spec() -> Dict[str, Dict[str, Any]]:
    """The options every OpenCTI module takes (doc fragment vigil.monitoring.opencti): the API
    modules' connection options, with a required bearer token and no basic auth."""
    spec = {name: option for name, option in api_argument_spec().items() if name not in ("url_username", "url_password")}
    spec["api_token"] = dict(type="str", required=True, no_log=True, aliases=["token"])
    return spec


def connection_problem(params: Dict[str, Any]) -> Optional[str]:
    """What is wrong with the connection options, in words a person can act on; None when fine."""
    if not params["url"].startswith(("http://", "https://")):
        return "url %r must start with http:// or https:// (for example https://opencti.example.org)" % params["url"]
    if params["client_key"] and not params["client_cert"]:
        return "client_key is set without client_cert; give both for mutual TLS"
    if not params["api_token"].strip():
        return "api_token is empty; pass the OpenCTI API token (from the vault)"
    if params["retries"] < 0 or params["timeout"] < 1:
        return "retries must be 0 or more and timeout 1 or more (seconds)"
    return None


# --------------------------------------------------------------------------- GraphQL calls
#
# pycti has no entity classes for stream collections or RSS ingestions, so the modules
# that manage them send OpenCTI's documented operations themselves, through the pycti
# client's ``query`` (same session, same transport rules as every pycti call).

# How many nodes one page of a list query asks for, and how many pages are read at most.
PAGE_SIZE = 100
MAX_PAGES = 50


def run_graphql(client: Any, query: str, variables: Dict[str, Any], field: str) -> Any:
    """``data.<field>`` of one GraphQL operation; OpenCTIError for an error or an answer without it."""
    answer = call(client.query, query=query, variables=variables)
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict) or field not in data:
        raise OpenCTIError("OpenCTI answered the %s operation without data.%s" % (field, field))
    return data[field]


def list_query(operation: str, field: str, selection: str) -> str:
    """A paged list query (Relay connection) of ``field``, each node with ``selection``."""
    return ("query %s($first: Int, $after: ID) {\n  %s(first: $first, after: $after) {\n"
            "    edges { node { %s } }\n    pageInfo { endCursor hasNextPage }\n  }\n}\n" % (operation, field, selection))


def list_nodes(client: Any, query: str, field: str, variables: Optional[Dict[str, Any]] = None,
               page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES) -> List[Dict[str, Any]]:
    """Every node of a Relay connection (``edges { node }``, ``pageInfo``), page after page (bounded)."""
    nodes: List[Dict[str, Any]] = []
    after = None
    for _page in range(max_pages):
        connection = run_graphql(client, query, dict(variables or {}, first=page_size, after=after), field)
        if not isinstance(connection, dict) or not isinstance(connection.get("edges"), list):
            raise OpenCTIError("OpenCTI answered %s with %r, not a connection (edges, pageInfo)"
                               % (field, printable(str(connection), 80)))
        for edge in connection["edges"]:
            node = edge.get("node") if isinstance(edge, dict) else None
            if not isinstance(node, dict) or not node.get("id"):
                raise OpenCTIError("OpenCTI answered %s with an edge that has no node id" % field)
            nodes.append(node)
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            return nodes
        after = page.get("endCursor")
        if not after:
            raise OpenCTIError("OpenCTI says %s has a next page but gives no endCursor" % field)
    raise OpenCTIError("%s has more than %d pages of %d; stopped reading" % (field, max_pages, page_size))


def find_by(nodes: List[Dict[str, Any]], key: str, value: Any, what: str) -> Optional[Dict[str, Any]]:
    """The one node whose ``key`` equals ``value``; None when there is none; OpenCTIError when several."""
    found = [node for node in nodes if node.get(key) == value]
    if len(found) > 1:
        raise OpenCTIError("%d %s have %s %r (ids %s); delete the extra ones in OpenCTI so that the name "
                           "names one" % (len(found), what, key, value, ", ".join(n["id"] for n in found)))
    return found[0] if found else None


def eq_filter(key: str, value: str) -> Dict[str, Any]:
    """A FilterGroup with one ``eq`` filter, the form pycti's read(filters=...) takes."""
    return {"mode": "and", "filters": [{"key": key, "values": [value]}], "filterGroups": []}


def call(function: Callable[..., Any], **kwargs: Any) -> Any:
    """A pycti call with pycti's and requests' errors turned into OpenCTIError."""
    try:
        return function(**kwargs)
    except UntrustedAnswer as exc:
        raise OpenCTIError(str(exc)) from None
    except ValueError as exc:
        raise OpenCTIError(error_message(exc)) from None
    except Exception as exc:  # requests raises many kinds (connection, timeout)  # pylint: disable=broad-except
        raise OpenCTIError(str(exc)) from None


def fail_without_pycti(module: Any) -> None:
    """fail_json with the install command when pycti is missing."""
    if not HAS_PYCTI:
        module.fail_json(msg=missing_required_lib("pycti", url="https://pypi.org/project/pycti/")
                         + " Install the release matching your OpenCTI platform where this task runs, for example "
                           "'pip install pycti==%s' (pycti needs Python 3.9 or later)." % PYCTI_TESTED_VERSION,
                         exception=PYCTI_IMPORT_ERROR)


# --------------------------------------------------------------------------- filters of a stream

def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def normalise_filter_group(group: Any, where: str = "filters") -> Dict[str, Any]:
    """An OpenCTI FilterGroup (a dict, or the JSON text OpenCTI stores) in one canonical form.

    Filters and groups are sorted, values too; a filter's ``operator`` defaults to ``eq`` and
    its ``mode`` to ``or``, as OpenCTI reads them. ValueError names what is malformed.
    """
    if isinstance(group, str):
        if not group.strip():
            group = None
        else:
            try:
                group = json.loads(group)
            except ValueError:
                raise ValueError("%s is not JSON: %s" % (where, printable(group, 80))) from None
    if not group:
        return {"mode": "and", "filters": [], "filterGroups": []}
    if not isinstance(group, dict):
        raise ValueError("%s must be a FilterGroup (mode, filters, filterGroups), not %r" % (where, group))
    unknown = sorted(set(group) - {"mode", "filters", "filterGroups"})
    if unknown:
        raise ValueError("%s has unknown keys %s; a FilterGroup has mode, filters and filterGroups"
                         % (where, ", ".join(unknown)))
    mode = group.get("mode") or "and"
    if mode not in ("and", "or"):
        raise ValueError("%s.mode is %r; use and or or" % (where, mode))
    filters = []
    for index, item in enumerate(group.get("filters") or []):
        here = "%s.filters[%d]" % (where, index)
        if not isinstance(item, dict) or "key" not in item or "values" not in item:
            raise ValueError("%s must have key and values" % here)
        keys = item["key"] if isinstance(item["key"], list) else [item["key"]]
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise ValueError("%s.key must name the attribute to filter on, e.g. entity_type" % here)
        values = item["values"] if isinstance(item["values"], list) else [item["values"]]
        filters.append({"key": keys, "values": sorted(values, key=_sort_key),
                        "operator": item.get("operator") or "eq", "mode": item.get("mode") or "or"})
    groups = [normalise_filter_group(sub, "%s.filterGroups[%d]" % (where, index))
              for index, sub in enumerate(group.get("filterGroups") or [])]
    return {"mode": mode, "filters": sorted(filters, key=_sort_key), "filterGroups": sorted(groups, key=_sort_key)}


def stream_filter_group(entity_types: List[str], label_ids: List[str]) -> Dict[str, Any]:
    """Entities of these types (any of them) that carry one of these labels (any; none: no label filter)."""
    filters = []
    if entity_types:
        filters.append({"key": ["entity_type"], "values": list(entity_types), "operator": "eq", "mode": "or"})
    if label_ids:
        filters.append({"key": ["objectLabel"], "values": list(label_ids), "operator": "eq", "mode": "or"})
    return normalise_filter_group({"mode": "and", "filters": filters, "filterGroups": []})


def filters_text(group: Dict[str, Any]) -> str:
    """The FilterGroup as the JSON text OpenCTI stores in ``filters``."""
    return json.dumps(group, separators=(",", ":"), sort_keys=True)


def resolve_labels(client: Any, values: List[str], create: bool) -> Tuple[Dict[str, Optional[str]], List[str]]:
    """({label value: id or None when missing and not created}, [values created]), labels looked up by value."""
    ids: Dict[str, Optional[str]] = {}
    created: List[str] = []
    for value in values:
        label = call(client.label.read, filters=eq_filter("value", value))
        if label is None and create:
            label = call(client.label.create, value=value)
            if not label:
                raise OpenCTIError("label %r could not be created (the token needs the right to create labels)" % value)
            created.append(value)
        ids[value] = label["id"] if label else None
    return ids, created


# --------------------------------------------------------------------------- one object, by name

def created_id(created: Any, what: str) -> str:
    """The id of an object an Add mutation returned; OpenCTIError when there is none."""
    if not isinstance(created, dict) or not created.get("id"):
        raise OpenCTIError("OpenCTI created the %s but returned no id" % what)
    return created["id"]


def apply_state(check_mode: bool, state: str, existing: Optional[Dict[str, Any]],
                edits: Callable[[], List[Dict[str, Any]]], create: Callable[[], str],
                update: Callable[[List[Dict[str, Any]]], Any], delete: Callable[[], Any]) -> Dict[str, Any]:
    """The compare / check mode / write core of the modules that manage one object found by name.

    ``edits()`` lists the EditInput entries that would bring ``existing`` to what is asked (empty:
    nothing differs); ``create()`` returns the new id. Nothing is written in check mode. Returns
    ``{"changed", "id"}`` (the id is None when absent, or in check mode before the object exists).
    """
    result: Dict[str, Any] = {"changed": False, "id": existing["id"] if existing else None}
    if state == "absent":
        if existing:
            result.update(changed=True, id=None)
            if not check_mode:
                delete()
        return result
    if existing is None:
        result["changed"] = True
        if not check_mode:
            result["id"] = create()
        return result
    changes = edits()
    if changes:
        result["changed"] = True
        if not check_mode:
            update(changes)
    return result
