"""The worker thread that turns returned VMs' destroy requests into destroy tasks."""

from __future__ import annotations

import logging
import threading

from celery import Celery, bootsteps

from vmpooler.lifecycle.vms.completed import forward_destroy_requests
from vmpooler.store.errors import StoreUnavailable
from vmpooler.tasks.dispatch import CeleryDispatcher

log = logging.getLogger("vmpooler.tasks")

RETRY_SECONDS = 1.0
"""Pause after Redis could not be reached (a failover) before asking again."""


class DestroyRequestForwarder(bootsteps.StartStopStep):
    """Each worker process runs one forwarder: it waits on the destroy-request list the
    API's returns push to, and sends ``vmpooler.vm.destroy`` for each request as it
    arrives, so the API itself never builds a task message."""

    requires = ("celery.worker.components:Pool",)

    def create(self, worker) -> Forwarder:
        return Forwarder(worker.app)


class Forwarder:
    def __init__(self, app: Celery):
        services = app.services
        self.ctx = services.context(CeleryDispatcher(app))
        # A blocking wait longer than the socket timeout would read as a lost connection.
        self.wait = min(1.0, services.settings.redis.socket_timeout / 2)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="vmpooler-destroy-requests", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                forward_destroy_requests(self.ctx, self.wait)
            except StoreUnavailable as exc:
                log.warning("[!] cannot read destroy requests (%s); trying again", exc)
                self._stopping.wait(RETRY_SECONDS)
            except Exception:  # the thread must outlive any one failure, or returns wait for the check
                log.exception("[!] forwarding destroy requests failed; trying again")
                self._stopping.wait(RETRY_SECONDS)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * self.wait + 1)
            self._thread = None
