"""Disk and snapshot tasks (queue ``vmops``), sent by the API with the VM and its argument."""

from __future__ import annotations

from celery import shared_task

from vmpooler.lifecycle.vms import vm_ops
from vmpooler.tasks.pool_tasks import task_context


@shared_task(name="vmpooler.vm.create_disk", bind=True)
def create_disk(self, vm: str, size_gb: str):
    return vm_ops.create_disk(task_context(self), vm, size_gb)


@shared_task(name="vmpooler.vm.snapshot", bind=True)
def snapshot(self, vm: str, snapshot_name: str):
    return vm_ops.create_snapshot(task_context(self), vm, snapshot_name)


@shared_task(name="vmpooler.vm.revert_snapshot", bind=True)
def revert_snapshot(self, vm: str, snapshot_name: str):
    return vm_ops.revert_snapshot(task_context(self), vm, snapshot_name)
