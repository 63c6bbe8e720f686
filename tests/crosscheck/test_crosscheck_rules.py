"""The pure cross-check rules: which visit or authorisation explains an entry, or why none does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

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


def entry(kind: EntryKind = "person", *, within_hours: bool = True) -> EntryFacts:
    return EntryFacts(occurred_at=T, kind=kind, camera_id="gate-1", within_hours=within_hours)


def visit(id: int = 1, *, at: timedelta = timedelta(minutes=-5), **changes: object) -> VisitFacts:
    facts = VisitFacts(
        id=id,
        visitor_name="Budi Santoso",
        check_in_at=T + at,
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
        valid_from=T - timedelta(days=1),
        valid_until=T + timedelta(days=1),
        max_persons=3,
        max_vehicles=1,
        camera_id=None,
    )
    return replace(facts, **changes)


def check(
    facts: EntryFacts, visits: Sequence[VisitFacts] = (), authorisations: Sequence[AuthorisationFacts] = ()
) -> Verdict:
    return judge(facts, visits, authorisations, BEFORE, AFTER)


def test_a_visit_checked_in_shortly_before_explains_a_person() -> None:
    verdict = check(entry(), [visit(12)])

    assert (verdict.status, verdict.reason) == (EventStatus.EXPLAINED, None)
    assert (verdict.visit_id, verdict.authorisation_id) == (12, None)
    assert "explained by visit #12 (Budi Santoso)" in verdict.detail


def test_nothing_registered_is_unregistered() -> None:
    verdict = check(entry())

    assert (verdict.status, verdict.reason) == (EventStatus.FLAGGED, FlagReason.UNREGISTERED)
    assert verdict.visit_id is None and verdict.authorisation_id is None
    assert "no visit checked in between 02:45 UTC and 03:02 UTC" in verdict.detail


@pytest.mark.parametrize(
    ("offset", "explained"),
    [
        (timedelta(minutes=-15), True),
        (timedelta(minutes=-15, seconds=-1), False),
        (timedelta(minutes=2), True),  # the guard typed the registration just after
        (timedelta(minutes=2, seconds=1), False),
    ],
)
def test_window_edges(offset: timedelta, explained: bool) -> None:
    verdict = check(entry(), [visit(at=offset)])

    assert (verdict.status == EventStatus.EXPLAINED) is explained
    if not explained:
        assert verdict.reason == FlagReason.UNREGISTERED
        assert "outside the window 02:45 UTC to 03:02 UTC" in verdict.detail


def test_party_capacity_is_counted() -> None:
    assert check(entry(), [visit(party_size=2, used_persons=1)]).status == EventStatus.EXPLAINED

    verdict = check(entry(), [visit(12, party_size=2, used_persons=2)])

    assert verdict.reason == FlagReason.OVER_PARTY_SIZE
    assert verdict.visit_id is None
    assert "visit #12 (Budi Santoso): party of 2 already used by 2 entries" in verdict.detail


@pytest.mark.parametrize("checked_out", [T - timedelta(minutes=2), T])
def test_a_visit_checked_out_at_or_before_the_entry_does_not_cover_it(checked_out: datetime) -> None:
    verdict = check(entry(), [visit(7, visitor_name="Sari", checked_out_at=checked_out)])

    assert verdict.reason == FlagReason.CHECKED_OUT
    assert f"visit #7 (Sari): checked out at {checked_out:%H:%M} UTC, before the entry" in verdict.detail


def test_a_visit_checked_out_after_the_entry_covers_it() -> None:
    verdict = check(entry(), [visit(checked_out_at=T + timedelta(seconds=30))])

    assert verdict.status == EventStatus.EXPLAINED


def test_a_full_visit_outranks_a_checked_out_one_as_reason() -> None:
    left = T - timedelta(minutes=1)
    visits = [visit(1, used_persons=1), visit(2, visitor_name="Sari", checked_out_at=left)]

    verdict = check(entry(), visits)

    assert verdict.reason == FlagReason.OVER_PARTY_SIZE
    # Each candidate is listed with why it did not explain the entry.
    assert "visit #1 (Budi Santoso): party of 1 already used by 1 entry" in verdict.detail
    assert "visit #2 (Sari): checked out at 02:59 UTC" in verdict.detail


def test_the_visit_checked_in_closest_to_the_entry_is_preferred() -> None:
    visits = [visit(i, at=timedelta(minutes=m)) for i, m in [(1, -10), (2, -1), (3, 2)]]

    assert check(entry(), visits).visit_id == 2


def test_equally_close_visits_go_to_the_lowest_id() -> None:
    visits = [visit(9, at=timedelta(minutes=1)), visit(4, at=timedelta(minutes=-1))]

    assert check(entry(), visits).visit_id == 4


def test_a_full_closest_visit_leaves_the_entry_to_the_next() -> None:
    visits = [visit(1, at=timedelta(minutes=-1), used_persons=1), visit(2, at=timedelta(minutes=-10))]

    assert check(entry(), visits).visit_id == 2


def test_a_visit_for_another_gate_does_not_cover_but_one_for_any_gate_does() -> None:
    verdict = check(entry(), [visit(3, camera_id="gate-2")])

    assert verdict.reason == FlagReason.UNREGISTERED
    assert "visit #3 (Budi Santoso): registered for camera gate-2, not gate-1" in verdict.detail
    assert check(entry(), [visit(3, camera_id=None)]).visit_id == 3


def test_a_vehicle_needs_a_visit_with_a_vehicle() -> None:
    verdict = check(entry("vehicle"), [visit(5)])

    assert verdict.reason == FlagReason.UNREGISTERED
    assert "visit #5 (Budi Santoso): no vehicle registered" in verdict.detail
    assert check(entry("vehicle"), [visit(5, has_vehicle=True)]).visit_id == 5


def test_a_visit_covers_one_vehicle_whatever_its_party_size() -> None:
    full = visit(5, has_vehicle=True, party_size=4, used_vehicles=1)

    verdict = check(entry("vehicle"), [full])

    assert verdict.reason == FlagReason.OVER_PARTY_SIZE
    assert "its one vehicle already used by 1 entry" in verdict.detail


def test_persons_and_vehicles_are_counted_apart() -> None:
    verdict = check(entry("vehicle"), [visit(5, has_vehicle=True, party_size=1, used_persons=1)])

    assert verdict.visit_id == 5


def test_a_valid_authorisation_explains_an_entry_without_a_visit() -> None:
    verdict = check(entry(), authorisations=[authorisation(8)])

    assert (verdict.status, verdict.visit_id, verdict.authorisation_id) == (EventStatus.EXPLAINED, None, 8)
    assert "explained by authorisation #8 (Tim Logistik KPU)" in verdict.detail


def test_a_visit_is_preferred_to_an_authorisation() -> None:
    verdict = check(entry(), [visit(12)], [authorisation(8)])

    assert (verdict.visit_id, verdict.authorisation_id) == (12, None)


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "explained"),
    [
        (T, T + timedelta(hours=1), True),
        (T - timedelta(hours=1), T, True),
        (T + timedelta(seconds=1), T + timedelta(hours=1), False),
        (T - timedelta(hours=1), T - timedelta(seconds=1), False),
    ],
)
def test_authorisation_validity_edges(valid_from: datetime, valid_until: datetime, explained: bool) -> None:
    verdict = check(entry(), authorisations=[authorisation(valid_from=valid_from, valid_until=valid_until)])

    assert verdict.reason == (None if explained else FlagReason.UNREGISTERED)


def test_an_authorisation_not_valid_is_listed_with_its_dates() -> None:
    expired = authorisation(8, valid_from=T - timedelta(days=2), valid_until=T - timedelta(days=1))

    verdict = check(entry(), authorisations=[expired])

    validity = "valid 2024-04-29 03:00 UTC to 2024-04-30 03:00 UTC, not at the entry"
    assert f"authorisation #8 (Tim Logistik KPU): {validity}" in verdict.detail


def test_an_authorisation_used_up_flags_over_party_size() -> None:
    verdict = check(entry(), authorisations=[authorisation(8, max_persons=3, used_persons=3)])

    assert verdict.reason == FlagReason.OVER_PARTY_SIZE
    assert "up to 3 persons already used by 3 entries" in verdict.detail


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
    assert verdict.detail.startswith("unknown plate: the visits checked in between 02:45 UTC and 03:02 UTC")
    assert "registered a vehicle without a plate, not B 1234 XYZ" in verdict.detail


def test_a_read_plate_with_no_vehicle_registered_is_unregistered() -> None:
    verdict = check(car(), [visit(1)])

    assert verdict.reason == FlagReason.UNREGISTERED
    assert "vehicle entry with plate B 1234 XYZ" in verdict.detail


def test_an_authorisation_covers_a_read_plate_it_does_not_name() -> None:
    verdict = check(car(), [car_visit(1, "BG 1 AB")], [authorisation(4)])

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
    assert "plate unreadable: matched by vehicle only" in verdict.detail.splitlines()


def test_a_watched_plate_is_flagged_even_when_its_visit_covers_it_and_links_nothing() -> None:
    verdict = judge(car("B 1234 XY2"), [car_visit(1, PLATE)], [], BEFORE, AFTER, [watched()])

    assert (verdict.status, verdict.reason) == (EventStatus.FLAGGED, FlagReason.WATCHLIST)
    assert (verdict.visit_id, verdict.authorisation_id) == (None, None)
    lines = verdict.detail.splitlines()
    assert lines[0].endswith("is on the watch list; visit #1 (Budi Santoso) would cover it")
    assert "watch list entry #7 (B 1234 XYZ): stolen, reported by Polda Sumsel" in lines


def test_the_watch_list_outranks_after_hours_and_ignores_other_plates_and_unread_ones() -> None:
    at_night = judge(car(within_hours=False), [], [], BEFORE, AFTER, [watched()])
    other = judge(car("BG 1 AB"), [], [], BEFORE, AFTER, [watched()])
    unread = judge(car(None, unreadable=True), [], [], BEFORE, AFTER, [watched()])

    assert at_night.reason == FlagReason.WATCHLIST
    assert (other.reason, unread.reason) == (FlagReason.UNREGISTERED, FlagReason.UNREGISTERED)
