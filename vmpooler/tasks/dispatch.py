"""The lifecycle's Dispatcher on Celery: work is sent by task name."""

from __future__ import annotations

import logging
from contextlib import contextmanager

from celery import Celery
from kombu.exceptions import OperationalError

from vmpooler.tasks.schedule import TASK_QUEUES

log = logging.getLogger("vmpooler.tasks")

SAFETY_NET = frozenset({"vmpooler.pool.repopulate", "vmpooler.pool.check", "vmpooler.pool.migrate",
                        "vmpooler.ondemand.process", "vmpooler.vm.destroy"})
"""Work that beat's next pool check (or on-demand sweep) does anyway if the message is lost."""

_ONE_CLIENT = "_vmpooler_one_client"


class CeleryDispatcher:
    def __init__(self, app: Celery):
        self.app = app

    def send(self, name: str, *args) -> None:
        try:
            with self.app.producer_or_acquire() as producer:
                publish_through_one_client(producer.channel)
                self.app.send_task(name, args=list(args), queue=TASK_QUEUES[name], producer=producer)
        except OperationalError as exc:
            # During a broker failover a checkout or return already done in Redis must not
            # fail (and leave its VMs unaccounted) for want of a wake-up.
            if name not in SAFETY_NET:
                raise
            log.warning("[!] could not send %s%s (broker unavailable: %s); the next check does it",
                        name, tuple(args), exc)

    def clone(self, pool: str, vm: str) -> None:
        self.send("vmpooler.vm.clone", pool, vm)

    def destroy(self, pool: str, vm: str) -> None:
        self.send("vmpooler.vm.destroy", pool, vm)

    def repopulate(self, pool: str) -> None:
        self.send("vmpooler.pool.repopulate", pool)

    def check(self, pool: str) -> None:
        self.send("vmpooler.pool.check", pool)

    def migrate(self, pool: str) -> None:
        self.send("vmpooler.pool.migrate", pool)

    def ondemand(self) -> None:
        self.send("vmpooler.ondemand.process")

    def purge(self, provider: str) -> None:
        self.send("vmpooler.provider.purge", provider)

    def create_disk(self, vm: str, size_gb: str) -> None:
        self.send("vmpooler.vm.create_disk", vm, size_gb)

    def snapshot(self, vm: str, snapshot: str) -> None:
        self.send("vmpooler.vm.snapshot", vm, snapshot)

    def revert_snapshot(self, vm: str, snapshot: str) -> None:
        self.send("vmpooler.vm.revert_snapshot", vm, snapshot)


def publish_through_one_client(channel) -> None:
    """Make a kombu Redis channel publish through one redis client.

    kombu's Redis channel builds a new ``redis.Redis`` (and its table of some 170 reply
    callbacks) for every message it publishes, which costs more than the LPUSH itself and
    was a third of an API return's time. A redis client is safe to share (each command takes
    a connection from the channel's pool), so the channel keeps one while its pool lives.
    Other transports (AMQP) are left as they are.
    """
    if not hasattr(channel, "_create_client") or getattr(channel, _ONE_CLIENT, False):
        return
    create = channel._create_client
    held: list = []

    @contextmanager
    def conn_or_acquire(client=None):
        if client is not None:
            yield client
            return
        if not held or held[0].connection_pool is not channel.pool:
            held[:] = [create()]
        yield held[0]

    channel.conn_or_acquire = conn_or_acquire
    setattr(channel, _ONE_CLIENT, True)
