"""Redis clients and URLs built from the ``redis`` settings."""

from __future__ import annotations

from urllib.parse import quote

import redis


def redis_url(cfg) -> str:
    """The Redis URL of the settings: ``url`` wins, else server/port/password/db."""
    if cfg.url:
        return cfg.url
    auth = f":{quote(cfg.password, safe='')}@" if cfg.password else ""
    return f"redis://{auth}{cfg.server or 'localhost'}:{cfg.port}/{cfg.db}"


def celery_broker_url(url: str) -> str:
    """Celery names a Unix-socket Redis ``redis+socket://``; redis-py calls it ``unix://``."""
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://"):]
    return url


def make_client(cfg, url: str | None = None, min_connections: int = 0) -> redis.Redis:
    """``min_connections``: what the process's threads need at once, when more than the configured pool."""
    # Blocking, as 1.3.0's pool: a burst of concurrent callers (the API's gevent workers
    # serve many requests at once) waits up to connection_pool_timeout seconds for a
    # free connection instead of failing with "Too many connections".
    pool = redis.BlockingConnectionPool.from_url(
        url or redis_url(cfg),
        decode_responses=True,
        max_connections=max(cfg.connection_pool_size * 4, 8, min_connections),
        timeout=cfg.connection_pool_timeout or 5,
        health_check_interval=30,
        retry_on_timeout=True,
    )
    client = redis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True
    return client
