"""Firewall drivers, by the ``type`` a ``firewalls`` entry names.

To add a vendor: write a ``Driver`` subclass in its own module (see ``opnsense.py``),
add it to ``DRIVER_TYPES`` and test it against a fake of the vendor's documented API
(docs/active-response.md, "Writing a vendor driver").
"""

from __future__ import annotations

from typing import Dict, Type

from vigil_responder.drivers.base import Driver, DriverError
from vigil_responder.drivers.nftables import NftablesDriver
from vigil_responder.drivers.opnsense import OpnsenseDriver

DRIVER_TYPES: Dict[str, Type[Driver]] = {cls.type_name: cls for cls in (NftablesDriver, OpnsenseDriver)}

__all__ = ["DRIVER_TYPES", "Driver", "DriverError", "NftablesDriver", "OpnsenseDriver"]
