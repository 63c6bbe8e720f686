"""The values stored in status, reason, direction and role columns, as enums.

Apart from the schema so that code which must know nothing of the database (``gatewatch.vision``)
can name a direction, and every layer can name a status, without loading SQLModel's tables.
"""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class EventStatus(StrEnum):
    """Where an event stands. Exits are recorded but never flagged."""

    EXIT = "exit"  # an exit: counted, not cross-checked
    EXPLAINED = "explained"  # matched to a visit or a standing authorisation
    FLAGGED = "flagged"  # nothing explains it: waits for a person
    ACKNOWLEDGED = "acknowledged"  # an operator has seen it; still unexplained
    CONFIRMED = "confirmed"  # a guard confirmed an unregistered entry
    RESOLVED = "resolved"  # a person linked it to a visit
    FALSE_ALARM = "false_alarm"  # a person judged the detection wrong


#: Statuses in which an event still waits for the cross-check or for a person.
OPEN_STATUSES = (EventStatus.FLAGGED, EventStatus.ACKNOWLEDGED)


class FlagReason(StrEnum):
    UNREGISTERED = "unregistered"
    OVER_PARTY_SIZE = "over_party_size"
    AFTER_HOURS = "after_hours"
    CHECKED_OUT = "checked_out"
    UNKNOWN_PLATE = "unknown_plate"  # a vehicle visit in the window, but for another plate
    WATCHLIST = "watchlist"  # the plate is on the watch list, whatever the visitor log says


class PlateStatus(StrEnum):
    """Whether a vehicle's plate was read; events of people, and older events, have none."""

    READ = "read"
    UNREADABLE = "unreadable"


class ClipKind(StrEnum):
    """How an event's clip was made."""

    COPY = "copy"  # the camera's own H.264 packets, remuxed: boxes are drawn by the viewer
    ENCODED = "encoded"  # decoded and re-encoded with the boxes burned in: sources a browser cannot play


class Role(StrEnum):
    OPERATOR = "operator"
    GUARD = "guard"
    AUDITOR = "auditor"
    ADMIN = "admin"
    DEVICE = "device"  # another system posting crossings: API token only, no pages, nothing else
    METRICS = "metrics"  # a Prometheus scraper: API token only, reads /metrics and nothing else


#: The roles of people, who log in to pages; a device only posts crossings.
HUMAN_ROLES = (Role.OPERATOR, Role.GUARD, Role.AUDITOR, Role.ADMIN)
