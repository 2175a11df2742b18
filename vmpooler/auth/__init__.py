"""Checking a username and password against the configured ``auth`` provider.

Kept apart from Flask so that the LDAP logic can be tested and reused on its own.
"""

from __future__ import annotations

import logging

log = logging.getLogger("vmpooler.auth")


def authenticate(auth, username: str, password: str) -> bool:
    """True when ``auth`` (the ``auth`` settings section) accepts the credentials."""
    if auth is None or not username:
        return False
    if auth.provider == "dummy":
        # The original's development provider: any password but the username itself.
        return username != password
    if auth.provider == "ldap":
        from vmpooler.auth.ldap import authenticate_ldap
        return authenticate_ldap(auth.ldap, username, password)
    log.error("unknown auth provider %r", auth.provider)
    return False
