"""Store failures the callers may handle without importing redis-py."""

from __future__ import annotations

import redis

StoreUnavailable = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
"""Redis cannot be reached (or did not answer in time)."""
