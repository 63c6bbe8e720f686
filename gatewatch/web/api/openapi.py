"""The OpenAPI 3.1 document of /api/v1, built from the registered routes and their ``Operation``s.

Paths and methods come from Flask's URL map, who may call each from the access registry, and
the schemas from the pydantic models the endpoints answer with, so the document follows the
code. A route without an ``Operation`` is an error, not a silent omission.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from gatewatch.models.filters import MAX_ID
from gatewatch.web import access
from gatewatch.web.api import blueprint
from gatewatch.web.api.docs import Operation, operation_of
from gatewatch.web.api.schemas import INPUT_RULES, NO_NUL, NOT_BLANK, ErrorOut

API_VERSION = "1.0.0"
_EXTENSION = "gatewatch.openapi"
_REF = "#/components/schemas/{model}"
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
#: A path's ``<int:...>`` is a record's id: a larger one than MAX_ID is a 404 (web/app.py ``IdConverter``).
_PARAM_TYPES = {"int": {"type": "integer", "minimum": 1, "maximum": MAX_ID}, None: {"type": "string"}}
_ERRORS = {
    400: "the request is malformed",
    401: "no valid login session or API token",
    403: "the user's role may not do this",
    404: "no such record",
    409: "the record is not in a state that allows this",
    422: "the input is invalid; fields holds a message for each input at fault",
    503: "the database does not answer",
}


def openapi_path(rule: str) -> str:
    """Flask's ``/events/<int:event_id>`` as OpenAPI's ``/events/{event_id}``."""
    return _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule)


def _api_routes() -> list[tuple[str, str, str, Operation]]:
    """(rule, method, endpoint, operation) of every /api/v1 route."""
    routes = []
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(blueprint.bp.url_prefix or ""):
            continue
        operation = operation_of(current_app.view_functions[rule.endpoint])
        if operation is None:
            raise RuntimeError(f"API endpoint {rule.endpoint} has no OpenAPI operation")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.rule, method, rule.endpoint, operation))
    return routes


def _models(routes: list[tuple[str, str, str, Operation]]) -> list[type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {ErrorOut.__name__: ErrorOut}
    for *_rest, operation in routes:
        for model in (operation.response, operation.body):
            if model is not None:
                models[model.__name__] = model
    return list(models.values())


def _json_content(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}}


def _operation(rule: str, method: str, endpoint: str, operation: Operation) -> dict[str, Any]:
    roles = access.roles_for(endpoint)
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _PARAM_TYPES.get(converter, _PARAM_TYPES[None]),
        }
        for converter, name in _CONVERTER.findall(rule)
    ]
    parameters += [
        {"name": p.name, "in": "query", "required": False, "schema": p.schema, "description": p.description}
        for p in operation.query
    ]
    statuses = list(operation.errors) + ([] if roles == access.PUBLIC else [401, 403])
    statuses += [400] if operation.query else []  # contract.py: a value the schema forbids
    statuses += [422] if operation.body is not None else []
    responses: dict[str, Any] = {
        str(operation.status): {"description": "success", "content": _json_content(operation.response)},
    }
    for status in sorted(set(statuses)):
        responses[str(status)] = {"description": _ERRORS[status], "content": _json_content(ErrorOut)}
    if operation.checked:
        responses["422"]["description"] += (
            "; besides what the schema states, "
            + ", ".join(operation.checked)
            + " are checked against the records, the configuration or the other fields (see their descriptions)"
        )
    spec: dict[str, Any] = {
        "operationId": endpoint.removeprefix("api."),
        "summary": operation.summary,
        "parameters": parameters,
        "responses": responses,
        "x-roles": sorted(role.value for role in roles) or ["public"],
    }
    if operation.checked:
        spec["x-checked-fields"] = list(operation.checked)
    if roles == access.PUBLIC:
        spec["security"] = []
    if operation.body is not None:
        spec["requestBody"] = {"required": operation.body_required, "content": _json_content(operation.body)}
    return spec


def _state_input_rules(properties: dict[str, Any]) -> None:
    """Rules the input models check in code, stated in their schemas: ``INPUT_RULES`` by field
    name, "not only spaces" for required text (the models strip it before counting), no NUL."""
    for field, schema in properties.items():
        schema.update(INPUT_RULES.get(field, {}))
        if schema.get("type") == "string" and schema.get("minLength", 0) >= 1:
            schema.setdefault("pattern", NOT_BLANK)
        _no_nul(schema)


def _no_nul(schema: dict[str, Any]) -> None:
    """Free text in ``schema`` (and the schemas inside it) refuses NUL; patterned, enumerated and
    formatted text already does."""
    if schema.get("type") == "string" and not ({"pattern", "enum", "const", "format"} & schema.keys()):
        schema["pattern"] = NO_NUL
    for option in schema.get("anyOf", []):
        _no_nul(option)
    for inner in (schema.get("items"), *schema.get("properties", {}).values()):
        if isinstance(inner, dict):
            _no_nul(inner)


def document() -> dict[str, Any]:
    """The document for the current app, built on first use."""
    if _EXTENSION not in current_app.extensions:
        current_app.extensions[_EXTENSION] = _build()
    return current_app.extensions[_EXTENSION]


def _build() -> dict[str, Any]:
    routes = _api_routes()
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (m, "serialization" if m.__name__.endswith("Out") else "validation") for m in _models(routes)
    ]
    _keys, schemas = models_json_schema(modes, ref_template=_REF)
    for name, schema in schemas.get("$defs", {}).items():
        if not name.endswith(("Out", "-Output")):
            _state_input_rules(schema.get("properties", {}))
    paths: dict[str, dict[str, Any]] = {}
    for rule, method, endpoint, operation in routes:
        paths.setdefault(openapi_path(rule), {})[method.lower()] = _operation(
            rule, method, endpoint, operation
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gatewatch API",
            "version": API_VERSION,
            "description": blueprint.__doc__ or "",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API token from an admin"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "gatewatch_session",
                    "description": "the web pages' login; writes also need the X-CSRFToken header",
                },
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }
