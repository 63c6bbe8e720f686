"""The shapes of the API's JSON: responses are produced through these models, and the OpenAPI
document's schemas are generated from them, so the document says what the endpoints send."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gatewatch.events.queries import COUNT_CAP
from gatewatch.events.reviews import MAX_NOTE_LENGTH
from gatewatch.evidence.holds import MAX_REASON_LENGTH
from gatewatch.models.filters import DAY_PATTERN, MAX_ID

#: A NIK as ``visitors.visits.validate_nik`` takes it: a province code, the birth day (plus 40 for
#: women) and month, a serial number other than 0000.
NIK_PATTERN = (
    "^(1[1-9]|21|3[1-6]|5[1-3]|6[1-5]|7[1-6]|8[12]|9[1-7])[0-9]{4}"
    "(0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01])(0[1-9]|1[0-2])[0-9]{2}"
    "([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})$"
)
#: What the document adds to a property of that name in every body the API reads: rules the input
#: models check in code, stated for the document's readers (and generators).
#: Text without NUL, which no field takes (``web/text_input.py`` refuses it: PostgreSQL cannot store it).
NO_NUL = "^[^\\u0000]*$"
#: ... and not only spaces, for required text: a character that is no space to Python (which strips
#: \x1c-\x1f and \x85 too) nor to the ECMA regular expressions clients check the document with.
NOT_BLANK = "^[^\\u0000]*[^\\s\\u001c-\\u001f\\u0085\\ufeff\\u0000][^\\u0000]*$"
_CLOCK = {"anyOf": [{"type": "string", "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$"}, {"type": "null"}]}
INPUT_RULES: dict[str, dict[str, Any]] = {
    "valid_from": {"pattern": DAY_PATTERN, "description": "first site date, YYYY-MM-DD, 2000-01-01 to 2999-12-31"},
    "valid_until": {
        "pattern": DAY_PATTERN,
        "description": "last site date, YYYY-MM-DD, 2000-01-01 to 2999-12-31, included; not before valid_from",
    },
    "start_time": _CLOCK,
    "end_time": _CLOCK,
    "id_number": {
        "pattern": NIK_PATTERN,
        "description": "the NIK: 16 digits, a province code, the birth day (plus 40 for women) and month, "
        "a serial number other than 0000",
    },
}


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DocumentOut(BaseModel):
    """The OpenAPI document itself."""

    model_config = ConfigDict(extra="allow")

    openapi: str


class ErrorOut(BaseModel):
    error: str
    fields: dict[str, str] = Field(default_factory=dict, description="a message for each input at fault")


class HealthOut(BaseModel):
    status: str = Field(description="ok, or unavailable when the database does not answer")
    database: str


class CoverOut(BaseModel):
    type: str = Field(description="visit or authorisation")
    id: int
    name: str = Field(description="the visitor's name, or the authorisation's holder")


class FlagItemOut(BaseModel):
    """One item of the cross-check's verdict: the headline first, then watch-list entries, then one
    per visit or authorisation considered."""

    code: str = Field(
        description="the headline's reason (unregistered, over_party_size, after_hours, checked_out, "
        "unknown_plate, watchlist), watchlist_entry, watchlist_person (numbers: id, visit, reason), plate_unreadable, "
        "or what a cover considered says "
        "(covers, full, other_gate, checked_in_later, no_vehicle, other_plate, checked_out, cover_ended, "
        "first_entry_late, off_duty, allows_none)"
    )
    cover: CoverOut | None = Field(None, description="the visit or authorisation the item is about")
    numbers: dict[str, Any] = Field(
        default_factory=dict,
        description="the item's other values: kind (person or vehicle), inside, capacity, minutes, plates, "
        "camera ids, times as ISO 8601 in UTC (at, check_in, checked_out, until)",
    )

    @classmethod
    def from_stored(cls, item: dict[str, Any]) -> FlagItemOut:
        rest = {k: v for k, v in item.items() if k not in ("code", "cover")}
        return cls(code=item["code"], cover=item.get("cover"), numbers=rest)


class GateLineOut(BaseModel):
    """A gate line, in fractions of the camera's picture from its top left corner."""

    line: list[list[float]] = Field(description="the line's two ends, [[x1, y1], [x2, y2]]")
    inside: list[float] = Field(description="a point on the inside of the gate, [x, y]")
    margin: float = Field(description="half-width of the dead band, a fraction of the picture's height")


class EventOut(_Out):
    id: int
    camera_id: str
    label: str = Field(description="detected class: person, car, motorcycle, ...")
    direction: str = Field(description="entry or exit")
    occurred_at: datetime
    confidence: float
    status: str
    flag: str | None = Field(description="why the entry was flagged, if it was")
    flag_detail: str | None = Field(
        description="the visits and authorisations considered and why none matched, in English"
    )
    flag_items: list[FlagItemOut] | None = Field(
        description="the same as data, to render in any language; null when not flagged or stored before "
        "items"
    )
    passage_id: int = Field(
        description="the passage (crossings that belong together, a motorbike and its riders): the id of "
        "its first event; an event stored before passages is its own"
    )
    visit_id: int | None
    authorisation_id: int | None
    evidence_error: str | None
    plate_text: str | None = Field(description='the vehicle\'s plate as read or corrected, "BG 1234 AB"')
    plate_status: str | None = Field(description="read or unreadable; null for people and older events")
    plate_confidence: float | None = Field(description="the plate reader's confidence")
    rides_track_id: int | None = Field(
        description="a person's: the track id of the motorcycle or bicycle it rides; null: on foot, a "
        "vehicle, or an event stored before riders were recorded"
    )
    gate_line: GateLineOut | None = Field(
        description="the gate line the crossing was counted against (lines can be moved); null for a crossing "
        "another system posted, or an event stored before events kept their line"
    )
    snapshot_url: str | None = None
    clip_url: str | None = None
    plate_url: str | None = None

    @field_validator("gate_line", mode="before")
    @classmethod
    def _stored_line(cls, value: Any) -> Any:
        """The stored JSON text, as a line."""
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("flag_items", mode="before")
    @classmethod
    def _stored_items(cls, value: Any) -> Any:
        """The stored JSON text, as items."""
        if isinstance(value, str):
            return [FlagItemOut.from_stored(item) for item in json.loads(value)]
        return value


class EventPageOut(BaseModel):
    items: list[EventOut]
    page: int
    size: int
    total: int = Field(description=f"matching events, counted up to {COUNT_CAP}")
    total_is_capped: bool


class QueueStateOut(BaseModel):
    newest_open_id: int | None = Field(description="the newest event waiting for a person")
    open_count: int


class ReviewOut(_Out):
    id: int
    event_id: int
    decision: str
    note: str
    visit_id: int | None
    actor: str
    at: datetime


class EventHoldOut(_Out):
    """An event's legal hold: its evidence is kept from retention until an auditor releases it."""

    reason: str = Field(description='why it is held; "confirmed intrusion" when a guard\'s confirmation placed it')
    held_by: str = Field(description="who placed the hold")
    held_at: datetime


class EventDetailOut(EventOut):
    reviews: list[ReviewOut]
    hold: EventHoldOut | None = Field(
        description="the legal hold keeping the event's evidence (and the recordings and visit around it) from "
        "retention; null when it is not held"
    )


class HoldOut(_Out):
    """A legal hold, as placed or as released."""

    id: int
    event_id: int
    reason: str
    held_by: str
    held_at: datetime
    released_by: str | None = Field(description="who released it; null while it holds")
    released_at: datetime | None


class HoldIn(BaseModel):
    """Hold the event's evidence."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1, max_length=MAX_REASON_LENGTH, pattern=NOT_BLANK,
        description="why the evidence must be kept (a case, a request); required, and not only spaces",
    )


class ReleaseIn(BaseModel):
    """Release the event's hold."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=MAX_REASON_LENGTH, description="why the hold ends (optional)")


class ReviewIn(BaseModel):
    """A review: acknowledge and false-alarm take an optional note."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=MAX_NOTE_LENGTH, description="what you saw or did")
    visit_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="for link (see LinkReviewIn); other decisions ignore it"
    )


class NoteReviewIn(ReviewIn):
    """Confirm, and add a note: the note is required."""

    note: str = Field(
        min_length=1, max_length=MAX_NOTE_LENGTH, pattern=NOT_BLANK,
        description="what you saw or did; required, and not only spaces",
    )


class LinkReviewIn(ReviewIn):
    """Link: the visit that explains the entry is required."""

    visit_id: int = Field(
        ge=1, le=MAX_ID,
        description="the visit that explains the entry, one whose cover holds every open entry of the passage "
        "(its gate, its check-in to check-out with the cover window around them, a vehicle for a vehicle); "
        "another visit, or none by that id, answers 422 naming visit_id",
    )


class VisitOut(_Out):
    id: int
    visitor_name: str
    id_number: str = Field(
        description='the NIK: in full for guards and admins, masked for other roles ("1671 **** **** 0001", '
        "first and last 4 digits); an auditor reveals one with POST /visits/{id}/reveal"
    )
    organisation: str
    purpose: str
    host: str
    vehicle_plate: str | None
    vehicle_type: str | None
    party_size: int
    camera_id: str | None
    check_in_at: datetime
    expected_check_out_at: datetime | None
    checked_out_at: datetime | None
    registered_by: str
    created_at: datetime
    personal_erased_at: datetime | None = Field(
        None, description="when retention erased the visitor's name, NIK, organisation and plate (then empty); "
        "null: kept"
    )


class RevealIn(BaseModel):
    """Reveal a visit's NIK in full."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1, max_length=MAX_REASON_LENGTH, pattern=NOT_BLANK,
        description="why the full NIK must be seen (a case, a request); required, recorded in the audit trail",
    )


class RevealOut(BaseModel):
    """A visit's NIK in full, revealed to an auditor; the reveal is recorded as visit.revealed."""

    visit_id: int
    visitor_name: str
    id_number: str = Field(description="the NIK in full; empty when retention has erased it")


class VisitListOut(BaseModel):
    items: list[VisitOut]


class WatchWarningOut(BaseModel):
    """The registered visitor's NIK is on the persons watch list: the visit is stored, the guard warned."""

    entry_id: int = Field(description="the persons watch-list entry")
    reason: str = Field(description="why this person must not enter, as the admin wrote it")


class VisitCreatedOut(VisitOut):
    explained_event_ids: list[int] = Field(description="open entries this registration explains")
    watchlist: list[WatchWarningOut] = Field(
        default_factory=list,
        description="the persons watch-list entries of the visitor's NIK; not empty: warn the guard at once "
        "(the visit is registered, and the entries it would explain are flagged watchlist)",
    )


class CameraOut(_Out):
    """A camera's status; its source URL is left out because it may hold the camera's password."""

    id: str
    name: str
    connected: bool
    last_frame_at: datetime | None
    frames_per_second: float | None
    analysis_load: float | None = Field(
        description="the camera's work in CPU seconds per second over its worker's last status window; "
        "null when it is not running"
    )
    box_share: float | None = Field(
        default=None, ge=0, le=1,
        description="its share of the box: its analysis_load over the sum of the cameras running now "
        "(connected, with a frame in the last 2 minutes); null for the others",
    )
    degraded: bool = Field(description="overload thinned out its detection or dropped frames in that window")
    reconnects: int
    status_note: str | None


class CameraListOut(BaseModel):
    items: list[CameraOut]


class HourOut(_Out):
    hour: int = Field(ge=0, le=23, description="hour of the day in the site's time zone")
    entries: int
    exits: int


class StatsOut(BaseModel):
    date: date
    camera_id: str | None
    hours: list[HourOut]
    flags: dict[str, int] = Field(description="flagged entries of the day by reason")
    inside: int = Field(description="visits checked in and not checked out, any day")
