"""The cameras page warns when a camera's detect stream makes its smallest objects too small to detect."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import Camera
from gatewatch.settings import Settings
from gatewatch.vision.region import DETECTABLE_PIXELS, check_detect_stream
from tests.web.test_camera_clip_kind import row
from tests.web_helpers import GATE, VEHICLE_GATE


def test_the_check_scales_the_smallest_object_to_the_detect_stream() -> None:
    assert check_detect_stream(60, 1080, 360).problem == "too_small"  # 20 px in the detect stream
    assert check_detect_stream(60, 1080, 360).object_pixels == 20.0
    assert check_detect_stream(96, 1080, 360).problem is None  # exactly 32 px
    assert check_detect_stream(95, 1080, 360).problem == "too_small"
    assert check_detect_stream(None, 1080, 360).problem == "unset"
    assert check_detect_stream(None, 1080, None).problem is None  # no detect stream
    assert check_detect_stream(10, None, None).problem is None  # no worker reported yet
    assert check_detect_stream(60, 1080, 360).needed == DETECTABLE_PIXELS


@pytest.fixture
def web_settings(web_settings: Settings, minimum: int | None) -> Settings:
    analysis = web_settings.analysis.model_copy(update={"min_object_pixels": minimum})
    return web_settings.model_copy(update={"analysis": analysis})


@pytest.mark.parametrize("minimum", [60, None, 120])
def test_the_cameras_page_warns_of_a_detect_stream_too_small(
    minimum: int | None, web_engine: sa.Engine, client_for: Callable[[Role], FlaskClient]
) -> None:
    with session_scope(web_engine) as session:
        gate = session.get(Camera, GATE)
        gate.frame_width, gate.frame_height, gate.detect_width, gate.detect_height = 1920, 1080, 640, 360
        vehicle = session.get(Camera, VEHICLE_GATE)  # no detect stream: never warned about
        vehicle.frame_width, vehicle.frame_height = 1920, 1080
    page = client_for(Role.GUARD).get("/cameras").get_data(as_text=True)
    assert "detect-stream-warning" not in row(page, VEHICLE_GATE)
    cell = row(page, GATE)
    if minimum == 60:
        assert "The detect stream (640x360) makes the smallest objects 20.0 px high: the detector needs 32 px." in cell
        assert "analysis.min_object_pixels is 60 px of the main stream (1920x1080)" in cell
    elif minimum is None:
        assert "analysis.min_object_pixels is not set" in cell and "640x360 of a 1920x1080 main stream" in cell
    else:  # 40 px in the detect stream: large enough
        assert "detect-stream-warning" not in cell
