"""The readiness check: can a client open a TCP connection to the VM?"""

from __future__ import annotations

import logging
import socket
from typing import Callable

Resolver = Callable[[str], str]

log = logging.getLogger("vmpooler.providers.vsphere")


def port_open(target: str, port: int, timeout: float, resolver: Resolver | None = None) -> bool:
    """True if ``target`` (a name or address, passed through ``resolver``) accepts a connection."""
    try:
        address = resolver(target) if resolver is not None else target
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except (OSError, ValueError) as exc:
        log.debug("%s:%s is not reachable: %s", target, port, exc)
        return False
