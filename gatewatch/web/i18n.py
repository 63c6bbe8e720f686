"""Language and time for people at the gate: English or Bahasa Indonesia, always in site time.

The language is the user's own (``User.locale``), else the site's (``settings.language``).
Catalogues live in ``translations/``; ``scripts/i18n.py`` extracts, updates and compiles them.
Times are shown in the site's time zone with its abbreviation (WIB), never in UTC.
The cross-check's verdicts (``flag_items``) are rendered here in the reader's language and clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from flask import Flask, g
from flask_babel import Babel, LazyString, get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from gatewatch.camera.replay import Outcome, ReplayStatus
from gatewatch.crosscheck import wording
from gatewatch.events.queries import ANY, EVER_FLAGGED, OPEN
from gatewatch.events.reviews import Decision, VisitDoesNotCover
from gatewatch.models.enums import Direction, EventStatus, FlagReason, Role
from gatewatch.models.tables import EntryEvent
from gatewatch.visitors.imports import ImportStatus
from gatewatch.web.context import settings

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"en": "English", "id": "Bahasa Indonesia"}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

STATUS_LABELS: dict[str, LazyString] = {
    EventStatus.EXIT: _l("Exit"),
    EventStatus.EXPLAINED: _l("Explained"),
    EventStatus.FLAGGED: _l("Flagged"),
    EventStatus.ACKNOWLEDGED: _l("Acknowledged"),
    EventStatus.CONFIRMED: _l("Confirmed unregistered"),
    EventStatus.RESOLVED: _l("Resolved: linked to a visit"),
    EventStatus.FALSE_ALARM: _l("False alarm"),
}
REASON_LABELS: dict[str, LazyString] = {
    FlagReason.UNREGISTERED: _l("Not registered"),
    FlagReason.OVER_PARTY_SIZE: _l("More than the party size"),
    FlagReason.AFTER_HOURS: _l("After hours"),
    FlagReason.CHECKED_OUT: _l("Already checked out"),
    FlagReason.UNKNOWN_PLATE: _l("Plate not registered"),
    FlagReason.WATCHLIST: _l("On the watch list"),
}
ROLE_LABELS: dict[str, LazyString] = {
    Role.OPERATOR: _l("CCTV operator"),
    Role.GUARD: _l("Guard"),
    Role.AUDITOR: _l("Auditor"),
    Role.ADMIN: _l("Administrator"),
}
DECISION_LABELS: dict[str, LazyString] = {
    Decision.ACKNOWLEDGE: _l("Acknowledged"),
    Decision.NOTE: _l("Note"),
    Decision.CONFIRM: _l("Confirmed unregistered"),
    Decision.LINK: _l("Linked to a visit"),
    Decision.FALSE_ALARM: _l("Marked a false alarm"),
}
STATUS_FILTER_LABELS: dict[str, LazyString] = {
    OPEN: _l("Open: flagged or acknowledged"),
    EVER_FLAGGED: _l("Every flagged entry"),
    ANY: _l("All entries and exits"),
    **STATUS_LABELS,
}
DIRECTION_LABELS: dict[str, LazyString] = {
    Direction.ENTRY: _l("Entry"),
    Direction.EXIT: _l("Exit"),
}
CLASS_LABELS: dict[str, LazyString] = {
    "person": _l("Person"),
    "bicycle": _l("Bicycle"),
    "car": _l("Car"),
    "motorcycle": _l("Motorcycle"),
    "bus": _l("Bus"),
    "truck": _l("Truck"),
    "van": _l("Van"),
}
REPLAY_STATUS_LABELS: dict[str, LazyString] = {
    ReplayStatus.PENDING: _l("Waiting to start"),
    ReplayStatus.RUNNING: _l("Running"),
    ReplayStatus.CANCELLING: _l("Stopping"),
    ReplayStatus.CANCELLED: _l("Cancelled"),
    ReplayStatus.DONE: _l("Done"),
    ReplayStatus.FAILED: _l("Failed"),
}
IMPORT_STATUS_LABELS: dict[str, LazyString] = {
    ImportStatus.PENDING: _l("Waiting to start"),
    ImportStatus.RUNNING: _l("Importing"),
    ImportStatus.DONE: _l("Imported"),
    ImportStatus.FAILED: _l("Nothing imported"),
}
#: "2 motorcycles": how many of a class a passage has, for ``passage_summary``.
CLASS_COUNTS: dict[str, Callable[[int], str]] = {
    "person": lambda n: ngettext("%(count)d person", "%(count)d persons", n, count=n),
    "bicycle": lambda n: ngettext("%(count)d bicycle", "%(count)d bicycles", n, count=n),
    "car": lambda n: ngettext("%(count)d car", "%(count)d cars", n, count=n),
    "motorcycle": lambda n: ngettext("%(count)d motorcycle", "%(count)d motorcycles", n, count=n),
    "bus": lambda n: ngettext("%(count)d bus", "%(count)d buses", n, count=n),
    "truck": lambda n: ngettext("%(count)d truck", "%(count)d trucks", n, count=n),
    "van": lambda n: ngettext("%(count)d van", "%(count)d vans", n, count=n),
}
OUTCOME_LABELS: dict[str, LazyString] = {
    Outcome.SAME: _l("Same"),
    Outcome.SHIFTED: _l("A few frames apart"),
    Outcome.MISSING: _l("Missing in the replay"),
    Outcome.EXTRA: _l("Only in the replay"),
}
_LABELS: dict[str, Mapping[str, LazyString]] = {
    "status": STATUS_LABELS,
    "status_filter": STATUS_FILTER_LABELS,
    "reason": REASON_LABELS,
    "role": ROLE_LABELS,
    "decision": DECISION_LABELS,
    "direction": DIRECTION_LABELS,
    "class": CLASS_LABELS,
    "replay_status": REPLAY_STATUS_LABELS,
    "import_status": IMPORT_STATUS_LABELS,
    "outcome": OUTCOME_LABELS,
}


def _locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    return settings().language


def site_time(moment: datetime | None, pattern: str = TIME_FORMAT) -> str:
    """``moment`` (aware) in the site's time zone; the zone's abbreviation is added by ``zone_name``."""
    if moment is None:
        return ""
    return moment.astimezone(settings().zone).strftime(pattern)


def site_clock(moment: datetime, reference: datetime) -> str:
    """``moment``'s time of day at the site, with its date when that is not ``reference``'s."""
    zone = settings().zone
    local = moment.astimezone(zone)
    same_day = local.date() == reference.astimezone(zone).date()
    return local.strftime("%H:%M %Z" if same_day else "%Y-%m-%d %H:%M %Z")


_UTC_CLOCK = re.compile(r"(?:(\d{4}-\d{2}-\d{2}) )?(\d{2}):(\d{2}) UTC")


def site_clocks(text: str, reference: datetime) -> str:
    """``text`` with its "HH:MM UTC" times (the cross-check's explanations) in site time.

    A time without a date is on ``reference``'s UTC date, as the cross-check writes them.
    """

    def convert(match: re.Match[str]) -> str:
        day = date.fromisoformat(match.group(1)) if match.group(1) else reference.astimezone(UTC).date()
        moment = datetime.combine(day, time(int(match.group(2)), int(match.group(3))), UTC)
        return site_clock(moment, reference)

    return _UTC_CLOCK.sub(convert, text)


def flag_lines(event: EntryEvent) -> list[str]:
    """Why the event was flagged, a line each, in the reader's language and the site's clock.

    Events stored before verdicts were kept as items have only the English ``flag_detail``.
    """
    if event.flag_items:
        return wording.render(json.loads(event.flag_items), translate=gettext, clock=site_clock).splitlines()
    return site_clocks(event.flag_detail or "", event.occurred_at).splitlines()


def passage_summary(counts: Sequence[tuple[str, int]]) -> str:
    """"1 motorcycle, 2 persons" from (class, how many) pairs; an unknown class as it is."""
    return ", ".join(
        CLASS_COUNTS[kind](count) if kind in CLASS_COUNTS else f"{count} {kind}" for kind, count in counts
    )


def cover_refusal(error: VisitDoesNotCover) -> str:
    """Why a visit cannot be linked to an entry: its cover does not hold it."""
    if error.reason == VisitDoesNotCover.GATE:
        return gettext("Visit #%(id)d was registered for another gate: it does not cover this entry.",
                       id=error.visit_id)
    if error.reason == VisitDoesNotCover.VEHICLE:
        return gettext("Visit #%(id)d registers no vehicle: it does not cover a vehicle's entry.",
                       id=error.visit_id)
    return gettext(
        "Visit #%(id)d does not cover this entry: its cover runs from %(start)s to %(end)s.",
        id=error.visit_id,
        start=site_clock(error.start, error.end),
        end=site_clock(error.end, error.start),
    )


def zone_name() -> str:
    """The site zone's abbreviation now, such as WIB."""
    return datetime.now(settings().zone).strftime("%Z")


def label(kind: str, value: str | None) -> str:
    """The translated name of an enum value (``kind`` as in ``_LABELS``); unknown values as they are.

    Kept for the request: a queue page asks for the same few labels hundreds of times.
    """
    if value is None:
        return ""
    cache: dict[tuple[str, str], str] = g.setdefault("labels", {})
    key = (kind, value)
    if key not in cache:
        cache[key] = str(_LABELS[kind].get(value, value))
    return cache[key]


def options(kind: str | None, values: Iterable[str], blank: str | None = None) -> list[tuple[str, str]]:
    """(value, translated label) pairs for a select, with a first choice "" labelled ``blank`` if given.

    ``kind`` None: the values are their own labels (names, actions).
    """
    pairs = [(str(value), label(kind, value) if kind else str(value)) for value in values]
    return ([("", blank)] if blank is not None else []) + pairs


def choices(rows: Iterable[Any], value: str, text: str, blank: str | None = None) -> list[tuple[str, str]]:
    """(value, label) pairs for a select from rows' attributes ``value`` and ``text``."""
    pairs = [(str(getattr(row, value)), str(getattr(row, text))) for row in rows]
    return ([("", blank)] if blank is not None else []) + pairs


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=_locale)
    app.jinja_env.filters["site_time"] = site_time
    app.jinja_env.filters["site_clocks"] = site_clocks
    app.jinja_env.filters["flag_lines"] = flag_lines
    app.jinja_env.filters["passage_summary"] = passage_summary
    app.jinja_env.globals.update(
        label=label,
        options=options,
        choices=choices,
        zone_name=zone_name,
        languages=LANGUAGES,
        current_locale=get_locale,
    )
