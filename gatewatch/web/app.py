"""The web application: pages under / and the JSON API under /api/v1.

Development::

    gatewatch serve --config samples/gatewatch.yaml --port 8000

Production, with gunicorn behind a TLS-terminating reverse proxy::

    GATEWATCH_CONFIG=/etc/gatewatch/gatewatch.yaml GATEWATCH_PROXY_HOPS=1 \\
        gunicorn --preload --workers 4 --bind 127.0.0.1:8000 'gatewatch.web.app:wsgi()'

``--preload`` builds the app once, so the schema is migrated once and not by four workers at
the same time. Environment variables read here (besides the settings' ``GATEWATCH_*``):

* ``GATEWATCH_SECRET_KEY``: signs session cookies. Without it a random key is created once and
  kept in ``<data_dir>/secret_key`` (mode 0600); all workers and restarts share that file.
* ``GATEWATCH_COOKIE_SECURE``: ``1`` (the default outside tests and ``gatewatch serve``) sends
  the session cookie over HTTPS only. A site that really serves plain HTTP on a closed network
  must set ``0``, or browsers drop the cookie and nobody can log in.
* ``GATEWATCH_PROXY_HOPS``: how many reverse proxies stand in front (default 0); their
  ``X-Forwarded-*`` headers are then trusted for the client address, host and scheme, which the
  per-address login throttle and the demo password's loopback-only rule need. Behind a proxy on
  the same computer it must be set, or every client looks like 127.0.0.1.
* ``GATEWATCH_TRUSTED_HOSTS``: the host names the site is reached by, comma-separated
  (``gate.example.id,10.1.2.3``; ``.example.id`` also takes its subdomains). A request naming
  another ``Host`` gets 400, which defeats DNS rebinding. Unset: any host (``gatewatch serve`` and
  the demo listening on a loopback address use ``localhost,127.0.0.1``).

Sessions end after ``SESSION_LIFETIME`` without a request and ``auth.ABSOLUTE_SESSION_LIFETIME``
after their login at the latest (web/auth.py).
"""

from __future__ import annotations

import os
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, ValidationError

from gatewatch.camera.footage import sync_configured_cameras
from gatewatch.models.db import make_engine, migrate
from gatewatch.models.filters import MAX_ID
from gatewatch.settings import Settings, load_settings
from gatewatch.web import access, auth, context, csrf, headers, i18n, text_input
from gatewatch.web.api.routes import bp as api
from gatewatch.web.metrics import bp as metrics
from gatewatch.web.secret import secret_key
from gatewatch.web.views import (
    admin,
    alerts,
    audit,
    authorisations,
    cameras,
    events,
    evidence,
    exports,
    gate_lines,
    holds,
    home,
    integrity,
    ktp_scan,
    nik,
    overview,
    replays,
    visits,
    watched_persons,
    webhooks,
)

SESSION_LIFETIME = timedelta(hours=12)  # one shift


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def create_app(
    settings: Settings,
    engine: sa.Engine | None = None,
    *,
    testing: bool = False,
    secure_cookies: bool | None = None,
    trusted_hosts: list[str] | None = None,
) -> Flask:
    """The app for ``settings``; without ``engine`` the configured database, migrated to the newest schema.

    ``secure_cookies`` None: from ``GATEWATCH_COOKIE_SECURE``, on unless ``testing``.
    ``trusted_hosts`` None: from ``GATEWATCH_TRUSTED_HOSTS`` (unset: any host).
    """
    if engine is None:
        engine = make_engine(settings.effective_database_url)
        migrate(engine, settings.timezone)
        sync_configured_cameras(engine, settings.cameras)  # warns, never stops the app, when it cannot
        engine.dispose()  # no pooled connection may cross a gunicorn fork
    app = Flask(__name__)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config.update(
        TESTING=testing,
        SECRET_KEY=secret_key(settings.data_dir),
        SESSION_COOKIE_NAME="gatewatch_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=_env_flag("GATEWATCH_COOKIE_SECURE", not testing)
        if secure_cookies is None
        else secure_cookies,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        MAX_CONTENT_LENGTH=1 << 20,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session; a shift is long
        REFRESH_SECONDS=10,  # how often the queue and camera pages look for news
        TRUSTED_HOSTS=_trusted_hosts() if trusted_hosts is None else trusted_hosts,
    )
    hops = int(os.environ.get("GATEWATCH_PROXY_HOPS", "0") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    context.init_app(app, settings, engine)
    _register_blueprints(app)
    app.before_request(_refuse_untrusted_host)  # before anything reads the session or the database
    access.init_app(app)  # first of the before_request hooks: refuse before anything else runs
    auth.init_app(app)
    csrf.init_app(app, api)
    i18n.init_app(app)
    app.register_error_handler(HTTPException, _http_error)
    headers.init_app(app)  # security and caching headers, HSTS (web/headers.py)
    text_input.init_app(app)  # no NUL in any text: PostgreSQL cannot store it
    return app


def _trusted_hosts() -> list[str] | None:
    names = [name.strip() for name in os.environ.get("GATEWATCH_TRUSTED_HOSTS", "").split(",")]
    return [name for name in names if name] or None


def _refuse_untrusted_host() -> Response | None:
    """400 for a Host outside ``TRUSTED_HOSTS``; Flask found it while routing, and no page can be
    rendered for it (building a link needs the host), so the answer is plain text."""
    if isinstance(request.routing_exception, SecurityError):
        return Response("400 Bad Request: this host name is not served here\n", 400, mimetype="text/plain")
    return None


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(auth.bp)
    for module in (home, events, evidence, visits, authorisations, overview, cameras, audit, integrity, exports,
                   replays, admin, holds, alerts, webhooks, gate_lines, nik, ktp_scan,
                   watched_persons):
        app.register_blueprint(module.bp)
    app.register_blueprint(api)
    app.register_blueprint(metrics)  # /metrics for a Prometheus scraper (web/metrics.py)


class IdConverter(IntegerConverter):
    """``<int:...>`` of a record's id: one beyond the largest id the database holds (``MAX_ID``)
    matches no route, so it is a 404 on every route instead of an overflow in the query (a 500)."""

    def __init__(self, url_map: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)  # type: ignore[arg-type]

    def to_python(self, value: str) -> int:
        if len(value) > len(str(MAX_ID)):  # int() of thousands of digits is slow, then refused
            raise ValidationError()
        return super().to_python(value)  # type: ignore[no-any-return]


def _http_error(error: HTTPException) -> tuple[Response | str, int, list[tuple[str, str]]]:
    """Errors as JSON under /api, as a page elsewhere; with the error's own headers (a 405's Allow)."""
    code = error.code or 500
    extra = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    if access.is_api_request():
        return jsonify(error=error.description or error.name, fields={}), code, extra
    return render_template("error.html", code=code), code, extra


def wsgi() -> Flask:
    """The WSGI app for gunicorn: settings from ``GATEWATCH_CONFIG`` and the environment."""
    return create_app(load_settings())
