"""The opt-in Mitogen strategy (scripts/strategy_plugins/vigil_mitogen_linear.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "scripts" / "strategy_plugins"

pytest.importorskip("ansible_mitogen", reason="mitogen is in requirements-test.txt: make venv")


def load_strategy():
    spec = importlib.util.spec_from_file_location("vigil_mitogen_linear", PLUGINS / "vigil_mitogen_linear.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fqcn_of_the_docker_connection_gets_mitogens_docker_transport(monkeypatch):
    strategy = load_strategy()
    import ansible_mitogen.strategy as upstream

    asked = []
    monkeypatch.setattr(strategy, "_ORIGINAL", lambda name, *args, **kwargs: asked.append(name))
    strategy._wrap_connection_loader__get_with_context("community.docker.docker")
    strategy._wrap_connection_loader__get_with_context("ssh")
    assert asked == ["docker", "ssh"]
    assert "community.docker.docker" in upstream.REDIRECTED_CONNECTION_PLUGINS
    assert upstream.wrap_connection_loader__get_with_context is strategy._wrap_connection_loader__get_with_context


class _Play:
    def __init__(self, connection):
        self.connection = connection


class _Iterator:
    def __init__(self, connection):
        self._play = _Play(connection)


@pytest.mark.parametrize("connection, expected", [
    ("local", "plain"),
    ("ansible.builtin.local", "plain"),
    ("community.docker.docker", "mitogen"),
    ("ssh", "mitogen"),
])
def test_controller_plays_run_plain_and_the_others_with_mitogen(monkeypatch, connection, expected):
    # Molecule's create/destroy (connection: local) poll async_status for docker_container
    # jobs; under Mitogen's local transport that loop never saw the job finish (seen on
    # `molecule destroy`): those plays keep Ansible's own strategy.
    strategy = load_strategy()
    import ansible_mitogen.strategy as upstream

    ran = []
    monkeypatch.setattr(strategy.Base, "run", lambda self, iterator, play_context: ran.append("plain"))
    monkeypatch.setattr(upstream.StrategyMixin, "run", lambda self, iterator, play_context: ran.append("mitogen"))
    module = strategy.StrategyModule.__new__(strategy.StrategyModule)
    strategy.StrategyModule.run(module, _Iterator(connection), play_context=None)
    assert ran == [expected]
