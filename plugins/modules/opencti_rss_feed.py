#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, update or delete an OpenCTI RSS feed ingestion, idempotently."""

from __future__ import annotations

DOCUMENTATION = r"""
module: opencti_rss_feed
short_description: Create, update or delete an OpenCTI RSS feed ingestion
version_added: 0.2.0
description:
  - Manages one RSS feed ingester of OpenCTI (Data > Ingestion > RSS feeds). OpenCTI reads the feed
    itself and turns each new item into a report (with the report types, author and markings given
    here).
  - B(Idempotent.) The module lists the RSS ingesters (C(ingestionRsss)), finds the one named O(name)
    (or, when none has that name, the one reading O(uri), which is then renamed), compares its
    description, URI, report types, author, markings, running state and, when given, scheduling period
    and user, and sends C(ingestionRssFieldPatch) with only what differs; a second run sends no
    mutation. A missing feed is created with C(ingestionRssAdd); O(state=absent) deletes it
    (C(ingestionRssDelete)).
  - O(current_state_date) (import items published after this date) is sent when the feed is created and
    never compared afterwards, because OpenCTI moves it forward each time it reads the feed.
  - O(created_by) and O(markings) are looked up by name (pycti's C(Identities) and C(MarkingDefinitions)
    queries); one that does not exist fails the task before anything is written.
  - OpenCTI's RSS ingester has no labels (C(IngestionRssAddInput) has none); the reports it creates carry
    the author, the markings and the report types given here.
  - Uses the pycti client on the host that runs the task (pycti has no class for RSS ingesters; the
    operations are those of OpenCTI's C(ingestion-rss.graphql) module).
extends_documentation_fragment: [vigil.monitoring.opencti, vigil.monitoring.api.transport]
options:
  name:
    description: Name of the feed in OpenCTI, 2 characters or more; it identifies the feed.
    type: str
    required: true
  uri:
    description: URL of the RSS (or Atom) feed OpenCTI reads. Required with O(state=present).
    type: str
  description:
    description: Description shown in OpenCTI.
    type: str
    default: ""
  report_types:
    description: Report types (OpenCTI's C(report_types_ov) vocabulary) of the reports created from the feed.
    type: list
    elements: str
    default: [threat-report]
  created_by:
    description: Name (or id) of the identity, usually an organization, set as author of the reports. Must exist.
    type: str
  markings:
    description: Marking definitions of the reports, by definition (for example V(TLP:CLEAR)) or id. Must exist.
    type: list
    elements: str
    default: []
  ingestion_running:
    description: Whether OpenCTI reads the feed.
    type: bool
    default: true
  current_state_date:
    description:
      - Import only items published after this date (ISO 8601, for example V(2025-01-01T00:00:00Z)); empty, every
        item the feed holds. Sent at creation only.
    type: str
  scheduling_period:
    description:
      - How often OpenCTI reads the feed, an ISO 8601 duration such as V(PT1H). Only on platforms whose schema has
        it (recent releases); left out of every request when not set.
    type: str
  user_id:
    description: Id of the OpenCTI user the reports are created as; not set - the platform's default (System).
    type: str
  state:
    description: V(present) creates or updates the feed; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    description: Check mode reads the feeds, identities and markings and reports what would change, without a mutation.
    support: full
  diff_mode:
    description: The feed before and after, as compared.
    support: full
notes:
  - The token needs the ingestion management capability (INGESTION_SETINGESTIONS).
seealso:
  - name: OpenCTI RSS feeds
    description: OpenCTI's documentation of the RSS ingester.
    link: https://docs.opencti.io/latest/usage/import-automated/
"""

EXAMPLES = r"""
- name: Fortinet's PSIRT advisories as reports
  vigil.monitoring.opencti_rss_feed:
    url: https://opencti.example.org
    api_token: "{{ vault_opencti_admin_token }}"
    name: Fortinet PSIRT advisories
    uri: https://www.fortiguard.com/rss/ir.xml
    report_types: [threat-report]
    markings: [TLP:CLEAR]
    current_state_date: "2025-01-01T00:00:00Z"
  delegate_to: localhost
  run_once: true

- name: A feed no longer wanted
  vigil.monitoring.opencti_rss_feed:
    url: https://opencti.example.org
    api_token: "{{ vault_opencti_admin_token }}"
    name: Old vendor feed
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
id:
  description: Id of the RSS ingester; null when absent, or in check mode before it exists.
  returned: always
  type: str
feed:
  description: The feed as compared after the task (author and markings as ids).
  returned: when state is present
  type: dict
platform_version:
  description: Version of the OpenCTI platform.
  returned: always
  type: str
"""

import re  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils import opencti  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import ApiModule  # noqa: E402

FIELDS = """
id name description uri report_types ingestion_running current_state_date%s
user { id name }
defaultCreatedBy { id name }
defaultMarkingDefinitions { id definition }
"""
ADD_MUTATION = """
mutation IngestionRssAdd($input: IngestionRssAddInput!) {
  ingestionRssAdd(input: $input) { %s }
}
"""
PATCH_MUTATION = """
mutation IngestionRssFieldPatch($id: ID!, $input: [EditInput!]!) {
  ingestionRssFieldPatch(id: $id, input: $input) { %s }
}
"""
DELETE_MUTATION = """
mutation IngestionRssDelete($id: ID!) {
  ingestionRssDelete(id: $id)
}
"""
# Compared key -> the EditInput key / IngestionRssAddInput field that sets it.
INPUT_KEYS = {
    "name": "name",
    "description": "description",
    "uri": "uri",
    "report_types": "report_types",
    "created_by": "created_by_ref",
    "markings": "object_marking_refs",
    "ingestion_running": "ingestion_running",
    "scheduling_period": "scheduling_period",
    "user_id": "user_id",
}
OPTIONAL = ("scheduling_period", "user_id")
_ID = re.compile(r"^([a-z0-9-]+--)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")


def argument_spec() -> Dict[str, Dict[str, Any]]:
    return dict(
        opencti.connection_argument_spec(),
        name=dict(type="str", required=True),
        uri=dict(type="str"),
        description=dict(type="str", default=""),
        report_types=dict(type="list", elements="str", default=["threat-report"]),
        created_by=dict(type="str"),
        markings=dict(type="list", elements="str", default=[]),
        ingestion_running=dict(type="bool", default=True),
        current_state_date=dict(type="str"),
        scheduling_period=dict(type="str"),
        user_id=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )


def option_problem(params: Dict[str, Any]) -> Optional[str]:
    problem = opencti.connection_problem(params)
    if problem:
        return problem
    if len(params["name"]) < 2 or not params["name"].strip():
        return "name %r is too short; OpenCTI wants 2 characters or more, not blank" % params["name"]
    if params["state"] == "present":
        uri = params["uri"] or ""
        if not re.match(r"^https?://[^\s/]+", uri):
            return "uri %r of feed %r must be the feed's http:// or https:// URL" % (uri, params["name"])
        if params["scheduling_period"] and not _DURATION.match(params["scheduling_period"]):
            return ("scheduling_period %r of feed %r is not an ISO 8601 duration such as PT1H or P1D"
                    % (params["scheduling_period"], params["name"]))
    return None


def fields(params: Dict[str, Any]) -> str:
    """The selection: scheduling_period only when asked for (older schemas do not have it)."""
    return FIELDS % ("\nscheduling_period" if params["scheduling_period"] else "")


def resolve_author(client: Any, created_by: Optional[str]) -> Optional[str]:
    if not created_by:
        return None
    if _ID.match(created_by):
        return created_by
    identity = opencti.call(client.identity.read, filters=opencti.eq_filter("name", created_by),
                            customAttributes="id name entity_type")
    if not identity:
        raise opencti.OpenCTIError("created_by %r is not an identity in OpenCTI; create the organization (Entities > "
                                   "Organizations) or leave created_by empty" % created_by)
    return identity["id"]


def resolve_markings(client: Any, markings: List[str]) -> List[str]:
    ids = []
    for marking in markings:
        if _ID.match(marking):
            ids.append(marking)
            continue
        found = opencti.call(client.marking_definition.read, filters=opencti.eq_filter("definition", marking))
        if not found:
            raise opencti.OpenCTIError("marking %r is not a marking definition in OpenCTI (for example TLP:CLEAR, "
                                       "TLP:GREEN, TLP:AMBER)" % marking)
        ids.append(found["id"])
    return sorted(set(ids))


def current_state(node: Optional[Dict[str, Any]], params: Dict[str, Any]) -> Dict[str, Any]:
    if not node:
        return {}
    state = {
        "name": node.get("name"),
        "description": node.get("description") or "",
        "uri": node.get("uri"),
        "report_types": sorted(node.get("report_types") or []),
        "created_by": (node.get("defaultCreatedBy") or {}).get("id"),
        "markings": sorted(m["id"] for m in node.get("defaultMarkingDefinitions") or [] if isinstance(m, dict)),
        "ingestion_running": bool(node.get("ingestion_running")),
    }
    if params["scheduling_period"]:
        state["scheduling_period"] = node.get("scheduling_period")
    if params["user_id"]:
        state["user_id"] = (node.get("user") or {}).get("id")
    return state


def wanted_state(client: Any, params: Dict[str, Any]) -> Dict[str, Any]:
    state = {
        "name": params["name"],
        "description": params["description"],
        "uri": params["uri"],
        "report_types": sorted(set(params["report_types"])),
        "created_by": resolve_author(client, params["created_by"]),
        "markings": resolve_markings(client, params["markings"]),
        "ingestion_running": params["ingestion_running"],
    }
    for key in OPTIONAL:
        if params[key]:
            state[key] = params[key]
    return state


def edit_input(key: str, value: Any) -> Dict[str, Any]:
    """One EditInput, values as the OpenCTI UI sends them (lists as lists, a cleared author as '')."""
    if isinstance(value, list):
        return {"key": INPUT_KEYS[key], "value": value}
    if isinstance(value, bool):
        return {"key": INPUT_KEYS[key], "value": ["true" if value else "false"]}
    return {"key": INPUT_KEYS[key], "value": [value if value is not None else ""]}


def add_input(wanted: Dict[str, Any], params: Dict[str, Any]) -> Dict[str, Any]:
    data = {INPUT_KEYS[key]: value for key, value in wanted.items() if value is not None}
    if params["current_state_date"]:
        data["current_state_date"] = params["current_state_date"]
    return data


def main() -> None:
    module = ApiModule(argument_spec=argument_spec(), supports_check_mode=True)
    opencti.fail_without_pycti(module)
    params = module.params
    problem = option_problem(params)
    if problem:
        module.fail_json(msg=problem)
    selection = fields(params)
    before: Dict[str, Any] = {}
    after: Dict[str, Any] = {}
    result: Dict[str, Any] = {}
    try:
        client, platform_version = opencti.connect(params)
        feeds = opencti.list_nodes(client, opencti.list_query("IngestionRsss", "ingestionRsss", selection), "ingestionRsss")
        existing = opencti.find_by(feeds, "name", params["name"], "RSS feeds")
        if existing is None and params["state"] == "present":
            existing = opencti.find_by(feeds, "uri", params["uri"], "RSS feeds")
        before = current_state(existing, params)
        if params["state"] == "present":
            after = wanted_state(client, params)
        result = opencti.apply_state(
            module.check_mode, params["state"], existing,
            edits=lambda: [edit_input(key, after[key]) for key in after if before.get(key) != after[key]],
            create=lambda: opencti.created_id(opencti.run_graphql(
                client, ADD_MUTATION % selection, {"input": add_input(after, params)}, "ingestionRssAdd"), "feed"),
            update=lambda edits: opencti.run_graphql(client, PATCH_MUTATION % selection,
                                                     {"id": existing["id"], "input": edits}, "ingestionRssFieldPatch"),
            delete=lambda: opencti.run_graphql(client, DELETE_MUTATION, {"id": existing["id"]}, "ingestionRssDelete"))
        result["platform_version"] = platform_version
        if params["state"] == "present":
            result["feed"] = after
    except (opencti.OpenCTIError, ValueError) as exc:
        module.fail_json(msg="RSS feed %r: %s" % (params["name"], exc))
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
