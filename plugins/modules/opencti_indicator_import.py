#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Import a CSV of IOCs into OpenCTI as indicators and observables, idempotently."""

from __future__ import annotations

DOCUMENTATION = r"""
module: opencti_indicator_import
short_description: Import a CSV of IOCs into OpenCTI as indicators and observables
version_added: 0.1.0
description:
  - Reads a CSV of indicators of compromise (IP addresses, domains, URLs, MD5, SHA-1 and SHA-256
    file hashes) and creates, in OpenCTI, for each row an B(indicator) (STIX pattern), an
    B(observable) and the C(based-on) relationship between them, with the row's score, labels,
    incident reference (an external reference), expiry (C(valid_until)) and description.
  - B(Idempotent.) Before creating anything the module looks each row up, the way OpenCTI itself
    deduplicates - the indicator by the STIX ID OpenCTI derives from its pattern, the observable by
    its value (or hash) and type - and creates only what is missing. A second run with the same CSV
    sends no mutation and reports no change. Existing indicators are never modified (a changed score
    or label in the CSV does not update them); edit those in OpenCTI.
  - B(Per-row errors.) Every row is validated first (known type, well-formed IP address, domain,
    URL or hash, score 0-100, a date in the future). A malformed row is reported in RV(errors) with
    its line number and the reason; one warning gives their number and the first five. The valid
    rows are imported anyway. Set O(fail_on_row_errors) to fail the task (after importing the valid
    rows) when any row is malformed. A row OpenCTI refuses is reported the same way.
  - B(Formula-like cells are refused.) A row with a cell (or a label) that starts with C(=),
    C(+), C(-), C(@), a tab or a carriage return - what a spreadsheet runs as a formula (CSV
    injection, as OWASP lists it) - or that holds a control character is a row error; the row
    is not imported and nothing in it is altered.
  - B(Strict UTF-8.) The file must be UTF-8 (a byte-order mark is allowed). A file in another
    encoding (Latin-1, Windows-1252) fails the task before anything is imported, naming the
    first byte that is not UTF-8 and its line; O(content) holding lone surrogates or U+FFFD
    (what is left of such bytes after another decoding) fails the same way.
  - "CSV format: a header line naming the columns, then one indicator a line. Columns: C(type)
    (V(ip), V(domain), V(url), V(sha256), V(md5), V(sha1)) and C(value) are required;
    C(score) (0-100, default O(default_score)), C(labels) (separated by C(;)), C(incident_ref) (an
    incident ID such as C(INC-2024-0042), or a URL), C(valid_until) (C(YYYY-MM-DD) or an ISO 8601
    date-time) and C(description) are optional. Lines starting with C(#) and blank lines are
    ignored. A value that repeats in the file is imported once (later lines in RV(skipped))."
  - "Uses L(pycti,https://pypi.org/project/pycti/), OpenCTI's Python client, on the host that runs
    the task (usually C(delegate_to: localhost)). Install the pycti release that matches the
    platform (this collection is tested with pycti 7.261026.0); the module warns when they differ."
  - The token (O(api_token)) must be allowed to create indicators, observables, labels and external references.
extends_documentation_fragment: [vigil.monitoring.opencti, vigil.monitoring.api.transport]
options:
  path:
    description: CSV file to import, on the host that runs the task. Mutually exclusive with O(content).
    type: path
  content:
    description: CSV text to import. Mutually exclusive with O(path).
    type: str
  delimiter:
    description: Field delimiter of the CSV, one character.
    type: str
    default: ","
  default_score:
    description: Score (C(x_opencti_score), 0-100) of rows whose C(score) column is empty.
    type: int
    default: 50
  default_labels:
    description:
      - Labels added to every imported row, on top of the row's own (for example the feed's name). Labels are
        stored in lower case.
    type: list
    elements: str
    default: []
  indicator_types:
    description: STIX indicator types of the created indicators.
    type: list
    elements: str
    default: [malicious-activity]
  detection:
    description:
      - Set C(x_opencti_detection) on created indicators, so that detection tooling (for example the Elastic
        connector) exports them.
    type: bool
    default: true
  create_observables:
    description:
      - Create the observable and the C(based-on) relationship as well as the indicator. With V(false) only
        indicators are created and looked up.
    type: bool
    default: true
  incident_source_name:
    description: C(source_name) of the external reference created from an C(incident_ref) that is not a URL.
    type: str
    default: vigil-incident
  fail_on_row_errors:
    description:
      - Fail the task when any row is malformed or refused. The valid rows are imported first either way, so
        a failed run has still imported them (and the next run does not import them again).
    type: bool
    default: false
attributes:
  check_mode:
    description: Check mode looks every row up and reports what would be created, without sending any mutation.
    support: full
  diff_mode:
    description: Diff mode lists the indicator patterns found before the task and after it.
    support: full
notes:
  - Existing indicators and observables are not updated; the module only creates what is missing.
  - Labels and external references are created when a row needs them (never in check mode).
seealso:
  - name: OpenCTI indicators
    description: OpenCTI's documentation of indicators and observables.
    link: https://docs.opencti.io/latest/usage/exploring-observations/
"""

EXAMPLES = r"""
- name: Import the incident IOC list into OpenCTI
  vigil.monitoring.opencti_indicator_import:
    url: https://opencti.example.org
    api_token: "{{ vault_opencti_import_token }}"
    path: "{{ playbook_dir }}/files/iocs/inc-2024-0042.csv"
    default_labels: [vigil-import]
  delegate_to: localhost
  run_once: true
  register: ioc_import

- name: Show the rows OpenCTI or the validation refused
  ansible.builtin.debug:
    var: ioc_import.errors
  when: ioc_import.errors | length > 0

- name: Import a few indicators written inline, failing on any bad row
  vigil.monitoring.opencti_indicator_import:
    url: https://opencti.example.org
    api_token: "{{ vault_opencti_import_token }}"
    ca_path: /etc/vigil/tls/ca.crt
    content: |
      type,value,score,labels,incident_ref,valid_until,description
      ip,203.0.113.66,90,c2;cobalt-strike,INC-2024-0042,2030-01-31,Beacon seen on the DMZ proxy
      domain,update-check.example.net,80,c2,INC-2024-0042,,Fallback C2 domain
    fail_on_row_errors: true
  delegate_to: localhost
"""

RETURN = r"""
created:
  description:
    - Rows for which something was created (in check mode, would be created). C(created) lists what -
      C(indicator), C(observable), C(relationship).
  returned: always
  type: list
  elements: dict
  sample:
    - {line: 2, type: ip, value: 203.0.113.66, pattern: "[ipv4-addr:value = '203.0.113.66']",
       created: [indicator, observable, relationship], indicator_id: 0c1e..., observable_id: 7f2a...}
unchanged:
  description: Rows whose indicator, observable and relationship already exist.
  returned: always
  type: list
  elements: dict
errors:
  description: Rows not imported, with their line number in the file and the reason (malformed, or refused by OpenCTI).
  returned: always
  type: list
  elements: dict
  sample:
    - {line: 5, type: ip, value: 10.0.0.300, error: "value '10.0.0.300' is not an IPv4 or IPv6 address"}
skipped:
  description: Rows repeating a value of an earlier line, not imported twice.
  returned: always
  type: list
  elements: dict
summary:
  description:
    - Counts - C(rows), C(valid), C(created_indicators), C(created_observables), C(created_relationships),
      C(unchanged), C(errors), C(skipped).
  returned: always
  type: dict
platform_version:
  description: Version of the OpenCTI platform (its C(about) query).
  returned: always
  type: str
diff:
  description: Indicator patterns of the CSV found in OpenCTI before the task (C(before)) and after it (C(after)).
  returned: when diff mode is on
  type: dict
"""

import datetime  # noqa: E402
import os  # noqa: E402
from typing import Any, Dict, List  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils import opencti  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import ApiModule  # noqa: E402


def argument_spec() -> Dict[str, Dict[str, Any]]:
    return dict(
        opencti.connection_argument_spec(),
        path=dict(type="path"),
        content=dict(type="str"),
        delimiter=dict(type="str", default=","),
        default_score=dict(type="int", default=50),
        default_labels=dict(type="list", elements="str", default=[]),
        indicator_types=dict(type="list", elements="str", default=["malicious-activity"]),
        detection=dict(type="bool", default=True),
        create_observables=dict(type="bool", default=True),
        incident_source_name=dict(type="str", default="vigil-incident"),
        fail_on_row_errors=dict(type="bool", default=False),
    )


def check_options(module: AnsibleModule) -> None:
    params = module.params
    problem = opencti.connection_problem(params)
    if problem:
        module.fail_json(msg=problem)
    if len(params["delimiter"]) != 1:
        module.fail_json(msg="delimiter %r must be exactly one character, for example ',' or ';'" % params["delimiter"])
    if not 0 <= params["default_score"] <= 100:
        module.fail_json(msg="default_score %d is out of range; use a whole number from 0 to 100"
                         % params["default_score"])


UTF8_HINT = ("save it as UTF-8 (a spreadsheet's 'CSV UTF-8', or iconv -f latin1 -t utf-8 for a Latin-1 file); "
             "nothing was imported")
# How many bad rows the warning shows; all of them are in the result's 'errors'.
WARNED_ROWS = 5


def position(data: Any, offset: int) -> str:
    """'line L, column C' of an offset in bytes or text."""
    newline = b"\n" if isinstance(data, bytes) else "\n"
    line = data.count(newline, 0, offset) + 1
    column = offset - (data.rfind(newline, 0, offset) + 1) + 1
    return "line %d, column %d" % (line, column)


def decode_csv(data: bytes, source: str) -> str:
    """Strict UTF-8 (a leading byte-order mark is dropped); ValueError naming the first bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("%s is not UTF-8 text: byte 0x%02x at %s is not UTF-8; %s"
                         % (source, data[exc.start], position(data, exc.start), UTF8_HINT)) from None
    return text.lstrip("\ufeff")


def check_text(text: str, source: str) -> str:
    """Text that went through another decoding (surrogates, U+FFFD) is refused, like a non-UTF-8 file."""
    for offset, char in enumerate(text):
        if "\ud800" <= char <= "\udfff" or char == "\ufffd":
            raise ValueError("%s is not clean UTF-8 text: %s at %s is what is left of bytes that were not UTF-8; %s"
                             % (source, "a lone surrogate" if char != "\ufffd" else "U+FFFD (replacement character)",
                                position(text, offset), UTF8_HINT))
    return text.lstrip("\ufeff")


def read_csv(module: AnsibleModule) -> str:
    try:
        if module.params["content"] is not None:
            return check_text(module.params["content"], "content")
        path = module.params["path"]
        if not os.path.isfile(path):
            module.fail_json(msg="path %s does not exist or is not a file on %s (the module reads the CSV where the "
                                 "task runs; use delegate_to: localhost for a file on the controller, or pass content)"
                             % (path, os.uname()[1]))
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            module.fail_json(msg="cannot read %s: %s" % (path, exc))
        return decode_csv(data, path)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    return ""  # pragma: no cover - fail_json does not return


def warn_rows(module: AnsibleModule, errors: List[Dict[str, Any]]) -> None:
    """One warning for all bad rows: the count and the first few (every row is in the result's errors)."""
    if not errors:
        return
    shown = ["line %s (%s %s): %s" % (e["line"], opencti.printable(e.get("type") or "?", 20),
                                      opencti.printable(e.get("value") or "?", 60), opencti.printable(e["error"], 200))
             for e in errors[:WARNED_ROWS]]
    more = " (and %d more)" % (len(errors) - WARNED_ROWS) if len(errors) > WARNED_ROWS else ""
    module.warn("%d row(s) not imported, listed in 'errors'; %s%s" % (len(errors), "; ".join(shown), more))


def main() -> None:
    module = ApiModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("path", "content")],
        required_one_of=[("path", "content")],
        supports_check_mode=True,
    )
    opencti.fail_without_pycti(module)
    check_options(module)
    params = module.params

    try:
        parsed = opencti.parse_csv(read_csv(module), params["delimiter"], params["default_score"],
                                   params["default_labels"], datetime.datetime.now(datetime.timezone.utc))
    except ValueError as exc:
        module.fail_json(msg="%s: %s" % (params["path"] or "content", exc))
    if parsed["unknown_columns"]:
        module.warn("CSV columns %s are not used (known columns: %s)"
                    % (", ".join(parsed["unknown_columns"]), ", ".join(opencti.COLUMNS)))

    try:
        client, platform_version = opencti.connect(params)
    except opencti.OpenCTIError as exc:
        module.fail_json(msg=str(exc), hint="check url, api_token and the platform's health "
                                            "(/health?health_access_key=...)")
    if platform_version != opencti.PYCTI_VERSION:
        module.warn("pycti %s talks to OpenCTI %s; install the matching client (pip install pycti==%s) if "
                    "requests fail" % (opencti.PYCTI_VERSION, platform_version, platform_version))

    importer = opencti.IndicatorImporter(client, module.check_mode, params)
    created: List[Dict[str, Any]] = []
    unchanged: List[Dict[str, Any]] = []
    errors: List[Dict[str, Any]] = list(parsed["errors"])
    before: List[str] = []
    after: List[str] = []
    for spec in parsed["rows"]:
        row = {"line": spec["line"], "type": spec["type"], "value": spec["value"], "pattern": spec["pattern"]}
        try:
            outcome = importer.import_row(spec)
        except (ValueError, opencti.OpenCTIError) as exc:
            errors.append(dict(row, error="OpenCTI refused the row: %s" % opencti.error_message(exc)))
            continue
        except Exception as exc:  # pylint: disable=broad-except - connection lost: stop, report what was done
            module.fail_json(msg="import stopped at line %d: %s" % (spec["line"], exc), created=created,
                             unchanged=unchanged, errors=errors, skipped=parsed["skipped"])
        row.update(indicator_id=outcome["indicator_id"], observable_id=outcome["observable_id"])
        if "indicator" not in outcome["actions"]:
            before.append(spec["pattern"])
        after.append(spec["pattern"])
        if outcome["actions"]:
            created.append(dict(row, created=outcome["actions"]))
        else:
            unchanged.append(row)

    warn_rows(module, errors)
    summary = {
        "rows": len(parsed["rows"]) + len(parsed["errors"]) + len(parsed["skipped"]),
        "valid": len(parsed["rows"]),
        "created_indicators": sum(1 for row in created if "indicator" in row["created"]),
        "created_observables": sum(1 for row in created if "observable" in row["created"]),
        "created_relationships": sum(1 for row in created if "relationship" in row["created"]),
        "unchanged": len(unchanged),
        "errors": len(errors),
        "skipped": len(parsed["skipped"]),
    }
    result: Dict[str, Any] = dict(
        changed=bool(created),
        created=created,
        unchanged=unchanged,
        errors=errors,
        skipped=parsed["skipped"],
        summary=summary,
        platform_version=platform_version,
    )
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before": "\n".join(sorted(before)) + ("\n" if before else ""),
                          "after": "\n".join(sorted(after)) + ("\n" if after else "")}
    if errors and params["fail_on_row_errors"]:
        result["msg"] = ("%d row(s) not imported (see errors); the other %d row(s) were %s"
                         % (len(errors), len(created) + len(unchanged),
                            "checked" if module.check_mode else "imported or already in OpenCTI"))
        module.fail_json(**result)
    result["msg"] = ("%d created, %d unchanged, %d error(s), %d skipped"
                     % (len(created), len(unchanged), len(errors), len(parsed["skipped"])))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
