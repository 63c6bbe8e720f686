"""The server refuses what the OpenAPI document forbids: every documented query parameter and
JSON body is checked against its schema in the document before the endpoint runs.

The endpoints' own parsing (pydantic input models shared with the pages and the CSV import) is
lenient where a form needs it (a blank for none, a number as text); through the API the document
is the contract, so a query value that breaks it is a 400 and a body a 422, naming the input.
The checks are jsonschema's (Draft 2020-12) against the document's own schemas, with the date,
time and date-time formats read as the API reads them.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

from flask import current_app, request
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import BaseModel, ValidationError

from gatewatch.models.filters import FilterError, parse_day
from gatewatch.visitors.visits import ZONE
from gatewatch.web.api.blueprint import BadRequest, BodyRefused, bp
from gatewatch.web.api.docs import operation_of
from gatewatch.web.api.openapi import document
from gatewatch.web.context import settings

_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")
_EXTENSION = "gatewatch.contract"
#: The formats the document uses, as the API reads them: a date-time without an offset is site
#: time (RFC 3339 would refuse it), a date is a site day from 2000 to 2999.
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date", raises=(FilterError, ValueError))
def _is_day(text: object) -> bool:
    return not isinstance(text, str) or parse_day(text, "date") is not None


@FORMATS.checks("date-time", raises=ValueError)
def _is_moment(text: object) -> bool:
    return not isinstance(text, str) or ("T" in text.upper() and datetime.fromisoformat(text) is not None)


@FORMATS.checks("time", raises=ValueError)
def _is_clock(text: object) -> bool:
    return not isinstance(text, str) or time.fromisoformat(text) is not None


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``schema`` whose ``#/components/...`` references resolve in the document."""
    return Draft202012Validator({**schema, "components": document()["components"]}, format_checker=FORMATS)


def _body_validator(model: type[BaseModel]) -> Draft202012Validator:
    validators = current_app.extensions.setdefault(_EXTENSION, {})
    if model.__name__ not in validators:
        validators[model.__name__] = _validator({"$ref": f"#/components/schemas/{model.__name__}"})
    return validators[model.__name__]


def _query_value(text: str, schema: dict[str, Any]) -> Any:
    """``text`` as the JSON value its schema describes: a whole number, a boolean, or the text."""
    kind = schema.get("type")
    if kind == "integer" and _WHOLE_NUMBER.fullmatch(text):
        return int(text)
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def query_problem(text: str, schema: dict[str, Any]) -> str | None:
    """What is wrong with the query value ``text`` for its documented ``schema``; None: nothing."""
    error = next(iter(_validator(schema).iter_errors(_query_value(text, schema))), None)
    return None if error is None else _message(error)


def object_problems(body: dict[str, Any], validator: Draft202012Validator) -> dict[str, str]:
    """A message for each property of ``body`` at fault (missing, unknown or invalid)."""
    problems: dict[str, str] = {}
    for error in validator.iter_errors(body):
        for name in _fields_of(error, body):
            problems.setdefault(name, _message(error))
    return problems


def _fields_of(error: SchemaError, body: dict[str, Any]) -> list[str]:
    """The body's top-level properties ``error`` is about."""
    if error.absolute_path:
        return [str(error.absolute_path[0])]
    if error.validator == "required":
        return [name for name in error.validator_value if name not in body]
    if error.validator == "additionalProperties":
        known = error.schema.get("properties", {})
        return [name for name in body if name not in known]
    return ["body"]


def _message(error: SchemaError) -> str:
    """A short message for a person: the schema's own description of a pattern, else jsonschema's."""
    if error.validator == "required":
        return "Required."
    if error.validator == "additionalProperties":
        return "Unknown field."
    if error.validator == "pattern" and error.schema.get("description"):
        return error.schema["description"]
    if error.validator == "format" and error.validator_value == "date":
        return "a date from 2000-01-01 to 2999-12-31, such as 2026-11-20"
    return error.message


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
    problems = object_problems(body, _body_validator(operation.body))
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
