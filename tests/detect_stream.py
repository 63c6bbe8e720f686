"""A detect stream made from footage, as a camera's substream would be: the bench's ``scaled_copy``."""

from __future__ import annotations

from scripts.bench import DETECT_SIZE, scaled_copy

__all__ = ["DETECT_SIZE", "scaled_copy"]
