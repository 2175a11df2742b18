"""Access to the app's services from a request."""

from __future__ import annotations

import time

from flask import current_app, request

from vmpooler.bootstrap import Services
from vmpooler.lifecycle.context import Context
from vmpooler.settings import Settings
from vmpooler.store.tokens import TokenStore
from vmpooler.store.vm_meta import VmMeta

API_VERSION_KEY = "vmpooler.api_version"


def services() -> Services:
    return current_app.extensions["vmpooler"]["services"]


def settings() -> Settings:
    return services().settings


def context() -> Context:
    """The app's lifecycle context, made once (not per request: it seeds a random source)."""
    extension = current_app.extensions["vmpooler"]
    if "context" not in extension:
        extension["context"] = services().context(extension["dispatch"])
    return extension["context"]


def meta() -> VmMeta:
    extension = current_app.extensions["vmpooler"]
    if "meta" not in extension:
        extension["meta"] = VmMeta(services().redis)
    return extension["meta"]


def tokens() -> TokenStore:
    extension = current_app.extensions["vmpooler"]
    if "tokens" not in extension:
        extension["tokens"] = TokenStore(services().redis)
    return extension["tokens"]


def uptime() -> float:
    return time.time() - current_app.extensions["vmpooler"]["started"]


def api_version() -> int:
    """1 for ``/api/v1`` (and the unversioned paths), 3 for ``/api/v3``.

    ``/api/v3/...`` is served by the v1 routes (see ``vmpooler.api.paths``);
    handlers whose answer differs in v3 ask this.
    """
    return request.environ.get(API_VERSION_KEY, 1)
