"""Graphite's plaintext protocol over TCP: ``<prefix>.<label> <value> <epoch>``.

The Ruby service opened a connection (in a new thread) per datapoint. Here each
process keeps one connection and reconnects when it breaks; while the server is
unreachable, datapoints are dropped for a short back-off instead of making every
clone wait on a connect timeout.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Callable

from vmpooler.metrics import Metrics
from vmpooler.metrics.wire import number

log = logging.getLogger("vmpooler.metrics")

CONNECT_TIMEOUT_SECONDS = 1.0
RETRY_AFTER_SECONDS = 10.0


class GraphiteMetrics(Metrics):
    def __init__(self, server: str, port: int = 2003, prefix: str = "vmpooler",
                 clock: Callable[[], float] = time.time):
        self.server = server
        self.port = port
        self.prefix = prefix
        self._clock = clock
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._owner_pid = 0
        self._retry_at = 0.0

    def increment(self, label: str, value: int = 1) -> None:
        self._send(label, value)

    def gauge(self, label: str, value: float) -> None:
        self._send(label, value)

    def timing(self, label: str, value: float) -> None:
        self._send(label, value)

    def _send(self, label: str, value: float) -> None:
        line = f"{self.prefix}.{label} {number(value)} {int(self._clock())}\n".encode()
        with self._lock:
            if self._clock() < self._retry_at:
                return
            try:
                self._connection().sendall(line)
            except OSError as exc:
                self._drop()
                self._retry_at = self._clock() + RETRY_AFTER_SECONDS
                log.info("[!] Failure logging %s to graphite server [%s:%s]: %s", label, self.server, self.port, exc)

    def _connection(self) -> socket.socket:
        # A forked child must not write into its parent's stream.
        if self._socket is None or self._owner_pid != os.getpid():
            self._socket = socket.create_connection((self.server, self.port), timeout=CONNECT_TIMEOUT_SECONDS)
            self._owner_pid = os.getpid()
        return self._socket

    def _drop(self) -> None:
        if self._socket is not None and self._owner_pid == os.getpid():
            self._socket.close()
        self._socket = None
