"""What each API endpoint takes and returns, attached to its view for the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

_ATTRIBUTE = "_openapi_operation"
View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Param:
    """A query parameter."""

    name: str
    schema: dict[str, Any]
    description: str


@dataclass(frozen=True)
class Operation:
    summary: str
    response: type[BaseModel]
    status: int = 200
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()  # error statuses besides 401/403, which follow from the access rule
    #: Body fields checked against stored records, the configuration or each other, which a schema
    #: cannot state: a request the schema allows may still get 422 naming one of these.
    checked: tuple[str, ...] = ()


def documented(operation: Operation) -> Callable[[View], View]:
    def mark(view: View) -> View:
        setattr(view, _ATTRIBUTE, operation)
        return view

    return mark


def operation_of(view: Callable[..., Any]) -> Operation | None:
    return getattr(view, _ATTRIBUTE, None)
