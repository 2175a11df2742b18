"""How gunicorn serves the API (``gunicorn -c python:vmpooler.gunicorn_conf``).

Worker model: gevent. Each connection is a greenlet, so a client that sends half
a request and stalls holds a few kilobytes, not a worker: with sync workers two
such clients stop the API, and gthread's threads block as soon as part of a
request has arrived, so a handful of slow clients use them all up. A request's
work is a couple of Redis round trips, which gevent's patched sockets overlap
with other requests. Measured with ``bench/api.py`` (README, Performance).

It lives outside ``vmpooler.api`` so that gunicorn's master, which reads it, does not
import the app (and redis-py's ssl users) before gevent patches a worker.

Settings given on the command line (``--workers``, ``--bind``) or in
``GUNICORN_CMD_ARGS`` take precedence over these.
"""

from __future__ import annotations

worker_class = "gevent"

worker_connections = 1000
"""Concurrent connections per worker process, idle and stalled ones included."""

timeout = 30
"""A worker that does not report for this long (a request stuck in CPU) is restarted."""

graceful_timeout = 15

keepalive = 5
"""Seconds an idle keep-alive connection is kept open waiting for its next request."""

limit_request_line = 8190
"""A checkout path names up to 100 VMs of several pools (``/vm/a+a+b…``)."""

limit_request_fields = 100
limit_request_field_size = 8190


def post_worker_init(worker) -> None:
    """Exempt what the worker loaded (the app, Flask, Celery, redis-py: some 70,000
    objects) from the garbage collector: a full collection then scans only what requests
    created since, instead of pausing every request of the process for about 25 ms."""
    import gc

    gc.freeze()


def post_request(worker, req, environ, resp) -> None:
    """Let every other connection's greenlet run before this one reads its next request.

    A greenlet whose socket reads find data already waiting never yields: under load one
    keep-alive client could be served request after request while another's Redis reply
    sat unread (requests stalled 50-150 ms, p99 of checkout + return 55-160 ms).
    ``idle()`` resumes this greenlet once the loop has run everything ready, I/O included
    (``sleep(0)`` may resume it before I/O is polled; measured worse).
    """
    if "ggevent" not in type(worker).__module__:  # another --worker-class: nothing to share
        return
    import gevent  # here: gunicorn's master reads this module and must not import gevent itself

    gevent.idle()


def worker_exit(server, worker) -> None:
    """Write the metrics a worker batched before it goes."""
    app = getattr(worker, "wsgi", None)
    extension = getattr(app, "extensions", {}).get("vmpooler")
    flush = extension and getattr(extension["services"].metrics, "flush", None)
    if flush:
        flush()
