"""The /api/v1 blueprint and what every endpoint shares: JSON answers and errors, arguments, CSRF.

Every answer is JSON; errors are ``{"error": ..., "fields": {...}}``. Machine clients
authenticate with ``Authorization: Bearer <token>``; the web pages' scripts use their session
and must send the CSRF token in ``X-CSRFToken`` with every write.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel

from gatewatch.models.filters import DAY_PATTERN, FilterError, parse_day
from gatewatch.web import csrf
from gatewatch.web.api import schemas
from gatewatch.web.api.docs import Param
from gatewatch.web.auth import authenticated_by_token
from gatewatch.web.context import settings

bp = Blueprint("api", __name__, url_prefix="/api/v1")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DATE = {"type": "string", "format": "date", "pattern": DAY_PATTERN}
DAY = Param("date", DATE, "a day at the site, YYYY-MM-DD, 2000-01-01 to 2999-12-31 (default: today)")
#: Text a query takes: anything but NUL, which PostgreSQL cannot hold in a string (a 500 otherwise).
TEXT = {"type": "string", "pattern": schemas.NO_NUL}
CAMERA = Param("camera", TEXT, "only this camera")


def error(status: int, message: str, fields: dict[str, str] | None = None) -> Response:
    response = jsonify(schemas.ErrorOut(error=message, fields=fields or {}).model_dump())
    response.status_code = status
    return response


def json_response(model: BaseModel, status: int = 200) -> Response:
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


class BadRequest(Exception):
    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class NotFound(Exception):
    pass


class BodyRefused(Exception):
    """The JSON body breaks the endpoint's schema in the OpenAPI document (``contract.py``)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("the body does not match the endpoint's schema in /api/v1/openapi.json")
        self.fields = fields


@bp.errorhandler(BadRequest)
def _bad_request(problem: BadRequest) -> Response:
    return error(400, str(problem), problem.fields)


@bp.errorhandler(FilterError)
def _bad_filter(problem: FilterError) -> Response:
    """A query argument the endpoint does not take (a filter, or ``int_arg(..., strict=True)``)."""
    return error(400, "invalid query parameter", {problem.field: str(problem)})


@bp.errorhandler(BodyRefused)
def _body_refused(problem: BodyRefused) -> Response:
    return error(422, str(problem), problem.fields)


@bp.errorhandler(NotFound)
def _not_found(problem: NotFound) -> Response:
    return error(404, str(problem))


@bp.before_request
def _csrf_for_sessions() -> None:
    """A write made with the session cookie must carry the CSRF token; one made with a token need not."""
    if request.method not in _SAFE_METHODS and not authenticated_by_token():
        csrf.protect()


def day_arg() -> date:
    """The ``date`` query argument; today at the site when it is blank, 400 naming it when not a date."""
    try:
        day = parse_day(request.args.get("date"), "date")
    except FilterError:
        raise BadRequest("invalid query parameter", {"date": "a date such as 2026-11-20"}) from None
    return day or datetime.now(settings().zone).date()


def json_body() -> dict[str, Any]:
    """The request's JSON object; an empty body is an empty object."""
    if not request.get_data():
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object, sent with Content-Type: application/json")
    return body
