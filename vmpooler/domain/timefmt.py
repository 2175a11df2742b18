"""Timestamps as vmpooler 1.3.0 stores them: ``YYYY-MM-DD HH:MM:SS +ZZZZ``.

Writers always use that format; readers accept anything Ruby's ``Time.parse``
would (ISO 8601, a ``UTC`` suffix, date-only values).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from dateutil import parser as _dateparser

FORMAT = "%Y-%m-%d %H:%M:%S %z"


def now() -> datetime:
    """The current time in the local zone (freezegun-friendly)."""
    return datetime.now(timezone.utc).astimezone()


def format_time(moment: datetime | None = None) -> str:
    moment = moment or now()
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.strftime(FORMAT)


def parse_time(value: str | bytes | None) -> datetime | None:
    """Parse a stored time leniently; None when missing or unparsable."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode()
    text = value.strip()
    if not text:
        return None
    if text.endswith(" UTC"):
        text = text[:-4] + " +0000"
    try:
        parsed = _dateparser.parse(text)
    except (ValueError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()
    return parsed


def seconds_since(value: str | None, moment: datetime | None = None) -> float | None:
    parsed = parse_time(value)
    if parsed is None:
        return None
    return ((moment or now()) - parsed).total_seconds()


def epoch() -> int:
    return int(time.time())


def today() -> str:
    """``Date.today`` of the original: the local date as YYYY-MM-DD."""
    return now().date().isoformat()


def format_duration(seconds: float) -> str:
    """Durations are stored as seconds with two decimals."""
    return f"{seconds:.2f}"
