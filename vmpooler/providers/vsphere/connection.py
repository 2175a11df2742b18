"""vCenter sessions: open with retries, check before use, re-open when dead."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from typing import Any, Callable

from pyVim.connect import Disconnect, SmartConnect

from vmpooler.metrics import Metrics
from vmpooler.providers.base import ProviderError

log = logging.getLogger("vmpooler.providers.vsphere")


@dataclass(frozen=True)
class Endpoint:
    server: str
    port: int
    username: str
    password: str
    insecure: bool
    timeout: float

    def open(self) -> Any:
        # An explicit context: pyVmomi would otherwise skip verification for localhost addresses.
        context = None if self.insecure else ssl.create_default_context()
        return SmartConnect(host=self.server, port=self.port, user=self.username, pwd=self.password,
                            sslContext=context, disableSslCertValidation=self.insecure,
                            httpConnectionTimeout=self.timeout)


class Connector:
    """Opens service instances: ``max_tries`` attempts, sleeping ``try * retry_factor`` between them."""

    def __init__(self, endpoint: Endpoint, metrics: Metrics, max_tries: int, retry_factor: float,
                 sleep: Callable[[float], None]):
        self.endpoint = endpoint
        self.metrics = metrics
        self.max_tries = max(1, max_tries)
        self.retry_factor = retry_factor
        self.sleep = sleep

    def __call__(self) -> Any:
        attempt = 1
        while True:
            try:
                si = self.endpoint.open()
            except Exception as exc:
                self.metrics.increment("connect.fail")
                if attempt >= self.max_tries:
                    raise ProviderError(f"cannot connect to vSphere server {self.endpoint.server}:"
                                        f"{self.endpoint.port} after {attempt} attempts: {exc}") from exc
                log.warning("connecting to %s failed (attempt %d of %d): %s",
                            self.endpoint.server, attempt, self.max_tries, exc)
                self.sleep(attempt * self.retry_factor)
                attempt += 1
                continue
            self.metrics.increment("connect.open")
            return si


class Session:
    """One pooled vCenter login; ``ensure()`` swaps in a new login when this one died.

    The pool keeps this object, so re-connecting does not change what the pool holds.
    """

    def __init__(self, connector: Connector):
        self._connector = connector
        self._attach(connector())

    def _attach(self, si: Any) -> None:
        self.si = si
        self.content = si.RetrieveContent()

    def alive(self) -> bool:
        try:
            self.si.CurrentTime()
            return True
        except Exception as exc:
            log.info("vSphere session to %s is gone (%s); reconnecting", self._connector.endpoint.server, exc)
            return False

    def ensure(self) -> Session:
        if not self.alive():
            self._attach(self._connector())
        return self

    def close(self) -> None:
        try:
            Disconnect(self.si)
        except Exception as exc:
            log.debug("logout from %s failed: %s", self._connector.endpoint.server, exc)
