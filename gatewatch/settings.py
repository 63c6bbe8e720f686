"""One typed settings object for the whole application.

Settings come from a YAML file (``GATEWATCH_CONFIG`` or ``--config``) and are overridden by
environment variables named ``GATEWATCH_<KEY>``; nested keys use a double underscore, for
example ``GATEWATCH_DETECTOR__CONFIDENCE=0.4``. Relative paths written in the YAML file are
read relative to that file, so a configuration can be moved together with what it names.
"""

from __future__ import annotations

import os
from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

#: COCO class names the detector may report and the gate may count.
COUNTABLE_CLASSES = ("person", "bicycle", "car", "motorcycle", "bus", "truck")
#: Classes that count as a vehicle for the cross-check (a bicycle is ridden in, so it is one).
VEHICLE_CLASSES = frozenset({"bicycle", "car", "motorcycle", "bus", "truck"})
#: Vehicles that carry a licence plate.
PLATED_CLASSES = VEHICLE_CLASSES - {"bicycle"}

CONFIG_ENV = "GATEWATCH_CONFIG"
#: The sample configuration in gatewatch's source, to copy and edit (``make demo`` runs it).
SAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "samples" / "gatewatch.yaml"


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Point = tuple[float, float]


def _check_normalised(point: Point) -> Point:
    if not all(0.0 <= v <= 1.0 for v in point):
        raise ValueError(f"{list(point)} lies outside the image: coordinates are fractions 0..1")
    return point


class GateSettings(_Strict):
    """The gate line, drawn on the ground, and which side of it is inside the warehouse."""

    line: tuple[Point, Point] = Field(description="two points, normalised 0..1 image coordinates")
    inside: Point = Field(description="one normalised point on the inside of the gate")
    margin: float = Field(
        0.02, ge=0.0, le=0.2,
        description="half-width of the dead band around the line, as a fraction of image height",
    )
    settle_frames: int = Field(
        2, ge=1, le=60,
        description="analysed frames a track must stay on the new side before it counts",
    )

    @field_validator("line")
    @classmethod
    def _line_in_image(cls, line: tuple[Point, Point]) -> tuple[Point, Point]:
        a, b = (_check_normalised(p) for p in line)
        if a == b:
            raise ValueError("the two points of the line are the same point")
        return line

    @field_validator("inside")
    @classmethod
    def _inside_in_image(cls, inside: Point) -> Point:
        return _check_normalised(inside)

    @model_validator(mode="after")
    def _inside_off_the_line(self) -> GateSettings:
        (ax, ay), (bx, by) = self.line
        px, py = self.inside
        length = ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5
        distance = abs((bx - ax) * (py - ay) - (by - ay) * (px - ax)) / length
        if distance < 1e-3:
            raise ValueError("inside: the point lies on the gate line, so it names neither side")
        return self


    def placement(self) -> dict[str, Any]:
        """Where the line lies, as JSON-ready lists: ``line``, ``inside`` and ``margin`` (what an admin
        places on the camera's picture, what each event keeps, what the pages draw)."""
        return {"line": [list(point) for point in self.line], "inside": list(self.inside), "margin": self.margin}

    def placed(self, placement: dict[str, Any]) -> GateSettings:
        """This gate with the line, inside point and margin of ``placement``; ValidationError when wrong."""
        return GateSettings.model_validate({**self.model_dump(), **placement})


class OperatingHours(_Strict):
    """Daily opening hours in the site's time zone; ``open`` after ``close`` spans midnight."""

    open: time
    close: time

    def contains(self, moment: time) -> bool:
        if self.open <= self.close:
            return self.open <= moment < self.close
        return moment >= self.open or moment < self.close


#: A camera's ``source`` when another system (an NVR, an ANPR camera) detects and posts its crossings.
EXTERNAL_SOURCE = "external"
#: The gate an external camera gets when none is configured: nothing is analysed there, but every
#: camera has one, so code that draws or replays a gate needs no special case.
_NOMINAL_GATE = {"line": ((0.0, 0.5), (1.0, 0.5)), "inside": (0.5, 0.9)}


class CameraSettings(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str
    source: str = Field(
        description=f"RTSP/HTTP URL, webcam index (0, 1, ...), video file path, or {EXTERNAL_SOURCE!r}: "
        "another system posts the crossings (POST /api/v1/crossings) and nothing is analysed here",
    )
    gate: GateSettings
    classes: tuple[str, ...] = COUNTABLE_CLASSES
    hours: OperatingHours | None = Field(None, description="null: open around the clock")
    stall_seconds: float = Field(
        10.0, gt=0.0, le=300.0,
        description="a live stream that delivers no frame for this long has stalled and is reconnected",
    )
    record: bool = Field(False, description="keep the camera's stream as continuous recording (see recording:)")
    detect_source: str | None = Field(
        None,
        description="a smaller stream of the same camera (its substream) that is analysed instead of source; "
        "clips, snapshots, plates and recordings still come from source",
    )

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, classes: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(classes) - set(COUNTABLE_CLASSES))
        if unknown:
            raise ValueError(f"unknown class {', '.join(unknown)}; choose from {', '.join(COUNTABLE_CLASSES)}")
        if not classes:
            raise ValueError("at least one class must count")
        return classes

    @model_validator(mode="before")
    @classmethod
    def _external_needs_no_gate(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("source") == EXTERNAL_SOURCE and data.get("gate") is None:
            return {**data, "gate": _NOMINAL_GATE}
        return data

    @property
    def is_external(self) -> bool:
        """Whether another system detects for this camera: no picture comes here, nothing analyses it."""
        return self.source == EXTERNAL_SOURCE


def override_gate(camera: CameraSettings, line: str, inside: str, names: tuple[str, str] = ("line", "inside")
                  ) -> CameraSettings:
    """``camera`` with its gate line and inside point given as text ("x1,y1,x2,y2" and "x,y").

    Checked like the configuration; ConfigError names the field (as ``names`` call them) and the problem.
    """
    def numbers(text: str, count: int, name: str) -> list[float]:
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            values = []
        if len(values) != count:
            raise ConfigError(f"{name} takes {count} comma-separated numbers, got {text!r}")
        return values

    x1, y1, x2, y2 = numbers(line, 4, names[0])
    ix, iy = numbers(inside, 2, names[1])
    try:
        gate = GateSettings.model_validate(
            {**camera.gate.model_dump(), "line": ((x1, y1), (x2, y2)), "inside": (ix, iy)}
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{names[0]}/{names[1]}: {problems}") from None
    return camera.model_copy(update={"gate": gate})


class DetectorSettings(_Strict):
    model: str = Field(description="path to a YOLO model (.pt, OpenVINO folder, ...) or a model name")
    confidence: float = Field(0.25, gt=0.0, lt=1.0)
    image_size: int = Field(640, ge=32, le=4096, multiple_of=32)
    device: str = "cpu"
    threads: int = Field(
        0, ge=0, le=256,
        description="CPU threads one inference of an OpenVINO model uses; 0: every core",
    )
    tracker: str = Field("bytetrack.yaml", description="ultralytics tracker config: bytetrack.yaml or botsort.yaml")


class EvidenceSettings(_Strict):
    pre_seconds: float = Field(2.0, ge=0.0, le=30.0, description="clip length before the crossing")
    post_seconds: float = Field(2.0, ge=0.0, le=30.0, description="clip length after the crossing")
    clip_max_width: int = Field(1280, ge=160, le=3840, description="clips are scaled down to this width")
    clip_fps: float = Field(
        15.0, gt=0.0, le=120.0,
        description="clips keep every n-th frame so their rate is at most this; encoding costs per frame",
    )
    clip_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = Field(
        "superfast", description="libx264 preset: faster presets use less CPU and make larger clips",
    )
    snapshot_quality: int = Field(88, ge=30, le=100, description="JPEG quality of snapshots")
    clip_mode: Literal["auto", "encode"] = Field(
        "auto", description="auto: clips are the camera's own H.264 packets, encoded (boxes burned in) only for "
        "sources a browser cannot play; encode: always encoded",
    )
    retention_days: int | None = Field(
        None, ge=1, description="snapshots and clips older than this are deleted by `retention apply`; null: kept"
    )


class VisitorSettings(_Strict):
    """The visitor log is personal data (UU No. 27 Tahun 2022): how long it is kept, and KTP scans."""

    retention_days: int | None = Field(
        None, ge=1,
        description="a visit's personal fields (name, NIK, organisation, plate) are erased this many days after "
        "its check-in by `retention apply`, in the visit and in the audit trail; null: kept",
    )
    ktp_upload_max_mb: int = Field(8, ge=1, le=50, description="largest KTP photo the scan route takes")
    keep_ktp_photos: bool = Field(
        False, description="keep the photo of each scanned KTP as evidence (hashed, under retention); "
        "false: read, then deleted",
    )


class RecordingSettings(_Strict):
    """Continuous recording of the cameras with ``record: true``: their own packets, in MP4 segments."""

    segment_seconds: float = Field(
        60.0, ge=2.0, le=3600.0, description="a segment closes at the first keyframe after this many seconds",
    )
    retention_days: int | None = Field(
        None, ge=1, description="segments older than this are deleted by retention apply; null: kept by days",
    )
    max_disk_gb: float | None = Field(
        None, gt=0.0, description="recordings beyond this size are deleted, oldest first; null: no quota",
    )


class WebhookSettings(_Strict):
    """One receiver of alerts, as the configuration seeds it (the admin page edits it afterwards)."""

    url: str = Field(description="http(s) URL the alerts are POSTed to, as JSON")
    secret: SecretStr = Field(description="key of the X-Gatewatch-Signature HMAC-SHA256 of each body")
    events: tuple[str, ...] = Field(
        ("event.flagged", "event.decided", "camera.disconnected", "camera.reconnected", "camera.tampered"),
        description="the alert names this receiver gets",
    )


class AlertSettings(_Strict):
    """Alerts sent out of gatewatch."""

    webhooks: tuple[WebhookSettings, ...] = Field(
        (), description="seeds a new installation's webhooks; once they are edited on the admin page, the page wins",
    )


class MqttSettings(_Strict):
    """The MQTT broker events and camera status are published to (no section: no MQTT)."""

    host: str = Field(description="the broker's host name or address")
    port: int = Field(1883, ge=1, le=65535, description="1883, or 8883 with TLS")
    username: str | None = Field(None, description="null: connect without a user name")
    password: SecretStr | None = Field(None, description="the user's password")
    tls: bool = Field(False, description="connect with TLS, checking the broker's certificate")
    topic_prefix: str = Field("gatewatch", min_length=1, max_length=100, description="first level of every topic")


class TamperSettings(_Strict):
    """Camera tampering: each camera's picture compared with a reference picture of its scene (``vision.tamper``)."""

    enabled: bool = Field(True, description="raise camera.tampered when a camera is covered, blurred or moved")
    check_seconds: float = Field(1.0, ge=0.1, le=60.0, description="a camera's picture is checked this often")
    learn_seconds: float = Field(
        2.0, ge=0.5, le=60.0,
        description="a camera with no reference picture learns one from its first this many seconds of frames "
                    "(their median, so passers-by do not count); kept as data_dir/tamper/<camera id>.png, "
                    "deleted to learn it again",
    )
    hold_seconds: float = Field(
        3.0, ge=0.0, le=600.0,
        description="camera.tampered is raised, once, when every check for this long finds the picture wrong; "
                    "people and vehicles passing close to the camera take less",
    )
    clear_seconds: float = Field(
        5.0, ge=0.0, le=600.0, description="camera.tamper_cleared when every check for this long finds it right",
    )
    min_contrast: float = Field(
        0.3, ge=0.0, le=1.0,
        description="covered or dark: the picture's contrast below this fraction of the reference's",
    )
    min_sharpness: float = Field(
        0.35, ge=0.0, le=1.0,
        description="blurred: its sharpness (variance of the Laplacian) below this fraction of the reference's",
    )
    min_edges: float = Field(
        0.3, ge=0.0, le=1.0,
        description="moved or blocked: fewer than this fraction of the reference's edges around the gate line found",
    )
    max_shift: float = Field(
        0.05, gt=0.0, le=1.0,
        description="moved: the scene shifted by more than this fraction of the picture's width or height",
    )


class LiveViewSettings(_Strict):
    """The live view on the Cameras page: each worker publishes a small JPEG of its latest analysed frame."""

    enabled: bool = Field(
        True, description="publish each camera's latest analysed frame as data_dir/live/<camera id>.jpg",
    )
    width: int = Field(640, ge=160, le=1920, description="the published picture's width in pixels (never enlarged)")
    interval_seconds: float = Field(1.0, ge=0.2, le=60.0, description="a new picture at most this often")


class AnalysisSettings(_Strict):
    """How much of each frame is analysed: the shortcuts that make analysis faster than real time.

    ``mode: reference`` turns every shortcut off (the whole frame, every frame, at
    ``detector.image_size``); it is the yardstick ``fast`` is measured against.
    """

    mode: Literal["fast", "reference"] = Field(
        "fast", description="fast: the shortcuts below; reference: detect on the whole of every frame",
    )
    region_margin: float = Field(
        0.25, gt=0.0, le=1.0,
        description="objects are detected within this distance of the gate line (fraction of image height); "
                    "1 detects on the whole frame",
    )
    object_height: float = Field(
        0.2, ge=0.0, le=1.0,
        description="the region reaches this much further up, so an object standing on the line is whole in it",
    )
    scale: float = Field(
        0.75, gt=0.0, le=1.0,
        description="detection resolution relative to detector.image_size across the whole frame; 1 keeps it",
    )
    min_object_pixels: int | None = Field(
        None, ge=4, le=4000,
        description="height in pixels of the picture of the smallest object to find (a distant motorbike); "
                    "the detector then runs, in both modes, at the resolution where such an object is as "
                    "large as the model finds reliably, instead of at `scale`; null: `scale` decides",
    )
    tiling: Literal["auto", "off"] = Field(
        "auto",
        description="auto: where that resolution makes the window larger than detector.image_size, detect "
                    "on overlapping tiles of at most that size and merge them; off: lower the resolution "
                    "until the window fits",
    )
    max_stride: int = Field(
        4, ge=1, le=30,
        description="at most this many frames from one detection to the next while nothing is near the line",
    )
    overload_max_stride: int = Field(
        12, ge=1, le=90,
        description="a live camera whose analysis falls behind (more than half of its read_ahead frames waiting) "
                    "waits up to this many frames between detections instead of max_stride, for tracks far from "
                    "the line and while nothing is tracked; near the line nothing changes. Only if that is not "
                    "enough are frames dropped, never ones near the line. Below max_stride it acts as max_stride",
    )
    near_line: float = Field(
        0.02, ge=0.0, le=1.0,
        description="a track this close to the dead band (fraction of image height) counts as at the line",
    )
    line_stride: int = Field(
        2, ge=1, le=30,
        description="at most this many frames from one detection to the next while a settled track is at the "
                    "line: a crossing's frame is known to within this many",
    )
    step_fraction: float = Field(
        0.3, gt=0.0, le=1.0,
        description="frames may be skipped while no track moves more than this fraction of its box in between",
    )
    track_warmup: int = Field(
        4, ge=1, le=30,
        description="matches after which a track's own speed is trusted for scheduling",
    )
    new_track_speed: float = Field(
        0.25, gt=0.0, le=10.0,
        description="until then it is assumed to near the line by this fraction of its height per frame",
    )
    motion_threshold: float = Field(
        0.002, ge=0.0, le=1.0,
        description="fraction of the region's pixels that must change before detection runs on a frame "
                    "with no track in it; 0 turns motion gating off",
    )
    decode_threads: int = Field(
        1, ge=0, le=64,
        description="FFmpeg threads decoding a camera's video; 0: FFmpeg's choice, one per core. "
                    "One thread uses the least CPU in all and decodes 1080p far faster than real time",
    )
    read_ahead: int = Field(
        24, ge=0, le=120,
        description="frames decoded ahead on a thread of their own; 0 decodes on the analysis thread. A live "
                    "camera's frames wait here through a burst of detections near the line (a 1080p frame "
                    "is 3 MB; under overload up to twice this many wait)",
    )
    stats_log_seconds: float = Field(60.0, gt=0.0, description="interval of the per-stage timing log lines")


class CrossCheckSettings(_Strict):
    """How long a visit covers entries, and when the count of people inside starts afresh."""

    window_before_minutes: float = Field(
        15.0, ge=0.0, description="a visit's first entry may come at most this long after its check-in",
    )
    window_after_minutes: float = Field(
        2.0, ge=0.0, description="a visit covers entries from this long before its check-in (typed just after)",
    )
    checkout_grace_minutes: float = Field(
        30.0, ge=0.0,
        description="a visit not checked out covers until its expected check-out plus this",
    )
    default_visit_hours: float = Field(
        8.0, gt=0.0, le=72.0,
        description="a visit with neither check-out nor expected check-out covers this long after check-in",
    )
    presence_reset: time = Field(
        time(4, 0),
        description="site time of day at which the count of people and vehicles inside starts again from "
                    "zero, so exits the camera missed do not pile up",
    )


class PlateSettings(_Strict):
    """Reading the number plates of vehicle tracks."""

    enabled: bool = Field(True, description="read the plate of each vehicle that crosses the gate")
    min_plate_height: int = Field(
        20, ge=1, le=1000,
        description="views whose estimated plate height (px) is below this are not read: too few pixels",
    )
    plate_height_ratio: float = Field(
        0.063, gt=0.0, le=1.0,
        description="estimated plate height as a fraction of the vehicle box's width",
    )
    min_confidence: float = Field(
        0.8, ge=0.0, le=1.0, description="reads the OCR model is less sure of than this are dropped",
    )
    crops_per_track: int = Field(3, ge=1, le=20, description="largest views of a track that are read")
    threads: int = Field(1, ge=1, le=64, description="CPU threads the OCR model uses")


class Settings(BaseSettings):
    """Everything gatewatch can be told; see README.md, section Configuration."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWATCH_", env_nested_delimiter="__", extra="forbid", frozen=True,
    )

    config: Path | None = Field(None, description="the YAML file these settings were read from")
    data_dir: Path = Field(Path("var"), description="snapshots, clips and the default SQLite database")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under data_dir")
    footage_dir: Path | None = Field(
        None, description="stored footage the auditor's page may replay (video files, subfolders too); "
                          "default data_dir/footage",
    )
    timezone: str = Field("Asia/Jakarta", description="site time zone for operating hours and display")
    language: Literal["en", "id"] = Field("id", description="default interface language")
    visits_import_max_mb: int = Field(
        50, ge=1, le=1024, description="largest visitor-log CSV file the web import accepts, in MB",
    )
    detector: DetectorSettings
    evidence: EvidenceSettings = EvidenceSettings()
    analysis: AnalysisSettings = AnalysisSettings()
    crosscheck: CrossCheckSettings = CrossCheckSettings()
    plates: PlateSettings = PlateSettings()
    recording: RecordingSettings = RecordingSettings()
    alerts: AlertSettings = AlertSettings()
    mqtt: MqttSettings | None = None
    tamper: TamperSettings = TamperSettings()
    live_view: LiveViewSettings = LiveViewSettings()
    visitors: VisitorSettings = VisitorSettings()
    cameras: tuple[CameraSettings, ...] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init values; the environment overrides it.
        return (env_settings, init_settings)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Asia/Jakarta)") from None
        return name

    @model_validator(mode="after")
    def _unique_camera_ids(self) -> Settings:
        ids = [c.id for c in self.cameras]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"cameras: id {', '.join(duplicated)} is used more than once")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def site_time(self, text: str) -> datetime:
        """An ISO 8601 time; without an offset it is read in the site's time zone. ValueError if not one."""
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=self.zone) if moment.tzinfo is None else moment

    def child_environment(self) -> dict[str, str]:
        """The environment of a gatewatch process started from this one (a replay, an export's renditions):
        this one's, with these settings' configuration file, database and data directory."""
        env = {**os.environ, "GATEWATCH_DATABASE_URL": self.effective_database_url,
               "GATEWATCH_DATA_DIR": str(self.data_dir.resolve()), "GATEWATCH_DETECTOR__MODEL": self.detector.model}
        env.pop(CONFIG_ENV, None)
        if self.config is not None:
            env[CONFIG_ENV] = str(self.config)
        return env

    @property
    def effective_footage_dir(self) -> Path:
        return self.footage_dir or self.data_dir / "footage"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'gatewatch.db'}"

    def camera(self, camera_id: str) -> CameraSettings:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        known = ", ".join(c.id for c in self.cameras) or "none"
        raise ConfigError(f"no camera with id {camera_id!r} in the configuration (configured: {known})")


def _is_local_path(value: str) -> bool:
    return bool(value) and "://" not in value and not value.isdigit() and value != EXTERNAL_SOURCE


def _resolve_relative_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make the YAML's relative paths relative to the YAML file, not to the working directory."""

    def resolve(value: str) -> str:
        path = Path(value).expanduser()
        return value if path.is_absolute() else os.path.normpath(base / path)

    for name in ("data_dir", "footage_dir"):
        if isinstance(raw.get(name), str):
            raw[name] = resolve(raw[name])
    detector = raw.get("detector")
    if isinstance(detector, dict) and isinstance(detector.get("model"), str):
        model = detector["model"]
        # A bare model name such as yolo11n.pt is left for ultralytics to find.
        if "/" in model or (base / model).exists():
            detector["model"] = resolve(model)
    for camera in raw.get("cameras") or []:
        for key in ("source", "detect_source"):
            if isinstance(camera, dict) and isinstance(camera.get(key), str) and _is_local_path(camera[key]):
                camera[key] = resolve(camera[key])
    return raw


def _format_validation_error(errors: list[ErrorDetails], origin: str) -> str:
    lines = [f"invalid configuration ({origin}):"]
    for item in errors:
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            required = _required_keys(item["loc"])
            message = "missing, with no default" if required == [key] else f"missing: set {', '.join(required)}"
        lines.append(f"  {key}: {message}")
    if any(item["type"] == "missing" for item in errors):
        lines.append(f"The sample configuration shows every setting: {_sample_config()}")
    return "\n".join(lines)


def _no_configuration(errors: list[ErrorDetails]) -> str:
    """What to do when no configuration file was given and the environment alone is not enough."""
    missing = [key for item in errors if item["type"] == "missing" for key in _required_keys(item["loc"])]
    lines = [
        ("no configuration: give gatewatch its YAML configuration file with --config FILE or the environment "
         f"variable {CONFIG_ENV}; neither was given, and these settings have no default:"),
        *(f"  {key} (or the environment variable {_env_name(key)})" for key in missing),
    ]
    others = [item for item in errors if item["type"] != "missing"]
    if others:
        lines.append(_format_validation_error(others, "environment"))
    lines.append(f"Start from the sample configuration: copy {_sample_config()}, edit it, and pass it with --config.")
    return "\n".join(lines)


def _required_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The settings without a default that a missing key at ``loc`` stands for: ``detector`` is
    ``detector.model``, the one setting of the section that has no default."""
    model: Any = Settings
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) and _is_model(model) else None
        model = field.annotation if field is not None else None
    key = ".".join(str(part) for part in loc)
    if not _is_model(model):
        return [key]
    return [leaf for name, field in model.model_fields.items() if field.is_required()
            for leaf in _required_keys((*loc, name))] or [key]


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _env_name(key: str) -> str:
    """The environment variable that sets ``key`` (``detector.model``: GATEWATCH_DETECTOR__MODEL)."""
    return "GATEWATCH_" + "__".join(key.split(".")).upper()


def _sample_config() -> str:
    return str(SAMPLE_CONFIG) if SAMPLE_CONFIG.is_file() else "samples/gatewatch.yaml in gatewatch's source"


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What is wrong with the YAML and where, without quoting the line.

    PyYAML's own message quotes the line, which may be a camera's ``source`` with its password.
    """
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or type(error).__name__
    return problem if mark is None else f"{problem} (line {mark.line + 1}, column {mark.column + 1})"


def load_settings(config_path: str | Path | None = None) -> Settings:
    """Read the YAML file (argument, else ``GATEWATCH_CONFIG``) and apply the environment.

    Raises ConfigError with every wrong key named.
    """
    path_text = config_path or os.environ.get(CONFIG_ENV)
    raw: dict[str, Any] = {}
    origin = "environment"
    if path_text:
        path = Path(path_text).expanduser().resolve()
        origin = str(path)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"configuration file {path} is not valid YAML: {_yaml_problem(exc)}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"configuration file {path} must hold a mapping of keys, not {type(loaded).__name__}")
        raw = _resolve_relative_paths(loaded, path.parent)
        raw["config"] = str(path)
    try:
        return Settings(**raw)
    except ValidationError as exc:
        errors = exc.errors()
        if not path_text and any(item["type"] == "missing" for item in errors):
            raise ConfigError(_no_configuration(errors)) from None
        raise ConfigError(_format_validation_error(errors, origin)) from None
