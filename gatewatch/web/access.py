"""Who may call which endpoint: one registry, enforced for every request before anything else runs.

Each view says who may call it with ``@allow(...)`` (or ``@public``). ``init_app`` refuses to
start an app with a view that says nothing, so a new route cannot be left open by forgetting.
Templates ask ``can(endpoint)`` to decide which links and controls to show, so what a page
offers and what the server accepts come from the same place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from gatewatch.models.enums import HUMAN_ROLES, Role

_ATTRIBUTE = "_gatewatch_roles"
_REGISTRY = "gatewatch.access"
#: Every role of a person: a page anyone logged in may read. A device or a metrics scraper is not one
#: of them: their tokens reach only the routes that name their role (crossings, /metrics).
EVERYONE = frozenset(HUMAN_ROLES)
#: Marks an endpoint open without a login (the login page, health, static files).
PUBLIC: frozenset[Role] = frozenset()
#: Flask's own endpoints, which no decorator reaches.
_BUILTIN_PUBLIC = ("static",)
#: Who may do what several endpoints offer (a page's form and its API twin), named once: a view says
#: ``@allow(PERMISSIONS[name])``. The decisions on an event declare theirs in ``events.reviews.DECISIONS``.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "evidence.hold": frozenset({Role.AUDITOR}),  # place and release legal holds on an event's evidence
}

View = TypeVar("View", bound=Callable[..., Any])


def allow(*roles: Role | Iterable[Role]) -> Callable[[View], View]:
    """Let only users with one of ``roles`` (roles or collections of roles) call the view."""
    allowed: set[Role] = set()
    for item in roles:
        allowed.update([item] if isinstance(item, Role) else item)
    if not allowed:
        raise ValueError("allow() needs at least one role; use @public for an open endpoint")

    def mark(view: View) -> View:
        setattr(view, _ATTRIBUTE, frozenset(allowed))
        return view

    return mark


def public(view: View) -> View:
    setattr(view, _ATTRIBUTE, PUBLIC)
    return view


def init_app(app: Flask) -> None:
    """Build the registry from the registered views and enforce it before every request.

    Call after every blueprint is registered and before other ``before_request`` hooks (CSRF,
    rate limits), so an anonymous or wrong-role request is answered 401/403 before anything else.
    """
    registry: dict[str, frozenset[Role]] = {
        name: PUBLIC for name in _BUILTIN_PUBLIC if name in app.view_functions
    }
    unmarked = []
    for endpoint, view in app.view_functions.items():
        if endpoint in registry:
            continue
        roles = getattr(view, _ATTRIBUTE, None)
        if roles is None:
            unmarked.append(endpoint)
        else:
            registry[endpoint] = roles
    if unmarked:
        raise RuntimeError(f"endpoints without an access rule: {', '.join(sorted(unmarked))}")
    app.extensions[_REGISTRY] = registry
    app.before_request(_enforce)
    app.jinja_env.globals["can"] = can


def roles_for(endpoint: str) -> frozenset[Role]:
    return current_app.extensions[_REGISTRY][endpoint]


def can(endpoint: str) -> bool:
    """Whether the current user may call ``endpoint``."""
    roles = roles_for(endpoint)
    if roles == PUBLIC:
        return True
    return bool(current_user.is_authenticated and current_user.role in roles)


API_PREFIX = "/api/"
#: Paths outside the API that machine clients read with an API token, answered as the API is:
#: the token is read, a missing one is a 401 (not the login page), errors are JSON.
MACHINE_PATHS = frozenset({"/metrics"})


def is_api_request() -> bool:
    """Whether the request is for the JSON API (matched a route or not) or a ``MACHINE_PATHS``
    path, which take API tokens and answer errors in JSON."""
    return request.path.startswith(API_PREFIX) or request.path in MACHINE_PATHS


def _enforce() -> ResponseReturnValue | None:
    if request.endpoint is None:  # no route matched: Flask answers 404/405 itself
        return None
    if can(request.endpoint):
        return None
    if not current_user.is_authenticated:
        if is_api_request():
            response = jsonify(error="log in or send an API token: Authorization: Bearer <token>")
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="gatewatch"'
            return response
        # After logging in, come back to the page asked for; a form post cannot be repeated.
        back = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.login", next=back))
    return forbidden()


def forbidden() -> Response:
    if is_api_request():
        response = jsonify(error=f"the role {current_user.role} may not do this")
    else:
        response = current_app.make_response(render_template("error.html", code=403))
    response.status_code = 403
    return response
