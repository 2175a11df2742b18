"""API tokens: one hash per token (``keys.token``) with ``user``, ``created``, ``last``."""

from __future__ import annotations

import secrets
import string

import redis

from vmpooler.domain.timefmt import format_time
from vmpooler.store import keys
from vmpooler.store.replies import text_hash

_FIRST = string.ascii_lowercase[:25]
_REST = string.ascii_lowercase + string.digits


def new_token() -> str:
    """32 characters as the original makes them: ``[a-y]`` then 31 of ``[a-z0-9]``."""
    return secrets.choice(_FIRST) + "".join(secrets.choice(_REST) for _ in range(31))


_TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'last', ARGV[1])
return {redis.call('HGET', KEYS[1], 'user') or ''}
"""


class TokenStore:
    def __init__(self, client: redis.Redis):
        self.r = client
        self._touch = client.register_script(_TOUCH)

    def create(self, user: str) -> str:
        while True:
            token = new_token()
            # HSETNX on 'user' claims the name; a collision simply draws again.
            if self.r.hsetnx(keys.token(token), "user", user):
                self.r.hset(keys.token(token), "created", format_time())
                return token

    def get(self, token: str) -> dict[str, str]:
        return text_hash(self.r.hgetall(keys.token(token))) if token else {}

    def touch(self, token: str) -> str | None:
        """The token's user after recording its use; None for an unknown token."""
        if not token:
            return None
        # One script, so a token deleted meanwhile is not brought back by 'last'.
        found = self._touch(keys=[keys.token(token)], args=[format_time()])
        return None if found is None else found[0]

    def delete(self, token: str) -> bool:
        return bool(self.r.delete(keys.token(token))) if token else False

    def of_user(self, user: str) -> dict[str, dict[str, str]]:
        """Every token of ``user`` with its fields (a scan, as tokens are few)."""
        names = [name for name in self.r.scan_iter(match=keys.TOKEN_PATTERN, count=1000)]
        if not names:
            return {}
        pipe = self.r.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(name)
        prefix_len = len(keys.TOKEN_PREFIX)
        return {name[prefix_len:]: fields for name, fields in zip(names, pipe.execute())
                if fields.get("user") == user}
