"""LDAP authentication with ldap3, as vmpooler does it.

Without a service account every ``user_object`` x ``base`` pair is tried as a
direct simple bind (``<user_object>=<user>,<base>``), the first success wins.
With one (``service_account_hash: {user_dn, password}`` or ``bind_as`` /
``bind_password``) the service account searches each base for
``(<user_object>=<user>)`` and the user's password is checked by binding as the
DN that was found, so users may live anywhere below the bases.
"""

from __future__ import annotations

import logging
import ssl

from ldap3 import SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

log = logging.getLogger("vmpooler.auth")

TIMEOUT_SECONDS = 5


def _server(cfg) -> Server:
    encryption = dict(cfg.encryption or {})
    method = str(encryption.get("method") or "").lstrip(":")
    tls = None
    if method in ("simple_tls", "start_tls"):
        options = dict(encryption.get("tls_options") or {})
        verify = options.get("verify_mode")
        validate = ssl.CERT_NONE if verify in (0, "none", "VERIFY_NONE") else ssl.CERT_REQUIRED
        tls = Tls(validate=validate, ca_certs_file=options.get("ca_file"))
    return Server(cfg.host, port=cfg.port or 389, use_ssl=method == "simple_tls", tls=tls,
                  connect_timeout=TIMEOUT_SECONDS)


def _bind(server: Server, cfg, dn: str, password: str) -> Connection | None:
    if not password:
        # An empty password is an "unauthenticated bind" that LDAP servers accept.
        return None
    connection = Connection(server, user=dn, password=password, authentication=SIMPLE,
                            receive_timeout=TIMEOUT_SECONDS, raise_exceptions=False)
    try:
        if str((cfg.encryption or {}).get("method") or "").lstrip(":") == "start_tls":
            connection.open()
            connection.start_tls()
        if connection.bind():
            return connection
    except LDAPException as exc:
        log.warning("LDAP bind as '%s' failed: %s", dn, exc)
    connection.unbind()
    return None


def _service_account(cfg) -> tuple[str, str] | None:
    account = dict(cfg.service_account_hash or {})
    dn = account.get("user_dn") or cfg.bind_as
    password = account.get("password") or cfg.bind_password
    return (dn, password) if dn and password else None


def authenticate_ldap(cfg, username: str, password: str) -> bool:
    server = _server(cfg)
    account = _service_account(cfg)
    for base in cfg.base:
        for user_object in cfg.user_object:
            dn: str | None
            if account is None:
                dn = f"{user_object}={escape_rdn(username)},{base}"
            else:
                dn = _find_user(server, cfg, account, base, user_object, username)
                if dn is None:
                    continue
            connection = _bind(server, cfg, dn, password)
            if connection is not None:
                connection.unbind()
                return True
    return False


def _find_user(server: Server, cfg, account: tuple[str, str], base: str, user_object: str,
               username: str) -> str | None:
    connection = _bind(server, cfg, *account)
    if connection is None:
        log.error("LDAP: the service account '%s' cannot bind", account[0])
        return None
    try:
        connection.search(base, f"({user_object}={escape_filter_chars(username)})",
                          search_scope=SUBTREE, attributes=[], size_limit=2)
        entries = [entry.entry_dn for entry in connection.entries]
    except LDAPException as exc:
        log.warning("LDAP search in '%s' failed: %s", base, exc)
        return None
    finally:
        connection.unbind()
    # Two users matching one name is ambiguous; refuse rather than guess.
    return entries[0] if len(entries) == 1 else None
