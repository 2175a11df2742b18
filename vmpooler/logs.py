"""Log set-up: the original's ``[YYYY-MM-DD HH:MM:SS] message`` lines, in every process.

Messages keep the original's markers (``[+] [pool] 'vm' cloned in 3.20 seconds``);
its ``s`` (status) lines are INFO or above and its ``d`` (debug) lines are DEBUG,
written only with ``VMPOOLER_DEBUG``. Every process of a deployment (API, worker,
beat, ``vmpooler run``) calls :func:`configure_logging` with ``config.logfile``.

Other libraries log through the same handlers and format: Celery's ``setup_logging``
signal calls :func:`configure_logging` (see ``vmpooler.worker``), and gunicorn uses
:class:`GunicornLogger` (``vmpooler api`` passes ``--logger-class``; a gunicorn config
module may set ``logger_class = "vmpooler.logs.GunicornLogger"``).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys

from gunicorn import glogging

from vmpooler.log_safety import SafeLogFilter

FORMAT = "[%(asctime)s] %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
ACCESS_LOG_FORMAT = '[ ] API: %(h)s "%(r)s" %(s)s %(b)s %(M)sms'
"""gunicorn's access line without its own timestamp (ours starts the line)."""


class OneLineFormatter(logging.Formatter):
    """Our format, with a multi-line message (a library's warning) joined into one line;
    a traceback still follows its line."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        if "\n" in record.message:
            record.message = " ".join(line.strip() for line in record.message.splitlines() if line.strip())
        return super().formatMessage(record)


def formatter() -> logging.Formatter:
    return OneLineFormatter(FORMAT, DATE_FORMAT)


def configure_logging(logfile: str | None = None, debug: bool | None = None,
                      library_level: int | str = logging.WARNING) -> None:
    """Send every logger to ``logfile`` (appending) or, without one, to stdout.

    ``vmpooler`` loggers write INFO and above (DEBUG with ``VMPOOLER_DEBUG``, whose lines
    also go to stdout, as in the original); other libraries write ``library_level`` and above.
    """
    debug = bool(os.environ.get("VMPOOLER_DEBUG")) if debug is None else debug
    handlers: list[logging.Handler] = []
    if logfile:
        # Reopens the file when logrotate moves it away; processes share it by appending.
        handlers.append(logging.handlers.WatchedFileHandler(logfile))
    if not logfile or debug:
        handlers.append(logging.StreamHandler(sys.stdout))
    root = logging.getLogger()
    # Only our own handlers are replaced: a test runner's capture handlers stay.
    for handler in [h for h in root.handlers if getattr(h, "vmpooler", False)]:
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        handler.setFormatter(formatter())
        # No token in clear and one line per event, whatever a message quotes.
        handler.addFilter(SafeLogFilter())
        handler.vmpooler = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(library_level)
    # Library warnings (e.g. Celery's about running as root) become log lines too.
    logging.captureWarnings(True)
    ours = logging.getLogger("vmpooler")
    ours.setLevel(logging.DEBUG if debug else logging.INFO)


class GunicornLogger(glogging.Logger):
    """gunicorn's error and access logs in our line format (to the targets gunicorn was
    given), cleaned as every other line (a token in a ``/token/<token>`` path is masked)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(formatter())
                handler.addFilter(SafeLogFilter())

    def access(self, resp, req, environ, request_time) -> None:
        """Our access line, put together directly. gunicorn's general way first builds a
        dict of every header and environ entry of the request, which cost 6% of the time
        of a checkout; another ``access_log_format`` still goes that way."""
        if not self.access_log_enabled or self.cfg.access_log_format != ACCESS_LOG_FORMAT:
            super().access(resp, req, environ, request_time)
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        sent = getattr(resp, "sent", None)
        millis = request_time.seconds * 1000 + request_time.microseconds // 1000
        self.access_log.info('[ ] API: %s "%s %s %s" %s %s %sms', environ.get("REMOTE_ADDR", "-"),
                             environ["REQUEST_METHOD"], environ["RAW_URI"], environ["SERVER_PROTOCOL"], status,
                             "-" if sent is None else sent, millis)
