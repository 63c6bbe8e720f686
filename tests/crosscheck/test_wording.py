"""A verdict's items as text: English by default, any language through a translate function (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gatewatch.crosscheck import wording
from gatewatch.crosscheck.rules import AuthorisationFacts, EntryFacts, VisitFacts, WatchlistFacts, judge

T = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
BEFORE, AFTER = timedelta(minutes=15), timedelta(minutes=2)
VISIT = {"type": "visit", "id": 12, "name": "Sari"}
AUTHORISATION = {"type": "authorisation", "id": 3, "name": "PT Angkut Sriwijaya"}


def headline(code: str, kind: str = "person", plate: str | None = None, cover: dict | None = None) -> dict:
    return {"code": code, "kind": kind, "plate": plate, "at": T.isoformat(), "camera": "gate-1", "cover": cover}


def test_an_explained_entry() -> None:
    assert wording.render([headline("explained", cover=VISIT)]) == (
        "person entry at 03:00 UTC on camera gate-1: explained by visit #12 (Sari)"
    )


def test_nothing_to_render() -> None:
    assert wording.render([]) == ""


def full(kind: str, inside: int, capacity: int, plate: str | None = None) -> dict:
    return headline("over_party_size", kind, plate) | {"inside": inside, "capacity": capacity}


def test_a_full_truck_reads_as_vehicles_not_a_party() -> None:
    items = [
        full("vehicle", 3, 3, "BG 8123 KA"),
        {"code": "places", "cover": VISIT, "kind": "vehicle", "capacity": 1},
        {"code": "places", "cover": AUTHORISATION, "kind": "vehicle", "capacity": 2},
    ]

    assert wording.render(items).splitlines() == [
        ("full: the 3 vehicles inside already fill the places of every visit and authorisation that could cover "
         "the vehicle entry with plate BG 8123 KA at 03:00 UTC on camera gate-1"),
        "visit #12 (Sari): could cover it: room for its one vehicle",
        "authorisation #3 (PT Angkut Sriwijaya): could cover it: room for 2 vehicles at once",
    ]


def test_a_full_party_reads_as_people() -> None:
    items = [
        full("person", 5, 5),
        {"code": "places", "cover": VISIT, "kind": "person", "capacity": 2},
        {"code": "places", "cover": AUTHORISATION, "kind": "person", "capacity": 3},
        {"code": "allows_none", "cover": AUTHORISATION, "kind": "vehicle"},
    ]

    assert wording.render(items).splitlines() == [
        ("full: the 5 people inside already fill the places of every visit and authorisation that could cover "
         "the person entry at 03:00 UTC on camera gate-1"),
        "visit #12 (Sari): could cover it: room for 2 people at once",
        "authorisation #3 (PT Angkut Sriwijaya): could cover it: room for 3 people at once",
        "authorisation #3 (PT Angkut Sriwijaya): allows no vehicles",
    ]


def test_times_of_another_day_carry_their_date() -> None:
    items = [
        headline("checked_out"),
        {"code": "checked_out", "cover": VISIT, "checked_out": (T - timedelta(minutes=30)).isoformat()},
        {"code": "cover_ended", "cover": VISIT, "until": (T - timedelta(days=1)).isoformat()},
    ]

    assert wording.render(items).splitlines()[1:] == [
        "visit #12 (Sari): checked out at 02:30 UTC, before the entry",
        "visit #12 (Sari): its cover ended at 2024-04-30 03:00 UTC",
    ]


def test_the_callers_clock_shows_every_time() -> None:
    zone = ZoneInfo("Asia/Jakarta")

    def site_clock(moment: datetime, reference: datetime) -> str:
        return moment.astimezone(zone).strftime("%H.%M WIB")

    items = [headline("unregistered"), {"code": "checked_in_later", "cover": VISIT,
                                        "check_in": (T + timedelta(minutes=5)).isoformat()}]

    assert wording.render(items, clock=site_clock).splitlines() == [
        "unregistered: no visit or authorisation covers the person entry at 10.00 WIB on camera gate-1",
        "visit #12 (Sari): checked in at 10.05 WIB, after the entry",
    ]


def every_kind_of_item() -> list[dict]:
    """The items of verdicts that between them use every message."""
    car = EntryFacts(T, "vehicle", "gate-1", within_hours=True, plate="B 1234 XYZ")
    car_at_night = EntryFacts(T, "vehicle", "gate-1", within_hours=False, plate="B 1234 XYZ")
    unread = EntryFacts(T, "vehicle", "gate-1", within_hours=True, plate_unreadable=True, inside=1)
    crowd = EntryFacts(T, "person", "gate-1", within_hours=True, inside=2)
    one_inside = EntryFacts(T, "person", "gate-1", within_hours=True, inside=1)
    cars = EntryFacts(T, "vehicle", "gate-1", within_hours=True, inside=2)
    person = EntryFacts(T, "person", "gate-1", within_hours=True)

    def visit(id: int, **changes: object) -> VisitFacts:
        fields: dict[str, Any] = {"visitor_name": "Sari", "check_in_at": T - timedelta(minutes=5),
                                  "cover_until": T + timedelta(hours=1), "party_size": 1, "has_vehicle": True,
                                  "camera_id": None}
        return VisitFacts(id, **{**fields, **changes})

    def authorisation(id: int, **changes: object) -> AuthorisationFacts:
        fields: dict[str, Any] = {"holder": "Satpam", "in_force": True, "max_persons": 1, "max_vehicles": 1,
                                  "camera_id": None}
        return AuthorisationFacts(id, **{**fields, **changes})

    visits = [
        visit(1, camera_id="gate-2"), visit(2, check_in_at=T + timedelta(minutes=5)), visit(3, has_vehicle=False),
        visit(4, vehicle_plate="BG 1 AB"), visit(5), visit(6, checked_out_at=T - timedelta(minutes=1)),
        visit(7, cover_until=T, vehicle_plate="B 1234 XYZ"),
        visit(8, check_in_at=T - timedelta(hours=1), vehicle_plate="B 1234 XYZ"), visit(9),
    ]
    authorisations = [authorisation(1, in_force=False), authorisation(2, max_vehicles=0),
                      authorisation(3, max_persons=0), authorisation(4, max_vehicles=3)]
    watch = [WatchlistFacts(1, "B 1234 XYZ", "stolen")]
    verdicts = [
        judge(car, visits, authorisations, BEFORE, AFTER, watch),
        judge(car_at_night, visits, authorisations, BEFORE, AFTER),
        judge(car, [], [authorisation(9, max_vehicles=3)], BEFORE, AFTER),
        judge(person, [], [authorisation(10, max_persons=0)], BEFORE, AFTER),
        judge(unread, [visit(10)], [], BEFORE, AFTER),
        judge(crowd, [visit(11)], [authorisation(5)], BEFORE, AFTER),
        judge(one_inside, [visit(16)], [], BEFORE, AFTER),
        judge(cars, [visit(17)], [authorisation(11, max_vehicles=1)], BEFORE, AFTER),
        judge(person, [visit(12, party_size=3)], [authorisation(6, max_persons=2)], BEFORE, AFTER),
        judge(person, [visit(13, checked_out_at=T)], [], BEFORE, AFTER),
        judge(person, [visit(14, camera_id="gate-2")], [], BEFORE, AFTER),
        judge(car, [visit(15, vehicle_plate="BG 1 AB")], [], BEFORE, AFTER),
        judge(car, [], [authorisation(7, plates=("BG 1 AB",))], BEFORE, AFTER),
        judge(person, [], [authorisation(8)], BEFORE, AFTER),
    ]
    return [item for verdict in verdicts for item in verdict.items]


def test_a_translate_function_is_applied_to_every_message() -> None:
    asked: list[str] = []

    def translate(message: str) -> str:
        asked.append(message)
        return "«" + message + "»"

    lines = wording.render(every_kind_of_item(), translate=translate).splitlines()

    # Each line is a translated message, and the cover and entry in it were translated too.
    assert lines and all(line.startswith("«") and line.endswith("»") for line in lines)
    assert all("«visit #" in line or "«authorisation #" in line for line in lines if line[1:6] in ("visit", "autho"))
    assert "«person entry at 03:00 UTC on camera gate-1»" in "\n".join(lines)
    assert "«vehicle entry with plate B 1234 XYZ at 03:00 UTC on camera gate-1»" in "\n".join(lines)
    # Between them the verdicts used every message there is, and nothing untranslated got through.
    messages = {
        *wording.HEADLINES.values(), *wording.FULL_HEADLINES.values(), *wording.WHAT.values(),
        *wording.COVERS.values(), *wording.NOTES.values(),
        wording.WOULD_COVER, wording.NOTHING_COVERS, wording.WATCHLIST_ENTRY, wording.PLATE_UNREADABLE,
    }
    assert set(asked) == messages
    english = wording.render(every_kind_of_item()).splitlines()
    assert [line.replace("«", "").replace("»", "") for line in lines] == english


def test_an_indonesian_translation() -> None:
    indonesian = {
        wording.HEADLINES["unregistered"]: "tidak terdaftar: tidak ada kunjungan atau izin untuk %(what)s",
        wording.WHAT["person"]: "orang masuk pukul %(time)s di kamera %(camera)s",
        wording.NOTES["checked_out"]: "sudah keluar pukul %(checked_out)s, sebelum masuk",
        wording.COVERS["visit"]: "kunjungan #%(id)s (%(name)s)",
    }
    items = [headline("unregistered"), {"code": "checked_out", "cover": VISIT,
                                        "checked_out": (T - timedelta(minutes=30)).isoformat()}]

    assert wording.render(items, translate=lambda m: indonesian.get(m, m)).splitlines() == [
        "tidak terdaftar: tidak ada kunjungan atau izin untuk orang masuk pukul 03:00 UTC di kamera gate-1",
        "kunjungan #12 (Sari): sudah keluar pukul 02:30 UTC, sebelum masuk",
    ]
