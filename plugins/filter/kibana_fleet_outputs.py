# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet outputs of the kibana role (vigil.monitoring.certificate_sha256, kibana_fleet_output_problems).

certificate_sha256(pem)
  the SHA-256 fingerprint (lower-case hex, no colons) of the first certificate of a PEM text: what Fleet's
  ca_trusted_fingerprint and Elastic Agent's ssl.ca_trusted_fingerprint take.
kibana_fleet_output_problems(outputs, default_id)
  outputs: kibana_fleet_outputs (vigil.monitoring.kibana_fleet_output parameters); default_id: the id of the
  output Vigil derives from the cluster (empty when it is off). Returns one sentence per problem, naming the entry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any, List

from ansible.errors import AnsibleFilterError

PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)
OUTPUT_KEYS = ("id", "name", "type", "hosts", "is_default", "is_default_monitoring", "ca_trusted_fingerprint", "ssl",
               "ssl_key", "service_token", "force_secret_update", "config_yaml", "preset", "proxy_id", "state")
OUTPUT_TYPES = ("elasticsearch", "remote_elasticsearch", "logstash")
SECRET_KEYS = ("ssl_key", "service_token")
CREDENTIALS = re.compile(r"^\s*(api_key|username|password)\s*:", re.M)


def certificate_sha256(pem: Any) -> str:
    """SHA-256 (hex, lower case) of the DER bytes of the first certificate in ``pem``."""
    if not isinstance(pem, str):
        raise AnsibleFilterError("certificate_sha256 takes a PEM text, got %s" % type(pem).__name__)
    match = PEM_CERTIFICATE.search(pem)
    if match is None:
        raise AnsibleFilterError("certificate_sha256: no -----BEGIN CERTIFICATE----- block in the text given")
    try:
        der = base64.b64decode("".join(match.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        raise AnsibleFilterError("certificate_sha256: the certificate block is not base64") from None
    return hashlib.sha256(der).hexdigest()


def _entry_problems(index: int, entry: Any, default_id: str) -> List[str]:
    where = "kibana_fleet_outputs[%d]" % index
    if not isinstance(entry, Mapping):
        return ["%s must be a mapping of vigil.monitoring.kibana_fleet_output parameters" % where]
    where = "%s (%s)" % (where, entry.get("id", "no id"))
    found = []
    unknown = sorted(set(entry) - set(OUTPUT_KEYS))
    if unknown:
        found.append("%s has unknown key(s) %s; allowed: %s" % (where, ", ".join(map(str, unknown)), ", ".join(OUTPUT_KEYS)))
    for key in ("id", "name", "type"):
        if not isinstance(entry.get(key), str) or not entry.get(key):
            found.append("%s needs %s" % (where, key))
    if entry.get("type") not in OUTPUT_TYPES:
        found.append("%s: type must be one of %s, got %r" % (where, ", ".join(OUTPUT_TYPES), entry.get("type")))
    hosts = entry.get("hosts")
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, Sequence) or not hosts:
        found.append("%s needs hosts, a non-empty list" % where)
    if entry.get("id") and entry.get("id") == default_id:
        found.append("%s uses the id of the output Vigil derives from the cluster (kibana_fleet_elasticsearch_output_id); "
                     "choose another id" % where)
    if default_id and (entry.get("is_default") or entry.get("is_default_monitoring")):
        found.append("%s is marked default, and so is the cluster's output (kibana_fleet_elasticsearch_output): Fleet "
                     "keeps one default; set kibana_fleet_elasticsearch_output to false or drop is_default here" % where)
    for key in SECRET_KEYS:
        if key in entry and not isinstance(entry[key], str):
            found.append("%s: %s must be a string (from the vault), got %s" % (where, key, type(entry[key]).__name__))
    if entry.get("type") == "remote_elasticsearch" and not entry.get("service_token"):
        found.append("%s: a remote_elasticsearch output needs service_token (elastic/fleet-server on that cluster)"
                     % where)
    if isinstance(entry.get("config_yaml"), str) and CREDENTIALS.search(entry["config_yaml"]):
        found.append("%s: config_yaml sets api_key, username or password; Fleet Server makes each agent's key, and every "
                     "agent of a policy could read a credential written here" % where)
    return found


def kibana_fleet_output_problems(outputs: Any, default_id: Any = "") -> List[str]:
    """Problems of kibana_fleet_outputs, each naming the entry (empty: all is well)."""
    if isinstance(outputs, (str, bytes, Mapping)) or not isinstance(outputs, Sequence):
        return ["kibana_fleet_outputs must be a list of outputs, got %s" % type(outputs).__name__]
    found: List[str] = []
    for index, entry in enumerate(outputs):
        found.extend(_entry_problems(index, entry, str(default_id or "")))
    ids = [e.get("id") for e in outputs if isinstance(e, Mapping)]
    for twice in sorted({i for i in ids if i and ids.count(i) > 1}):
        found.append("kibana_fleet_outputs: the id %s is used twice" % twice)
    return found


class FilterModule:
    """Fleet outputs."""

    def filters(self):
        return {"certificate_sha256": certificate_sha256, "kibana_fleet_output_problems": kibana_fleet_output_problems}
