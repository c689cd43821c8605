"""What a firewall driver is: block, unblock, list what is blocked.

A driver gets its settings from one ``firewalls`` entry of the configuration
(``parse_settings`` checks them and names the field of a mistake) and is called by the
engine with networks that already passed every guard rail. It raises ``DriverError``
with a message fit for the audit log (never a credential) when the firewall refuses or
cannot be reached; the engine records the failure and retries later.

``native_expiry``: the firewall removes an entry by itself when its timeout ends (nftables
sets with ``flags timeout``), so the engine only checks and records the expiry. Without
it, the engine calls ``unblock`` when the block's time is up.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Dict, Mapping, Optional

from vigil_responder.addresses import Network


class DriverError(Exception):
    """The firewall refused, answered something unexpected, or could not be reached."""


class Driver(abc.ABC):
    type_name: ClassVar[str] = ""
    native_expiry: ClassVar[bool] = False

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.name: str = settings.name

    @classmethod
    @abc.abstractmethod
    def parse_settings(cls, raw: Mapping[str, Any], where: str) -> Any:
        """Check one ``firewalls`` entry; return an immutable settings object with a ``name``."""

    @abc.abstractmethod
    def block(self, network: Network, ttl: int) -> None:
        """Block traffic from ``network`` for ``ttl`` seconds (a driver without native expiry ignores ttl)."""

    @abc.abstractmethod
    def unblock(self, network: Network) -> None:
        """Stop blocking ``network``; no error when it is not blocked."""

    @abc.abstractmethod
    def blocked(self) -> Dict[Network, Optional[int]]:
        """What the firewall blocks now: network -> seconds left (None when the firewall does not say)."""

    def extend(self, network: Network, ttl: int) -> None:
        """Give an existing block a new TTL. Drivers without native expiry need nothing: the engine keeps the time."""

    def check(self) -> None:
        """Raise DriverError when the firewall cannot be used (called at start; by default a listing)."""
        self.blocked()
