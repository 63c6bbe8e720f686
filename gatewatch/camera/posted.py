"""Crossings another system posts (an NVR, an ANPR camera): checked, their snapshot written, and
stored through the same store as the camera worker's events.

Many sites already have a system that detects. It posts each crossing it saw, with its own id for
it (``source_id``), and the crossing becomes an event like any other: its passage, the
cross-check, the ``event.recorded`` audit record (``recording.store_event``). The same id posted
again for the same camera is the same event, stored once, also when two posts race.

A posted box is kept as given, in fractions 0..1 of the picture, while a camera's own events keep
pixels: only the passage grouping reads stored boxes, and of a posted one only whether there is
one (no box is stored as all zeros, and such crossings of a camera group by time alone). The
snapshot is checked to be a whole JPEG of sane size before anything is written, and is written
under a name the server makes up, never one taken from the input.

Loads no video library: the web app stores posted crossings through this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import secrets
import warnings
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from PIL import Image, JpegImagePlugin
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.camera.footage import sync_camera_row
from gatewatch.camera.recording import EVIDENCE_SUFFIXES, StoredEvent, store_event
from gatewatch.evidence.files import SHARED_MODE, write_atomic
from gatewatch.models.enums import Direction, EventStatus, PlateStatus
from gatewatch.models.tables import EntryEvent
from gatewatch.plates import parse_plate
from gatewatch.settings import COUNTABLE_CLASSES, PLATED_CLASSES, CameraSettings, ConfigError, Settings
from gatewatch.visitors.visits import ZONE, SiteTime

log = logging.getLogger(__name__)

#: Largest snapshot accepted, decoded (its base64 text is a third larger).
MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024
#: Largest snapshot picture accepted, in pixels (8K video is 33 million): a bigger one would cost
#: a web worker seconds and hundreds of MB to decode.
MAX_SNAPSHOT_PIXELS = 50_000_000
#: ``source_key`` is this and the posted ``source_id``, within its 200 characters.
SOURCE_KEY_PREFIX = "posted:"
MAX_SOURCE_ID_LENGTH = 200 - len(SOURCE_KEY_PREFIX) - 3  # 190: room to spare
_JPEG_START, _JPEG_END = b"\xff\xd8\xff", b"\xff\xd9"


class PostedCrossingError(Exception):
    """The crossing cannot be stored as posted; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --- input -------------------------------------------------------------------------------------


def _countable(label: str) -> str:
    if label not in COUNTABLE_CLASSES:
        raise ValueError(f"{label[:40]!r} is not a class gatewatch counts; choose from {', '.join(COUNTABLE_CLASSES)}")
    return label


def _check_box(box: tuple[float, float, float, float] | None) -> tuple[float, float, float, float] | None:
    if box is None:
        return None
    x1, y1, x2, y2 = box
    if not (0.0 <= x1 < x2 <= 1.0 and 0.0 <= y1 < y2 <= 1.0):
        raise ValueError("a box is [x1, y1, x2, y2] in fractions 0..1 of the picture, with x1 < x2 and y1 < y2")
    return box


def _decode_snapshot(value: Any) -> Any:
    """The base64 text as checked JPEG bytes; None and non-text are left for the type check."""
    if not isinstance(value, str):
        return value
    text = "".join(value.split())  # line-wrapped base64 (MIME) is fine
    if len(text) // 4 * 3 > MAX_SNAPSHOT_BYTES + 2:
        raise ValueError(f"the snapshot is larger than {MAX_SNAPSHOT_BYTES // (1024 * 1024)} MB")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64 text") from None
    if len(data) > MAX_SNAPSHOT_BYTES:
        raise ValueError(f"the snapshot is larger than {MAX_SNAPSHOT_BYTES // (1024 * 1024)} MB")
    check_jpeg(data)
    return data


def check_jpeg(data: bytes) -> None:
    """ValueError unless ``data`` is one whole JPEG picture of at most ``MAX_SNAPSHOT_PIXELS`` that decodes.

    It is decoded at an eighth of its size (``draft``), which still reads every byte of it.
    """
    if not (data.startswith(_JPEG_START) and data.endswith(_JPEG_END)):
        raise ValueError("not a JPEG picture: it must start with FF D8 FF and end with FF D9")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # The JPEG decoder itself, not Image.open: ultralytics replaces Image.open in a process
            # that loaded it (the demo), and its version needs a HEIF plugin on a picture it cannot identify.
            with JpegImagePlugin.JpegImageFile(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_SNAPSHOT_PIXELS:
                    raise ValueError(f"the picture is {width}x{height}: at most {MAX_SNAPSHOT_PIXELS:,} pixels")
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
    except (OSError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"not a JPEG picture that decodes: {exc}") from None


_Snapshot = Annotated[
    bytes | None,
    BeforeValidator(_decode_snapshot),
    WithJsonSchema({
        "type": ["string", "null"],
        "contentEncoding": "base64",
        "contentMediaType": "image/jpeg",
        "description": f"the crossing's picture, a JPEG in base64, at most {MAX_SNAPSHOT_BYTES // (1024 * 1024)} MB "
        "decoded",
    }),
]


class CrossingInput(BaseModel):
    """One crossing another system detected, as it posts it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    camera_id: str = Field(min_length=1, max_length=64, description="a configured camera (source: external)")
    occurred_at: SiteTime = Field(description="ISO 8601; without an offset it is site time")
    label: Annotated[str, AfterValidator(_countable)] = Field(
        description="person or a vehicle class", json_schema_extra={"enum": list(COUNTABLE_CLASSES)},
    )
    direction: Direction
    source_id: str = Field(
        min_length=1, max_length=MAX_SOURCE_ID_LENGTH,
        description="the crossing's id in the posting system, unique per camera: posting it again stores nothing",
    )
    confidence: float = Field(1.0, ge=0.0, le=1.0, description="the detection's confidence, 0..1")
    plate: str | None = Field(
        None, max_length=32,
        description="the vehicle's number plate as read (car, motorcycle, bus, truck only); stored in display form",
    )
    box: Annotated[tuple[float, float, float, float] | None, AfterValidator(_check_box)] = Field(
        None, description="[x1, y1, x2, y2], fractions 0..1 of the picture; none: the crossing has no box",
    )
    snapshot_jpeg: _Snapshot = None

    @field_validator("plate")
    @classmethod
    def _plate_of_a_plated_vehicle(cls, plate: str | None, info: ValidationInfo) -> str | None:
        """The plate in display form ("BG 1234 AB"), OCR confusions fixed as for the camera's own reads."""
        if plate is None:
            return None
        label = info.data.get("label")
        if label is not None and label not in PLATED_CLASSES:
            raise ValueError(f"a {label} has no number plate; only {', '.join(sorted(PLATED_CLASSES))} do")
        parsed = parse_plate(plate)
        if parsed is None:
            raise ValueError(f"{plate!r} is not an Indonesian number plate such as B 1234 XYZ")
        return str(parsed)

    @classmethod
    def parse(cls, data: dict[str, Any], settings: Settings) -> CrossingInput:
        """Validate ``data``, reading times without an offset in the site's time zone."""
        return cls.model_validate(data, context={ZONE: settings.zone})


# --- storing -----------------------------------------------------------------------------------


def posted_camera(settings: Settings, crossing: CrossingInput) -> CameraSettings:
    """The configured camera the crossing names, counting its label; PostedCrossingError if not."""
    try:
        camera = settings.camera(crossing.camera_id)
    except ConfigError:
        raise PostedCrossingError("camera_id", f"no camera {crossing.camera_id!r} is configured") from None
    if crossing.label not in camera.classes:
        raise PostedCrossingError(
            "label", f"camera {camera.id} counts only {', '.join(camera.classes)}, not {crossing.label}"
        )
    return camera


def find_posted(session: Session, camera_id: str, source_id: str) -> EntryEvent | None:
    return session.exec(
        select(EntryEvent).where(EntryEvent.camera_id == camera_id, EntryEvent.source_id == source_id)
    ).first()


def store_posted(session: Session, settings: Settings, crossing: CrossingInput, *,
                 device: tuple[str, str] = (trail.SYSTEM, trail.SYSTEM)) -> StoredEvent:
    """Store ``crossing`` as an event and commit, or find the event it was stored as before.

    Unlike most of the store this commits (or rolls back) ``session`` itself: when another
    request stores the same crossing at the same moment, the unique constraint stops one of them,
    which then answers with the other's event. PostedCrossingError names a wrong input; an
    OSError means the snapshot could not be written (nothing is stored). ``device``: the username
    and role of the client that posted it, for the ``event.recorded`` audit record.
    """
    camera = posted_camera(settings, crossing)
    for attempt in (1, 2):  # a second try only after losing a race (the camera's row, or this crossing)
        existing = find_posted(session, camera.id, crossing.source_id)
        if existing is not None:
            return StoredEvent(existing, created=False)
        try:
            return StoredEvent(_store_new(session, settings, camera, crossing, device), created=True)
        except sa.exc.IntegrityError:
            session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store_new(session: Session, settings: Settings, camera: CameraSettings, crossing: CrossingInput,
               device: tuple[str, str]) -> EntryEvent:
    sync_camera_row(session, camera)
    event = _new_event(camera, crossing)
    written = _write_snapshot(settings, event, crossing)
    try:
        store_event(session, event, settings, actor=device[0], role=device[1])
        session.commit()
    except BaseException:
        session.rollback()
        if written is not None:
            written.unlink(missing_ok=True)  # a name of this attempt's own: no other event has it
        raise
    return event


def _new_event(camera: CameraSettings, crossing: CrossingInput) -> EntryEvent:
    box = crossing.box or (0.0, 0.0, 0.0, 0.0)
    return EntryEvent(
        camera_id=camera.id,
        source_key=SOURCE_KEY_PREFIX + crossing.source_id,
        source_id=crossing.source_id,
        track_id=0,
        frame_index=0,
        label=crossing.label,
        direction=crossing.direction.value,
        occurred_at=crossing.occurred_at,
        confidence=round(crossing.confidence, 4),
        box_x1=box[0],
        box_y1=box[1],
        box_x2=box[2],
        box_y2=box[3],
        plate_text=crossing.plate,
        plate_status=PlateStatus.READ.value if crossing.plate else None,
        status=EventStatus.FLAGGED.value,
    )


def _write_snapshot(settings: Settings, event: EntryEvent, crossing: CrossingInput) -> Path | None:
    """Write the checked snapshot where camera snapshots go and set its path and hash on ``event``.

    The name is the source id's digest and a random part, so two posts racing never share a file.
    """
    data = crossing.snapshot_jpeg
    if data is None:
        return None
    day = crossing.occurred_at.astimezone(settings.zone).strftime("%Y-%m-%d")
    digest = hashlib.sha256(crossing.source_id.encode()).hexdigest()[:16]
    name = f"posted-{digest}-{secrets.token_hex(4)}{EVIDENCE_SUFFIXES['snapshot']}"
    relative = Path("evidence") / event.camera_id / day / name
    path = settings.data_dir / relative
    write_atomic(path, data, mode=SHARED_MODE)
    event.snapshot_path = relative.as_posix()
    event.snapshot_sha256 = hashlib.sha256(data).hexdigest()
    return path
