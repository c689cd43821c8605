#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, update or delete an OpenCTI live stream (stream collection), idempotently."""

from __future__ import annotations

DOCUMENTATION = r"""
module: opencti_live_stream
short_description: Create, update or delete an OpenCTI live stream
version_added: 0.2.0
description:
  - Manages one live stream (a I(stream collection), OpenCTI's Data sharing > Live streams) by its name -
    the stream that stream connectors such as the Elastic Security Intel connector follow
    (C(CONNECTOR_LIVE_STREAM_ID)). Returns the stream's RV(id), to hand to such a connector.
  - B(Idempotent.) The module lists the stream collections (C(streamCollections)), finds the one with
    O(name), compares its description, filters, C(stream_live) and C(stream_public) with what is asked
    and sends C(streamCollectionEdit { fieldPatch }) with only what differs; a second run sends no
    mutation. A missing stream is created with C(streamCollectionAdd); O(state=absent) deletes it
    (C(streamCollectionEdit { delete })). Two streams with the same name make the module fail, naming
    their ids.
  - "The filters are OpenCTI's FilterGroup: by default entities of O(entity_types) (any of them)
    carrying one of O(labels) (any of them; no label filter when empty). Labels are looked up by value
    and created when missing (not in check mode). O(filters) gives a whole FilterGroup instead, as
    OpenCTI stores it (C(mode), C(filters) with C(key), C(values), C(operator), C(mode),
    C(filterGroups)); values of C(objectLabel) filters are label ids there. Filters are compared in a
    canonical form (sorted, C(operator) C(eq) and C(mode) C(or) by default)."
  - Uses the pycti client's C(query) on the host that runs the task (pycti has no class for stream
    collections); the operations are those of OpenCTI's GraphQL schema (C(opencti.graphql) of the
    platform).
extends_documentation_fragment: [vigil.monitoring.opencti, vigil.monitoring.api.transport]
options:
  name:
    description: Name of the stream, 2 characters or more; it identifies the stream.
    type: str
    required: true
  description:
    description: Description shown in OpenCTI.
    type: str
    default: ""
  entity_types:
    description:
      - Entity types the stream carries (any of them), for example V(Indicator). Default V([Indicator]) unless
        O(filters) is given. An empty list and no labels is a stream of everything.
    type: list
    elements: str
  labels:
    description: Labels (values) the entities must carry, any of them. Missing labels are created.
    type: list
    elements: str
  filters:
    description: A whole OpenCTI FilterGroup instead of O(entity_types) and O(labels).
    type: dict
  stream_live:
    description: Whether the stream is started (a stopped stream serves no events).
    type: bool
    default: true
  stream_public:
    description: Whether the stream can be read without authentication. Keep it private.
    type: bool
    default: false
  state:
    description: V(present) creates or updates the stream; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    description: Check mode reads the streams and labels and reports what would change, without a mutation.
    support: full
  diff_mode:
    description: The stream before and after (name, description, filters, stream_live, stream_public).
    support: full
notes:
  - The token needs the capability to manage data sharing (TAXIIAPI_SETCOLLECTIONS) and, for missing labels,
    to create labels.
seealso:
  - name: OpenCTI live streams
    description: OpenCTI's documentation of data sharing and live streams.
    link: https://docs.opencti.io/latest/usage/feeds/
"""

EXAMPLES = r"""
- name: The stream the Elastic Security Intel connector follows
  vigil.monitoring.opencti_live_stream:
    url: https://opencti.example.org
    api_token: "{{ vault_opencti_admin_token }}"
    name: Vigil - indicators for Elastic
    description: Indicators, for the Elastic Security Intel connector
    entity_types: [Indicator]
  delegate_to: localhost
  run_once: true
  register: live_stream

- name: Only indicators labelled c2
  vigil.monitoring.opencti_live_stream:
    url: https://opencti.example.org
    api_token: "{{ vault_opencti_admin_token }}"
    name: Vigil - C2 indicators
    entity_types: [Indicator]
    labels: [c2]
  delegate_to: localhost
"""

RETURN = r"""
id:
  description: Id of the stream (the connector's C(CONNECTOR_LIVE_STREAM_ID)); null when absent, or in check mode before it exists.
  returned: always
  type: str
  sample: 2f9a4c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6b
stream:
  description: The stream as asked (after the task), filters as a FilterGroup.
  returned: when state is present
  type: dict
created_labels:
  description: Labels the module created (in check mode, would create) for the filter.
  returned: always
  type: list
  elements: str
platform_version:
  description: Version of the OpenCTI platform.
  returned: always
  type: str
"""

from typing import Any, Dict, List, Optional, Tuple  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils import opencti  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.vigil_http import ApiModule  # noqa: E402

FIELDS = "id name description filters stream_live stream_public"
LIST_QUERY = opencti.list_query("StreamCollections", "streamCollections", FIELDS)
ADD_MUTATION = """
mutation StreamCollectionAdd($input: StreamCollectionAddInput!) {
  streamCollectionAdd(input: $input) { %s }
}
""" % FIELDS
EDIT_MUTATION = """
mutation StreamCollectionEdit($id: ID!, $input: [EditInput]!) {
  streamCollectionEdit(id: $id) { fieldPatch(input: $input) { %s } }
}
""" % FIELDS
DELETE_MUTATION = """
mutation StreamCollectionDelete($id: ID!) {
  streamCollectionEdit(id: $id) { delete }
}
"""
COMPARED = ("name", "description", "filters", "stream_live", "stream_public")
# A label the check run did not create stands for its id in the would-be filter.
MISSING_LABEL = "(label %s, to be created)"


def argument_spec() -> Dict[str, Dict[str, Any]]:
    return dict(
        opencti.connection_argument_spec(),
        name=dict(type="str", required=True),
        description=dict(type="str", default=""),
        entity_types=dict(type="list", elements="str"),
        labels=dict(type="list", elements="str"),
        filters=dict(type="dict"),
        stream_live=dict(type="bool", default=True),
        stream_public=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )


def shown(stream: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """A stream as compared: description None is '', filters as a canonical FilterGroup."""
    if not stream:
        return {}
    return {
        "name": stream.get("name"),
        "description": stream.get("description") or "",
        "filters": opencti.normalise_filter_group(stream.get("filters"), "the filters OpenCTI holds"),
        "stream_live": bool(stream.get("stream_live")),
        "stream_public": bool(stream.get("stream_public")),
    }


def wanted_filters(params: Dict[str, Any], client: Any, check_mode: bool) -> Tuple[Dict[str, Any], List[str]]:
    """(the FilterGroup asked for, labels created or, in check mode, to be created)."""
    if params["filters"] is not None:
        return opencti.normalise_filter_group(params["filters"]), []
    labels: List[str] = params["labels"] or []
    ids, created = opencti.resolve_labels(client, labels, create=not check_mode)
    entity_types = ["Indicator"] if params["entity_types"] is None else params["entity_types"]
    group = opencti.stream_filter_group(entity_types, [ids[v] or MISSING_LABEL % v for v in labels])
    return group, created + [value for value in labels if ids[value] is None]


def patch(current: Dict[str, Any], wanted: Dict[str, Any]) -> List[Dict[str, Any]]:
    """EditInput entries for what differs, values as the OpenCTI UI sends them."""
    edits = []
    for key in COMPARED:
        if current[key] == wanted[key]:
            continue
        if key == "filters":
            value = opencti.filters_text(wanted[key])
        elif isinstance(wanted[key], bool):
            value = "true" if wanted[key] else "false"
        else:
            value = wanted[key]
        edits.append({"key": key, "value": [value]})
    return edits


def main() -> None:
    module = ApiModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("filters", "entity_types"), ("filters", "labels")],
        supports_check_mode=True,
    )
    opencti.fail_without_pycti(module)
    params = module.params
    problem = opencti.connection_problem(params)
    if problem is None and (len(params["name"]) < 2 or not params["name"].strip()):
        problem = "name %r is too short; OpenCTI wants 2 characters or more, not blank" % params["name"]
    if problem is None and params["filters"] is not None:
        try:
            opencti.normalise_filter_group(params["filters"])
        except ValueError as exc:
            problem = str(exc)
    if problem:
        module.fail_json(msg=problem)
    created_labels: List[str] = []
    before: Dict[str, Any] = {}
    after: Dict[str, Any] = {}
    result: Dict[str, Any] = {}
    try:
        client, platform_version = opencti.connect(params)
        existing = opencti.find_by(opencti.list_nodes(client, LIST_QUERY, "streamCollections"), "name",
                                   params["name"], "live streams")
        before = shown(existing)
        if params["state"] == "present":
            filters, created_labels = wanted_filters(params, client, module.check_mode)
            after = {"name": params["name"], "description": params["description"], "filters": filters,
                     "stream_live": params["stream_live"], "stream_public": params["stream_public"]}
        result = opencti.apply_state(
            module.check_mode, params["state"], existing,
            edits=lambda: patch(before, after),
            create=lambda: opencti.created_id(opencti.run_graphql(client, ADD_MUTATION, {"input": dict(
                after, filters=opencti.filters_text(after["filters"]))}, "streamCollectionAdd"), "stream"),
            update=lambda edits: opencti.run_graphql(client, EDIT_MUTATION, {"id": existing["id"], "input": edits},
                                                     "streamCollectionEdit"),
            delete=lambda: opencti.run_graphql(client, DELETE_MUTATION, {"id": existing["id"]}, "streamCollectionEdit"))
        result["platform_version"] = platform_version
        if params["state"] == "present":
            result["stream"] = after
            result["changed"] = result["changed"] or bool(created_labels)
    except (opencti.OpenCTIError, ValueError) as exc:
        module.fail_json(msg="live stream %r: %s" % (params["name"], exc))
    result["created_labels"] = created_labels
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
