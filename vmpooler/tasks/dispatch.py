"""The lifecycle's Dispatcher on Celery: work is sent by task name."""

from __future__ import annotations

from celery import Celery

from vmpooler.tasks.schedule import TASK_QUEUES


class CeleryDispatcher:
    def __init__(self, app: Celery):
        self.app = app

    def send(self, name: str, *args) -> None:
        self.app.send_task(name, args=list(args), queue=TASK_QUEUES[name])

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
