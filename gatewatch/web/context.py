"""What a request needs from the app: settings, the engine and one database session per request."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlmodel import Session

from gatewatch.settings import CameraSettings, ConfigError, Settings

_SETTINGS = "gatewatch.settings"
_ENGINE = "gatewatch.engine"


def init_app(app: Flask, settings: Settings, engine: sa.Engine) -> None:
    app.extensions[_SETTINGS] = settings
    app.extensions[_ENGINE] = engine
    app.teardown_appcontext(_close_session)


def settings() -> Settings:
    return current_app.extensions[_SETTINGS]


def configured_camera(camera_id: str) -> CameraSettings | None:
    """The configured camera ``camera_id``; None when the configuration does not (or no longer) name it."""
    try:
        return settings().camera(camera_id)
    except ConfigError:
        return None


def engine() -> sa.Engine:
    return current_app.extensions[_ENGINE]


def db() -> Session:
    """The request's session; rolled back and closed when the request ends unless committed."""
    if "db" not in g:
        g.db = Session(engine(), expire_on_commit=False)
    return g.db


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
