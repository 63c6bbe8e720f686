"""What an alert says about its subject, as JSON-ready dicts: an entry, a decision, a camera.

Alerts leave the site, so they carry what a receiver needs to act and nothing it must not hold:
no secret, no visitor's ID number (NIK: any run of 16 digits in free text is masked), no camera
source (whose URL may hold a password: every text an alert quotes goes through ``redact_url``).
Times are ISO 8601 in UTC; links are paths on the gatewatch site (``/events/<id>``), which the
receiver prefixes with the address it knows the site by.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from gatewatch.models.enums import PlateStatus
from gatewatch.models.tables import EntryEvent
from gatewatch.vision.redaction import MASK, redact_url

#: A 16-digit number in free text: most likely a NIK.
_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")


def iso(moment: datetime | None) -> str | None:
    """``moment`` as ISO 8601 in UTC; None stays None."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def clean_text(text: object) -> str | None:
    """Free text as an alert may quote it: URLs' passwords and 16-digit numbers masked."""
    if text is None:
        return None
    return _NIK.sub(MASK, redact_url(str(text)))


def event_path(event_id: int) -> str:
    """The event page's path on the site."""
    return f"/events/{event_id}"


def entry(event: EntryEvent) -> dict[str, Any]:
    """One entry (an ``EntryEvent``) as alerts list it."""
    return {
        "id": event.id,
        "camera_id": event.camera_id,
        "label": event.label,
        "direction": event.direction,
        "occurred_at": iso(event.occurred_at),
        "status": event.status,
        "flag": event.flag,
        "flag_detail": clean_text(event.flag_detail),
        "plate": event.plate_text if event.plate_status == PlateStatus.READ else None,
        "passage_id": event.passage_id or event.id,
        "url": event_path(event.id or 0),
    }


def scalars(values: dict[str, Any]) -> dict[str, Any]:
    """The plain values of an audit record's ``after`` (texts cleaned), for camera alerts."""
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, str):
            kept[name] = clean_text(value)
        elif value is None or isinstance(value, bool | int | float):
            kept[name] = value
    return kept
