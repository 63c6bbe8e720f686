"""What the audit chain holds about each piece of continuous recording, and each gap in it.

When a segment of a camera's recording is stored, a ``recording.segment`` audit record holds
its row as stored, the SHA-256 of its file among the fields; a gap (the stream was down, the
disk full) gets a ``recording.gap`` record. Retention later clears a segment's path and sets its
``deleted_at`` with a ``recording.expired`` record. ``gatewatch.evidence.segment_integrity``
checks the rows and files against these.
"""

from __future__ import annotations

from sqlmodel import Session

from gatewatch.audit import trail
from gatewatch.models.tables import RecordingGap, RecordingSegment

SEGMENT_ENTITY = "segment"
GAP_ENTITY = "recording_gap"
SEGMENT_RECORDED = "recording.segment"
GAP_RECORDED = "recording.gap"
SEGMENT_EXPIRED = "recording.expired"
#: A site restored from a backup made without its recordings: the segments' files were left behind.
SEGMENT_NOT_RESTORED = "recording.not_restored"
#: Segment fields fixed once the segment is stored.
FIXED_SEGMENT_FIELDS = ("camera_id", "started_at", "ended_at", "sha256", "size_bytes", "frames", "created_at")
#: Segment fields that change later, each change with an audit record naming the field in ``after`` (retention).
AUDITED_SEGMENT_FIELDS = ("path", "deleted_at")
GAP_FIELDS = ("camera_id", "started_at", "ended_at", "reason")


def record_segment(session: Session, segment: RecordingSegment, *, actor: str = trail.SYSTEM) -> None:
    """Write the stored segment's fields into the audit trail (the segment needs its id)."""
    trail.record(session, actor=actor, role=trail.SYSTEM, action=SEGMENT_RECORDED, entity=SEGMENT_ENTITY,
                 entity_id=segment.id, after=trail.row_values(segment, (*FIXED_SEGMENT_FIELDS, *AUDITED_SEGMENT_FIELDS)))


def record_gap(session: Session, gap: RecordingGap, *, actor: str = trail.SYSTEM) -> None:
    """Write the stored gap's fields into the audit trail (the gap needs its id)."""
    trail.record(session, actor=actor, role=trail.SYSTEM, action=GAP_RECORDED, entity=GAP_ENTITY,
                 entity_id=gap.id, after=trail.row_values(gap, GAP_FIELDS))
