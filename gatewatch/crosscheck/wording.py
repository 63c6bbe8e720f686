"""The cross-check's verdict items as sentences, in whatever language the caller translates to.

The rules store a verdict as items (reason code, cover, numbers), never as prose, so a page can
show them in the reader's language and clock. ``render`` turns them into lines: with the
default ``translate`` (none) and ``clock`` (UTC) that is the English ``flag_detail`` the API
keeps; the web passes Flask-Babel's ``gettext`` and the site's clock. The messages are marked
with ``N_`` so that ``pybabel extract`` (keyword ``N_``) finds them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

Translate = Callable[[str], str]
Clock = Callable[[datetime, datetime], str]


def N_(message: str) -> str:
    """Marks ``message`` for translation; it is translated where it is rendered."""
    return message


#: Headlines by reason code ("explained" when nothing is wrong); %(what)s is the entry.
HEADLINES = {
    "explained": N_("%(what)s: explained by %(cover)s"),
    "watchlist": N_("watch list: the %(what)s is on the watch list; %(would)s"),
    "after_hours": N_("after hours: the %(what)s is outside the gate's operating hours; %(would)s"),
    "checked_out": N_("checked out: the only visits that could cover the %(what)s had checked out before it"),
    "unknown_plate": N_("unknown plate: the visits and authorisations that could cover the %(what)s "
                        "register other vehicles"),
    "unregistered": N_("unregistered: no visit or authorisation covers the %(what)s"),
}
FULL_HEADLINES = {
    "person": N_("full: the %(inside)s people inside already fill the places of every visit and authorisation "
                 "that could cover the %(what)s"),
    "person.one": N_("full: the one person inside already fills the place of every visit and authorisation "
                     "that could cover the %(what)s"),
    "vehicle": N_("full: the %(inside)s vehicles inside already fill the places of every visit and authorisation "
                  "that could cover the %(what)s"),
    "vehicle.one": N_("full: the one vehicle inside already fills the place of every visit and authorisation "
                      "that could cover the %(what)s"),
}
WHAT = {
    "person": N_("person entry at %(time)s on camera %(camera)s"),
    "vehicle": N_("vehicle entry at %(time)s on camera %(camera)s"),
    "plate": N_("vehicle entry with plate %(plate)s at %(time)s on camera %(camera)s"),
}
COVERS = {"visit": N_("visit #%(id)s (%(name)s)"), "authorisation": N_("authorisation #%(id)s (%(name)s)")}
WOULD_COVER = N_("%(cover)s would cover it")
NOTHING_COVERS = N_("no visit or authorisation covers it")
#: What each cover considered said, after "<cover>: ".
NOTES = {
    "other_gate": N_("registered for camera %(camera)s, not %(entry_camera)s"),
    "checked_in_later": N_("checked in at %(check_in)s, after the entry"),
    "no_vehicle": N_("no vehicle registered"),
    "other_plate": N_("registered plate %(registered)s, not %(read)s"),
    "other_plate_none": N_("registered a vehicle without a plate, not %(read)s"),
    "checked_out": N_("checked out at %(checked_out)s, before the entry"),
    "cover_ended": N_("its cover ended at %(until)s"),
    "first_entry_late": N_("checked in at %(check_in)s, more than %(minutes)s minutes before its first entry"),
    "off_duty": N_("not in force at the entry: outside its dates, days or hours, or ended"),
    "allows_none.person": N_("allows no persons"),
    "allows_none.vehicle": N_("allows no vehicles"),
    "places.person": N_("could cover it: room for %(capacity)s people at once"),
    "places.person.one": N_("could cover it: room for one person"),
    "places.vehicle": N_("could cover it: room for %(capacity)s vehicles at once"),
    "places.vehicle.one": N_("could cover it: room for its one vehicle"),
}
WATCHLIST_ENTRY = N_("watch list entry #%(id)s (%(plate)s): %(reason)s")
WATCHLIST_PERSON = N_("persons watch list entry #%(id)s: the visitor of visit #%(visit)s: %(reason)s")
PLATE_UNREADABLE = N_("plate unreadable: matched by vehicle only")
_TIME_FIELDS = ("check_in", "checked_out", "until")


def utc_clock(moment: datetime, reference: datetime) -> str:
    """UTC time of day, with the date when it is not the reference's date."""
    moment, reference = moment.astimezone(UTC), reference.astimezone(UTC)
    pattern = "%H:%M UTC" if moment.date() == reference.date() else "%Y-%m-%d %H:%M UTC"
    return moment.strftime(pattern)


def _no_translation(message: str) -> str:
    return message


#: The web's translation catalogues: pages and exports word verdicts from the same ones.
CATALOGS = Path(__file__).resolve().parent.parent / "web" / "translations"


@cache
def translator(language: str) -> Translate:
    """The catalogue's ``gettext`` for ``language``; English (the messages' own) needs none."""
    if language == "en":
        return _no_translation
    from babel.support import Translations  # only callers that word verdicts outside the web load it

    return Translations.load(str(CATALOGS), [language]).gettext


def site_clock(zone: tzinfo) -> Clock:
    """Times of day in ``zone``, with its abbreviation (WIB), and the date when not the entry's."""

    def clock(moment: datetime, reference: datetime) -> str:
        moment, reference = moment.astimezone(zone), reference.astimezone(zone)
        return moment.strftime("%H:%M %Z" if moment.date() == reference.date() else "%Y-%m-%d %H:%M %Z")

    return clock


def render_in(items: Sequence[Mapping[str, Any]], language: str, zone: tzinfo) -> str:
    """``items`` worded in ``language`` (a catalogue's code: en, id) with times in ``zone``."""
    return render(items, translator(language), site_clock(zone))


def render(items: Sequence[Mapping[str, Any]], translate: Translate = _no_translation,
           clock: Clock = utc_clock) -> str:
    """``items`` (a verdict's, headline first) as lines of text."""
    if not items:
        return ""
    reference = datetime.fromisoformat(items[0]["at"])
    return "\n".join(_line(item, reference, translate, clock) for item in items)


def _cover(cover: Mapping[str, Any], translate: Translate) -> str:
    return translate(COVERS[cover["type"]]) % {"id": cover["id"], "name": cover["name"]}


def _line(item: Mapping[str, Any], reference: datetime, translate: Translate, clock: Clock) -> str:
    code = item["code"]
    if code == "watchlist_entry":
        return translate(WATCHLIST_ENTRY) % item
    if code == "watchlist_person":
        return translate(WATCHLIST_PERSON) % item
    if code == "plate_unreadable":
        return translate(PLATE_UNREADABLE)
    if "cover" in item and "at" not in item:
        return f"{_cover(item['cover'], translate)}: {_note(item, reference, translate, clock)}"
    return _headline(item, reference, translate, clock)


def _headline(item: Mapping[str, Any], reference: datetime, translate: Translate, clock: Clock) -> str:
    what_key = "plate" if item.get("plate") else item["kind"]
    what = translate(WHAT[what_key]) % {"time": clock(reference, reference), "camera": item["camera"],
                                         "plate": item.get("plate")}
    cover = _cover(item["cover"], translate) if item.get("cover") else None
    would = translate(WOULD_COVER) % {"cover": cover} if cover else translate(NOTHING_COVERS)
    if item["code"] == "over_party_size":
        message = FULL_HEADLINES[item["kind"] + (".one" if item.get("inside") == 1 else "")]
    else:
        message = HEADLINES[item["code"]]
    return translate(message) % {"what": what, "cover": cover, "would": would, "inside": item.get("inside")}


def _note(item: Mapping[str, Any], reference: datetime, translate: Translate, clock: Clock) -> str:
    values = dict(item)
    for name in _TIME_FIELDS:
        if values.get(name):
            values[name] = clock(datetime.fromisoformat(values[name]), reference)
    return translate(NOTES[_note_key(item)]) % values


def _note_key(item: Mapping[str, Any]) -> str:
    code = item["code"]
    if code == "places":
        return f"places.{item['kind']}" + (".one" if item["capacity"] == 1 else "")
    if code == "allows_none":
        return f"allows_none.{item['kind']}"
    if code == "other_plate" and not item.get("registered"):
        return "other_plate_none"
    return code
