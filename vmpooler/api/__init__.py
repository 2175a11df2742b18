"""The REST API: ``create_app()`` and its blueprints."""

from __future__ import annotations

import time

import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from vmpooler import bootstrap
from vmpooler.api import (
    body_limit,
    dashboard,
    errors,
    health,
    ondemand,
    openapi,
    paths,
    pool_config,
    rate_limits,
    request_log,
    root,
    status,
    summary,
    tokens,
    vm,
    vm_ops,
)
from vmpooler.lifecycle.context import Dispatcher
from vmpooler.logs import configure_logging


class PrettyJSON(DefaultJSONProvider):
    """Pretty-printed, in insertion order, like the original's JSON.pretty_generate.

    Response bodies are encoded by orjson: the standard library's encoder drops to pure
    Python as soon as it indents, which made encoding most of a large ``/status``. The
    text is the same but for floats outside 1e-4..1e16 (``1e-05`` becomes ``0.00001``).
    Anything orjson does not take as is (subclasses of built-in types, dates, integers
    past 64 bits) goes through Flask's encoder, as before.
    """

    compact = False
    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj, **kwargs) -> str:
        if kwargs == {"indent": 2}:
            try:
                return orjson.dumps(obj, option=_ORJSON_OPTIONS).decode()
            except TypeError:
                pass
        return super().dumps(obj, **kwargs)


_ORJSON_OPTIONS = (orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME
                   | orjson.OPT_PASSTHROUGH_DATACLASS)


def create_app(services: bootstrap.Services | None = None, dispatcher: Dispatcher | None = None,
               config_path: str | None = None) -> Flask:
    if services is None:
        settings = bootstrap.load(config_path)
        configure_logging(settings.config.logfile)
        services = bootstrap.Services(settings)
        if settings.pools_from_redis:
            # A stand-alone API serves the pools its workers published.
            services = bootstrap.Services(bootstrap.with_pools_from_redis(settings, services.store))
    if dispatcher is None:
        from vmpooler.tasks.app import create_celery
        from vmpooler.tasks.dispatch import CeleryDispatcher
        dispatcher = CeleryDispatcher(create_celery(services))
    app = Flask(__name__)
    app.json = PrettyJSON(app)
    app.extensions["vmpooler"] = {"services": services, "dispatch": dispatcher, "started": time.time()}
    errors.register(app)
    app.register_blueprint(root.blueprint)
    app.register_blueprint(status.blueprint)
    app.register_blueprint(summary.blueprint)
    app.register_blueprint(tokens.blueprint)
    app.register_blueprint(vm.blueprint)
    app.register_blueprint(vm_ops.blueprint)
    app.register_blueprint(ondemand.blueprint)
    app.register_blueprint(pool_config.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(dashboard.blueprint)
    health.register(app, services)
    if services.settings.config.request_logger:
        request_log.register(app)
    rate_limits.register(app, services)
    # Legacy unversioned paths and /api/v3 reach the same handlers (see paths.py).
    app.wsgi_app = paths.PathRewrite(app.wsgi_app)  # type: ignore[method-assign]  # Flask's way to add WSGI middleware
    # Outermost: an oversized body is refused before anything reads it.
    app.wsgi_app = body_limit.BodyLimit(app.wsgi_app, services.settings.config.max_request_bytes)  # type: ignore[method-assign]  # as above
    return app
