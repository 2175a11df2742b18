"""The on-demand queue task."""

from __future__ import annotations

from celery import shared_task

from vmpooler.lifecycle.ondemand.requests import run
from vmpooler.lifecycle.wake import ONDEMAND, ONDEMAND_QUEUES, started
from vmpooler.tasks.pool_tasks import task_context


@shared_task(name="vmpooler.ondemand.process", bind=True)
def process(self):
    ctx = task_context(self)
    started(ctx, ONDEMAND, ONDEMAND_QUEUES)
    return run(ctx)
