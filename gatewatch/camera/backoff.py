"""Backoff: how long to wait before trying again, the longer the more tries failed in a row."""

from __future__ import annotations

from collections.abc import Sequence


def backoff_delay(steps: Sequence[float], attempts: int) -> float:
    """The wait after ``attempts`` (1 or more) failures in a row: ``steps`` in turn, then its last one."""
    return steps[min(attempts, len(steps)) - 1]
