"""Liveness records of beat and the workers, and the sizes the dashboard shows."""

from __future__ import annotations

import time

import redis

from vmpooler.store import keys
from vmpooler.store.connection import link_record, master_address

WORKER_RECORD_HOURS = 24
"""Workers not seen for this long are dropped from the record (hosts come and go)."""


class MonitoringStore:
    def __init__(self, client: redis.Redis):
        self.r = client

    def unreachable(self) -> str | None:
        """Why Redis cannot be used, or None when it answers."""
        try:
            self.r.ping()
        except redis.RedisError as exc:
            return str(exc) or type(exc).__name__
        return None

    def redis_link(self) -> dict:
        """The master in use now, the one recorded last, failovers and reconnects seen."""
        record = link_record(self.r)
        return {"master": master_address(self.r),
                "since": float(record["since"]) if record.get("since") else None,
                "previous_master": record.get("previous"),
                "failovers": int(record.get("failovers", 0)),
                "reconnects": int(record.get("reconnects", 0))}

    def beat_ticked(self, now: float | None = None) -> None:
        self.r.set(keys.HEALTH_BEAT, repr(time.time() if now is None else now))

    def worker_seen(self, hostname: str, now: float | None = None) -> None:
        self.r.hset(keys.HEALTH_WORKERS, hostname, repr(time.time() if now is None else now))

    def liveness(self, now: float | None = None) -> tuple[float | None, dict[str, float]]:
        """(beat's last tick, worker -> last seen); forgets workers gone for a day."""
        now = time.time() if now is None else now
        pipe = self.r.pipeline(transaction=False)
        pipe.get(keys.HEALTH_BEAT)
        pipe.hgetall(keys.HEALTH_WORKERS)
        beat, workers = pipe.execute()
        seen = {name: float(value) for name, value in workers.items()}
        gone = [name for name, value in seen.items() if now - value > WORKER_RECORD_HOURS * 3600]
        if gone:
            self.r.hdel(keys.HEALTH_WORKERS, *gone)
        return (float(beat) if beat else None), {k: v for k, v in seen.items() if k not in gone}

    def ondemand_sizes(self) -> dict[str, int]:
        """Requests waiting, requests being provisioned, and instances waiting to be cloned."""
        pipe = self.r.pipeline(transaction=False)
        for key in (keys.PROVISIONING_REQUEST, keys.PROVISIONING_PROCESSING, keys.ODCREATE_TASK):
            pipe.zcard(key)
        requested, processing, creating = pipe.execute()
        return {"requested": requested, "processing": processing, "creating": creating}
