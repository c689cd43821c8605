"""opencti on a lab host, up to the image pull boundary.

Redis and RabbitMQ come from Debian's packages and must run with OpenCTI's settings; the
compose project and its .env must be written, private and accepted by `docker compose
config`; the stack itself is not started (no registry in the lab) and the role says so;
a bad admin token or connector id stops the role before it changes anything.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

BASE = "/opt/opencti"
TOKEN = "5b0e6f0c-2b1e-4c77-9f6a-1d2e3c4b5a69"
REDIS_PASSWORD = "VIGIL-MARKER-redis-password-4a1b"
RABBITMQ_PASSWORD = "VIGIL-MARKER-rabbitmq-password-8c2d"
VERSION = "7.261026.0"


def compose_config(host):
    cmd = host.run("cd %s && docker compose config --format json" % BASE)
    assert cmd.rc == 0, cmd.stderr
    return json.loads(cmd.stdout)


def env_list(service):
    env = service["environment"]
    return env if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


# --------------------------------------------------------------------------- Redis


def test_redis_is_the_debian_package_and_runs(host):
    assert host.package("redis-server").is_installed
    service = host.service("redis-server")
    assert service.is_running and service.is_enabled


@pytest.mark.parametrize("setting,expected", [
    ("maxmemory", "268435456"),  # opencti_redis_maxmemory: 256mb
    ("maxmemory-policy", "noeviction"),
    ("port", "6379"),
])
def test_redis_runs_with_the_configured_settings(host, setting, expected):
    out = host.check_output("REDISCLI_AUTH=%s redis-cli -h 127.0.0.1 CONFIG GET %s" % (REDIS_PASSWORD, setting))
    assert out.splitlines() == [setting, expected]


def test_redis_requires_the_password_and_listens_on_loopback_and_the_docker_bridge(host):
    anonymous = host.run("redis-cli -h 127.0.0.1 ping")
    assert "NOAUTH" in anonymous.stdout + anonymous.stderr
    wrong = host.run("REDISCLI_AUTH=wrong redis-cli -h 127.0.0.1 ping")
    assert "WRONGPASS" in wrong.stdout + wrong.stderr
    bind = host.check_output("REDISCLI_AUTH=%s redis-cli -h 127.0.0.1 CONFIG GET bind" % REDIS_PASSWORD)
    assert bind.splitlines()[1].split() == ["127.0.0.1", "-172.17.0.1"]
    assert host.socket("tcp://172.17.0.1:6379").is_listening
    assert not host.socket("tcp://0.0.0.0:6379").is_listening
    settings = host.file("/etc/redis/redis-opencti.conf")
    assert (settings.user, settings.group, settings.mode) == ("root", "redis", 0o640)


# --------------------------------------------------------------------------- RabbitMQ


def test_rabbitmq_is_the_debian_package_and_runs(host):
    assert host.package("rabbitmq-server").is_installed
    service = host.service("rabbitmq-server")
    assert service.is_running and service.is_enabled


@pytest.mark.parametrize("key,expected", [
    ("max_message_size", "{ok,536870912}"),
    ("consumer_timeout", "{ok,86400000}"),
])
def test_rabbitmq_runs_with_openctis_message_settings(host, key, expected):
    out = host.check_output("rabbitmqctl eval 'application:get_env(rabbit, %s).'" % key)
    assert out.strip().splitlines()[-1] == expected


def test_rabbitmq_listens_on_loopback_and_the_docker_bridge_with_management(host):
    out = host.check_output("rabbitmq-diagnostics -q listeners")
    assert "127.0.0.1, port: 5672" in out
    assert "172.17.0.1, port: 5672" in out
    assert "172.17.0.1, port: 15672" in out  # the management API OpenCTI reads queue statistics from
    assert "0.0.0.0, port: 5672" not in out and "[::], port: 5672" not in out


def test_rabbitmq_user_for_opencti_authenticates(host):
    assert host.run("rabbitmqctl authenticate_user opencti %s" % RABBITMQ_PASSWORD).rc == 0
    users = json.loads(host.check_output("rabbitmqctl list_users --formatter json"))
    opencti = next(u for u in users if u["user"] == "opencti")
    assert "administrator" in opencti["tags"]


# --------------------------------------------------------------------------- compose project


@pytest.mark.parametrize("name", ["docker-compose.yml", ".env"])
def test_compose_files_are_private(host, name):
    f = host.file("%s/%s" % (BASE, name))
    assert f.exists
    assert (f.user, f.group, f.mode) == ("root", "root", 0o640)


def test_compose_v2_from_debian_validates_the_project(host):
    assert host.package("docker-compose").is_installed
    assert host.check_output("docker compose version --short").startswith("2.")
    cmd = host.run("cd %s && docker compose config --quiet" % BASE)
    assert cmd.rc == 0, cmd.stderr
    assert "variable is not set" not in cmd.stderr


def test_env_file_sets_every_variable_the_compose_file_uses(host):
    env = {}
    for line in host.file("%s/.env" % BASE).content_string.splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            env[key] = value.strip("'")
    for key in ("OPENCTI_ADMIN_PASSWORD", "OPENCTI_ADMIN_TOKEN", "OPENCTI_HEALTH_ACCESS_KEY", "OPENCTI_ENCRYPTION_KEY",
                "REDIS_PASSWORD", "RABBITMQ_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY",
                "CONNECTOR_MITRE_ID", "CONNECTOR_IMPORT_FILE_STIX_ID"):
        assert env.get(key), key
    assert env["OPENCTI_ADMIN_TOKEN"] == TOKEN
    compose = host.file("%s/docker-compose.yml" % BASE).content_string
    # Every ${VAR:?...} the compose file requires is in .env ...
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", compose))
    assert required and required <= set(env)
    # ... and no secret is written in the compose file itself.
    for secret in (TOKEN, REDIS_PASSWORD, RABBITMQ_PASSWORD, "VIGIL-MARKER-admin-password-9f3c", "VIGIL-MARKER-minio-secret-3e5f"):
        assert secret not in compose


def test_compose_project_runs_platform_workers_connectors_and_container_dependencies(host):
    services = compose_config(host)["services"]
    assert sorted(services) == ["connector-import-file-stix", "connector-mitre", "elasticsearch", "minio",
                                "opencti", "worker"]  # Redis and RabbitMQ are host packages here
    assert services["opencti"]["image"] == "opencti/platform:%s" % VERSION
    assert services["worker"]["image"] == "opencti/worker:%s" % VERSION
    assert services["connector-mitre"]["image"] == "opencti/connector-mitre:%s" % VERSION
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["elasticsearch"].get("ports") in (None, [])  # not published


def test_platform_reaches_host_redis_and_rabbitmq_and_prefixes_its_indices(host):
    opencti = compose_config(host)["services"]["opencti"]
    env = env_list(opencti)
    assert env["REDIS__HOSTNAME"] == "host.docker.internal"
    assert env["RABBITMQ__HOSTNAME"] == "host.docker.internal"
    assert env["REDIS__PASSWORD"] == REDIS_PASSWORD
    assert env["APP__ADMIN__TOKEN"] == TOKEN
    assert env["ELASTICSEARCH__URL"] == "http://elasticsearch:9200"
    assert env["ELASTICSEARCH__INDEX_PREFIX"] == "vigil_opencti"
    assert "host.docker.internal=host-gateway" in opencti["extra_hosts"] or \
        "host.docker.internal:host-gateway" in opencti["extra_hosts"]
    assert opencti["ports"][0]["published"] == "8080"


def test_connectors_carry_their_ids_and_intervals(host):
    services = compose_config(host)["services"]
    mitre = env_list(services["connector-mitre"])
    assert mitre["CONNECTOR_ID"] == "8307ea1e-9356-408c-a510-2d7f8b28a0e2"
    assert mitre["MITRE_INTERVAL"] == "7"
    assert mitre["OPENCTI_URL"] == "http://opencti:8080"
    stix = env_list(services["connector-import-file-stix"])
    assert stix["CONNECTOR_ID"] == "72327164-0b35-482b-b5d6-a5a3f76b845f"


# --------------------------------------------------------------------------- the boundary


def test_the_stack_was_not_started(host):
    """No registry in the lab: nothing pulled, nothing running (the role reports it)."""
    assert host.run("docker info --format '{{.ServerVersion}}'").rc == 0  # the engine itself runs
    assert host.check_output("docker ps -aq") == ""
    assert host.check_output("docker images -q") == ""


# --------------------------------------------------------------------------- failing early


def run_converge(host, **extra_vars):
    """Run the role again on this host with extra variables; (rc, output)."""
    playbook = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")
    binary = shutil.which("ansible-playbook") or os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    argv = [binary, "--inventory", os.environ["MOLECULE_INVENTORY_FILE"], playbook,
            "--limit", host.backend.get_hostname()]
    for key, value in extra_vars.items():
        argv += ["-e", "%s=%s" % (key, value)]
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="false", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("extra,expected", [
    ({"opencti_admin_token": "not-a-uuid"},
     ["opencti_admin_token is not a UUIDv4", "python3 -c 'import uuid; print(uuid.uuid4())'"]),
    ({"opencti_connector_mitre_id": "ChangeMe"},
     ["'mitre' has id 'ChangeMe', not a UUIDv4", "opencti_connector_mitre_id"]),
])
def test_a_bad_uuid_stops_the_role_before_anything_changes(host, extra, expected):
    before = {name: host.file("%s/%s" % (BASE, name)).sha256sum for name in ("docker-compose.yml", ".env")}

    rc, output = run_converge(host, **extra)

    assert rc != 0, output
    for text in expected:
        assert text in output, output
    assert re.search(r"changed=0 .*failed=1", output), output
    assert "not-a-uuid" not in output  # the token is never shown
    after = {name: host.file("%s/%s" % (BASE, name)).sha256sum for name in ("docker-compose.yml", ".env")}
    assert after == before


def test_a_compose_file_that_does_not_validate_never_replaces_the_live_one(host):
    live = "%s/docker-compose.yml" % BASE
    before = host.file(live).sha256sum

    rc, output = run_converge(host, opencti_listen_address="256.1.1.1")

    assert rc != 0, output
    assert "docker compose config refused" in output and "Invalid ip address: 256.1.1.1" in output, output
    assert host.file(live).sha256sum == before
    assert "256.1.1.1:8080:8080" in host.file("%s/staging/docker-compose.yml" % BASE).content_string
    assert "256.1.1.1" not in host.file(live).content_string
