"""The OpenAPI 3 document, generated from the routes and the marshmallow schemas.

Every Flask route is documented by its view function's docstring (a test fails
for a route that is not). The convention:

    def get_thing(name):
        \"\"\"One-line summary (more lines become the description).
        ---
        body: SomeRequestSchema            # optional: the JSON request body
        query: {view: "what it selects"}   # optional: query parameters (strings)
        responses: {200: SomeSchema, 404: Error}
        \"\"\"

Names are marshmallow ``Schema`` classes of ``vmpooler.api.schemas`` or of the
view's own module, or one of the built-ins: ``Html``, ``Text``, ``Redirect``,
``Json`` (any JSON), ``PoolNames``, ``OpenApi``. Path parameters come from the
route itself. Responses keyed by names (pools, VMs, tokens) describe the other
keys with ``class Meta: additional_properties = <field>``. ``/api/v3`` and the
unversioned paths are served by the same routes (``vmpooler.api.paths``) and
are not listed separately.
"""

from __future__ import annotations

import inspect
import re
import sys
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify
from marshmallow import Schema

from vmpooler import __version__
from vmpooler.api import schemas

blueprint = Blueprint("openapi", __name__)

BUILTINS: dict[str, tuple[str | None, dict | None]] = {
    "Html": ("text/html", {"type": "string"}),
    "Text": ("text/plain", {"type": "string"}),
    "Redirect": (None, None),
    "Json": ("application/json", {}),
    "PoolNames": ("application/json", {"type": "array", "items": {"type": "string"}}),
    "OpenApi": ("application/json", {"type": "object"}),
}
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_TEMPLATE = re.compile(r"{([^{}]+)}")


def operation_doc(view) -> tuple[str, str, dict] | None:
    """(summary, description, parsed YAML) of a view's docstring, None if undocumented."""
    doc = inspect.getdoc(view) or ""
    if "\n---" not in doc:
        return None
    text, _, spec = doc.partition("\n---")
    lines = text.strip().splitlines()
    return lines[0] if lines else "", "\n".join(lines[1:]).strip(), yaml.safe_load(spec) or {}


def _rules(app: Flask):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        yield rule, app.view_functions[rule.endpoint]


def undocumented_routes(app: Flask) -> list[str]:
    return [f"{sorted(rule.methods - {'HEAD', 'OPTIONS'})} {rule.rule}"
            for rule, view in _rules(app) if operation_doc(view) is None]


def _schema(name: str, view) -> type[Schema]:
    found = getattr(sys.modules[view.__module__], name, None) or getattr(schemas, name, None)
    if not (inspect.isclass(found) and issubclass(found, Schema)):
        raise ValueError(f"{view.__module__}.{view.__name__}: no schema named '{name}'")
    return found


class _Builder:
    def __init__(self):
        self.plugin = MarshmallowPlugin()
        self.spec = APISpec(title="vmpooler", version=__version__, openapi_version="3.0.3",
                            plugins=[self.plugin],
                            info={"description": "Pools of ready VMs. /api/v3 serves the same routes "
                                                 "with FQDN hostnames; unversioned paths are /api/v1."})
        self.registered: dict[str, type[Schema]] = {}

    def content(self, name: str, view) -> dict:
        if name in BUILTINS:
            media, schema = BUILTINS[name]
            return {media: {"schema": schema}} if media else {}
        if name not in self.registered:
            cls = _schema(name, view)
            self.spec.components.schema(name, schema=cls)
            self.registered[name] = cls
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}

    def operation(self, path: str, view, summary: str, description: str, doc: dict) -> dict:
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in _TEMPLATE.findall(path)]
        params += [{"name": name, "in": "query", "required": False, "description": str(text),
                    "schema": {"type": "string"}} for name, text in (doc.get("query") or {}).items()]
        operation: dict[str, Any] = {"summary": summary, "parameters": params, "responses": {}}
        if description:
            operation["description"] = description
        if doc.get("body"):
            operation["requestBody"] = {"required": True, "content": self.content(doc["body"], view)}
        for code, name in (doc.get("responses") or {}).items():
            response: dict[str, Any] = {"description": name}
            content = self.content(name, view)
            if content:
                response["content"] = content
            operation["responses"][str(code)] = response
        if not operation["responses"]:
            raise ValueError(f"{view.__module__}.{view.__name__}: the docstring lists no responses")
        # Any route may answer these: a body over max_request_bytes, a rate limit reached.
        for code in ("413", "429"):
            operation["responses"].setdefault(code, {"description": "Error", "content": self.content("Error", view)})
        return operation

    def build(self, app: Flask) -> dict:
        paths: dict[str, dict] = {}
        by_shape: dict[str, str] = {}
        for rule, view in _rules(app):
            parsed = operation_doc(view)
            if parsed is None:
                continue
            # Routes differing only in parameter names (/vm/<hostname> and /vm/<spec>) are
            # one OpenAPI path: the first route's names are used for all of them.
            path = by_shape.setdefault(_PARAM.sub("{}", rule.rule), _PARAM.sub(r"{\1}", rule.rule))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                op = self.operation(path, view, *parsed)
                op["operationId"] = f"{method.lower()}:{path}"
                paths.setdefault(path, {})[method.lower()] = op
        for path, operations in paths.items():
            self.spec.path(path=path, operations=operations)
        document = self.spec.to_dict()
        converter = self.plugin.converter
        assert converter is not None  # set when the spec took the plugin in
        for name, cls in self.registered.items():
            extra = getattr(getattr(cls, "Meta", None), "additional_properties", None)
            if extra is not None:
                document["components"]["schemas"][name]["additionalProperties"] = converter.field2property(extra)
        return document


def build_document(app: Flask) -> dict:
    return _Builder().build(app)


@blueprint.get("/api/v1/openapi.json")
def openapi_document():
    """This document.
    ---
    responses: {200: OpenApi}
    """
    extension = current_app.extensions["vmpooler"]
    if "openapi" not in extension:
        extension["openapi"] = build_document(current_app)
    return jsonify(extension["openapi"])
