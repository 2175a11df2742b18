"""Access to the app's services from a request."""

from __future__ import annotations

import time

from flask import current_app

from vmpooler.bootstrap import Services
from vmpooler.lifecycle.context import Context


def services() -> Services:
    return current_app.extensions["vmpooler"]["services"]


def context() -> Context:
    return services().context(current_app.extensions["vmpooler"]["dispatch"])


def uptime() -> float:
    return time.time() - current_app.extensions["vmpooler"]["started"]
