"""The on-demand queue task."""

from __future__ import annotations

from celery import shared_task

from vmpooler.lifecycle import ondemand
from vmpooler.tasks.pool_tasks import task_context


@shared_task(name="vmpooler.ondemand.process", bind=True)
def process(self):
    return ondemand.run(task_context(self))
