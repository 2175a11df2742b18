"""Beat's scheduler records its ticks (throttled), and keeps ticking when Redis is away."""

from __future__ import annotations

from freezegun import freeze_time

from tests.helpers import make_settings
from vmpooler.bootstrap import Services
from vmpooler.store.monitoring import MonitoringStore
from vmpooler.tasks.app import create_celery
from vmpooler.tasks.beat import RECORD_EVERY_SECONDS, Scheduler


def scheduler(settings, tmp_path) -> Scheduler:
    app = create_celery(Services(settings))
    return Scheduler(app=app, schedule_filename=str(tmp_path / "schedule"))


def test_ticks_are_recorded_at_most_every_few_seconds(redis_url, redis_client, tmp_path):
    monitoring = MonitoringStore(redis_client)
    with freeze_time("2026-01-01 12:00:00") as clock:
        beat = scheduler(make_settings(redis_url, pools=[]), tmp_path)
        assert beat.tick() > 0  # nothing due yet: the heartbeat comes after its interval
        first = monitoring.liveness()[0]
        assert first == clock().timestamp()
        clock.tick(RECORD_EVERY_SECONDS - 1)
        beat.tick()
        assert monitoring.liveness()[0] == first
        clock.tick(1)
        beat.tick()
        assert monitoring.liveness()[0] == first + RECORD_EVERY_SECONDS


def test_beat_keeps_ticking_without_redis(tmp_path, vmpooler_log):
    beat = scheduler(make_settings("redis://127.0.0.1:1/0", pools=[]), tmp_path)
    assert beat.tick() > 0
    assert "[!] [beat] cannot record its tick" in vmpooler_log.text
