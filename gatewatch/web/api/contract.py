"""The server refuses what the OpenAPI document forbids: every documented query parameter and
JSON body is checked against its schema in the document before the endpoint runs.

The endpoints' own parsing (pydantic input models shared with the pages and the CSV import) is
lenient where a form needs it (a blank for none, a number as text); through the API the document
is the contract, so a query value that breaks it is a 400 and a body a 422, naming the input.
Only what the document's schemas use is checked: types, enums, string lengths and patterns,
number bounds, array lengths and items, objects' properties, and the date, time and date-time
formats.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from flask import current_app, request
from pydantic import BaseModel, ValidationError

from gatewatch.models.filters import FilterError, parse_day
from gatewatch.visitors.visits import ZONE
from gatewatch.web.api.blueprint import BadRequest, BodyRefused, bp
from gatewatch.web.api.docs import operation_of
from gatewatch.web.api.openapi import document
from gatewatch.web.context import settings

_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?")
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]" + _TIME.pattern)
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,), "array": (list,),
    "object": (dict,), "null": (type(None),),
}


def query_problem(text: str, schema: dict[str, Any]) -> str | None:
    """What is wrong with the query value ``text`` for its documented ``schema``; None: nothing."""
    kind = schema.get("type")
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        span = f"a whole number from {low} to {high}" if high is not None else f"a whole number from {low}"
        if not _WHOLE_NUMBER.fullmatch(text):
            return span
        return value_problem(int(text), schema) and span
    if kind == "boolean":
        return None if text in ("true", "false") else "true or false"
    if schema.get("format") == "date":
        try:
            day = parse_day(text, "date") if text == text.strip() else None
        except FilterError as problem:
            return str(problem)
        return None if day is not None else "a date such as 2026-11-20"
    return value_problem(text, schema)


def _type_ok(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _JSON_TYPES[kind])


def _format_ok(text: str, form: str) -> bool:
    try:
        if form == "date":
            return bool(_DATE.fullmatch(text)) and date.fromisoformat(text) is not None
        if form == "time":
            return bool(_TIME.fullmatch(text)) and time.fromisoformat(text) is not None
        if form == "date-time":
            return bool(_DATE_TIME.fullmatch(text)) and datetime.fromisoformat(text) is not None
    except ValueError:
        return False
    return True


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = {**document()["components"]["schemas"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def value_problem(value: Any, schema: dict[str, Any]) -> str | None:
    """What is wrong with the JSON ``value`` for ``schema`` (of the document); None: nothing."""
    schema = _resolve(schema)
    if "anyOf" in schema:
        problems = [value_problem(value, option) for option in schema["anyOf"]]
        return None if None in problems else " or ".join(p for p in problems if p)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_type_ok(value, kind) for kind in kinds):
            return "must be " + " or ".join(kinds)
    if "enum" in schema and value not in schema["enum"]:
        return "one of " + ", ".join(map(str, schema["enum"]))
    if "const" in schema and value != schema["const"]:
        return f"must be {schema['const']!r}"
    if isinstance(value, str):
        return _string_problem(value, schema)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            return f"from {low} to {high}" if high is not None else f"at least {low}"
    if isinstance(value, list):
        return _array_problem(value, schema)
    if isinstance(value, dict) and ("properties" in schema or "additionalProperties" in schema):
        fields = object_problems(value, schema)
        return "; ".join(f"{name}: {message}" for name, message in fields.items()) or None
    return None


def _string_problem(text: str, schema: dict[str, Any]) -> str | None:
    if len(text) < schema.get("minLength", 0):
        return "required" if not text else f"at least {schema['minLength']} characters"
    if "maxLength" in schema and len(text) > schema["maxLength"]:
        return f"at most {schema['maxLength']} characters"
    if "pattern" in schema and not re.search(schema["pattern"], text):
        return schema.get("description") or f"must match {schema['pattern']}"
    if "format" in schema and not _format_ok(text, schema["format"]):
        return {"date": "a date such as 2026-11-20", "time": 'a time such as "08:00"'}.get(
            schema["format"], "a time such as 2026-11-20T08:00:00+07:00"
        )
    return None


def _array_problem(items: list[Any], schema: dict[str, Any]) -> str | None:
    if len(items) < schema.get("minItems", 0):
        return f"at least {schema['minItems']} items"
    if "maxItems" in schema and len(items) > schema["maxItems"]:
        return f"at most {schema['maxItems']} items"
    for index, item in enumerate(items):
        prefix = schema.get("prefixItems", [])
        item_schema = prefix[index] if index < len(prefix) else schema.get("items")
        problem = value_problem(item, item_schema) if item_schema else None
        if problem:
            return f"item {index + 1}: {problem}"
    return None


def object_problems(body: dict[str, Any], schema: dict[str, Any]) -> dict[str, str]:
    """A message for each property of ``body`` at fault (missing, unknown or invalid)."""
    schema = _resolve(schema)
    properties = schema.get("properties", {})
    problems = {name: "Required." for name in schema.get("required", []) if name not in body}
    for name, value in body.items():
        if name not in properties:
            if schema.get("additionalProperties") is False:
                problems[name] = "Unknown field."
            continue
        problem = value_problem(value, properties[name])
        if problem:
            problems[name] = problem[0].upper() + problem[1:].rstrip(".") + "."
    return problems


@bp.before_request
def _keep_to_the_document() -> None:
    """Refuse a query value (400) or a JSON body (422) that the endpoint's document forbids."""
    view = current_app.view_functions.get(request.endpoint or "")
    operation = operation_of(view) if view is not None else None
    if operation is None:
        return
    for param in operation.query:
        values = request.args.getlist(param.name)
        if len(values) > 1:
            raise BadRequest("invalid query parameter", {param.name: "given more than once"})
        problem = query_problem(values[0], param.schema) if values else None
        if problem is not None:
            raise BadRequest("invalid query parameter", {param.name: problem})
    if operation.body is None or (request.content_length or 0) > (current_app.config["MAX_CONTENT_LENGTH"] or 0):
        return  # a body larger than the app's limit is the endpoint's (POST /crossings takes 8 MB)
    if not request.get_data():
        return
    body = request.get_json(silent=True)
    if not isinstance(body, dict):  # the endpoint's 400
        return
    problems = object_problems(body, {"$ref": "#/components/schemas/" + operation.body.__name__})
    if problems and _model_takes(operation.body, body):
        raise BodyRefused(problems)


def _model_takes(model: type[BaseModel], body: dict[str, Any]) -> bool:
    """Whether the endpoint's own input model would take ``body``; when it would not, the endpoint
    answers with its own messages for every field (so they stay what its pages and tests know)."""
    try:
        model.model_validate(body, context={ZONE: settings().zone})
    except (ValidationError, ValueError, TypeError):
        return False
    return True
