# Vigil: Mitogen's linear strategy, opt-in (VIGIL_MITOGEN=1, see docs/performance.md).
# Mitogen (PyPI: mitogen) keeps one Python interpreter per host and sends modules over
# it, instead of a new `docker exec`/ssh and a new interpreter per task. It redirects
# connections named `docker`; the lab and Molecule name the plugin by its FQCN
# `community.docker.docker`, which is the same transport: redirect that name too.
"""Strategy vigil_mitogen_linear: Mitogen's linear strategy, FQCN docker connections included."""

from __future__ import annotations

import ansible_mitogen.loaders
import ansible_mitogen.strategy

DOCUMENTATION = """
name: vigil_mitogen_linear
short_description: Mitogen's linear strategy, with the FQCN of the docker connection redirected too
description:
  - Mitogen's C(mitogen_linear) strategy; connections named C(community.docker.docker) use Mitogen's docker transport;
    plays with C(connection: local) run with the plain linear strategy.
"""

FQCN_ALIASES = {"community.docker.docker": "docker"}
_ORIGINAL = ansible_mitogen.strategy.wrap_connection_loader__get_with_context


def _wrap_connection_loader__get_with_context(name, *args, **kwargs):
    return _ORIGINAL(FQCN_ALIASES.get(name, name), *args, **kwargs)


ansible_mitogen.strategy.REDIRECTED_CONNECTION_PLUGINS = tuple(
    ansible_mitogen.strategy.REDIRECTED_CONNECTION_PLUGINS) + tuple(FQCN_ALIASES)
ansible_mitogen.strategy.wrap_connection_loader__get_with_context = _wrap_connection_loader__get_with_context

Base = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, Base):
    """Linear strategy over Mitogen connections; plays on the controller stay plain."""

    def run(self, iterator, play_context):
        # Plays with `connection: local` (Molecule's create/destroy, the preflight play)
        # gain nothing from Mitogen, and Molecule's use async_status, which Mitogen's
        # local transport does not track across tasks: run them with the plain strategy.
        if getattr(iterator._play, "connection", None) in ("local", "ansible.builtin.local"):
            return Base.run(self, iterator, play_context)
        return super().run(iterator, play_context)
