"""One clear line about why the configured Redis cannot be used, for start-up checks."""

from __future__ import annotations

import dataclasses

import redis
from redis.sentinel import MasterNotFoundError

from vmpooler.store import keys
from vmpooler.store.connection import make_client, redis_url


def where(cfg) -> str:
    if cfg.sentinels:
        return f"Sentinel master '{cfg.sentinel_master}' (sentinels {', '.join(cfg.sentinels)})"
    url = redis_url(cfg)
    return url.split("@")[-1] if "@" in url else url


def problem(cfg) -> str | None:
    """None when Redis answers and lets the configured user work, else why not."""
    client = make_client(dataclasses.replace(cfg, reconnect_attempts=0))
    try:
        client.ping()
        client.hgetall(keys.HEALTH_REDIS)
        client.eval("return 1", 0)
    except redis.RedisError as exc:
        return describe(cfg, exc)
    finally:
        client.close()
    return None


def describe(cfg, exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    user = f"user '{cfg.username}'" if cfg.username else "the default user"
    if isinstance(exc, MasterNotFoundError):
        return f"no Sentinel answers for master '{cfg.sentinel_master}' ({', '.join(cfg.sentinels)}): {text}"
    if isinstance(exc, redis.AuthenticationError) or "WRONGPASS" in text or "NOAUTH" in text:
        return f"Redis at {where(cfg)} refused the credentials of {user}: {text}"
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return f"Redis at {where(cfg)} does not allow {user} a command the service needs: {text}"
    if "certificate" in text.lower() or "ssl" in text.lower():
        return f"TLS with Redis at {where(cfg)} failed (check ssl_ca_file, ssl_cert_file, ssl_key_file): {text}"
    return f"cannot reach Redis at {where(cfg)}: {text}"
