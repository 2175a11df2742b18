"""Store failures the callers may handle without importing redis-py."""

from __future__ import annotations

import redis


class NotReplicated(Exception):
    """Fewer replicas than required acknowledged a hand-out in time; it was undone."""


StoreUnavailable = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                    redis.exceptions.ReadOnlyError)
"""Redis cannot be reached, did not answer in time, or is a replica that has not been
promoted yet (during a failover)."""
