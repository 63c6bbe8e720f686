"""Fixtures shared with the evidence tests: a database holding the camera."""

from tests.evidence_fixtures import engine  # noqa: F401  (fixture)
