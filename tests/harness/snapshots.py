"""A comparable snapshot of everything in Redis, to prove a refused request changed nothing."""

from __future__ import annotations

import json

from vmpooler.store import keys


def redis_state(redis) -> dict:
    """Every key with its type and value, except the rate-limit counters, the record of the
    Redis connection in use and tokens' ``last`` field (bookkeeping of use, not changes a
    refused request may not make)."""
    state = {}
    for key in sorted(redis.keys("*")):
        if key.startswith(keys.RATE_LIMIT_PREFIX) or key == keys.HEALTH_REDIS:
            continue
        kind = redis.type(key)
        if kind == "string":
            value = redis.get(key)
        elif kind == "hash":
            value = redis.hgetall(key)
            if key.startswith(keys.TOKEN_PREFIX):
                value.pop("last", None)
        elif kind == "set":
            value = sorted(redis.smembers(key))
        elif kind == "zset":
            value = redis.zrange(key, 0, -1, withscores=True)
        else:
            value = redis.lrange(key, 0, -1)
        state[key] = json.dumps(value, sort_keys=True)
    return state
