"""Leases: Redis keys with an owner token and a time-to-live.

A lease is taken without blocking (a second taker simply gets False) and dies
with its holder: if the process is killed, the key expires. Long work keeps it
alive with a heartbeat thread that lives only as long as the work.
"""

from __future__ import annotations

import threading
import uuid

import redis

QUEUED = "queued"

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_TAKE_OVER = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class Lease:
    def __init__(self, client: redis.Redis, key: str, ttl: float, heartbeat: bool = False):
        self.client = client
        self.key = key
        self.ttl_ms = int(ttl * 1000)
        self.token = uuid.uuid4().hex
        self._heartbeat = heartbeat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.held = False

    def acquire(self) -> bool:
        """Take the lease if nobody holds it."""
        self.held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self._started()

    def take_over(self, expected: str = QUEUED) -> bool:
        """Take the lease if it is free or holds ``expected`` (a queued-work marker)."""
        self.held = bool(self.client.eval(_TAKE_OVER, 1, self.key, self.token, self.ttl_ms, expected))
        return self._started()

    def refresh(self) -> bool:
        return bool(self.client.eval(_REFRESH, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.held:
            self.client.eval(_RELEASE, 1, self.key, self.token)
            self.held = False

    def _started(self) -> bool:
        if self.held and self._heartbeat:
            self._thread = threading.Thread(target=self._beat, name=f"lease:{self.key}", daemon=True)
            self._thread.start()
        return self.held

    def _beat(self) -> None:
        interval = self.ttl_ms / 3000
        while not self._stop.wait(interval):
            try:
                if not self.refresh():
                    return
            except redis.RedisError:
                continue

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
