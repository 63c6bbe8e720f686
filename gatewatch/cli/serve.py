"""The ``serve`` command, and ``run_dev_server``, the Flask development server it and the demo run.

The web app (Flask and its views) loads inside ``run_dev_server``, so no other command pays for it.
"""

from __future__ import annotations

import ipaddress
import os

import click

from gatewatch.cli.app import App, with_app

#: The host names a server listening only on a loopback address answers to (unless
#: ``GATEWATCH_TRUSTED_HOSTS`` says otherwise): a web page elsewhere cannot rebind a name to it.
LOOPBACK_HOSTS = ["localhost", "127.0.0.1"]


def _listens_on_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_dev_server(app: App, host: str, port: int) -> None:
    """The web app on Flask's development server, until Ctrl+C."""
    from gatewatch.web.app import create_app

    trusted = None
    if not os.environ.get("GATEWATCH_TRUSTED_HOSTS", "").strip() and _listens_on_loopback(host):
        trusted = LOOPBACK_HOSTS
    # The development server speaks plain HTTP: a Secure cookie would never come back.
    web = create_app(app.settings, app.engine, secure_cookies=False, trusted_hosts=trusted)
    web.run(host=host, port=port, threaded=True)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@with_app
def serve(app: App, host: str, port: int) -> None:
    """Run the web app on Flask's development server (production: gunicorn, see gatewatch/web/app.py)."""
    run_dev_server(app, host, port)
