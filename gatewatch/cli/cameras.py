"""The ``cameras`` commands (``show``, ``list``): the gate line in force for each camera, and where it
came from.

The configuration seeds each camera's line; once an admin saves one on the camera's page, that
line wins (``gatewatch.camera.gate_lines``). Nobody should have to read the database to know which
line counts: ``cameras show ID`` prints it, with who saved it and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from sqlmodel import Session

from gatewatch.camera.gate_lines import saved_gate
from gatewatch.cli.app import App, echo_json, with_app
from gatewatch.models.tables import Camera
from gatewatch.settings import CameraSettings


def line_in_force(app: App, camera: CameraSettings) -> dict[str, Any]:
    """The camera's line in force as JSON-ready values, with where it came from."""
    with Session(app.engine) as session:
        row = session.get(Camera, camera.id)
        saved = saved_gate(camera, row)
    gate = saved or camera.gate
    saved_at = row.gate_line_saved_at if saved and row else None
    return {
        "camera_id": camera.id,
        "name": camera.name,
        "external": camera.is_external,
        **gate.placement(),
        "settle_frames": gate.settle_frames,
        "from": "saved" if saved else "configuration",
        "saved_by": row.gate_line_saved_by if saved and row else None,
        "saved_at": saved_at.isoformat() if saved_at else None,
    }


def _point(point: list[float]) -> str:
    return f"({point[0]:g}, {point[1]:g})"


def _origin(app: App, line: dict[str, Any]) -> str:
    if line["from"] == "configuration":
        return "the configuration"
    at = app.local(datetime.fromisoformat(line["saved_at"])) if line["saved_at"] else "an unknown time"
    return f"saved on the camera's page by {line['saved_by']} at {at} ({app.settings.timezone})"


@click.group()
def cameras() -> None:
    """The configured cameras and the gate line in force for each."""


@cameras.command("show")
@click.argument("camera_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_app
def cameras_show(app: App, camera_id: str, as_json: bool) -> None:
    """Print the gate line in force for CAMERA_ID, and whether it is the configuration's or saved on its page."""
    line = line_in_force(app, app.camera(camera_id))
    if as_json:
        echo_json(line)
        return
    click.echo(f"{line['camera_id']}: {line['name']}")
    if line["external"]:
        click.echo("  external: another system detects its crossings and posts them; no line is used here")
        return
    a, b = line["line"]
    click.echo(f"  line:          {_point(a)} to {_point(b)}  (fractions of the picture, 0,0 top left)")
    click.echo(f"  inside:        {_point(line['inside'])}")
    click.echo(f"  margin:        {line['margin']:g} of the picture's height, either side of the line")
    click.echo(f"  settle_frames: {line['settle_frames']}")
    click.echo(f"  from:          {_origin(app, line)}")


@cameras.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_app
def cameras_list(app: App, as_json: bool) -> None:
    """List the configured cameras with the origin of each one's gate line."""
    lines = [line_in_force(app, camera) for camera in app.settings.cameras]
    if as_json:
        echo_json(lines)
        return
    click.echo(f"{'id':<20} {'line from':<14} name")
    for line in lines:
        origin = "external" if line["external"] else line["from"]
        click.echo(f"{line['camera_id']:<20} {origin:<14} {line['name']}")

