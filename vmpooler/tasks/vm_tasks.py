"""Per-VM tasks run against providers."""

from __future__ import annotations

from celery import Celery

from vmpooler.lifecycle.clone import clone_vm
from vmpooler.lifecycle.completed import destroy_vm
from vmpooler.tasks.dispatch import CeleryDispatcher


def register(app: Celery) -> None:
    def context(task):
        return task.app.services.context(CeleryDispatcher(task.app))

    @app.task(name="vmpooler.vm.clone", bind=True)
    def clone(self, pool_name: str, vm: str):
        return clone_vm(context(self), pool_name, vm)

    @app.task(name="vmpooler.vm.destroy", bind=True)
    def destroy(self, pool_name: str, vm: str):
        return destroy_vm(context(self), pool_name, vm)
