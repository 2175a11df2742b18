"""Per-VM tasks run against providers."""

from __future__ import annotations

from celery import shared_task

from vmpooler.lifecycle.vms.clone import clone_vm
from vmpooler.lifecycle.vms.completed import destroy_vm
from vmpooler.tasks.pool_tasks import task_context


@shared_task(name="vmpooler.vm.clone", bind=True)
def clone(self, pool_name: str, vm: str):
    return clone_vm(task_context(self), pool_name, vm)


@shared_task(name="vmpooler.vm.destroy", bind=True)
def destroy(self, pool_name: str, vm: str):
    return destroy_vm(task_context(self), pool_name, vm)
