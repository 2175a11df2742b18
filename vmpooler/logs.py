"""Log set-up: the original's ``[YYYY-MM-DD HH:MM:SS] message`` lines."""

from __future__ import annotations

import logging
import os
import sys

FORMAT = "[%(asctime)s] %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def configure_logging(logfile: str | None = None, debug: bool | None = None) -> None:
    debug = bool(os.environ.get("VMPOOLER_DEBUG")) if debug is None else debug
    root = logging.getLogger("vmpooler")
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    formatter = logging.Formatter(FORMAT, DATE_FORMAT)
    handlers: list[logging.Handler] = []
    if logfile:
        handlers.append(logging.FileHandler(logfile))
    if not logfile or debug:
        handlers.append(logging.StreamHandler(sys.stdout))
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.propagate = False
