"""The pure cross-check rules: which visit or authorisation explains an entry, or why none does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gatewatch.crosscheck.rules import (
    AuthorisationFacts,
    EntryFacts,
    EntryKind,
    Verdict,
    VisitFacts,
    WatchlistFacts,
    judge,
)
from gatewatch.models.enums import EventStatus, FlagReason

T = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
BEFORE, AFTER = timedelta(minutes=15), timedelta(minutes=2)


def entry(kind: EntryKind = "person", *, within_hours: bool = True, inside: int = 0) -> EntryFacts:
    """An entry at T; ``inside``: explained people (or vehicles, as the entry) inside before it."""
    return EntryFacts(occurred_at=T, kind=kind, camera_id="gate-1", within_hours=within_hours, inside=inside)


def visit(id: int = 1, *, at: timedelta = timedelta(minutes=-5), **changes: object) -> VisitFacts:
    facts = VisitFacts(
        id=id,
        visitor_name="Budi Santoso",
        check_in_at=T + at,
        cover_until=T + at + timedelta(hours=8),
        checked_out_at=None,
        party_size=1,
        has_vehicle=False,
        camera_id="gate-1",
    )
    return replace(facts, **changes)


def authorisation(id: int = 1, **changes: object) -> AuthorisationFacts:
    facts = AuthorisationFacts(
        id=id,
        holder="Tim Logistik KPU",
        in_force=True,
        max_persons=3,
        max_vehicles=1,
        camera_id=None,
    )
    return replace(facts, **changes)


def check(
    facts: EntryFacts, visits: Sequence[VisitFacts] = (), authorisations: Sequence[AuthorisationFacts] = ()
) -> Verdict:
    return judge(facts, visits, authorisations, BEFORE, AFTER)


def notes(verdict: Verdict) -> list[dict[str, Any]]:
    """The items that say what each cover considered made of the entry."""
    return [item for item in verdict.items[1:] if "cover" in item]


def note_of(verdict: Verdict, kind: str, id: int) -> dict[str, Any]:
    [item] = [item for item in notes(verdict) if (item["cover"]["type"], item["cover"]["id"]) == (kind, id)]
    return item


def test_a_visit_checked_in_shortly_before_explains_a_person() -> None:
    verdict = check(entry(), [visit(12)])

    assert (verdict.status, verdict.reason) == (EventStatus.EXPLAINED, None)
    assert (verdict.visit_id, verdict.authorisation_id) == (12, None)
    assert verdict.items[0]["code"] == "explained"
    assert verdict.items[0]["cover"] == {"type": "visit", "id": 12, "name": "Budi Santoso"}
    assert (verdict.items[0]["inside"], verdict.items[0]["capacity"]) == (0, 1)
    assert note_of(verdict, "visit", 12) | {"cover": None} == {
        "code": "places", "cover": None, "kind": "person", "capacity": 1,
    }
    assert "person entry at 03:00 UTC on camera gate-1: explained by visit #12 (Budi Santoso)" in verdict.detail


def test_nothing_registered_is_unregistered() -> None:
    verdict = check(entry())

    assert (verdict.status, verdict.reason) == (EventStatus.FLAGGED, FlagReason.UNREGISTERED)
    assert verdict.visit_id is None and verdict.authorisation_id is None
    assert [item["code"] for item in verdict.items] == ["unregistered"]
    assert verdict.detail == "unregistered: no visit or authorisation covers the person entry at 03:00 UTC on camera gate-1"


@pytest.mark.parametrize(
    ("offset", "explained", "note"),
    [
        (timedelta(minutes=-15), True, "places"),
        (timedelta(minutes=-15, seconds=-1), False, "first_entry_late"),
        (timedelta(minutes=2), True, "places"),  # the guard typed the registration just after
        (timedelta(minutes=2, seconds=1), False, "checked_in_later"),
    ],
)
def test_window_edges_of_a_first_entry(offset: timedelta, explained: bool, note: str) -> None:
    verdict = check(entry(), [visit(at=offset)])

    assert (verdict.status == EventStatus.EXPLAINED) is explained
    assert [item["code"] for item in notes(verdict)] == [note]
    if not explained:
        assert verdict.reason == FlagReason.UNREGISTERED


def test_a_first_entry_too_long_after_check_in_is_said_with_the_window() -> None:
    verdict = check(entry(), [visit(3, at=timedelta(minutes=-40))])

    assert note_of(verdict, "visit", 3)["minutes"] == 15
    assert "visit #3 (Budi Santoso): checked in at 02:20 UTC, more than 15 minutes before its first entry" in (
        verdict.detail
    )


def test_once_a_visit_has_had_an_entry_it_covers_later_ones_until_its_cover_ends() -> None:
    back = visit(3, at=timedelta(hours=-3), first_entry_at=T - timedelta(hours=3), party_size=2)

    verdict = check(entry(), [back])

    assert (verdict.status, verdict.visit_id) == (EventStatus.EXPLAINED, 3)


@pytest.mark.parametrize(("until", "explained"), [(T + timedelta(seconds=1), True), (T, False)])
def test_a_visits_cover_ends_at_cover_until(until: datetime, explained: bool) -> None:
    facts = visit(3, at=timedelta(hours=-9), first_entry_at=T - timedelta(hours=9), cover_until=until)

    verdict = check(entry(), [facts])

    assert (verdict.visit_id == 3) is explained
    if not explained:
        assert verdict.reason == FlagReason.UNREGISTERED
        assert note_of(verdict, "visit", 3) | {"cover": None} == {
            "code": "cover_ended", "cover": None, "until": until.isoformat(),
        }
        assert "visit #3 (Budi Santoso): its cover ended at 03:00 UTC" in verdict.detail


def test_a_party_has_its_size_of_places_inside_at_once() -> None:
    assert check(entry(inside=1), [visit(party_size=2)]).status == EventStatus.EXPLAINED

    verdict = check(entry(inside=2), [visit(12, party_size=2)])

    assert verdict.reason == FlagReason.OVER_PARTY_SIZE
    assert verdict.visit_id is None
    assert verdict.items[0] | {"at": None} == {
        "code": "over_party_size", "kind": "person", "plate": None, "at": None, "camera": "gate-1", "cover": None,
        "inside": 2, "capacity": 2,
    }
    assert note_of(verdict, "visit", 12) | {"cover": None} == {
        "code": "places", "cover": None, "kind": "person", "capacity": 2,
    }
    assert verdict.detail.splitlines() == [
        ("full: the 2 people inside already fill the places of every visit and authorisation that could cover "
         "the person entry at 03:00 UTC on camera gate-1"),
        "visit #12 (Budi Santoso): could cover it: room for 2 people at once",
    ]


def test_the_places_of_every_cover_that_could_explain_the_entry_are_pooled() -> None:
    visits = [visit(1, at=timedelta(minutes=-1)), visit(2, at=timedelta(minutes=-10))]

    # The camera cannot tell whose visitor is inside: one inside leaves a place, the closest visit's.
    assert check(entry(inside=1), visits).visit_id == 1
    verdict = check(entry(inside=2), visits)
    assert (verdict.reason, verdict.items[0]["capacity"]) == (FlagReason.OVER_PARTY_SIZE, 2)


def test_people_inside_fill_first_the_covers_that_could_not_explain_the_entry() -> None:
    elsewhere = visit(3, camera_id="gate-2")  # in force: its visitor may be the one inside
    own = visit(4)

    assert check(entry(inside=1), [elsewhere, own]).visit_id == 4
    verdict = check(entry(inside=2), [elsewhere, own])
    assert (verdict.reason, verdict.items[0]["inside"], verdict.items[0]["capacity"]) == (
        FlagReason.OVER_PARTY_SIZE, 2, 1,
    )


def test_a_cover_elsewhere_no_longer_in_force_holds_no_one() -> None:
    gone = visit(3, camera_id="gate-2", checked_out_at=T - timedelta(minutes=1))

    assert check(entry(inside=1), [gone, visit(4)]).reason == FlagReason.OVER_PARTY_SIZE


@pytest.mark.parametrize("checked_out", [T - timedelta(minutes=2), T])
def test_a_visit_checked_out_at_or_before_the_entry_does_not_cover_it(checked_out: datetime) -> None:
    verdict = check(entry(), [visit(7, visitor_name="Sari", checked_out_at=checked_out)])

    assert verdict.reason == FlagReason.CHECKED_OUT
    assert note_of(verdict, "visit", 7)["checked_out"] == checked_out.isoformat()
    assert f"visit #7 (Sari): checked out at {checked_out:%H:%M} UTC, before the entry" in verdict.detail


def test_a_visit_checked_out_after_the_entry_covers_it() -> None:
    verdict = check(entry(), [visit(checked_out_at=T + timedelta(seconds=30))])

    assert verdict.status == EventStatus.EXPLAINED


def test_a_full_visit_outranks_a_checked_out_one_as_reason() -> None:
    left = T - timedelta(minutes=1)
    visits = [visit(1), visit(2, visitor_name="Sari", checked_out_at=left)]

    verdict = check(entry(inside=1), visits)

    assert verdict.reason == FlagReason.OVER_PARTY_SIZE
    # Each candidate is listed with why it did not explain the entry.
    assert [item["code"] for item in notes(verdict)] == ["places", "checked_out"]
    assert "visit #1 (Budi Santoso): could cover it: room for one person" in verdict.detail
    assert "visit #2 (Sari): checked out at 02:59 UTC" in verdict.detail


def test_the_visit_checked_in_closest_to_the_entry_is_preferred() -> None:
    visits = [visit(i, at=timedelta(minutes=m)) for i, m in [(1, -10), (2, -1), (3, 2)]]

    assert check(entry(), visits).visit_id == 2


def test_equally_close_visits_go_to_the_lowest_id() -> None:
    visits = [visit(9, at=timedelta(minutes=1)), visit(4, at=timedelta(minutes=-1))]

    assert check(entry(), visits).visit_id == 4


def test_a_closest_visit_that_no_longer_covers_leaves_the_entry_to_the_next() -> None:
    visits = [visit(1, at=timedelta(minutes=-1), checked_out_at=T), visit(2, at=timedelta(minutes=-10))]

    assert check(entry(), visits).visit_id == 2


def test_a_visit_for_another_gate_does_not_cover_but_one_for_any_gate_does() -> None:
    verdict = check(entry(), [visit(3, camera_id="gate-2")])

    assert verdict.reason == FlagReason.UNREGISTERED
    assert note_of(verdict, "visit", 3)["code"] == "other_gate"
    assert "visit #3 (Budi Santoso): registered for camera gate-2, not gate-1" in verdict.detail
    assert check(entry(), [visit(3, camera_id=None)]).visit_id == 3


def test_a_vehicle_needs_a_visit_with_a_vehicle() -> None:
    verdict = check(entry("vehicle"), [visit(5)])

    assert verdict.reason == FlagReason.UNREGISTERED
    assert "visit #5 (Budi Santoso): no vehicle registered" in verdict.detail
    assert check(entry("vehicle"), [visit(5, has_vehicle=True)]).visit_id == 5


def test_a_visit_covers_one_vehicle_whatever_its_party_size() -> None:
    facts = visit(5, has_vehicle=True, party_size=4)
    assert check(entry("vehicle"), [facts]).visit_id == 5

    verdict = check(entry("vehicle", inside=1), [facts])

    assert verdict.reason == FlagReason.OVER_PARTY_SIZE
    assert (verdict.items[0]["kind"], verdict.items[0]["inside"], verdict.items[0]["capacity"]) == ("vehicle", 1, 1)
    assert note_of(verdict, "visit", 5) | {"cover": None} == {
        "code": "places", "cover": None, "kind": "vehicle", "capacity": 1,
    }
    assert "visit #5 (Budi Santoso): could cover it: room for its one vehicle" in verdict.detail
    assert "the one vehicle inside already fills the place" in verdict.detail.splitlines()[0]
    assert "party" not in verdict.detail and "people" not in verdict.detail


def test_a_vehicle_is_judged_by_the_vehicles_inside_not_the_people() -> None:
    verdict = check(entry("vehicle"), [visit(5, has_vehicle=True, party_size=1)])

    assert verdict.visit_id == 5
    assert "visit #5 (Budi Santoso): could cover it: room for its one vehicle" in verdict.detail


def test_a_valid_authorisation_explains_an_entry_without_a_visit() -> None:
    verdict = check(entry(), authorisations=[authorisation(8)])

    assert (verdict.status, verdict.visit_id, verdict.authorisation_id) == (EventStatus.EXPLAINED, None, 8)
    assert "explained by authorisation #8 (Tim Logistik KPU)" in verdict.detail


def test_a_visit_is_preferred_to_an_authorisation() -> None:
    verdict = check(entry(), [visit(12)], [authorisation(8)])

    assert (verdict.visit_id, verdict.authorisation_id) == (12, None)


def test_among_authorisations_the_lowest_id_wins() -> None:
    verdict = check(entry(), authorisations=[authorisation(9), authorisation(4)])

    assert verdict.authorisation_id == 4


def test_an_authorisation_not_in_force_covers_nothing_and_says_so() -> None:
    verdict = check(entry(), authorisations=[authorisation(8, in_force=False)])

    assert verdict.reason == FlagReason.UNREGISTERED
    assert note_of(verdict, "authorisation", 8)["code"] == "off_duty"
    assert ("authorisation #8 (Tim Logistik KPU): not in force at the entry: outside its dates, days or hours, "
            "or ended") in verdict.detail


def test_an_authorisation_with_its_people_inside_flags_over_party_size() -> None:
    assert check(entry(inside=2), authorisations=[authorisation(8)]).authorisation_id == 8

    verdict = check(entry(inside=3), authorisations=[authorisation(8, max_persons=3)])

    assert verdict.reason == FlagReason.OVER_PARTY_SIZE
    assert (verdict.items[0]["inside"], verdict.items[0]["capacity"]) == (3, 3)
    assert note_of(verdict, "authorisation", 8) | {"cover": None} == {
        "code": "places", "cover": None, "kind": "person", "capacity": 3,
    }
    assert "authorisation #8 (Tim Logistik KPU): could cover it: room for 3 people at once" in verdict.detail


def test_an_authorisations_vehicle_places_are_its_max_vehicles() -> None:
    fleet = authorisation(8, max_persons=3, max_vehicles=2)

    assert check(entry("vehicle", inside=1), authorisations=[fleet]).authorisation_id == 8
    assert "could cover it: room for 2 vehicles at once" in check(entry("vehicle", inside=1), authorisations=[fleet]).detail
    assert check(entry("vehicle", inside=2), authorisations=[fleet]).reason == FlagReason.OVER_PARTY_SIZE


def test_an_authorisation_for_no_vehicles_does_not_cover_a_vehicle() -> None:
    verdict = check(entry("vehicle"), authorisations=[authorisation(8, max_vehicles=0)])

    assert verdict.reason == FlagReason.UNREGISTERED
    assert "allows no vehicles" in verdict.detail


def test_an_authorisation_for_another_gate_does_not_cover() -> None:
    verdict = check(entry(), authorisations=[authorisation(8, camera_id="gate-2")])

    assert verdict.reason == FlagReason.UNREGISTERED


def test_after_hours_is_flagged_but_names_who_it_probably_was() -> None:
    verdict = check(entry(within_hours=False), [visit(12)])

    assert (verdict.status, verdict.reason) == (EventStatus.FLAGGED, FlagReason.AFTER_HOURS)
    assert verdict.visit_id == 12
    assert "visit #12 (Budi Santoso) would cover it" in verdict.detail


def test_after_hours_without_any_registration() -> None:
    verdict = check(entry(within_hours=False))

    assert verdict.reason == FlagReason.AFTER_HOURS
    assert verdict.visit_id is None and verdict.authorisation_id is None
    assert "no visit or authorisation covers it" in verdict.detail


# --- passages -----------------------------------------------------------------------------------


def test_a_passage_keeps_to_the_cover_an_earlier_member_took() -> None:
    closest = visit(1, at=timedelta(minutes=-1), party_size=2)
    riders = visit(2, at=timedelta(minutes=-10), party_size=2, has_vehicle=True)

    verdict = check(replace(entry(), passage_cover=("visit", 2)), [closest, riders])

    assert verdict.visit_id == 2
    assert check(entry(), [closest, riders]).visit_id == 1  # alone, the closest visit takes it


def test_a_passage_whose_cover_no_longer_covers_goes_to_another_cover() -> None:
    gone = visit(2, at=timedelta(minutes=-10), checked_out_at=T - timedelta(seconds=1))

    verdict = check(replace(entry(), passage_cover=("visit", 2)), [visit(1), gone], [authorisation(8)])

    assert verdict.visit_id == 1


def test_a_passage_finds_no_room_where_the_people_inside_fill_every_cover() -> None:
    verdict = check(replace(entry(inside=2), passage_cover=("visit", 2)), [visit(2, party_size=2)])

    assert (verdict.reason, verdict.visit_id) == (FlagReason.OVER_PARTY_SIZE, None)


# --- number plates and the watch list -----------------------------------------------------------

PLATE = "B 1234 XYZ"


def car(plate: str | None = PLATE, *, unreadable: bool = False, within_hours: bool = True) -> EntryFacts:
    return replace(entry("vehicle", within_hours=within_hours), plate=plate, plate_unreadable=unreadable)


def car_visit(id: int, plate: str | None, **changes: object) -> VisitFacts:
    return visit(id, has_vehicle=True, vehicle_plate=plate, **changes)


def watched(plate: str = PLATE) -> WatchlistFacts:
    return WatchlistFacts(id=7, plate=plate, reason="stolen, reported by Polda Sumsel")


def test_a_read_plate_is_explained_by_the_visit_of_that_plate_not_the_closest_vehicle() -> None:
    closest = car_visit(1, "BG 1 AB", at=timedelta(minutes=-1))
    own = car_visit(2, "B 1234 XYZ", at=timedelta(minutes=-10))

    verdict = check(car("8 1234 XY2"), [closest, own])  # read with look-alike glyphs

    assert (verdict.status, verdict.visit_id) == (EventStatus.EXPLAINED, 2)
    assert "visit #1 (Budi Santoso): registered plate BG 1 AB, not 8 1234 XY2" in verdict.detail


def test_a_read_plate_no_visit_registers_is_an_unknown_plate_when_other_vehicles_were_registered() -> None:
    verdict = check(car(), [car_visit(1, "BG 1 AB"), car_visit(2, None)])

    assert (verdict.status, verdict.reason, verdict.visit_id) == (EventStatus.FLAGGED, FlagReason.UNKNOWN_PLATE, None)
    assert [item["code"] for item in notes(verdict)] == ["other_plate", "other_plate"]
    assert verdict.detail.startswith(
        "unknown plate: the visits and authorisations that could cover the vehicle entry with plate B 1234 XYZ "
        "at 03:00 UTC on camera gate-1 register other vehicles"
    )
    assert "registered a vehicle without a plate, not B 1234 XYZ" in verdict.detail


def test_a_read_plate_with_no_vehicle_registered_is_unregistered() -> None:
    verdict = check(car(), [visit(1)])

    assert verdict.reason == FlagReason.UNREGISTERED
    assert verdict.items[0]["plate"] == PLATE
    assert "vehicle entry with plate B 1234 XYZ" in verdict.detail


def test_an_authorisation_naming_no_plate_covers_any_read_plate() -> None:
    verdict = check(car(), [car_visit(1, "BG 1 AB")], [authorisation(4)])

    assert (verdict.status, verdict.authorisation_id) == (EventStatus.EXPLAINED, 4)


def test_an_authorisation_naming_plates_covers_only_those_read_plates() -> None:
    trucks = authorisation(4, holder="PT Angkut Sriwijaya", plates=("BG 8123 KA", "BG 8124 KA"))

    own = check(car("8G 8124 KA"), authorisations=[trucks])  # look-alike glyphs still match
    other = check(car(), authorisations=[trucks])

    assert (own.status, own.authorisation_id) == (EventStatus.EXPLAINED, 4)
    assert (other.reason, other.authorisation_id) == (FlagReason.UNKNOWN_PLATE, None)
    assert note_of(other, "authorisation", 4) | {"cover": None} == {
        "code": "other_plate", "cover": None, "registered": "BG 8123 KA, BG 8124 KA", "read": PLATE,
    }
    assert "authorisation #4 (PT Angkut Sriwijaya): registered plate BG 8123 KA, BG 8124 KA, not B 1234 XYZ" in (
        other.detail
    )


def test_vehicles_inside_fill_first_the_covers_of_other_plates() -> None:
    trucks = authorisation(4, max_persons=0, max_vehicles=1, plates=("BG 8123 KA",))  # its truck may be inside
    own = car_visit(2, PLATE)

    assert check(replace(car(), inside=1), [own], [trucks]).visit_id == 2
    verdict = check(replace(car(), inside=2), [own], [trucks])
    assert (verdict.reason, verdict.items[0]["capacity"]) == (FlagReason.OVER_PARTY_SIZE, 1)


@pytest.mark.parametrize("facts", [car(None, unreadable=True), car(None)], ids=["unreadable", "before plates"])
def test_an_authorisation_naming_plates_matches_an_unread_plate_by_vehicle(facts: EntryFacts) -> None:
    verdict = check(facts, authorisations=[authorisation(4, plates=("BG 8123 KA",))])

    assert (verdict.status, verdict.authorisation_id) == (EventStatus.EXPLAINED, 4)


def test_the_visit_of_the_plate_having_checked_out_is_said_rather_than_an_unknown_plate() -> None:
    gone = car_visit(1, PLATE, checked_out_at=T - timedelta(minutes=1))

    assert check(car(), [gone, car_visit(2, "BG 1 AB")]).reason == FlagReason.CHECKED_OUT


@pytest.mark.parametrize("facts", [car(None, unreadable=True), car(None)], ids=["unreadable", "before plates"])
def test_an_unread_plate_is_matched_by_any_vehicle_as_before_never_a_mismatch(facts: EntryFacts) -> None:
    verdict = check(facts, [car_visit(1, "BG 1 AB")])

    assert (verdict.status, verdict.visit_id) == (EventStatus.EXPLAINED, 1)


def test_an_unreadable_plate_is_said_in_the_detail() -> None:
    verdict = check(car(None, unreadable=True))

    assert verdict.reason == FlagReason.UNREGISTERED
    assert {"code": "plate_unreadable"} in verdict.items
    assert "plate unreadable: matched by vehicle only" in verdict.detail.splitlines()


def test_a_watched_plate_is_flagged_even_when_its_visit_covers_it_and_links_nothing() -> None:
    verdict = judge(car("B 1234 XY2"), [car_visit(1, PLATE)], [], BEFORE, AFTER, [watched()])

    assert (verdict.status, verdict.reason) == (EventStatus.FLAGGED, FlagReason.WATCHLIST)
    assert (verdict.visit_id, verdict.authorisation_id) == (None, None)
    assert [item["code"] for item in verdict.items] == ["watchlist", "watchlist_entry", "places"]
    lines = verdict.detail.splitlines()
    assert lines[0].endswith("is on the watch list; visit #1 (Budi Santoso) would cover it")
    assert "watch list entry #7 (B 1234 XYZ): stolen, reported by Polda Sumsel" in lines


def test_the_watch_list_outranks_after_hours_and_ignores_other_plates_and_unread_ones() -> None:
    at_night = judge(car(within_hours=False), [], [], BEFORE, AFTER, [watched()])
    other = judge(car("BG 1 AB"), [], [], BEFORE, AFTER, [watched()])
    unread = judge(car(None, unreadable=True), [], [], BEFORE, AFTER, [watched()])

    assert at_night.reason == FlagReason.WATCHLIST
    assert (other.reason, unread.reason) == (FlagReason.UNREGISTERED, FlagReason.UNREGISTERED)
