"""``/metrics``: the site's figures in the Prometheus text format, for a scraper holding a ``metrics`` token.

Only the API token of a user with the role ``metrics`` reads it (``Authorization: Bearer gw_...``),
and that token reads nothing else: no page, no other API. People's sessions do not read it either:
what it tells (how many entries wait, which camera is down) is on their pages already, and a
scraper that is not a person's session cannot be phished into one. Without a token the answer is
401, with another role's 403, as the API answers (``access.MACHINE_PATHS``).

Every scrape builds a new ``CollectorRegistry`` from the database (``web.site_metrics``): no
counter lives in a process, so every gunicorn worker, and every web server, answers the same.
The body is the classic text format (0.0.4) unless the scraper asks for OpenMetrics or text 1.0.0
in ``Accept``, as prometheus-client's own exporter answers.

The metric names, their labels and meanings are listed in ``METRICS`` and sent as HELP texts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from flask import Blueprint, Response, request
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from gatewatch.models.enums import Role
from gatewatch.models.types import utcnow
from gatewatch.web import access
from gatewatch.web.context import db
from gatewatch.web.site_metrics import CameraFigures, SiteFigures, site_figures

bp = Blueprint("metrics", __name__)

CAMERA = ["camera_id"]
#: One figure of a camera; None: not known, the camera is left out of that metric.
Figure = Callable[[CameraFigures], float | None]
#: Name (as sent, a counter with its ``_total``) -> HELP text. The README lists the same.
METRICS = {
    "gatewatch_camera_info": "A camera as configured: its name; always 1.",
    "gatewatch_camera_connected": "1 while the camera's worker reports frames (connected, a frame within the "
                                  "last 2 minutes), else 0.",
    "gatewatch_camera_frames_per_second": "Frames analysed per second over the worker's last status window "
                                          "(about 2 s); 0 when not connected.",
    "gatewatch_camera_lag_seconds": "How far analysis runs behind the stream: the longest time, over the worker's "
                                    "last status window, from a frame's arrival to the end of its analysis.",
    "gatewatch_camera_analysis_load": "The camera's work on the box, in seconds per second (its threads' CPU "
                                      "and its time on the shared detector), over the last status window.",
    "gatewatch_camera_degraded": "1 while overload thins out detection far from the line or drops frames.",
    "gatewatch_camera_tampered": "1 while the picture no longer shows the gate as its reference picture does.",
    "gatewatch_camera_dropped_frames_total": "Frames a live stream dropped because analysis fell behind, since "
                                             "the camera's worker started.",
    "gatewatch_camera_detections_total": "Frames the detector ran on, since the camera's worker started.",
    "gatewatch_camera_reconnects_total": "Times the camera's source was opened again after it failed.",
    "gatewatch_camera_last_frame_timestamp_seconds": "When the worker last reported a frame (Unix time).",
    "gatewatch_camera_events": "Events stored, by camera, status and flag reason (reason \"none\": never "
                               "flagged).",
    "gatewatch_flagged_queue_length": "Events waiting for a person: flagged or acknowledged.",
    "gatewatch_flagged_queue_oldest_timestamp_seconds": "When the longest-waiting event of the queue occurred "
                                                        "(Unix time); absent while the queue is empty.",
    "gatewatch_webhook_outbox_depth": "Webhook deliveries waiting in the outbox to be delivered.",
    "gatewatch_webhook_outbox_oldest_timestamp_seconds": "When the oldest waiting webhook delivery was made "
                                                         "(Unix time); absent while none waits.",
}


@bp.get("/metrics")
@access.allow(Role.METRICS)
def metrics() -> Response:
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry(site_figures(db(), utcnow()))), content_type=content_type)


def registry(figures: SiteFigures) -> CollectorRegistry:
    """A registry of this scrape's figures alone (no process metrics: they differ by gunicorn worker)."""
    built = CollectorRegistry(auto_describe=False)
    built.register(SiteCollector(figures))
    return built


class SiteCollector:
    """Words ``SiteFigures`` as Prometheus metric families."""

    def __init__(self, figures: SiteFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        yield from _camera_families(self.figures.cameras)
        events = _gauge("gatewatch_camera_events", [*CAMERA, "status", "reason"])
        for count in self.figures.events:
            events.add_metric([count.camera_id, count.status, count.reason], count.count)
        yield events
        yield _value("gatewatch_flagged_queue_length", self.figures.queue_length)
        yield _timestamp("gatewatch_flagged_queue_oldest_timestamp_seconds", self.figures.queue_oldest)
        yield _value("gatewatch_webhook_outbox_depth", self.figures.outbox_depth)
        yield _timestamp("gatewatch_webhook_outbox_oldest_timestamp_seconds", self.figures.outbox_oldest)


def _camera_families(cameras: list[CameraFigures]) -> Iterator[Metric]:
    info = InfoMetricFamily("gatewatch_camera", METRICS["gatewatch_camera_info"], labels=CAMERA)
    for camera in cameras:
        info.add_metric([camera.camera_id], {"name": camera.name})
    yield info
    values: dict[str, Figure] = {
        "gatewatch_camera_connected": lambda c: float(c.running),
        "gatewatch_camera_frames_per_second": lambda c: c.frames_per_second,
        "gatewatch_camera_lag_seconds": lambda c: c.lag_seconds,
        "gatewatch_camera_analysis_load": lambda c: c.analysis_load,
        "gatewatch_camera_degraded": lambda c: float(c.degraded),
        "gatewatch_camera_tampered": lambda c: float(c.tampered),
        "gatewatch_camera_last_frame_timestamp_seconds": lambda c: _seconds(c.last_frame_at),
    }
    for name, value in values.items():
        yield _per_camera(_gauge(name, CAMERA), cameras, value)
    counts: dict[str, Figure] = {
        "gatewatch_camera_dropped_frames": lambda c: c.dropped_frames,
        "gatewatch_camera_detections": lambda c: c.detections,
        "gatewatch_camera_reconnects": lambda c: c.reconnects,
    }
    for name, value in counts.items():
        yield _per_camera(CounterMetricFamily(name, METRICS[f"{name}_total"], labels=CAMERA), cameras, value)


def _per_camera(family: GaugeMetricFamily | CounterMetricFamily, cameras: list[CameraFigures],
                value: Figure) -> Metric:
    """``family`` with each camera's ``value(camera)``; a camera whose value is None is left out."""
    for camera in cameras:
        figure = value(camera)
        if figure is not None:
            family.add_metric([camera.camera_id], figure)
    return family


def _gauge(name: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, METRICS[name], labels=labels)


def _value(name: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, METRICS[name], value=value)


def _timestamp(name: str, moment: datetime | None) -> GaugeMetricFamily:
    family = _gauge(name, [])
    if moment is not None:
        family.add_metric([], moment.timestamp())
    return family


def _seconds(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
