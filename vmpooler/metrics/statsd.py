"""statsd over UDP: ``<prefix>.<label>:<value>|c|g|ms``, one datagram per datapoint."""

from __future__ import annotations

import logging
import re
import socket

from vmpooler.metrics import Metrics
from vmpooler.metrics.wire import number

log = logging.getLogger("vmpooler.metrics")

# Characters that would split a statsd line; statsd-ruby replaces them the same way.
_RESERVED = re.compile(r"[:|@]")


class StatsdMetrics(Metrics):
    def __init__(self, server: str, port: int = 8125, prefix: str = "vmpooler"):
        self.server = server
        self.port = port
        self.prefix = prefix
        self._target: tuple[socket.socket, tuple] | None = None

    def increment(self, label: str, value: int = 1) -> None:
        self._send(label, value, "c", "incrementing")

    def gauge(self, label: str, value: float) -> None:
        self._send(label, value, "g", "updating gauge")

    def timing(self, label: str, value: float) -> None:
        self._send(label, value, "ms", "updating timing")

    def _send(self, label: str, value: float, kind: str, action: str) -> None:
        name = _RESERVED.sub("_", f"{self.prefix}.{label}")
        try:
            sock, address = self._resolve()
            sock.sendto(f"{name}:{number(value)}|{kind}".encode(), address)
        except OSError as exc:
            if not isinstance(exc, BlockingIOError):  # a full send buffer only drops this datagram
                self._target = None  # resolve again next time: the server may have moved
            log.info("[!] Failure %s %s on statsd server [%s:%s]: %s", action, name, self.server, self.port, exc)

    def _resolve(self) -> tuple[socket.socket, tuple]:
        """The socket and address, looked up once instead of on every datagram.

        UDP needs no connection, so one socket serves every thread, and a forked
        child sending on its parent's socket is harmless."""
        if self._target is None:
            family, _, _, _, address = socket.getaddrinfo(self.server, self.port, type=socket.SOCK_DGRAM)[0]
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            self._target = (sock, address)
        return self._target
