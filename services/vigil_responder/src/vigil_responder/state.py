"""Active blocks, kept in a JSON file so that a restart forgets nothing.

The file is the responder's record of what it blocked, where and until when; it is
written atomically (a temporary file in the same directory, then a rename) after every
change. At start the engine compares it with the firewalls: an expired block is removed
(and recorded as expired), a block a firewall lost (a reboot, a reloaded ruleset) is
applied again for the time it has left.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, Iterator, List, Optional

LOG = logging.getLogger("vigil_responder")
STATE_VERSION = 1


@dataclass
class Block:
    """One blocked (or, in dry run, would-be blocked) network."""

    network: str            # CIDR, e.g. 192.0.2.7/32
    alertname: str
    fingerprint: str
    created_at: float
    expires_at: float
    ttl: int
    dry_run: bool
    # firewall name -> "blocked" or "error"
    firewalls: Dict[str, str] = field(default_factory=dict)

    def active(self, now: float) -> bool:
        return self.expires_at > now

    def failed_on(self) -> List[str]:
        return sorted(name for name, status in self.firewalls.items() if status != "blocked")


class State:
    def __init__(self, path: str) -> None:
        self.path = path
        self.blocks: Dict[str, Block] = {}

    def load(self) -> None:
        """Read the file; a missing file is an empty state, an unreadable one is set aside and logged."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                document = json.load(handle)
            self.blocks = {item["network"]: Block(**item) for item in document["blocks"]}
        except FileNotFoundError:
            self.blocks = {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            aside = "%s.unreadable-%d" % (self.path, int(time.time()))
            LOG.error("state file %s is unreadable (%s); moved to %s, starting with no known blocks",
                      self.path, exc, aside)
            try:
                os.replace(self.path, aside)
            except OSError:
                pass
            self.blocks = {}

    def save(self) -> None:
        document = {"version": STATE_VERSION, "blocks": [asdict(block) for block in self]}
        directory = os.path.dirname(self.path) or "."
        fd, temporary = tempfile.mkstemp(prefix=".state-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise

    def __iter__(self) -> Iterator[Block]:
        return iter(sorted(self.blocks.values(), key=lambda block: (block.expires_at, block.network)))

    def get(self, network: str) -> Optional[Block]:
        return self.blocks.get(network)

    def put(self, block: Block) -> None:
        self.blocks[block.network] = block

    def remove(self, network: str) -> None:
        self.blocks.pop(network, None)

    def count_active(self, now: float, dry_run: bool) -> int:
        return sum(1 for block in self.blocks.values() if block.dry_run == dry_run and block.active(now))
