"""The headers every answer of the web app carries, in one place.

* ``Content-Security-Policy``, ``X-Content-Type-Options``, ``Referrer-Policy``, ``X-Frame-Options``:
  pages load nothing from elsewhere, run no inline script and are never framed. A view may set
  its own value of one; the default fills in the rest.
* ``Cache-Control: no-store`` on every answer but static files: pages and API answers carry NIK
  numbers, visitors' names and the people at the gate, which must not stay in a browser's or a
  proxy's cache on a shared guard-post computer. The rule is the whole app, not a list of views, so
  a new page cannot be forgotten; the login page and error pages get it too (they carry a session's
  CSRF token, and nothing is gained by caching them). Two exceptions: static files (CSS, script,
  icon: the same for everyone) keep Flask's revalidated caching, and a view that marks its answer
  ``private`` has chosen a cache in that browser only on purpose (the evidence pictures, which the
  queue shows again and again, for an hour).
* ``Strict-Transport-Security`` when ``GATEWATCH_HSTS_SECONDS`` is set above 0 (e.g. ``31536000``,
  a year): ``max-age=<seconds>; includeSubDomains``. Only for a site served over TLS (directly or
  behind a TLS-terminating proxy): a browser that saw it refuses plain HTTP to the host for that
  long. Unset or 0: no header, as a plain-HTTP site on a closed network needs. Read once, when the
  app is created, like ``GATEWATCH_COOKIE_SECURE``; a value that is not a whole number of seconds
  stops the app from starting.
"""

from __future__ import annotations

import os

from flask import Flask, Response, current_app, request

#: Pages load nothing from elsewhere and run no inline script: an injected <script> does nothing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Set on every answer unless its view set them.
DEFAULTS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)
HSTS_ENV = "GATEWATCH_HSTS_SECONDS"
#: The app config key holding the HSTS max-age read from ``HSTS_ENV`` (0: no header).
HSTS_CONFIG = "HSTS_SECONDS"
#: The endpoints whose answers may be cached: the same files for everyone.
CACHEABLE_ENDPOINTS = frozenset({"static"})


def init_app(app: Flask) -> None:
    """Add the headers to every answer of ``app``; reads ``GATEWATCH_HSTS_SECONDS`` now."""
    app.config[HSTS_CONFIG] = hsts_seconds()
    app.after_request(_add_headers)


def hsts_seconds() -> int:
    """``GATEWATCH_HSTS_SECONDS`` as a number of seconds; 0 when unset or empty."""
    text = os.environ.get(HSTS_ENV, "").strip()
    if not text:
        return 0
    try:
        seconds = int(text)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise ValueError(f"{HSTS_ENV} must be a whole number of seconds (0: no HSTS header), not {text!r}")
    return seconds


def _add_headers(response: Response) -> Response:
    for name, value in DEFAULTS:
        response.headers.setdefault(name, value)
    if not _may_be_cached(response):
        response.headers["Cache-Control"] = "no-store"
    if seconds := current_app.config[HSTS_CONFIG]:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={seconds}; includeSubDomains")
    return response


def _may_be_cached(response: Response) -> bool:
    return request.endpoint in CACHEABLE_ENDPOINTS or bool(response.cache_control.private)
