"""The ``celery -A vmpooler.worker`` target (worker and beat).

The configuration file comes from ``VMPOOLER_CONFIG_FILE`` (or ``VMPOOLER_CONFIG``),
as the ``vmpooler worker`` and ``vmpooler beat`` commands set it.
"""

from __future__ import annotations

from celery.signals import worker_ready

from vmpooler import bootstrap
from vmpooler.logs import configure_logging
from vmpooler.tasks.app import create_celery
from vmpooler.tasks.startup import on_worker_ready

settings = bootstrap.load()
configure_logging(settings.config.logfile)
app = create_celery(bootstrap.Services(settings))


@worker_ready.connect
def _on_worker_ready(sender=None, **_):
    on_worker_ready(app)
