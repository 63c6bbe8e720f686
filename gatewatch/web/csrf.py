"""CSRF protection: every form post carries a token; so does every API write made with a session.

API writes authenticated by a bearer token need none (a browser never sends the token on its
own), so the API blueprint is exempt from the automatic check and checks sessions itself.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

from gatewatch.web import access

protection = CSRFProtect()


def init_app(app: Flask, api: Blueprint) -> None:
    """Protect every form post; ``api`` checks its own writes with ``protect``."""
    app.config["WTF_CSRF_HEADERS"] = ["X-CSRFToken"]
    protection.init_app(app)
    protection.exempt(api)
    app.register_error_handler(CSRFError, _refused)


def protect() -> None:
    """Check the request's CSRF token now (raises CSRFError)."""
    protection.protect()


def _refused(error: CSRFError) -> tuple[Response | str, int]:
    if access.is_api_request():
        return jsonify(
            error=f"CSRF token missing or wrong: {error.description}; "
            "send it in the X-CSRFToken header or use an API token"
        ), 400
    return render_template(
        "error.html",
        code=400,
        message=_("The form had expired or came from elsewhere. Go back, reload the page and try again."),
    ), 400
