"""One WSGI path rewrite in front of Flask, so each handler exists once.

* The path is normalised as Rack::Protection did for 1.3.0: empty and ``.``
  segments dropped, ``..`` pops one (beaker-vmpooler sends ``//vm/``).
* Unversioned legacy paths (``/vm``, ``/status``, ``/summary``, ``/token``)
  are served by ``/api/v1``.
* ``/api/v3/...`` is served by the ``/api/v1`` handlers with
  ``environ["vmpooler.api_version"] = 3``; the few handlers whose answer differs
  ask ``vmpooler.api.state.api_version()``.
* A trailing slash is optional on every API path.
"""

from __future__ import annotations

from vmpooler.api.state import API_VERSION_KEY

LEGACY_ROOTS = frozenset({"vm", "status", "summary", "token"})


def normalise(path: str) -> str:
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return "/" + "/".join(segments) + trailing


def rewrite(path: str) -> tuple[str, int]:
    """(path served, API version) of a request path."""
    path = normalise(path)
    segments = path.strip("/").split("/")
    version = 1
    if segments[0] in LEGACY_ROOTS:
        path = "/api/v1" + path
    elif segments[0] == "api" and len(segments) > 1 and segments[1] == "v3":
        version = 3
        path = "/api/v1" + path[len("/api/v3"):]
    if path.startswith("/api/") and path.endswith("/"):
        path = path.rstrip("/")
    return path, version


class PathRewrite:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path, version = rewrite(environ.get("PATH_INFO") or "/")
        environ["PATH_INFO"] = path
        environ[API_VERSION_KEY] = version
        return self.app(environ, start_response)
