"""Checks of the client strings that become parts of Redis key names, and of numbers.

Each check is a regular expression or two, so the hot paths stay cheap. The key
builders in ``vmpooler.store.keys`` refuse unsafe components as well; these checks
come first so that a client gets a 400 that names its mistake and nothing is written.
"""

from __future__ import annotations

import re

from vmpooler.api.errors import ApiError
from vmpooler.store import keys

# A client-given on-demand request id: a generated UUID, or up to 100 letters, digits, '.'
# and '-', starting with a letter or digit (no '_', ':' or ',' : the ids end task members
# ``<alias>:<pool>:<n>:<id>`` and name the keys ``vmpooler__<id>__<alias>__<pool>``).
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,99}")
REQUEST_ID_RULE = ("request_id must be 1 to 100 letters, digits, '.' or '-', starting with a letter or a digit, "
                   "and not a word that names a kind of key (such as 'token' or 'ready')")

# API tokens are 32 lowercase letters and digits; older deployments' tokens are the same shape.
TOKEN_RE = re.compile(r"[A-Za-z0-9]{1,128}")

def valid_request_id(value: object) -> bool:
    return (isinstance(value, str) and REQUEST_ID_RE.fullmatch(value) is not None
            and value.lower() not in keys.NAMESPACES)


def is_token(value: object) -> bool:
    return isinstance(value, str) and TOKEN_RE.fullmatch(value) is not None


def check_name(name: str, what: str = "pool or alias name") -> str:
    """400 unless ``name`` (a pool, alias or VM name from the client) may be part of a key."""
    if not keys.is_safe_component(name):
        raise ApiError(400, f"{what} {shown(name)} is not valid: use letters, digits, '.', '-' and single '_'")
    return name


def check_token(value: str) -> str:
    if not is_token(value):
        raise ApiError(400, "that is not a token: tokens are letters and digits only")
    return value


def shown(value: object, limit: int = 80) -> str:
    """A client string fit for an error message: quoted, escaped and cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...'"
