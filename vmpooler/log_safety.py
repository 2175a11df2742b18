"""Log lines that hand out no credentials and cannot be forged.

* Token values are masked: anything shaped like an API token (32 lowercase letters
  and digits), the path segment after ``/token/``, the value of a ``"token"`` JSON key,
  and any secret the caller names.
* Control characters (newlines included) are escaped, so one event is one line.

``SafeLogFilter`` applies both to every record of the ``vmpooler`` loggers.
"""

from __future__ import annotations

import logging
import re
from typing import Iterable

MASK = "<masked>"

_TOKEN_SHAPE = re.compile(r"(?<![A-Za-z0-9])[a-z0-9]{32}(?![A-Za-z0-9])")
_TOKEN_PATH = re.compile(r"(/token/)(?!<masked>)[^/?\s\",;]+", re.I)
_TOKEN_FIELD = re.compile(r'("token"\s*:\s*")[^"]*(")')
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        # A short "secret" is no token and masking it would garble the line.
        if secret and len(secret) >= 8:
            text = text.replace(secret, MASK)
    text = _TOKEN_PATH.sub(r"\1" + MASK, text)
    text = _TOKEN_FIELD.sub(r"\1" + MASK + r"\2", text)
    return _TOKEN_SHAPE.sub(MASK, text)


def escape(text: str) -> str:
    """``text`` on one line: control characters written as ``\\xNN`` / ``\\uNNNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


def clean(text: str, secrets: Iterable[str] = ()) -> str:
    return escape(mask(text, secrets))


class SafeLogFilter(logging.Filter):
    """Masks and escapes the formatted message of each record (tracebacks keep their lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
