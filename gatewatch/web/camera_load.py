"""Each camera's share of the box: its load over the loads of the cameras running now.

A camera worker writes the camera's load with each status window (``Camera.analysis_load``: its
work in seconds per wall second, threads' CPU and time on the shared detector). The cameras of a
box share its cores and one detector, so what an operator wants to see is which camera takes what
part of the work: its load divided by the sum over the cameras running now. A camera that is
disconnected, or whose worker has not reported for ``RECENT``, has no share and counts in no
other camera's: the load it last reported is no longer spent.

Pure (the rows in, fractions out), for the cameras page and the API alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from gatewatch.models.tables import Camera

#: A camera whose last frame is older than this has no share of the box.
RECENT = timedelta(minutes=2)


def box_shares(cameras: Iterable[Camera], now: datetime, recent: timedelta = RECENT) -> dict[str, float]:
    """Camera id -> its share of the box (0 to 1), for the cameras running now; the others are left out."""
    loads = {camera.id: camera.analysis_load for camera in cameras
             if camera.analysis_load is not None and _running(camera, now, recent)}
    total = sum(loads.values())
    return {camera_id: load / total for camera_id, load in loads.items()} if total > 0 else {}


def _running(camera: Camera, now: datetime, recent: timedelta) -> bool:
    """Connected, with a frame within ``recent``."""
    return camera.connected and camera.last_frame_at is not None and now - camera.last_frame_at <= recent
