"""The test harness, loaded as pytest plugins by the root ``tests/conftest.py``.

Fixtures (every test sees them by name):

- ``fixtures``: ``redis_url`` (embedded Redis or ``REDIS_URL``), ``redis_client``,
  ``settings``, ``services``, ``dispatcher``, ``ctx``, ``tcp_listener`` (a local port
  that accepts connections);
- ``service``: ``pooler_factory`` and ``http`` (a real Celery worker, a beat-like
  ticker and the Flask app over HTTP); ``running_pooler``/``serve``/``Ticker`` for
  tests that start one themselves;
- ``api``: ``make_api``, ``api``, ``auth_api`` (Flask test client on the real Redis);
- ``vcsim``: ``vcsim``, ``extra_vcsim``, ``admin``, ``make_provider``, ``unique``
  (the vCenter simulator and vSphere providers on it).

Helpers to import: ``tests.harness.waiting.wait_for`` (poll observable state
instead of sleeping), ``tests.harness.pools.pool_config``.
"""
