"""The ``serve`` command, and ``run_dev_server``, the Flask development server it and the demo run.

The web app (Flask and its views) loads inside ``run_dev_server``, so no other command pays for it.
"""

from __future__ import annotations

import click

from gatewatch.cli.app import App, with_app


def run_dev_server(app: App, host: str, port: int) -> None:
    """The web app on Flask's development server, until Ctrl+C."""
    from gatewatch.web.app import create_app

    # The development server speaks plain HTTP: a Secure cookie would never come back.
    create_app(app.settings, app.engine, secure_cookies=False).run(host=host, port=port, threaded=True)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@with_app
def serve(app: App, host: str, port: int) -> None:
    """Run the web app on Flask's development server (production: gunicorn, see gatewatch/web/app.py)."""
    run_dev_server(app, host, port)
