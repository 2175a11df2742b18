"""gunicorn's access log (``vmpooler api``): our line format, cleaned like every other line."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from vmpooler.logs import ACCESS_LOG_FORMAT, GunicornLogger

TOKEN = "abcdefghijklmnopqrstuvwxyz012345"


def config(logfile, access_format: str = ACCESS_LOG_FORMAT) -> Config:
    cfg = Config()
    cfg.set("accesslog", str(logfile))
    cfg.set("access_log_format", access_format)
    return cfg


def request(method: str, uri: str) -> tuple:
    environ = {"REMOTE_ADDR": "10.0.0.7", "REQUEST_METHOD": method, "RAW_URI": uri, "SERVER_PROTOCOL": "HTTP/1.1",
               "PATH_INFO": uri.split("?")[0], "QUERY_STRING": ""}
    resp = SimpleNamespace(status="200 OK", sent=17, headers=[("Content-Type", "application/json")])
    req = SimpleNamespace(headers=[("HOST", "pooler")])
    return resp, req, environ, datetime.timedelta(microseconds=2_400)


@pytest.fixture
def close_loggers():
    made: list[Logger] = []
    yield made
    for logger in made:
        for handler in logger.access_log.handlers + logger.error_log.handlers:
            handler.close()
        logger.access_log.handlers.clear()
        logger.error_log.handlers.clear()


def written(tmp_path, logger_class, access_format, close_loggers, *calls) -> list[str]:
    logfile = tmp_path / f"{logger_class.__name__}.log"
    logger = logger_class(config(logfile, access_format))
    close_loggers.append(logger)
    for method, uri in calls:
        logger.access(*request(method, uri))
    for handler in logger.access_log.handlers:
        handler.flush()
    return logfile.read_text().splitlines()


def test_the_access_line_is_the_configured_format(tmp_path, close_loggers):
    ours = written(tmp_path, GunicornLogger, ACCESS_LOG_FORMAT, close_loggers, ("POST", "/api/v1/vm/pool1?x=1"))
    generic = written(tmp_path, Logger, ACCESS_LOG_FORMAT, close_loggers, ("POST", "/api/v1/vm/pool1?x=1"))
    assert len(ours) == 1
    assert ours[0].endswith('] [ ] API: 10.0.0.7 "POST /api/v1/vm/pool1?x=1 HTTP/1.1" 200 17 2ms')
    # gunicorn's own formatting of the same format gives the same text after its timestamp.
    assert generic[0].endswith(ours[0].split("] ", 1)[1])


def test_tokens_and_control_characters_are_cleaned_in_the_access_log(tmp_path, close_loggers):
    lines = written(tmp_path, GunicornLogger, ACCESS_LOG_FORMAT, close_loggers,
                    ("DELETE", f"/api/v1/token/{TOKEN}"), ("GET", "/api/v1/vm/x\n[2026-01-01] forged"))
    assert len(lines) == 2
    assert TOKEN not in "".join(lines)
    assert '"DELETE /api/v1/token/<masked> HTTP/1.1"' in lines[0]
    assert "x\\x0a[2026-01-01] forged" in lines[1]


def test_another_access_format_is_still_honoured(tmp_path, close_loggers):
    lines = written(tmp_path, GunicornLogger, "%(m)s %(U)s", close_loggers, ("GET", f"/token/{TOKEN}"))
    assert len(lines) == 1 and lines[0].endswith("] GET /token/<masked>")

