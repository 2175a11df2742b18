"""The REST API: ``create_app()`` and its blueprints."""

from __future__ import annotations

import time

from flask import Flask

from vmpooler import bootstrap
from vmpooler.api import errors, status, vm
from vmpooler.lifecycle.context import Dispatcher
from vmpooler.logs import configure_logging


def create_app(services: bootstrap.Services | None = None, dispatcher: Dispatcher | None = None,
               config_path: str | None = None) -> Flask:
    if services is None:
        settings = bootstrap.load(config_path)
        configure_logging(settings.config.logfile)
        services = bootstrap.Services(settings)
    if dispatcher is None:
        from vmpooler.tasks.app import create_celery
        from vmpooler.tasks.dispatch import CeleryDispatcher
        dispatcher = CeleryDispatcher(create_celery(services))
    app = Flask(__name__)
    # Pretty-printed, in insertion order, like the original's JSON.pretty_generate.
    app.json.compact = False
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    app.extensions["vmpooler"] = {"services": services, "dispatch": dispatcher, "started": time.time()}
    errors.register(app)
    app.register_blueprint(status.blueprint)
    app.register_blueprint(vm.blueprint)
    return app
