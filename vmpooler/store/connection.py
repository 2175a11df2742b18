"""Redis clients and Celery's broker, both built from the ``redis`` settings.

``make_client`` is the one place a redis-py client is built and ``broker_settings``
the one place Celery's broker is described, so that every user of Redis (state,
the dummy inventory, metrics, a rate limiter's storage) follows the same Sentinel,
TLS, ACL and timeout settings.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from vmpooler.store import keys
from vmpooler.store.replies import text_hash

log = logging.getLogger("vmpooler.store")

# KEYS[1]=health hash; ARGV: address, now, reconnected (0/1), through Sentinel (0/1).
# Only Sentinel names a master by an address every process agrees on, so only then is
# a new address a failover (a plain URL may be a socket path here and a host name there).
_RECORD_LINK = """
local previous = redis.call('HGET', KEYS[1], 'address')
if previous ~= ARGV[1] then
  if previous and ARGV[4] == '1' then
    redis.call('HINCRBY', KEYS[1], 'failovers', 1)
    redis.call('HSET', KEYS[1], 'previous', previous)
  end
  redis.call('HSET', KEYS[1], 'address', ARGV[1], 'since', ARGV[2])
end
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], 'reconnects', 1) end
return 1
"""


class LinkWatch:
    """Notices failed commands of one client and records each new connection in Redis."""

    def __init__(self, through_sentinel: bool):
        self.through_sentinel = through_sentinel
        self._failed = False
        self._lock = threading.Lock()

    def failed(self) -> None:
        with self._lock:
            self._failed = True

    def connected(self, connection) -> None:
        connection.on_connect()
        with self._lock:
            reconnected, self._failed = self._failed, False
        try:
            connection.send_command("EVAL", _RECORD_LINK, 1, keys.HEALTH_REDIS, address_of(connection),
                                    repr(time.time()), int(reconnected), int(self.through_sentinel))
            connection.read_response()
        except redis.ResponseError as exc:
            # Informative only: a user without the right to write it still works.
            log.debug("cannot record the Redis master in use: %s", exc)


class _WatchedRetry(Retry):
    """redis-py's retry (a short jittered backoff) that tells the watch about each failure."""

    def __init__(self, watch: LinkWatch, retries: int):
        super().__init__(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries)
        self.watch = watch

    def __deepcopy__(self, memo):
        # redis-py copies the retry into every connection; they must share the one watch.
        return self

    def call_with_retry(self, do, fail, is_retryable=None, with_failure_count=False):
        def failed(error, *count):
            self.watch.failed()
            return fail(error, *count)
        return super().call_with_retry(do, failed, is_retryable, with_failure_count)


def uses_tls(cfg) -> bool:
    return bool(cfg.ssl or (cfg.url and cfg.url.startswith("rediss://")))


def redis_url(cfg) -> str:
    """The URL of a Redis reached directly (not through Sentinel), without credentials:
    ``url`` wins, else server/port/db; ``ssl`` makes it ``rediss://``."""
    if cfg.url:
        url = cfg.url
        if cfg.ssl and url.startswith("redis://"):
            url = "rediss://" + url[len("redis://"):]
        return url
    scheme = "rediss" if cfg.ssl else "redis"
    return f"{scheme}://{cfg.server or 'localhost'}:{cfg.port}/{cfg.db}"


def _tls_options(cfg) -> dict:
    return {"ssl_ca_certs": cfg.ssl_ca_file, "ssl_certfile": cfg.ssl_cert_file, "ssl_keyfile": cfg.ssl_key_file}


def _credentials(cfg) -> dict:
    return {name: value for name, value in (("username", cfg.username), ("password", cfg.password)) if value}


def _sentinel_kwargs(cfg) -> dict:
    options: dict = {"socket_timeout": cfg.connect_timeout, "socket_connect_timeout": cfg.connect_timeout}
    if cfg.sentinel_password:
        options["password"] = cfg.sentinel_password
    if uses_tls(cfg):
        options.update(ssl=True, **_tls_options(cfg))
    return options


def sentinel_addresses(cfg) -> list[tuple[str, int]]:
    return [(host, int(port)) for host, _, port in (entry.rpartition(":") for entry in cfg.sentinels or ())]


def make_client(cfg, min_connections: int = 0) -> redis.Redis:
    """The process's client: a pool of connections to the master (found through Sentinel
    when ``sentinels`` is set), with the configured TLS, ACL user, timeouts and retries.
    ``min_connections``: what the process's threads need at once, when more than the configured pool."""
    watch = LinkWatch(through_sentinel=bool(cfg.sentinels))
    options = dict(
        decode_responses=True,
        max_connections=max(cfg.connection_pool_size * 4, 8, min_connections),
        health_check_interval=30,
        socket_timeout=cfg.socket_timeout,
        socket_connect_timeout=cfg.connect_timeout,
        retry=_WatchedRetry(watch, cfg.reconnect_attempts),
        redis_connect_func=watch.connected,
        **_credentials(cfg),
    )
    if cfg.sentinels:
        if uses_tls(cfg):
            options.update(ssl=True, **_tls_options(cfg))
        sentinel = Sentinel(sentinel_addresses(cfg), sentinel_kwargs=_sentinel_kwargs(cfg))
        return sentinel.master_for(cfg.sentinel_master, redis_class=redis.Redis, db=cfg.db, **options)
    if uses_tls(cfg):
        options.update(_tls_options(cfg))
    # Blocking, as 1.3.0's pool: a burst of concurrent callers (the API's gevent workers
    # serve many requests at once) waits up to connection_pool_timeout seconds for a
    # free connection instead of failing with "Too many connections".
    pool = redis.BlockingConnectionPool.from_url(redis_url(cfg), timeout=cfg.connection_pool_timeout or 5, **options)
    client = redis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True
    return client


def address_of(connection) -> str:
    path = getattr(connection, "path", None)
    return f"unix:{path}" if path else f"{connection.host}:{connection.port}"


def master_address(client: redis.Redis) -> str:
    """Where the client's commands go now (asks Sentinel when it is used)."""
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        host, port = pool.get_master_address()
        return f"{host}:{port}"
    kwargs = pool.connection_kwargs
    return f"unix:{kwargs['path']}" if "path" in kwargs else f"{kwargs.get('host')}:{kwargs.get('port')}"


def link_record(client: redis.Redis) -> dict[str, str]:
    """The health hash: the master last seen, since when, failovers and reconnects."""
    return text_hash(client.hgetall(keys.HEALTH_REDIS))


@dataclass(frozen=True)
class Broker:
    url: str
    transport_options: dict = field(default_factory=dict)
    use_ssl: dict | None = None


def broker_settings(cfg) -> Broker:
    """Celery's broker on the same Redis: kombu's ``sentinel://`` transport with the
    master's name when ``sentinels`` is set, TLS through ``broker_use_ssl``."""
    # Only the connect timeout: a read timeout would cut the consumer's blocking reads.
    options: dict = {"socket_connect_timeout": cfg.connect_timeout}
    userinfo = _userinfo(cfg)
    if cfg.sentinels:
        url = ";".join(f"sentinel://{userinfo}{host}:{port}/{cfg.db}" for host, port in sentinel_addresses(cfg))
        options.update(master_name=cfg.sentinel_master, sentinel_kwargs=_sentinel_kwargs(cfg))
    else:
        url = _with_userinfo(redis_url(cfg), userinfo)
        if url.startswith("unix://"):
            # Celery names a Unix-socket Redis ``redis+socket://``; redis-py calls it ``unix://``.
            url = "redis+socket://" + url[len("unix://"):]
    use_ssl = None
    if uses_tls(cfg):
        use_ssl = {"ssl_cert_reqs": ssl.CERT_REQUIRED, **{k: v for k, v in _tls_options(cfg).items() if v}}
    return Broker(url, options, use_ssl)


def _userinfo(cfg) -> str:
    if not (cfg.username or cfg.password):
        return ""
    return f"{quote(cfg.username or '', safe='')}:{quote(cfg.password or '', safe='')}@"


def _with_userinfo(url: str, userinfo: str) -> str:
    parts = urlsplit(url)
    if not userinfo or "@" in parts.netloc or parts.scheme == "unix":
        return url
    return urlunsplit(parts._replace(netloc=userinfo + parts.netloc))
