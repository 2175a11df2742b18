"""Log set-up: the original's ``[YYYY-MM-DD HH:MM:SS] message`` lines.

Messages keep the original's markers (``[+] [pool] 'vm' cloned in 3.20 seconds``);
its ``s`` (status) lines are INFO or above and its ``d`` (debug) lines are DEBUG,
written only with ``VMPOOLER_DEBUG``. Every process of a deployment (API, worker,
beat, ``vmpooler run``) calls :func:`configure_logging` with ``config.logfile``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys

from vmpooler.log_safety import SafeLogFilter

FORMAT = "[%(asctime)s] %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def configure_logging(logfile: str | None = None, debug: bool | None = None) -> None:
    """Send the ``vmpooler`` loggers to ``logfile`` (appending) or, without one, to stdout.

    With ``VMPOOLER_DEBUG`` the lines also go to stdout, as in the original.
    """
    debug = bool(os.environ.get("VMPOOLER_DEBUG")) if debug is None else debug
    root = logging.getLogger("vmpooler")
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    formatter = logging.Formatter(FORMAT, DATE_FORMAT)
    handlers: list[logging.Handler] = []
    if logfile:
        # Reopens the file when logrotate moves it away; processes share it by appending.
        handlers.append(logging.handlers.WatchedFileHandler(logfile))
    if not logfile or debug:
        handlers.append(logging.StreamHandler(sys.stdout))
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        # No token in clear and one line per event, whatever a message quotes.
        handler.addFilter(SafeLogFilter())
        root.addHandler(handler)
    root.propagate = False
