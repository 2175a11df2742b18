"""Beat's scheduler: Celery's own, recording in Redis that it is still ticking."""

from __future__ import annotations

import logging
import time

from celery.beat import PersistentScheduler

from vmpooler.store.monitoring import MonitoringStore
from vmpooler.tasks.schedule import HEARTBEAT_SECONDS

log = logging.getLogger("vmpooler.tasks")

RECORD_EVERY_SECONDS = HEARTBEAT_SECONDS / 2
"""Beat wakes at least every HEARTBEAT_SECONDS (the heartbeat entry); recording on every
wake-up of a busy schedule would only add Redis writes."""


class Scheduler(PersistentScheduler):
    _recorded_at = float("-inf")

    def tick(self, *args, **kwargs):
        delay = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._recorded_at >= RECORD_EVERY_SECONDS:
            self._recorded_at = now
            try:
                MonitoringStore(self.app.services.redis).beat_ticked()
            except Exception as exc:  # the clock must keep running while Redis is away
                log.warning("[!] [beat] cannot record its tick: %s", exc)
        return delay
