# -*- coding: utf-8 -*-
# Copyright: Vigil maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The opencti role's connectors as data, rendered on the controller (no containers).

ansible-playbook renders the role's docker-compose.yml.j2 and env.j2 on localhost, with
the role's defaults and vars, as tasks/configure_compose.yml does. The tests then read
both files the way docker compose would: every enabled connector is a service with the
configured image, id and interval; API keys live in .env only, the compose file naming
them as variables; every variable the compose file uses is set in .env; and an entry
switched off (enabled: false) leaves no service and no secret behind.

The shipped connectors run when they can, without editing opencti_connectors: MITRE
always, AbuseIPDB and OTX once their API key is in the inventory, the Elastic connector
whenever an Elasticsearch output is configured (and, as a stream connector, once its live
stream exists, with that stream's id); opencti_connector_<name>_enabled overrides that.
Every environment variable a connector gets is one its documentation in
OpenCTI-Platform/connectors lists (DOCUMENTED below), with the ones it requires.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional

import pytest
import yaml
from local_playbook import find_ansible_playbook, role_render_playbook, run_local_playbook

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "opencti"
DEFAULTS: Dict[str, Any] = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
SHIPPED: Dict[str, Dict[str, Any]] = {c["name"]: c for c in DEFAULTS["opencti_connectors"]}

# The lab's secrets (roles/opencti/molecule/default/molecule.yml), with the logs cluster
# reached by API key: the templates need nothing more.
SECRETS: Dict[str, str] = {
    "opencti_admin_password": "lab-admin-password-9f3c",
    "opencti_admin_token": "5b0e6f0c-2b1e-4c77-9f6a-1d2e3c4b5a69",
    "opencti_health_access_key": "lab-health-key-71d2",
    "opencti_encryption_key": "q0kQ0uD8d3x3f4nH7c1Zb2Vh5rT9w6yE1aS4dF7gJ0k=",
    "opencti_redis_password": "lab-redis-password-4a1b",
    "opencti_rabbitmq_password": "lab-rabbitmq-password-8c2d",
    "opencti_s3_access_key": "opencti-lab",
    "opencti_s3_secret_key": "lab-minio-secret-3e5f",
    "opencti_elasticsearch_url": "https://logs.example.org:9200",
    "opencti_elasticsearch_api_key": "lab-es-api-key-0d9e",
}

# One UUIDv4 per shipped connector, and one API key per connector that reads one.
CONNECTOR_IDS: Dict[str, str] = {
    "mitre": "8307ea1e-9356-408c-a510-2d7f8b28a0e2",
    "abuseipdb-ipblacklist": "0f1d6b7e-3c2a-4e58-9b1f-6a7c8d9e0f12",
    "alienvault": "a4b3c2d1-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "elastic-security-intel": "c1e2d3f4-a5b6-4c7d-9e8f-1a2b3c4d5e6f",
    "import-file-stix": "72327164-0b35-482b-b5d6-a5a3f76b845f",
}
API_KEYS: Dict[str, str] = {
    "abuseipdb-ipblacklist": "abuseipdb-key-7c41e9d2b8",
    "alienvault": "otx-key-3f8a0b6d5c",
    "elastic-security-intel": "elastic-intel-key-e2d94a1c70",
}

# ${NAME}, ${NAME:?message}, ${NAME-default}, ... or $NAME; $$ is a literal dollar.
REFERENCE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[?-])?(?P<arg>[^}]*)\}"
                       r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")  # fmt: skip
ENV_LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)='(?P<value>[^'\n]*)'$")


def _var(name: str, suffix: str) -> str:
    """The inventory variable a shipped entry reads (opencti_connector_<name>_<suffix>)."""
    return "opencti_connector_%s_%s" % (name.replace("-", "_"), suffix)


def _connector_vars() -> Dict[str, str]:
    variables = {_var(name, "id"): value for name, value in CONNECTOR_IDS.items()}
    variables.update({_var(name, "api_key"): value for name, value in API_KEYS.items()})
    return variables


def _shipped_with(enabled: Dict[str, bool]) -> List[Dict[str, Any]]:
    """The shipped list with only the `enabled` switch changed, as an operator would copy it."""
    return [dict(entry, enabled=enabled.get(entry["name"], entry.get("enabled", True))) for entry in SHIPPED.values()]


ALL_ENABLED: Dict[str, bool] = {name: True for name in SHIPPED}
# The id of the live stream the role manages (what opencti_live_stream returned).
STREAM_ID = "9b7e3c1a-2d4f-4a6b-8c9d-0e1f2a3b4c5d"

# Environment variables each connector documents (OpenCTI-Platform/connectors, master:
# <type>/<connector>/__metadata__/CONNECTOR_CONFIG_DOC.md, and README.md for
# stream/elastic-security-intel), and those it requires. pycti's connector helper reads
# the COMMON ones for every connector.
COMMON = {"OPENCTI_URL", "OPENCTI_TOKEN", "CONNECTOR_ID", "CONNECTOR_NAME", "CONNECTOR_SCOPE", "CONNECTOR_TYPE",
          "CONNECTOR_LOG_LEVEL"}
DOCUMENTED: Dict[str, Dict[str, Any]] = {
    "mitre": {"required": set(), "documented": {
        "MITRE_REMOVE_STATEMENT_MARKING", "MITRE_INTERVAL", "MITRE_ENTERPRISE_FILE_URL",
        "MITRE_MOBILE_ATTACK_FILE_URL", "MITRE_ICS_ATTACK_FILE_URL", "MITRE_CAPEC_FILE_URL"}},
    "abuseipdb-ipblacklist": {"required": {"ABUSEIPDB_API_KEY", "ABUSEIPDB_SCORE"}, "documented": {
        "CONNECTOR_DURATION_PERIOD", "ABUSEIPDB_API_URL", "ABUSEIPDB_API_KEY", "ABUSEIPDB_SCORE", "ABUSEIPDB_LIMIT",
        "ABUSEIPDB_CREATE_INDICATOR", "ABUSEIPDB_TLP_LEVEL", "ABUSEIPDB_IPVERSION", "ABUSEIPDB_EXCEPT_COUNTRY",
        "ABUSEIPDB_ONLY_COUNTRY"}},
    "alienvault": {"required": {"ALIENVAULT_API_KEY"}, "documented": {
        "CONNECTOR_DURATION_PERIOD", "ALIENVAULT_API_KEY", "ALIENVAULT_BASE_URL", "ALIENVAULT_TLP",
        "ALIENVAULT_CREATE_OBSERVABLES", "ALIENVAULT_CREATE_INDICATORS", "ALIENVAULT_PULSE_START_TIMESTAMP",
        "ALIENVAULT_REPORT_TYPE", "ALIENVAULT_REPORT_STATUS", "ALIENVAULT_GUESS_MALWARE", "ALIENVAULT_GUESS_CVE",
        "ALIENVAULT_EXCLUDED_PULSE_INDICATOR_TYPES", "ALIENVAULT_ENABLE_RELATIONSHIPS",
        "ALIENVAULT_ENABLE_ATTACK_PATTERNS_INDICATES", "ALIENVAULT_FILTER_INDICATORS",
        "ALIENVAULT_DEFAULT_X_OPENCTI_SCORE", "ALIENVAULT_X_OPENCTI_SCORE_IP", "ALIENVAULT_X_OPENCTI_SCORE_DOMAIN",
        "ALIENVAULT_X_OPENCTI_SCORE_HOSTNAME", "ALIENVAULT_X_OPENCTI_SCORE_EMAIL", "ALIENVAULT_X_OPENCTI_SCORE_FILE",
        "ALIENVAULT_X_OPENCTI_SCORE_URL", "ALIENVAULT_X_OPENCTI_SCORE_MUTEX",
        "ALIENVAULT_X_OPENCTI_SCORE_CRYPTOCURRENCY_WALLET"}},
    "elastic-security-intel": {"required": {"CONNECTOR_LIVE_STREAM_ID", "ELASTIC_SECURITY_URL",
                                            "ELASTIC_SECURITY_API_KEY"}, "documented": {
        "CONNECTOR_LIVE_STREAM_ID", "ELASTIC_SECURITY_URL", "ELASTIC_SECURITY_API_KEY", "ELASTIC_SECURITY_CLIENT_CERT",
        "ELASTIC_SECURITY_CLIENT_KEY", "ELASTIC_SECURITY_KIBANA_URL", "ELASTIC_SECURITY_OPENCTI_EXTERNAL_URL",
        "ELASTIC_SECURITY_VERIFY_SSL", "ELASTIC_SECURITY_CA_CERT", "ELASTIC_SECURITY_INDEX_NAME",
        "ELASTIC_SECURITY_INDICATOR_EXPIRE_TIME", "ELASTIC_SECURITY_BATCH_SIZE"}},
    "import-file-stix": {"required": set(), "documented": {"CONNECTOR_AUTO", "CONNECTOR_VALIDATE_BEFORE_IMPORT"}},
}


# -- reading the rendered files as docker compose does ----------------------------------


def parse_env(text: str) -> Dict[str, str]:
    """KEY='value' lines of a .env file (comments and blank lines skipped); no key twice."""
    result: Dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = ENV_LINE.match(line)
        assert match, ".env line %d is not KEY='value': %r" % (number, line)
        assert match["key"] not in result, ".env sets %s twice" % match["key"]
        result[match["key"]] = match["value"]
    return result


def references(text: str) -> Dict[str, Optional[str]]:
    """Variables the text interpolates, each with its operator (':?', '?', ':-', '-' or None)."""
    found: Dict[str, Optional[str]] = {}
    for match in REFERENCE.finditer(text):
        name = match["braced"] or match["bare"]
        if name:
            found.setdefault(name, match["op"])
    return found


def interpolate(value: str, env: Dict[str, str]) -> str:
    """Compose's interpolation of one value from .env; a required variable must be set and not empty."""

    def replace(match: "re.Match[str]") -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op = match["op"] or ""
        if op.endswith("?"):
            assert env.get(name, "") != "" or (op == "?" and name in env), "%s is required: %s" % (name, match["arg"])
        if op.endswith("-") and (name not in env or (op == ":-" and env[name] == "")):
            return match["arg"]
        return env.get(name, "")

    return REFERENCE.sub(replace, value)


def environment(service: Dict[str, Any]) -> Dict[str, str]:
    """A service's environment as a mapping (the list form KEY=value, or the mapping form)."""
    raw = service.get("environment") or {}
    if isinstance(raw, dict):
        return {str(key): "" if value is None else str(value) for key, value in raw.items()}
    result: Dict[str, str] = {}
    for item in raw:
        key, dummy, value = str(item).partition("=")
        assert key not in result, "environment sets %s twice" % key
        result[key] = value
    return result


class Rendered(NamedTuple):
    compose_text: str
    compose: Dict[str, Any]
    env_text: str
    env: Dict[str, str]

    def connectors(self) -> Dict[str, Dict[str, Any]]:
        """Connector services by connector name."""
        return {
            name.removeprefix("connector-"): service
            for name, service in self.compose["services"].items()
            if name.startswith("connector-")
        }


# -- rendering with ansible-playbook ----------------------------------------------------

RENDER_TASKS = """\
    - name: Render the compose file as the role would
      ansible.builtin.template:
        src: {role}/templates/docker-compose.yml.j2
        dest: "{{{{ out_dir }}}}/docker-compose.yml"
        mode: "0640"
    - name: Render the .env file as the role would
      ansible.builtin.template:
        src: {role}/templates/env.j2
        dest: "{{{{ out_dir }}}}/.env"
        mode: "0640"
"""
RENDER_PLAYBOOK = role_render_playbook(
    "Render the opencti role's compose project on the controller", ROLE, RENDER_TASKS.format(role=ROLE)
)


@pytest.fixture(scope="module")
def ansible_playbook() -> Path:
    return find_ansible_playbook()


def render(workdir: Path, ansible_playbook: Path, extra_vars: Dict[str, Any]) -> Rendered:
    result = run_local_playbook(workdir, ansible_playbook, RENDER_PLAYBOOK,
                                dict(extra_vars, out_dir=str(workdir)))
    assert result.returncode == 0, result.stdout + result.stderr
    compose_text = (workdir / "docker-compose.yml").read_text(encoding="utf-8")
    env_text = (workdir / ".env").read_text(encoding="utf-8")
    return Rendered(compose_text, yaml.safe_load(compose_text), env_text, parse_env(env_text))


@pytest.fixture(scope="module")
def all_enabled(tmp_path_factory: pytest.TempPathFactory, ansible_playbook: Path) -> Rendered:
    extra = dict(SECRETS, **_connector_vars(), opencti_connectors=_shipped_with(ALL_ENABLED),
                 __opencti_live_stream_id=STREAM_ID)
    return render(tmp_path_factory.mktemp("all_enabled"), ansible_playbook, extra)


@pytest.fixture(scope="module")
def with_keys(tmp_path_factory: pytest.TempPathFactory, ansible_playbook: Path) -> Rendered:
    """The shipped list untouched; ids, API keys, an Elasticsearch output and the managed stream's id given."""
    extra = dict(SECRETS, **_connector_vars(), __opencti_live_stream_id=STREAM_ID)
    return render(tmp_path_factory.mktemp("with_keys"), ansible_playbook, extra)


# -- the test data itself ---------------------------------------------------------------


def test_shipped_connectors_and_test_values_fit_each_other():
    assert set(SHIPPED) == set(CONNECTOR_IDS) == set(DOCUMENTED)
    # The ones that need an API key are exactly those the test gives one.
    assert {name for name, entry in SHIPPED.items() if entry.get("api_key_env")} == set(API_KEYS)
    for value in CONNECTOR_IDS.values():
        assert uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value
    assert len(set(CONNECTOR_IDS.values())) == len(CONNECTOR_IDS)
    assert len(set(API_KEYS.values())) == len(API_KEYS)


# -- 1. every enabled connector is a service --------------------------------------------


def test_every_enabled_connector_is_a_service_with_image_id_and_interval(all_enabled: Rendered):
    services = all_enabled.connectors()
    assert set(services) == set(SHIPPED)
    for name, shipped in SHIPPED.items():
        service = services[name]
        assert service["image"] == "opencti/%s:%s" % (shipped["image"], DEFAULTS["opencti_version"]), name
        env = environment(service)
        assert env["CONNECTOR_ID"].startswith("${"), "%s: the id comes from .env" % name
        assert interpolate(env["CONNECTOR_ID"], all_enabled.env) == CONNECTOR_IDS[name], name
        assert interpolate(env["OPENCTI_TOKEN"], all_enabled.env) == SECRETS["opencti_admin_token"], name
        assert env["OPENCTI_URL"] == "http://opencti:8080", name
        if shipped.get("interval") is not None:
            assert env[shipped["interval_env"]] == str(shipped["interval"]), name
        else:
            assert "CONNECTOR_DURATION_PERIOD" not in env, "%s runs on events, not on a period" % name
        assert set(shipped.get("environment", {})) <= set(env), name
        assert service["depends_on"] == {"opencti": {"condition": "service_healthy"}}, name


# -- 2. API keys live in .env only ------------------------------------------------------


def test_api_keys_are_in_env_and_referenced_not_written_in_the_compose_file(all_enabled: Rendered):
    services = all_enabled.connectors()
    for name, key in API_KEYS.items():
        assert key in all_enabled.env.values(), "%s: its API key is not in .env" % name
        assert key not in all_enabled.compose_text, "%s: its API key is written in the compose file" % name
        value = environment(services[name])[SHIPPED[name]["api_key_env"]]
        assert references(value), "%s: %s does not reference a variable" % (name, SHIPPED[name]["api_key_env"])
        assert interpolate(value, all_enabled.env) == key, name
    for secret in SECRETS.values():
        if secret != SECRETS["opencti_elasticsearch_url"]:
            assert secret not in all_enabled.compose_text


# -- 3. every variable of the compose file is set in .env -------------------------------


def test_every_variable_the_compose_file_uses_is_set_in_env(all_enabled: Rendered):
    used = references(all_enabled.compose_text)
    # Every connector's id and every API key is among them.
    prefixes = {name: "CONNECTOR_%s" % name.upper().replace("-", "_") for name in SHIPPED}
    assert {prefixes[name] + "_ID" for name in SHIPPED} <= set(used)
    assert {prefixes[name] + "_API_KEY" for name in API_KEYS} <= set(used)
    missing = sorted(name for name in used if name not in all_enabled.env)
    assert not missing, "the compose file uses %s, not set in .env" % ", ".join(missing)
    empty = sorted(name for name, op in used.items() if op == ":?" and all_enabled.env[name] == "")
    assert not empty, "required but empty in .env: %s" % ", ".join(empty)
    # Every value of every service interpolates (required ones are checked on the way).
    for service in all_enabled.compose["services"].values():
        for value in environment(service).values():
            interpolate(value, all_enabled.env)


# -- 4. enabled: false removes the connector and its secrets ----------------------------


def test_disabling_a_connector_removes_its_service_and_its_secrets(
    tmp_path: Path, ansible_playbook: Path, all_enabled: Rendered
):
    extra = dict(SECRETS, **_connector_vars(), opencti_connectors=_shipped_with(dict(ALL_ENABLED, alienvault=False)),
                 __opencti_live_stream_id=STREAM_ID)
    rendered = render(tmp_path, ansible_playbook, extra)

    assert set(rendered.connectors()) == set(SHIPPED) - {"alienvault"}
    assert "connector-alienvault" in all_enabled.compose["services"]
    assert "connector-alienvault" not in rendered.compose["services"]
    assert API_KEYS["alienvault"] in all_enabled.env_text
    assert API_KEYS["alienvault"] not in rendered.env_text
    assert CONNECTOR_IDS["alienvault"] not in rendered.env_text
    assert not [key for key in rendered.env if key.startswith("CONNECTOR_ALIENVAULT_")]
    assert "ALIENVAULT" not in rendered.compose_text
    # The others keep their keys; nothing the compose file uses went missing.
    for name in set(API_KEYS) - {"alienvault"}:
        assert API_KEYS[name] in rendered.env.values(), name
    assert not [name for name in references(rendered.compose_text) if name not in rendered.env]


def test_without_keys_only_the_keyless_connectors_run(tmp_path: Path, ansible_playbook: Path):
    ids = {_var(name, "id"): value for name, value in CONNECTOR_IDS.items()}
    secrets = {key: value for key, value in SECRETS.items() if key != "opencti_elasticsearch_url"}
    rendered = render(tmp_path, ansible_playbook, dict(secrets, **ids, opencti_elasticsearch_mode="container"))

    assert set(rendered.connectors()) == {"mitre", "import-file-stix"}
    assert not [name for name in references(rendered.compose_text) if name not in rendered.env]


def test_the_connectors_run_when_their_keys_are_given(with_keys: Rendered):
    # No opencti_connectors override: the keys and an Elasticsearch output are enough.
    assert set(with_keys.connectors()) == set(SHIPPED)
    for name, key in API_KEYS.items():
        value = environment(with_keys.connectors()[name])[SHIPPED[name]["api_key_env"]]
        assert interpolate(value, with_keys.env) == key, name
    assert not [name for name in references(with_keys.compose_text) if name not in with_keys.env]


def test_the_elastic_connector_follows_the_managed_live_stream(with_keys: Rendered):
    env = environment(with_keys.connectors()["elastic-security-intel"])
    assert env["CONNECTOR_LIVE_STREAM_ID"] == STREAM_ID
    assert env["ELASTIC_SECURITY_URL"] == SECRETS["opencti_elasticsearch_url"]
    assert env["ELASTIC_SECURITY_OPENCTI_EXTERNAL_URL"].startswith("http")
    assert "live" not in env["CONNECTOR_LIVE_STREAM_ID"]


def test_the_elastic_connector_waits_for_its_live_stream(tmp_path: Path, ansible_playbook: Path):
    # First run: the stream does not exist yet (the platform is not up); the connector is
    # left out, its secrets too, and everything else renders.
    rendered = render(tmp_path, ansible_playbook, dict(SECRETS, **_connector_vars()))

    assert set(rendered.connectors()) == set(SHIPPED) - {"elastic-security-intel"}
    assert API_KEYS["elastic-security-intel"] not in rendered.env_text
    assert "CONNECTOR_LIVE_STREAM_ID" not in rendered.compose_text
    assert not [name for name in references(rendered.compose_text) if name not in rendered.env]


def test_a_stream_id_given_in_the_inventory_is_used_as_it_is(tmp_path: Path, ansible_playbook: Path):
    given = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
    rendered = render(tmp_path, ansible_playbook, dict(SECRETS, **_connector_vars(), opencti_live_stream_id=given))

    assert environment(rendered.connectors()["elastic-security-intel"])["CONNECTOR_LIVE_STREAM_ID"] == given


def test_no_elasticsearch_output_no_elastic_connector(tmp_path: Path, ansible_playbook: Path):
    secrets = {key: value for key, value in SECRETS.items() if key != "opencti_elasticsearch_url"}
    extra = dict(secrets, **_connector_vars(), opencti_elasticsearch_mode="container", __opencti_live_stream_id=STREAM_ID)
    rendered = render(tmp_path, ansible_playbook, extra)

    assert "elastic-security-intel" not in rendered.connectors()
    assert {"abuseipdb-ipblacklist", "alienvault", "mitre"} <= set(rendered.connectors())


def test_the_enabled_switch_overrides_either_way(tmp_path: Path, ansible_playbook: Path):
    extra = dict(SECRETS, **_connector_vars(), __opencti_live_stream_id=STREAM_ID,
                 opencti_connector_alienvault_enabled=False, opencti_connector_mitre_enabled=False)
    rendered = render(tmp_path, ansible_playbook, extra)

    assert set(rendered.connectors()) == set(SHIPPED) - {"alienvault", "mitre"}
    assert API_KEYS["alienvault"] not in rendered.env_text


def test_every_connector_variable_is_one_its_documentation_lists(all_enabled: Rendered):
    for name, service in all_enabled.connectors().items():
        env = set(environment(service))
        known = COMMON | DOCUMENTED[name]["documented"]
        assert env <= known, "%s gets variables its documentation does not list: %s" % (name, sorted(env - known))
        missing = DOCUMENTED[name]["required"] - env
        assert not missing, "%s lacks the variables it requires: %s" % (name, sorted(missing))


def test_the_elastic_connector_uses_the_key_the_role_keeps(tmp_path: Path, ansible_playbook: Path):
    # No key in the vault, the issuer's password given: the connector still runs, with the
    # least-privilege key tasks/elastic_key.yml minted and kept (__opencti_elastic_connector_key),
    # written to .env only.
    kept = "a2VwdC1pZDprZXB0LWFwaS1rZXk="
    variables = {key: value for key, value in _connector_vars().items() if key != _var("elastic-security-intel", "api_key")}
    extra = dict(SECRETS, **variables, __opencti_live_stream_id=STREAM_ID,
                 elasticsearch_opencti_password="issuer-password-0a1b", __opencti_elastic_connector_key=kept)
    rendered = render(tmp_path, ansible_playbook, extra)

    service = rendered.connectors()["elastic-security-intel"]
    assert interpolate(environment(service)["ELASTIC_SECURITY_API_KEY"], rendered.env) == kept
    assert kept not in rendered.compose_text
    assert "issuer-password-0a1b" not in rendered.env_text + rendered.compose_text
