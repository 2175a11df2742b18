"""Whole numbers read from text that a client or another tool wrote."""

from __future__ import annotations

import re

_ASCII_DIGITS = re.compile(r"[0-9]+")


def ascii_int(text: str | None, signed: bool = False, negative: bool = False) -> int | None:
    """The integer written in ``text`` with ASCII digits only (blanks around allowed), else None;
    ``signed`` also takes a leading '+', ``negative`` a leading '-'.

    ``str.isdigit()`` is true for '²', '٣' and '１', which ``int()`` then refuses or reads as numbers.
    """
    if text is None:
        return None
    text = text.strip()
    sign = 1
    if signed and text.startswith("+"):
        text = text[1:]
    elif negative and text.startswith("-"):
        text, sign = text[1:], -1
    return sign * int(text) if _ASCII_DIGITS.fullmatch(text) else None
