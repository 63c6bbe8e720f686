"""The persons watch list in the pure rules: an entry a watched visitor's visit would explain is flagged
``watchlist``, linked to nothing, its items naming the watch-list entry and the visit by id."""

from __future__ import annotations

from gatewatch.crosscheck.rules import WatchedVisitFacts, judge
from gatewatch.models.enums import EventStatus, FlagReason
from tests.crosscheck.test_crosscheck_rules import AFTER, BEFORE, authorisation, entry, visit

WATCHED = WatchedVisitFacts(id=7, visit_id=1, reason="Banned after the theft of 3 March")


def test_an_entry_the_watched_visit_would_explain_is_flagged_and_linked_to_nothing() -> None:
    verdict = judge(entry(), [visit(1)], [], BEFORE, AFTER, (), [WATCHED])

    assert (verdict.status, verdict.reason) == (EventStatus.FLAGGED, FlagReason.WATCHLIST)
    assert (verdict.visit_id, verdict.authorisation_id) == (None, None)
    assert verdict.items[0]["cover"] == {"type": "visit", "id": 1, "name": "Budi Santoso"}
    assert verdict.items[1] == {"code": "watchlist_person", "id": 7, "visit": 1,
                                "reason": "Banned after the theft of 3 March"}
    assert "persons watch list entry #7: the visitor of visit #1: Banned after the theft of 3 March" in verdict.detail


def test_an_entry_another_cover_explains_is_not_the_watched_persons() -> None:
    # The watched visit checked in long before: its first entry would be late; an authorisation explains this one.
    late = visit(1, at=-2 * BEFORE)
    verdict = judge(entry(), [late], [authorisation(3)], BEFORE, AFTER, (), [WATCHED])
    assert (verdict.status, verdict.authorisation_id) == (EventStatus.EXPLAINED, 3)
    # Another visit chosen: closer to the entry than the watched one.
    verdict = judge(entry(), [visit(1, at=-BEFORE / 2), visit(2, at=-AFTER / 2)], [], BEFORE, AFTER, (), [WATCHED])
    assert (verdict.status, verdict.visit_id) == (EventStatus.EXPLAINED, 2)

