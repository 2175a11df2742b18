"""Log lines hold no token in clear and one request is one line."""

from __future__ import annotations

import logging

import pytest

from tests.harness.api import basic
from tests.helpers import RecordingDispatcher, make_settings
from vmpooler.api import create_app
from vmpooler.bootstrap import Services
from vmpooler.log_safety import clean
from vmpooler.logs import configure_logging


@pytest.fixture
def logged_api(tmp_path, redis_url, redis_client):
    logger = logging.getLogger("vmpooler")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    logfile = tmp_path / "api.log"
    configure_logging(str(logfile), debug=False)
    settings = make_settings(redis_url, config={"request_logger": True}, auth={"provider": "dummy"})
    app = create_app(Services(settings), dispatcher=RecordingDispatcher())
    yield app.test_client(), logfile
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.handlers[:], logger.level, logger.propagate = saved


def test_tokens_are_masked_in_paths_bodies_and_keys(logged_api):
    client, logfile = logged_api
    token = client.post("/api/v1/token", headers=basic("alice", "pw")).get_json()["token"]
    client.get("/api/v1/token", headers=basic("alice", "pw"))  # body keyed by the token
    client.get(f"/api/v1/token/{token}")
    client.get(f"/token/{token}/")
    client.delete(f"/api/v1/token/{token}", headers=basic("alice", "pw"))
    client.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": "NotAToken-butsecretvalue"})
    text = logfile.read_text()
    assert token not in text and "NotAToken-butsecretvalue" not in text
    lines = text.splitlines()
    assert len(lines) == 6 and all("API: Method:" in line for line in lines)
    assert "Path: /api/v1/token/<masked>," in lines[2]
    assert '"<masked>": {' in lines[1]


def test_control_characters_cannot_forge_a_line(logged_api):
    client, logfile = logged_api
    client.get("/api/v1/vm/x%0A[2026-01-01 00:00:00] forged%0D%1B[31m")
    client.post("/api/v1/ondemandvm", data='{"pool1": 1, "request_id": "a\\nb"}')
    lines = logfile.read_text().splitlines()
    assert len(lines) == 2
    assert "x\\x0a[2026-01-01 00:00:00] forged\\x0d\\x1b[31m" in lines[0]


def test_every_vmpooler_log_line_is_cleaned():
    """The handlers' filter applies to every logger under ``vmpooler``, not only the request log."""
    assert clean("user abcdefghijklmnopqrstuvwxyz012345 did\nthis\u2028") == "user <masked> did\\x0athis\\u2028"
    assert clean('{"token": "short"}') == '{"token": "<masked>"}'
    assert clean("DELETE /token/anything?x=1") == "DELETE /token/<masked>?x=1"


def test_the_filter_cleans_other_loggers(tmp_path):
    logger = logging.getLogger("vmpooler")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    logfile = tmp_path / "all.log"
    try:
        configure_logging(str(logfile), debug=False)
        logging.getLogger("vmpooler.lifecycle").info("[-] request '%s' from %s", "a\nb",
                                                     "abcdefghijklmnopqrstuvwxyz012345")
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.handlers[:], logger.level, logger.propagate = saved
    lines = logfile.read_text().splitlines()
    assert len(lines) == 1 and lines[0].endswith("[-] request 'a\\x0ab' from <masked>")
