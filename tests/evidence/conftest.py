"""Fixtures shared with the other evidence tests: events stored through the real event store, and a history."""

from tests.evidence_fixtures import engine, history  # noqa: F401  (fixtures)
