"""What detection and tracking hand on: one tracked object in one frame."""

from __future__ import annotations

from dataclasses import dataclass

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels


@dataclass(frozen=True, slots=True)
class TrackedObject:
    track_id: int
    label: str
    confidence: float
    box: Box

    @property
    def anchor(self) -> tuple[float, float]:
        """Bottom centre of the box: where feet and wheels touch the ground the line is drawn on."""
        x1, _, x2, y2 = self.box
        return ((x1 + x2) / 2.0, y2)
