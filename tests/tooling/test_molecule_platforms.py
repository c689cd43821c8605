"""Every Molecule scenario's containers are the one systemd container of the base config.

Each scenario's effective config is built as Molecule builds it (the base config
``.config/molecule/config.yml`` first, the scenario's ``molecule.yml`` merged on top with
Molecule's own ``util.merge_dicts``, after the same ``${VAR}`` interpolation), then:

- every platform carries the container keys of the base config's first platform (the
  systemd container, ``&vigil_systemd``) with the same values: a scenario that lists its
  own hosts cannot drop a capability, a tmpfs or the cgroup mount;
- those keys hold what systemd as PID 1 needs here (DEVELOPERS.md "The container lab"):
  explicit capabilities, never ``privileged`` or ``ALL``;
- the effective config passes Molecule's own schema;
- DEVELOPERS.md and scripts/lab.sh (the lab's ``docker run``) list the same capabilities.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

molecule_util = pytest.importorskip("molecule.util")
schema_v3 = pytest.importorskip("molecule.model.schema_v3")
interpolation = pytest.importorskip("molecule.interpolation")

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / ".config" / "molecule" / "config.yml"
SCENARIOS = sorted(list(ROOT.glob("molecule/*/molecule.yml")) + list(ROOT.glob("roles/*/molecule/*/molecule.yml")))
# The keys that make the container a systemd host; name, image and groups are each host's own.
CONTAINER_KEYS = ("pre_build_image", "command", "cgroupns_mode", "volumes", "tmpfs", "security_opts", "capabilities",
                  "networks")
ENV = {"VIGIL_MOLECULE_PREFIX": "vigil-test", "VIGIL_ROOT": str(ROOT)}


def _load(path: Path) -> Dict[str, Any]:
    text = interpolation.Interpolator(interpolation.TemplateWithDefaults, ENV).interpolate(path.read_text())
    return molecule_util.safe_load(text, str(path))


def effective(scenario: Path) -> Dict[str, Any]:
    """The scenario's config as Molecule merges it: base config, then molecule.yml."""
    return molecule_util.merge_dicts(_load(BASE), _load(scenario))


def _systemd() -> Dict[str, Any]:
    first = _load(BASE)["platforms"][0]
    return {key: first[key] for key in CONTAINER_KEYS}


def test_the_scenarios_are_found():
    assert len(SCENARIOS) >= 20
    assert ROOT / "molecule" / "alerting" / "molecule.yml" in SCENARIOS


def test_the_base_container_is_what_systemd_needs_here():
    systemd = _systemd()
    assert systemd["command"] == "/lib/systemd/systemd"
    assert systemd["cgroupns_mode"] == "host"
    assert "/sys/fs/cgroup:/sys/fs/cgroup:rw" in systemd["volumes"]
    assert {"/run", "/run/lock"} <= set(systemd["tmpfs"])
    assert set(systemd["security_opts"]) == {"seccomp=unconfined", "apparmor=unconfined"}
    assert systemd["capabilities"] == ["SYS_ADMIN", "NET_ADMIN", "NET_RAW"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[str(p.parent.relative_to(ROOT)) for p in SCENARIOS])
def test_every_platform_of_every_scenario_is_the_systemd_container(scenario: Path):
    config = effective(scenario)
    systemd = _systemd()
    platforms: List[Dict[str, Any]] = config["platforms"]
    assert platforms, scenario
    for platform in platforms:
        different = {key: platform.get(key) for key in CONTAINER_KEYS if platform.get(key) != systemd[key]}
        assert not different, "%s: platform %s differs from the base config's container: %s" % (
            scenario, platform["name"], different)
        assert not platform.get("privileged") and "ALL" not in platform["capabilities"]
        assert platform["name"].startswith("vigil-test-"), "names carry VIGIL_MOLECULE_PREFIX: %s" % platform["name"]
        assert "lab" in platform.get("groups", []), platform["name"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[str(p.parent.relative_to(ROOT)) for p in SCENARIOS])
def test_every_effective_config_passes_moleculess_schema(scenario: Path):
    assert schema_v3.validate(effective(scenario)) in ([], None, "")


def test_a_platform_that_drops_a_capability_is_found(tmp_path: Path):
    # The check above fails on a scenario that restates the container without NET_RAW.
    broken = tmp_path / "molecule.yml"
    text = (ROOT / "roles" / "opencti" / "molecule" / "default" / "molecule.yml").read_text()
    assert "      - NET_RAW\n" in text
    broken.write_text(text.replace("      - NET_RAW\n", ""))
    with pytest.raises(AssertionError, match="capabilities"):
        test_every_platform_of_every_scenario_is_the_systemd_container(broken)


def test_developers_md_and_the_lab_list_the_same_capabilities():
    capabilities = _systemd()["capabilities"]
    developers = (ROOT / "DEVELOPERS.md").read_text()
    assert "`capabilities: [%s]`" % ", ".join(capabilities) in developers
    lab = (ROOT / "scripts" / "lab.sh").read_text()
    assert re.findall(r"--cap-add (\w+)", lab) == capabilities
