"""The gunicorn target: ``vmpooler.api.wsgi:app``."""

from vmpooler.api import create_app

app = create_app()
