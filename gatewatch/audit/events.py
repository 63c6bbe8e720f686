"""What the audit chain holds about each event.

When the store saves an event it writes an ``event.recorded`` audit record with the event's
fields as stored (``record_event``), the SHA-256 of its snapshot and clip among them. The fixed
fields never change after that; the audited ones change only together with an audit record
that names the field in ``after``. ``gatewatch.evidence.integrity`` checks the rows and files against
this. Nothing here imports the vision code, so the web app can use it.
"""

from __future__ import annotations

from sqlmodel import Session

from gatewatch.audit import trail
from gatewatch.models.tables import EntryEvent

#: Event fields fixed once the event is stored.
FIXED_EVENT_FIELDS = (
    "camera_id", "source_key", "track_id", "label", "direction", "occurred_at", "frame_index", "confidence",
    "box_x1", "box_y1", "box_x2", "box_y2", "snapshot_sha256", "clip_sha256", "evidence_error", "created_at",
    "plate_confidence", "plate_crop_sha256", "rides_track_id", "passage_id", "source_id",
    "boxes_sha256", "clip_kind", "clip_start_seconds", "gate_line",
)
#: Events recorded before a fixed field existed (the plate fields, rides_track_id, passage_id,
#: source_id, gate_line) do not name it in
#: their ``event.recorded`` record, and the integrity check compares only the fields a record names.
#: Event fields that change later, each change with an audit record naming the field in ``after``
#: (reviews, the cross-check's automatic resolutions, retention, a guard's plate correction).
#: Events recorded before the plate fields existed do not name them, and are not checked on them
#: until a correction's audit record does.
AUDITED_EVENT_FIELDS = ("status", "visit_id", "authorisation_id", "snapshot_path", "clip_path",
                        "evidence_expired_at", "plate_text", "plate_status", "plate_corrected_by",
                        "plate_crop_path", "boxes_path")
#: The event's evidence files: path field and hash field.
EVIDENCE_FIELDS = (("snapshot_path", "snapshot_sha256"), ("clip_path", "clip_sha256"),
                   ("plate_crop_path", "plate_crop_sha256"), ("boxes_path", "boxes_sha256"))
EVIDENCE_PATH_FIELDS = tuple(path_field for path_field, _hash_field in EVIDENCE_FIELDS)
#: Audit actions that record an event: stored by the pipeline, or sealed later (``integrity.seal_events``).
RECORDED_ACTIONS = ("event.recorded", "event.sealed")


def record_event(session: Session, event: EntryEvent, *, action: str = RECORDED_ACTIONS[0],
                 actor: str = trail.SYSTEM, role: str = trail.SYSTEM) -> None:
    """Write the event's fields as they stand into the audit trail (the event needs its id)."""
    fields = (*FIXED_EVENT_FIELDS, *AUDITED_EVENT_FIELDS, "flag")
    trail.record(session, actor=actor, role=role, action=action, entity="event", entity_id=event.id,
                 after=trail.row_values(event, fields))
