"""Typed views of Redis replies.

Every client of the store decodes replies (``decode_responses=True``), but
redis-py's annotations type each reply as ``bytes | str`` whatever the client.
These casts state the decoded types once, at the boundary; they cost nothing
at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from redis.typing import EncodableT


def text_hash(reply: Any) -> dict[str, str]:
    return cast(dict[str, str], reply)


def text_set(reply: Any) -> set[str]:
    return cast(set[str], reply)


def texts(reply: Any) -> list[str]:
    return cast(list[str], reply)


def optional_texts(reply: Any) -> list[str | None]:
    """An MGET or HMGET reply: None where a key or field is missing."""
    return cast(list[str | None], reply)


def optional_text(reply: Any) -> str | None:
    return cast("str | None", reply)


def scored(reply: Any) -> list[tuple[str, float]]:
    """A ZRANGE ... WITHSCORES reply."""
    return cast(list[tuple[str, float]], reply)


def hash_mapping(values: Mapping[str, EncodableT]) -> dict[EncodableT, EncodableT]:
    """The ``mapping=`` of HSET (redis-py's parameter is invariant in its key type)."""
    return {name: value for name, value in values.items()}
