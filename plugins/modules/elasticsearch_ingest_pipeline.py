#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage an Elasticsearch ingest pipeline, tested with _simulate before upload."""

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticsearch_ingest_pipeline
short_description: Manage an Elasticsearch ingest pipeline, tested with sample documents before upload
version_added: 0.1.0
description:
  - Creates, updates or deletes an ingest pipeline through C(PUT/GET/DELETE _ingest/pipeline/<name>).
  - The whole stored body (C(description), C(processors), C(on_failure), C(version), C(_meta), ...) is
    compared with O(body); the pipeline is written only when they differ. Fields Elasticsearch adds
    itself (C(created_date), C(modified_date) and their C(_millis) forms) are ignored.
  - With O(simulate_samples), every sample document is run through the B(new) body with
    C(POST _ingest/pipeline/_simulate) first. When any output differs from its expected fields the
    module fails with a per-sample report and writes nothing. The samples are checked on every run,
    also when the stored pipeline is already up to date and in check mode (C(_simulate) changes nothing).
  - A missing pipeline is recognised only by the documented HTTP 404; any other error fails the task.
author:
  - Vigil maintainers (@vigil-monitoring)
options:
  body:
    description:
      - The pipeline definition as sent to C(PUT _ingest/pipeline/<name>) (C(description),
        C(processors), C(on_failure), C(version), C(_meta), ...). Required when O(state=present).
    type: dict
  simulate_samples:
    description:
      - Sample documents run through the new O(body) with C(_simulate) before anything is written.
      - Each item has C(document) (the input C(_source)) and C(expected) (the fields the output must
        contain). Only the fields listed in C(expected) are compared; nested dicts field by field, lists
        and scalars exactly; a C(null) expected value means the field must be absent. Keys may be nested
        dicts or dotted paths.
      - Optional C(index) and C(id) set the sample's C(_index) and C(_id) (some processors read them).
    type: list
    elements: dict
  content_hash:
    description:
      - Add C(_meta.vigil_hash), the sha256 of the canonical body (sorted keys, without the hash itself),
        so a changed pipeline is recognisable from its metadata alone.
    type: bool
    default: true
extends_documentation_fragment: [vigil.monitoring.api, vigil.monitoring.api.transport, vigil.monitoring.elasticsearch, vigil.monitoring.elasticsearch.name,
  vigil.monitoring.resource, vigil.monitoring.resource.state]
notes:
  - Needs the C(manage_pipeline) (or C(manage_ingest_pipelines)) cluster privilege.
"""

EXAMPLES = r"""
- name: ECS pipeline for the firewall logs, tested before upload
  vigil.monitoring.elasticsearch_ingest_pipeline:
    url: https://es.lab.example:9200
    api_key: "{{ vault_es_api_key }}"
    name: vigil-firewall-ecs
    body:
      description: Firewall syslog to ECS
      version: 3
      processors:
        - set: {field: event.kind, value: event}
        - rename: {field: src, target_field: source.ip, ignore_missing: true}
        - lowercase: {field: event.outcome, ignore_missing: true}
      on_failure:
        - set: {field: error.message, value: !unsafe "{{ _ingest.on_failure_message }}"}
    simulate_samples:
      - document: {src: 198.51.100.7, event: {outcome: SUCCESS}}
        expected:
          source: {ip: 198.51.100.7}
          event: {kind: event, outcome: success}
          src: null

- name: Remove an old pipeline
  vigil.monitoring.elasticsearch_ingest_pipeline:
    url: https://es.lab.example:9200
    api_key: "{{ vault_es_api_key }}"
    name: vigil-old-pipeline
    state: absent
"""

RETURN = r"""
pipeline:
  description: The pipeline body as it is (or, in check mode, would be) stored; empty when absent.
  returned: always
  type: dict
vigil_hash:
  description: The content hash written to C(_meta.vigil_hash) (when O(content_hash=true)).
  returned: when state is present and content_hash is true
  type: str
simulate_results:
  description:
    - One item per sample, with C(sample) (1-based), C(ok), C(error) (a processor failure),
      C(mismatches) (items with C(field), C(expected), C(actual)) and C(output) (the output C(_source)).
  returned: when simulate_samples is set
  type: list
  elements: dict
"""

from typing import Any, Dict, List, Optional  # noqa: E402

from ansible_collections.vigil.monitoring.plugins.module_utils.api_resource import without_keys  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.canonical import with_content_hash  # noqa: E402
from ansible_collections.vigil.monitoring.plugins.module_utils.elastic import (  # noqa: E402
    ES_SERVER_DATE_FIELDS,
    ElasticResource,
    describe_simulation_failures,
    evaluate_simulation,
    named_resource_spec,
    run_resource,
    simulate_request,
    validate_samples,
)


def argument_spec() -> Dict[str, Any]:
    return named_resource_spec(
        body=dict(type="dict"),
        simulate_samples=dict(type="list", elements="dict"),
        content_hash=dict(type="bool", default=True),
    )


def argument_errors(params: Dict[str, Any]) -> List[str]:
    body = params["body"]
    errors: List[str] = []
    if body is not None:
        if "processors" in body and not isinstance(body["processors"], list):
            errors.append(
                "body.processors must be a list of processor objects, for example [{set: {field: a, value: b}}]"
            )
        if "on_failure" in body and not isinstance(body["on_failure"], list):
            errors.append("body.on_failure must be a list of processor objects")
        managed = [k for k in ES_SERVER_DATE_FIELDS if k in body]
        if managed:
            errors.append("body must not set %s: Elasticsearch manages these fields" % ", ".join(managed))
    errors.extend(validate_samples(params["simulate_samples"]))
    return errors


class IngestPipeline(ElasticResource):
    kind = "ingest pipeline"
    result_key = "pipeline"
    prefix = "/_ingest/pipeline"
    simulate_results: Optional[List[Dict[str, Any]]] = None

    def check_options(self) -> Optional[str]:
        return "; ".join(argument_errors(self.params)) or None

    def normalise(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        return without_keys(raw, ES_SERVER_DATE_FIELDS)

    def desired(self) -> Dict[str, Any]:
        body = dict(self.params["body"])
        return with_content_hash(body) if self.params["content_hash"] else body

    def wanted_state(self) -> Dict[str, Any]:
        """The new body, refused before any write when it does not turn the samples into the expected documents."""
        desired = self.desired()
        if self.params["simulate_samples"]:
            self.simulate_results = self.run_samples(desired)
        return desired

    def run_samples(self, body: Dict[str, Any]) -> List[Dict[str, Any]]:
        samples = self.params["simulate_samples"]
        answer = self.client.request("POST", "/_ingest/pipeline/_simulate", body=simulate_request(body, samples),
                                     expect=dict)[1]
        results = evaluate_simulation(answer, samples)
        if not all(r["ok"] for r in results):
            self.module.fail_json(
                msg="Pipeline %s was not uploaded: the new body does not turn the samples into the expected "
                "documents: %s" % (self.name, describe_simulation_failures(results)),
                simulate_results=results,
                changed=False,
            )
        return results

    def body(self) -> Dict[str, Any]:
        return self.desired()

    def extra_result(self) -> Dict[str, Any]:
        extra = super().extra_result()
        if self.state == "present" and self.params["content_hash"]:
            extra["vigil_hash"] = self.desired()["_meta"]["vigil_hash"]
        if self.simulate_results is not None:
            extra["simulate_results"] = self.simulate_results
        return extra


def main() -> None:
    run_resource(IngestPipeline, argument_spec(), required_if=[("state", "present", ("body",))])


if __name__ == "__main__":
    main()
