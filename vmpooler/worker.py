"""The ``celery -A vmpooler.worker`` target (worker and beat).

The configuration comes from ``VMPOOLER_CONFIG_FILE`` (or the rest of the search order),
as the ``vmpooler worker`` and ``vmpooler beat`` commands set it.
"""

from __future__ import annotations

from celery.signals import setup_logging, worker_ready

from vmpooler import bootstrap
from vmpooler.logs import configure_logging
from vmpooler.tasks.app import create_celery
from vmpooler.tasks.startup import on_worker_ready

settings = bootstrap.load()
configure_logging(settings.config.logfile)
app = create_celery(bootstrap.Services(settings))


@setup_logging.connect
def _use_our_log_format(loglevel=None, **_):
    """Celery's own loggers write our line format; ``-l`` sets how much they say."""
    configure_logging(settings.config.logfile, library_level=loglevel or "WARNING")


@worker_ready.connect
def _on_worker_ready(sender=None, **_):
    on_worker_ready(app)
