"""The database schema: cameras, the visitor log, entry events, reviews and the audit trail.

Times are aware UTC datetimes in Python and UTC in the database (see ``UTCDateTime``).
Status and reason columns hold the string values of the enums in ``gatewatch.models.enums``, so the
schema is the same on SQLite and PostgreSQL and needs no database enum types.
"""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gatewatch.models.types import UTCDateTime, utcnow


def _time_column(*, nullable: bool = False, index: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


class Camera(SQLModel, table=True):
    """A gate camera as configured, with its live status as the worker last reported it."""

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    source: str = Field(max_length=1000)
    connected: bool = False
    last_frame_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    frames_per_second: float | None = None
    reconnects: int = 0
    status_note: str | None = Field(default=None, max_length=500)
    # The streams' picture sizes as the worker last opened them: the main stream (``source``) and,
    # for a camera with ``detect_source``, the stream it analyses; None until a worker reports.
    frame_width: int | None = None
    frame_height: int | None = None
    detect_width: int | None = None
    detect_height: int | None = None
    # The camera's work on the box, in seconds per second over the worker's last status window
    # (its threads' CPU plus its time on the shared detector); the page shows each camera's share.
    analysis_load: float | None = None
    # Overload thinned out its analysis in that window (see ``vision.overload``).
    degraded: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # For /metrics, as the worker last reported them: how far analysis runs behind the stream, and
    # counts since the worker started (frames dropped, detector runs).
    lag_seconds: float | None = None
    dropped_frames: int | None = None
    detections: int | None = None
    # The picture no longer shows the gate as its reference picture does (covered, turned, blurred).
    tampered: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    tamper_note: str | None = Field(default=None, max_length=500)
    # The gate line an admin saved on the camera's picture (``camera.gate_lines``), as JSON; it wins
    # over the configuration's. None: the configuration's line is in force.
    gate_line: str | None = None
    gate_line_saved_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    gate_line_saved_by: str | None = Field(default=None, max_length=100)


class Visit(SQLModel, table=True):
    """One line of the guards' visitor log."""

    id: int | None = Field(default=None, primary_key=True)
    visitor_name: str = Field(max_length=200)
    id_number: str = Field(max_length=16, index=True, description="Indonesian NIK, 16 digits")
    organisation: str = Field(default="", max_length=200)
    purpose: str = Field(default="", max_length=500)
    host: str = Field(default="", max_length=200)
    vehicle_plate: str | None = Field(default=None, max_length=16, index=True)
    vehicle_type: str | None = Field(default=None, max_length=32)
    party_size: int = Field(default=1, ge=1, le=100)
    camera_id: str | None = Field(default=None, foreign_key="camera.id", description="null: any gate")
    check_in_at: datetime = Field(sa_column=_time_column(index=True))
    expected_check_out_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    checked_out_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    registered_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    personal_erased_at: datetime | None = Field(
        default=None, sa_column=_time_column(nullable=True),
        description="when retention erased the visitor's name, NIK, organisation and plate (then blank)",
    )

    @property
    def has_vehicle(self) -> bool:
        return bool(self.vehicle_plate or self.vehicle_type)


class VisitImport(SQLModel, table=True):
    """A CSV file of visits uploaded through the web and imported in the background, all or nothing.

    The file is kept under the data directory only until the import ends; a failed import keeps
    its errors here and nothing else.
    """

    id: int | None = Field(default=None, primary_key=True)
    filename: str = Field(max_length=255, description="as uploaded, for people to recognise it")
    size_bytes: int
    rows_total: int | None = Field(default=None, description="estimated from the line count when uploaded")
    rows_read: int = 0
    status: str = Field(max_length=16)
    stored: int = Field(default=0, description="visits imported")
    errors: str | None = Field(default=None, description="JSON list of the file's errors: line, field, message")
    requested_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    started_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))


class Authorisation(SQLModel, table=True):
    """A standing authorisation: staff on duty or a scheduled delivery, not one visit.

    It covers up to ``max_persons`` people and ``max_vehicles`` vehicles inside at once, on the
    days from ``valid_from`` to ``valid_until`` (site dates, both included) whose ISO weekday is in
    ``weekdays``, from ``start_time`` to ``end_time`` (site time; an end before the start spans
    midnight; both null: all day). Ending one sets ``ended_at``; it is never deleted.
    """

    id: int | None = Field(default=None, primary_key=True)
    holder: str = Field(max_length=200, description="who it is for: a unit, a person, a carrier")
    organisation: str = Field(default="", max_length=200)
    purpose: str = Field(default="", max_length=500)
    members: str = Field(default="[]", description='JSON list of {"name", "id_number"}')
    max_persons: int = Field(default=0, ge=0)
    max_vehicles: int = Field(default=0, ge=0)
    plates: str = Field(default="[]", description="JSON list of plates in display form; [] names none")
    camera_id: str | None = Field(default=None, foreign_key="camera.id", description="null: any gate")
    valid_from: date = Field(sa_column=sa.Column(sa.Date(), nullable=False, index=True))
    valid_until: date = Field(sa_column=sa.Column(sa.Date(), nullable=False, index=True))
    weekdays: str = Field(default="1,2,3,4,5,6,7", max_length=32, description="ISO weekdays, comma-separated")
    start_time: time | None = Field(default=None, sa_column=sa.Column(sa.Time(), nullable=True))
    end_time: time | None = Field(default=None, sa_column=sa.Column(sa.Time(), nullable=True))
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    ended_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    ended_by: str | None = Field(default=None, max_length=100)


class EntryEvent(SQLModel, table=True):
    """One crossing of a gate line by one tracked object, entry or exit, with its evidence."""

    __table_args__ = (
        # The same footage analysed again as the same camera must not add events twice.
        sa.UniqueConstraint("camera_id", "source_key", "track_id", "frame_index", name="uq_event_occurrence"),
        # A crossing another system posts is stored once per its own id.
        sa.UniqueConstraint("camera_id", "source_id", name="uq_event_source_id"),
        sa.Index("ix_event_queue", "status", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    camera_id: str = Field(foreign_key="camera.id", index=True)
    source_key: str = Field(max_length=200, description="which footage: a file digest or a live session")
    track_id: int
    label: str = Field(max_length=32, index=True)
    direction: str = Field(max_length=8)
    occurred_at: datetime = Field(sa_column=_time_column(index=True))
    frame_index: int
    confidence: float
    box_x1: float
    box_y1: float
    box_x2: float
    box_y2: float
    snapshot_path: str | None = Field(default=None, max_length=500)
    clip_path: str | None = Field(default=None, max_length=500)
    evidence_error: str | None = Field(default=None, max_length=500, description="why a file is missing")
    status: str = Field(max_length=16)
    flag: str | None = Field(default=None, max_length=32, index=True)
    flag_detail: str | None = Field(default=None, description="why no visit explained it")
    flag_items: str | None = Field(
        default=None, description="JSON list of the verdict's items (reason code, cover, numbers), for rendering"
    )
    passage_id: int | None = Field(
        default=None, index=True, description="id of the first event of the passage this one belongs to",
    )
    source_id: str | None = Field(
        default=None, max_length=200, description="a crossing another system posted: its id there",
    )
    visit_id: int | None = Field(default=None, foreign_key="visit.id", index=True)
    authorisation_id: int | None = Field(default=None, foreign_key="authorisation.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    snapshot_sha256: str | None = Field(default=None, max_length=64, description="of the snapshot as written")
    clip_sha256: str | None = Field(default=None, max_length=64, description="of the clip as written")
    evidence_expired_at: datetime | None = Field(
        default=None, sa_column=_time_column(nullable=True),
        description="when retention deleted the files (their paths are then cleared, their hashes kept)",
    )
    plate_text: str | None = Field(default=None, max_length=16, description='display form, "BG 1234 AB"')
    plate_confidence: float | None = Field(default=None, description="the plate reader's, kept when corrected")
    plate_crop_path: str | None = Field(default=None, max_length=500, description="relative to the data directory")
    plate_crop_sha256: str | None = Field(default=None, max_length=64, description="of the plate crop as written")
    plate_status: str | None = Field(default=None, max_length=16, description="a PlateStatus; null: not a vehicle")
    plate_corrected_by: str | None = Field(default=None, max_length=100, description="who last corrected plate_text")
    rides_track_id: int | None = Field(
        default=None, description="a person's: the track id of the motorcycle or bicycle it rides; null: on foot "
        "(or recorded before riders were told)",
    )
    boxes_path: str | None = Field(
        default=None, max_length=500, description="JSON of every tracked box over the clip, relative to the data directory",
    )
    boxes_sha256: str | None = Field(default=None, max_length=64, description="of the boxes JSON as written")
    clip_kind: str | None = Field(
        default=None, max_length=16,
        description="a ClipKind: copy (the camera's own packets) or encoded (re-encoded, boxes burned in)",
    )
    clip_start_seconds: float | None = Field(
        default=None, description="where in the clip the pre-roll point lies: a copied clip starts at a keyframe",
    )
    gate_line: str | None = Field(
        default=None, description="JSON of the gate the crossing was counted against (line, inside, margin); "
        "null: recorded before events kept it",
    )

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.box_x1, self.box_y1, self.box_x2, self.box_y2)


class EvidenceHold(SQLModel, table=True):
    """A legal hold on an event's evidence: retention keeps it, and the recordings around it, until released.

    A guard's confirmation of an intrusion places one; an auditor places and releases them. An
    event is held while it has a hold with no ``released_at``.
    """

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="entryevent.id", index=True)
    reason: str = Field(min_length=1, max_length=500)
    held_by: str = Field(max_length=100)
    held_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    released_by: str | None = Field(default=None, max_length=100)
    released_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))


class RecordingSegment(SQLModel, table=True):
    """A piece of a camera's continuous recording: its own packets remuxed to MP4, hashed into the audit chain."""

    # A camera's segments of a period: a month of minute segments is searched, not scanned.
    __table_args__ = (sa.Index("ix_recordingsegment_camera_started", "camera_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    camera_id: str = Field(foreign_key="camera.id", index=True)
    started_at: datetime = Field(sa_column=_time_column(index=True))
    ended_at: datetime = Field(sa_column=_time_column(index=True))
    path: str | None = Field(default=None, max_length=500, description="relative to the data directory; null once deleted")
    sha256: str = Field(max_length=64, description="of the file as written")
    size_bytes: int
    frames: int = Field(description="video packets in the segment")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    deleted_at: datetime | None = Field(
        default=None, sa_column=_time_column(nullable=True), description="when retention deleted the file",
    )


class RecordingGap(SQLModel, table=True):
    """A time a recording camera has no footage for, and why: the stream was down, the disk full, ..."""

    id: int | None = Field(default=None, primary_key=True)
    camera_id: str = Field(foreign_key="camera.id", index=True)
    started_at: datetime = Field(sa_column=_time_column(index=True))
    ended_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True), description="null: still open")
    reason: str = Field(max_length=500)


class WatchlistPlate(SQLModel, table=True):
    """A plate an administrator put on the watch list: its vehicle entries are always flagged.

    Entries are never deleted: removing one sets ``removed_at``, so the list's history stays.
    """

    id: int | None = Field(default=None, primary_key=True)
    plate: str = Field(max_length=16, description="display form")
    plate_key: str = Field(max_length=16, index=True, description="gatewatch.plates.match_key of the plate")
    reason: str = Field(min_length=1, max_length=500)
    added_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    removed_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    removed_by: str | None = Field(default=None, max_length=100)


class WatchlistPerson(SQLModel, table=True):
    """A NIK an administrator put on the watch list: registering a visit for it warns the guard, and
    the entries that visit would explain are flagged. Never deleted: removing one sets ``removed_at``."""

    id: int | None = Field(default=None, primary_key=True)
    nik: str = Field(max_length=16, index=True, description="the person's NIK, 16 digits")
    reason: str = Field(min_length=1, max_length=500)
    added_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    removed_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    removed_by: str | None = Field(default=None, max_length=100)


class Review(SQLModel, table=True):
    """A person's decision on an event: acknowledged, confirmed, linked, or a false alarm."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="entryevent.id", index=True)
    decision: str = Field(max_length=16)
    note: str = Field(default="", max_length=2000)
    visit_id: int | None = Field(default=None, foreign_key="visit.id")
    actor: str = Field(max_length=100)
    at: datetime = Field(default_factory=utcnow, sa_column=_time_column())


class AuditRecord(SQLModel, table=True):
    """Append-only: one row per change a person (or the cross-check) made. Never updated.

    Records form a hash chain in ``seq`` order (see ``gatewatch.audit.trail``): ``sha256`` covers every
    other field, ``prev_sha256`` is the previous record's ``sha256``. The three are set when the
    transaction that adds the record commits.
    """

    __table_args__ = (sa.Index("ix_auditrecord_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_time_column(index=True))
    actor: str = Field(max_length=100, index=True)
    role: str = Field(default="", max_length=16, description="the actor's role then; system for the cross-check")
    action: str = Field(max_length=64, index=True)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    before: str | None = Field(default=None, description="JSON of the changed fields before")
    after: str | None = Field(default=None, description="JSON of the changed fields after")
    digests: str | None = Field(default=None, description="JSON: the payloads' digests, which the chain covers "
                                "(gatewatch.audit.payloads)")
    salts: str | None = Field(default=None, description="JSON: the salts of the personal fields' digests; "
                              "an erased field's is removed with it")
    seq: int | None = Field(default=None, unique=True, index=True, description="position in the hash chain, from 1")
    prev_sha256: str | None = Field(default=None, max_length=64)
    sha256: str | None = Field(default=None, max_length=64)


class AuditChainHead(SQLModel, table=True):
    """The one row naming the newest record of the audit chain.

    Updated in the transaction that appends to the chain, so appends serialise on this row
    (a row lock on PostgreSQL, the write lock on SQLite).
    """

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    sha256: str = Field(max_length=64)



class User(SQLModel, table=True):
    """A person who logs in. The password is kept only as a werkzeug hash."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=300)
    role: str = Field(max_length=16)
    full_name: str = Field(default="", max_length=200)
    locale: str | None = Field(default=None, max_length=8, description="null: the site default")
    active: bool = True
    last_login_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    session_version: int = Field(
        default=0, description="raised to end every session of the user (logout, password reset, deactivation)",
    )
    alert_sound: bool = Field(
        default=True, sa_column_kwargs={"server_default": sa.true()},
        description="a new flagged entry plays a sound on this user's pages",
    )


class ApiToken(SQLModel, table=True):
    """A bearer token for a machine client, acting as its user; only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=100)
    token_sha256: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    last_used_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))


class ReplayRun(SQLModel, table=True):
    """A stored footage file, or a camera's recorded period, analysed again as a camera, apart from the live events."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="file", max_length=16, description="file: a footage file; recording: a recorded period")
    period_end: datetime | None = Field(
        default=None, sa_column=_time_column(nullable=True), description="a recorded period's end; footage_start: its start",
    )
    camera_id: str = Field(foreign_key="camera.id", index=True)
    source_key: str = Field(max_length=200, index=True, description="the footage, as the live events name it")
    video: str = Field(max_length=1000)
    footage_start: datetime = Field(sa_column=_time_column())
    parameters: str = Field(description="JSON: the camera (gate, classes) and the analysis settings used")
    status: str = Field(max_length=16)
    frames_done: int = 0
    frames_total: int | None = None
    error: str | None = Field(default=None, max_length=500)
    requested_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    finished_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))


class ReplayEvent(SQLModel, table=True):
    """A crossing found by a replay run; never seen by the live queries."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="replayrun.id", index=True)
    track_id: int
    label: str = Field(max_length=32)
    direction: str = Field(max_length=8)
    occurred_at: datetime = Field(sa_column=_time_column())
    frame_index: int
    confidence: float


class LoginThrottle(SQLModel, table=True):
    """Failed logins per address or per username, shared by every web worker and server.

    ``scope`` is ``addr:<ip>`` or ``user:<name>``; a row is kept for names that do not exist too,
    so an unknown username is answered like a known one.
    """

    scope: str = Field(primary_key=True, max_length=300)
    failures: int = 0
    last_failure_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    blocked_until: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))


class ExportJob(SQLModel, table=True):
    """A signed export built in the background, with its progress, as CSV imports are."""

    id: int | None = Field(default=None, primary_key=True)
    parameters: str = Field(description="JSON: what to export (days, cameras, statuses)")
    status: str = Field(max_length=16)
    items_done: int = 0
    items_total: int | None = None
    filename: str | None = Field(default=None, max_length=255, description="under the data directory's exports/")
    error: str | None = Field(default=None, max_length=500)
    requested_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    started_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))


class JobLock(SQLModel, table=True):
    """At most one holder of a named piece of heavy work at a time (a replay, an integrity run),
    across web workers and servers: taken by inserting the row, given back by deleting it; one
    left by a crashed holder lapses at ``expires_at``."""

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=200)
    acquired_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    expires_at: datetime = Field(sa_column=_time_column())


class Webhook(SQLModel, table=True):
    """A receiver of alerts: its URL, the key its deliveries are signed with, the alerts it gets."""

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=1000)
    secret: str = Field(max_length=200, description="HMAC-SHA256 key; never shown once saved")
    events: str = Field(description="JSON list of alert names, e.g. [\"event.flagged\", \"camera.tampered\"]")
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    updated_by: str | None = Field(default=None, max_length=100, description="null: seeded from the configuration")


class WebhookDelivery(SQLModel, table=True):
    """The outbox: one alert for one webhook, kept until delivered or given up (after at least 24 hours)."""

    __table_args__ = (sa.Index("ix_webhookdelivery_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=64, unique=True, index=True,
                             description="X-Gatewatch-Delivery: the receiver drops repeats")
    webhook_id: int = Field(foreign_key="webhook.id", index=True)
    event: str = Field(max_length=64, description="the alert's name, e.g. event.flagged")
    payload: str = Field(description="the JSON body, exactly as signed and sent")
    status: str = Field(default="pending", max_length=16, description="pending, delivered or failed (given up)")
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time_column(index=True))
    delivered_at: datetime | None = Field(default=None, sa_column=_time_column(nullable=True))


class WebhookAttempt(SQLModel, table=True):
    """One try at a delivery, for the admin page's delivery log."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhookdelivery.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
    status_code: int | None = Field(default=None, description="the receiver's HTTP status; null: no answer")
    error: str | None = Field(default=None, max_length=500, description="why it failed, secrets and URLs' passwords masked")
    seconds: float | None = None


class AlertCursor(SQLModel, table=True):
    """How far a consumer of the alert feed has read the audit trail (its last ``AuditRecord.seq``)."""

    name: str = Field(primary_key=True, max_length=64)
    last_seq: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time_column())
