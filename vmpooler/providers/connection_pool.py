"""A small, re-entrant pool of provider connections.

A nested checkout in the same thread gets the connection it already holds, so a
provider method may call another one (vSphere's clone calls host selection)
even with a pool of size 1.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Generic, Iterator, TypeVar

from vmpooler.metrics import Metrics, NullMetrics

T = TypeVar("T")


class PoolTimeout(Exception):
    """No connection became free within the pool's timeout."""


class ConnectionPool(Generic[T]):
    def __init__(self, factory: Callable[[], T], size: int, timeout: float,
                 metrics: Metrics | None = None, label: str = "provider_connection_pool.unknown"):
        if size < 1:
            raise ValueError("connection pool size must be at least 1")
        self._factory = factory
        self.size = size
        self.timeout = timeout
        self._metrics = metrics or NullMetrics()
        self._label = label
        self._idle: list[T] = []
        self._created = 0
        self._cond = threading.Condition()
        self._local = threading.local()

    @property
    def available(self) -> int:
        with self._cond:
            return len(self._idle) + (self.size - self._created)

    @contextmanager
    def connection(self) -> Iterator[T]:
        held = getattr(self._local, "held", None)
        if held is not None:
            self._local.depth += 1
            try:
                yield held
            finally:
                self._local.depth -= 1
            return
        conn = self._checkout()
        self._local.held, self._local.depth = conn, 0
        try:
            yield conn
        finally:
            self._local.held = None
            self._checkin(conn)

    def replace(self, conn: T, new: T) -> None:
        """Swap a dead connection held by this thread for a fresh one."""
        if getattr(self._local, "held", None) is conn:
            self._local.held = new

    def _checkout(self) -> T:
        started = time.monotonic()
        deadline = started + self.timeout
        conn = self._idle_or_slot(deadline)
        if conn is None:
            # The slot is reserved; the (possibly slow) login runs outside the lock so other
            # threads keep checking out idle connections meanwhile.
            try:
                conn = self._factory()
            except BaseException:
                with self._cond:
                    self._created -= 1
                    self._cond.notify()
                raise
        self._metrics.timing(f"connection_waited.{self._label}", (time.monotonic() - started) * 1000)
        self._metrics.gauge(f"connection_available.{self._label}", self.available)
        return conn

    def _idle_or_slot(self, deadline: float) -> T | None:
        """An idle connection, or None after reserving the right to create one."""
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if self._created < self.size:
                    self._created += 1
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolTimeout(f"no connection free in {self._label} after {self.timeout} s")
                self._cond.wait(remaining)

    def _checkin(self, conn: T) -> None:
        with self._cond:
            self._idle.append(conn)
            self._cond.notify()
        self._metrics.gauge(f"connection_available.{self._label}", self.available)
