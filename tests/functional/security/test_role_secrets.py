"""Every secret option of every role is no_log and a string, and the roles refuse anything else.

The walk covers every option (and suboption) of every entry point in roles/*/meta/argument_specs.yml
whose name looks like a secret. Exceptions are listed below, each with its reason.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest
import yaml

from local_playbook import find_ansible_playbook, run_local_playbook

ROOT = Path(__file__).resolve().parents[3]
ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml"))

SECRET_NAME = re.compile(
    r"(password|passwd|passphrase|token|secret|api_?key|community|private_?key|encryption_key|access_key"
    r"|credential|auth_users$)",
    re.IGNORECASE,
)

# Options whose name looks secret but whose value is not a secret. Each needs a reason.
NOT_SECRETS: Dict[str, str] = {
    "opencti_connectors.api_key_env": "the NAME of the environment variable the connector reads its key from "
                                      "(e.g. MITRE_API_KEY), not the key",
    "_vigil_common_secret_options": "the NAMES of a role's secret variables, which the _vigil_common secrets check reads; no value",
    # The per-host agent key: where and how it is minted, not the key (elastic_agent_elasticsearch_api_key is).
    "elastic_agent_api_key_issuer_username": "the user name of the issuer that mints the agents' keys",
    "elastic_agent_api_key_name": "the name the minted key gets (vigil-agent-<host>)",
    "elastic_agent_api_key_indices": "index patterns the minted key may write",
    "elastic_agent_api_key_url": "the Elasticsearch URL the key is minted through",
    "elastic_agent_api_key_host": "the host the minting call runs from",
    "elastic_agent_api_key_validate_certs": "TLS verification of the minting call",
    "elastic_agent_api_key_ca_path": "path of the CA certificate for the minting call",
}
# grafana.com's community dashboards (Grafana's own name for them): no SNMP community.
NOT_SECRETS.update({
    "grafana_community_" + suffix: "community dashboards from grafana.com (ids, revisions, where they come from), no secret"
    for suffix in ("dashboards", "dashboards_source", "dashboards_url", "dashboards_download_on", "dashboards_cache_dir",
                   "dashboards_dir", "dashboards_validate_certs", "dashboards_retries", "dashboards_delay", "datasources")
})

# Secrets that are not one string: they hold several, by design. no_log is still required.
SECRET_CONTAINERS: Dict[str, str] = {
    "alertmanager_basic_auth_users": "user name -> password; the role writes only bcrypt hashes",
    "blackbox_exporter_basic_auth_users": "user name -> password; the role writes only bcrypt hashes",
    "custom_exporter_basic_auth_users": "user name -> password; the role writes only bcrypt hashes",
    "elasticsearch_exporter_basic_auth_users": "user name -> password; the role writes only bcrypt hashes",
    "node_exporter_basic_auth_users": "user name -> password; the role writes only bcrypt hashes",
    "prometheus_basic_auth_users": "user name -> password; the role writes only bcrypt hashes",
    "responder_basic_auth_users": "user name -> password; the role writes only bcrypt hashes (common web_config)",
    "snmp_exporter_basic_auth_users": "user name -> password; the role writes only bcrypt hashes",
    "windows_exporter_basic_auth_users": "user name -> password; the role writes only bcrypt hashes",
    "_prometheus_common_basic_auth_users": "user name -> password, passed on by the exporter roles; hashed with bcrypt",
    "elasticsearch_service_tokens": "a list of service-account tokens (one per service), each written as a hash",
    "opencti_connectors.secret_environment": "environment variable -> secret of one connector, written to .env",
}


def spec_of(role: Path) -> Dict[str, Any]:
    return yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]


def walk(options: Dict[str, Any], prefix: str = "") -> Iterator[Tuple[str, Dict[str, Any], bool]]:
    """(dotted name, option, top level?) for every option and suboption."""
    for name, option in (options or {}).items():
        yield prefix + name, option, not prefix
        yield from walk(option.get("options") or {}, prefix + name + ".")


def secret_options() -> List[Tuple[str, str, str, Dict[str, Any]]]:
    found = []
    for role in ROLES:
        for entry, spec in spec_of(role).items():
            for name, option, _top in walk(spec.get("options") or {}):
                if SECRET_NAME.search(name.rsplit(".", 1)[-1]) and name not in NOT_SECRETS:
                    found.append((role.name, entry, name, option))
    return found


SECRETS = secret_options()


def test_the_walk_sees_the_secrets_the_issue_names():
    names = {name for _role, _entry, name, _option in SECRETS}
    assert {"grafana_admin_password", "opencti_admin_token", "opencti_redis_password", "kibana_api_password",
            "elasticsearch_elastic_password", "node_exporter_basic_auth_users", "opencti_connectors.api_key",
            "kibana_encryption_key_security", "ecs_pipelines_es_api_key"} <= names
    assert len([n for n in names if n.startswith("opencti_")]) >= 13


@pytest.mark.parametrize("role,entry,name,option", SECRETS, ids=["%s:%s:%s" % s[:3] for s in SECRETS])
def test_every_secret_option_is_no_log_and_a_string(role, entry, name, option):
    assert option.get("no_log") is True, (
        "roles/%s/meta/argument_specs.yml (%s): %s looks like a secret but has no 'no_log: true'" % (role, entry, name))
    if name in SECRET_CONTAINERS:
        return
    assert option.get("type") == "str", (
        "roles/%s/meta/argument_specs.yml (%s): %s is a secret of type %r; secrets are 'type: str' (or list it in "
        "SECRET_CONTAINERS with the reason)" % (role, entry, name, option.get("type")))


def test_the_exceptions_still_exist():
    """An allowlist entry for an option that is gone would hide the next one with that name."""
    everything = {name for role in ROLES for spec in spec_of(role).values()
                  for name, _option, _top in walk(spec.get("options") or {})}
    assert not (set(NOT_SECRETS) | set(SECRET_CONTAINERS)) - everything


def checked_names(tasks_file: Path) -> Set[str]:
    """Secret names a tasks file passes to vigil.monitoring._vigil_common's secrets check."""
    names: Set[str] = set()
    for task in yaml.safe_load(tasks_file.read_text()) or []:
        include = task.get("ansible.builtin.include_role") or {}
        if include.get("name") == "vigil.monitoring._vigil_common" and include.get("tasks_from") == "secrets":
            names.update(task.get("vars", {}).get("_vigil_common_secret_options") or [])
    return names


ENTRY_POINTS = [(role, entry) for role in ROLES for entry in spec_of(role) if not role.name.startswith("_")]


@pytest.mark.parametrize("role,entry", ENTRY_POINTS, ids=["%s:%s" % (r.name, e) for r, e in ENTRY_POINTS])
def test_the_role_refuses_secrets_that_are_not_strings(role, entry):
    """Argument validation turns a mapping into text for a str option: the role's own check lists every secret."""
    spec = spec_of(role)[entry]
    wanted = {name for name, option, top in walk(spec.get("options") or {})
              if top and option.get("no_log") and option.get("type") == "str"}
    if entry == "main":
        files = sorted((role / "tasks").glob("*.yml"))
    else:
        files = [role / "tasks" / ("%s.yml" % entry)]
    checked = set().union(*(checked_names(f) for f in files if f.is_file()))
    assert wanted <= checked, (
        "roles/%s (%s): %s are secret strings but not in the role's vigil.monitoring._vigil_common secrets check"
        % (role.name, entry, sorted(wanted - checked)))
    assert checked <= wanted or entry == "main", sorted(checked - wanted)


def test_a_mapping_for_grafana_admin_password_stops_the_role_naming_it(tmp_path):
    playbook = (
        "- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: vigil.monitoring.grafana\n"
    )
    result = run_local_playbook(tmp_path / "dict", find_ansible_playbook(), playbook, {
        "grafana_admin_password": {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8},
        "grafana_secret_key": "0123456789abcdef0123",
        "grafana_elasticsearch_password": ["a", "list"],
    })
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "grafana_admin_password, grafana_elasticsearch_password must be a string" in output
    assert "Assert the secret options are strings" in output
    assert "0123456789abcdef0123" not in output


def test_strings_and_vault_strings_pass_the_check(tmp_path):
    """The check must not stop a correct inventory: plain strings, vaulted strings, unset (empty) secrets."""
    import subprocess
    import sys

    workdir = tmp_path / "ok"
    workdir.mkdir()
    (workdir / "vault-pass").write_text("matrix-vault-pass\n")
    vaulted = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-vault")), "encrypt_string", "--vault-password-file",
         str(workdir / "vault-pass"), "S3cret-from-the-vault", "--name", "grafana_secret_key"],
        capture_output=True, text=True, check=True, timeout=120, cwd=workdir,
    ).stdout
    (workdir / "vault.yml").write_text(vaulted)
    playbook = (
        "- hosts: localhost\n  gather_facts: false\n  vars_files: [vault.yml]\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: vigil.monitoring._vigil_common\n        tasks_from: secrets\n"
        "      vars:\n        _vigil_common_secret_options: [grafana_admin_password, grafana_secret_key, "
        "grafana_elasticsearch_password, grafana_prometheus_basic_auth_password]\n"
    )
    result = run_local_playbook(workdir, find_ansible_playbook(), playbook,
                                {"grafana_admin_password": "a-good-long-password", "grafana_elasticsearch_password": ""},
                                args=["--vault-password-file", str(workdir / "vault-pass")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "S3cret-from-the-vault" not in result.stdout + result.stderr
