"""Camera tampering: whether a camera's picture still shows the scene of its reference picture.

A gate camera that stops seeing the gate is an open gate: someone who covers it, turns it away
or twists its focus ring walks in unrecorded. Each camera keeps a reference picture of its scene,
learned from its first ``learn_seconds`` of frames as the median of ``LEARN_FRAMES`` small grey
pictures (a person walking past is in few of them, so not in the median). Every ``check_seconds``
one small grey picture is compared with it (``Frame.grey(GREY_SIZE)`` and the check take about
0.5 ms of CPU each, on the busy 2-core bench box: a thousandth of a core at one check a second),
four ways:

* contrast: the standard deviation of its grey levels over the reference's. A covered lens, a
  camera in the dark or one blinded by a lamp sees a flat picture: *covered*;
* shift: phase correlation of the picture with the reference. A camera turned a little sees the
  same scene displaced: *moved*, when by more than ``max_shift`` of the picture;
* sharpness: the variance of the Laplacian, over the reference's. A lens out of focus, fogged or
  smeared keeps the scene's layout (its coarse likeness, the correlation of 32x18 thumbnails, stays
  high) but loses its fine edges: *blurred*;
* edges: the share of the reference's edges around the gate line that are still there, after
  the shift found above is undone. A camera turned away from the gate, or something put in front
  of it, leaves few of them: *moved*.

Sharpness, edges and shift are measured on pictures brought to the same mean and contrast, and
every picture is grey: a camera switching to infrared at dusk changes its brightness and colours
but not where the edges of the gate, the kerb and the walls are, so it raises nothing; brightness
alone never raises anything. A night too dark for any detail is another matter: that camera does
not see the gate, and it is reported as covered or dark.

``TamperDetector`` turns the checks into episodes: a camera is tampered with once every check
for ``hold_seconds`` in a row finds the picture wrong (a person or a lorry close to the camera
passes quicker), reported once; it is back once every check for ``clear_seconds`` in a row finds
it right. Times are the frames' own, so a stored file is judged in footage time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np

from gatewatch.settings import GateSettings, TamperSettings

#: Size (width, height) of the grey pictures compared: detail enough for focus, cheap to check.
GREY_SIZE = (256, 144)
#: Frames, spread over ``learn_seconds``, whose median is the reference picture.
LEARN_FRAMES = 9
#: Half-width of the gate area whose edges are compared, as a fraction of the picture's height.
GATE_MARGIN = 0.25
#: Coarse likeness (correlation of thumbnails) above which a picture that lost its sharpness still
#: shows the reference's scene: it is blurred, not turned away.
SAME_SCENE = 0.5
#: Phase correlation response below which no shift is trusted (a different scene gives ~0.05).
SHIFT_RESPONSE = 0.08
#: Standard deviation, in grey levels, a picture is brought to before edges and sharpness are measured.
SPREAD = 40.0
#: Canny thresholds on such a picture: the edges of fixed things, not of noise.
EDGE_LOW, EDGE_HIGH = 60, 120
#: A reference with less contrast than this, or fewer gate-area edge pixels, shows no scene to keep.
MIN_REFERENCE_CONTRAST = 4.0
MIN_REFERENCE_EDGES = 40
#: Pixels around the gate area that edges are also looked for in, so a small shift can be undone.
_PAD = 16
_THUMBNAIL = (32, 18)
_NEAR = np.ones((3, 3), np.uint8)  # an edge within a pixel of where it was still counts

COVERED, BLURRED, MOVED = "covered", "blurred", "moved"


def _normalised(grey: np.ndarray) -> np.ndarray:
    """``grey`` brought to mean 128 and standard deviation ``SPREAD``: brightness no longer counts."""
    mean, std = cv2.meanStdDev(grey)
    scale = SPREAD / max(float(std[0, 0]), 1.0)
    return np.clip((grey.astype(np.float32) - float(mean[0, 0])) * scale + 128.0, 0, 255).astype(np.uint8)


def _sharpness(normalised: np.ndarray) -> float:
    """Variance of the Laplacian: high where fine edges are sharp."""
    _, std = cv2.meanStdDev(cv2.Laplacian(normalised, cv2.CV_16S))
    return float(std[0, 0]) ** 2


def _half(normalised: np.ndarray) -> np.ndarray:
    """Half the size, as floats: phase correlation there costs a fifth and finds shifts to 2 pixels."""
    height, width = normalised.shape
    return cv2.resize(normalised, (width // 2, height // 2), interpolation=cv2.INTER_AREA).astype(np.float32)


def gate_area(gate: GateSettings, size: tuple[int, int] = GREY_SIZE) -> np.ndarray:
    """A mask (uint8, 0/1) of the pixels within ``GATE_MARGIN`` of the gate line, at ``size``."""
    width, height = size
    (ax, ay), (bx, by) = gate.line
    mask = np.zeros((height, width), np.uint8)
    thickness = max(1, round(2 * GATE_MARGIN * height))
    cv2.line(mask, (round(ax * (width - 1)), round(ay * (height - 1))),
             (round(bx * (width - 1)), round(by * (height - 1))), 1, thickness)
    return mask


def _around(area: np.ndarray) -> tuple[slice, slice]:
    """The rows and columns of the bounding box of ``area``'s pixels, ``_PAD`` pixels larger."""
    rows, cols = np.nonzero(area)
    height, width = area.shape
    return (slice(max(0, int(rows.min()) - _PAD), min(height, int(rows.max()) + 1 + _PAD)),
            slice(max(0, int(cols.min()) - _PAD), min(width, int(cols.max()) + 1 + _PAD)))


class Reference:
    """The picture of the scene as it should look, with what the checks compare against."""

    def __init__(self, picture: np.ndarray, area: np.ndarray) -> None:
        self.picture = picture
        normalised = _normalised(picture)
        self.contrast = float(cv2.meanStdDev(picture)[1][0, 0])
        self.sharpness = _sharpness(normalised)
        self.crop = _around(area)  # edges are only looked for here: Canny is the costliest step
        self.edges = cv2.Canny(normalised[self.crop], EDGE_LOW, EDGE_HIGH) & (area[self.crop] * 255)
        self.edge_count = int(np.count_nonzero(self.edges))
        self.half = _half(normalised)
        self.thumbnail = cv2.resize(normalised, _THUMBNAIL, interpolation=cv2.INTER_AREA)
        self.window = cv2.createHanningWindow(self.half.shape[::-1], cv2.CV_32F)

    @property
    def usable(self) -> bool:
        """Whether it shows a scene at all (not learned from a covered or black camera)."""
        return self.contrast >= MIN_REFERENCE_CONTRAST and self.edge_count >= MIN_REFERENCE_EDGES


def learn(pictures: list[np.ndarray]) -> np.ndarray:
    """The reference picture of ``pictures`` of one scene: their median, pixel by pixel."""
    return np.median(np.stack(pictures), axis=0).astype(np.uint8)


@dataclass(frozen=True, slots=True)
class Checks:
    """How a picture compares with its reference; ratios are the picture's over the reference's."""

    brightness: float  # mean grey level, 0..255
    contrast: float  # standard deviation of the grey levels, as a ratio
    sharpness: float  # variance of the Laplacian, as a ratio
    edges: float  # share of the reference's gate-area edges found (within a pixel), shift undone
    shift_x: float  # how far the scene moved, as a fraction of the picture's width (+: right)
    shift_y: float  # ... and of its height (+: down)
    likeness: float  # correlation of 32x18 thumbnails, -1..1

    @property
    def shift(self) -> float:
        return max(abs(self.shift_x), abs(self.shift_y))

    def figures(self) -> dict[str, float]:
        """The checks rounded, for the audit trail."""
        return {name: round(float(getattr(self, name)), 3) for name in self.__dataclass_fields__}


def measure(reference: Reference, grey: np.ndarray) -> Checks:
    """Compare ``grey`` (a picture at the reference's size) with ``reference``."""
    mean, std = cv2.meanStdDev(grey)
    normalised = _normalised(grey)
    (dx, dy), response = cv2.phaseCorrelate(reference.half, _half(normalised), reference.window)
    dx, dy = (0.0, 0.0) if response < SHIFT_RESPONSE else (2 * dx, 2 * dy)
    edges = cv2.dilate(cv2.Canny(normalised[reference.crop], EDGE_LOW, EDGE_HIGH), _NEAR)
    if dx or dy:  # undo the shift, so a camera that only wobbles keeps its edges
        back = np.float32([[1, 0, -dx], [0, 1, -dy]])
        edges = cv2.warpAffine(edges, back, edges.shape[::-1], flags=cv2.INTER_NEAREST)
    found = np.count_nonzero(edges & reference.edges)
    thumbnail = cv2.resize(normalised, _THUMBNAIL, interpolation=cv2.INTER_AREA)
    likeness = float(cv2.matchTemplate(thumbnail, reference.thumbnail, cv2.TM_CCOEFF_NORMED)[0, 0])
    height, width = grey.shape
    return Checks(
        brightness=float(mean[0, 0]),
        contrast=float(std[0, 0]) / max(reference.contrast, 1e-6),
        sharpness=_sharpness(normalised) / max(reference.sharpness, 1e-6),
        edges=found / max(reference.edge_count, 1),
        shift_x=dx / width, shift_y=dy / height, likeness=likeness,
    )


def judge(checks: Checks, settings: TamperSettings) -> str | None:
    """What is wrong with the picture (COVERED, MOVED, BLURRED), or None when it shows its scene."""
    if checks.contrast < settings.min_contrast:
        return COVERED
    if checks.shift > settings.max_shift:
        return MOVED
    if checks.sharpness < settings.min_sharpness:
        return BLURRED if checks.likeness >= SAME_SCENE else MOVED
    if checks.edges < settings.min_edges:
        return MOVED
    return None


def describe(cause: str, checks: Checks) -> str:
    """``cause`` in plain words, with the figures that show it."""
    if cause == COVERED:
        return (f"covered or dark: the picture has lost its detail (contrast {checks.contrast:.0%} of the "
                f"reference's, brightness {checks.brightness:.0f} of 255)")
    if cause == BLURRED:
        return (f"blurred or out of focus: sharpness {checks.sharpness:.0%} of the reference's, though the "
                f"scene is still in view")
    if checks.shift:
        return (f"moved: the scene has shifted by {checks.shift_x:+.0%} of the picture's width and "
                f"{checks.shift_y:+.0%} of its height; the gate may be out of view")
    return (f"moved or blocked: only {checks.edges:.0%} of the edges around the gate line are where the "
            f"reference has them; the camera may be turned away from the gate, or something blocks its view")


@dataclass(frozen=True, slots=True)
class Change:
    """A tamper episode began (``tampered``) or ended; ``seconds``: how long the condition held."""

    tampered: bool
    cause: str | None
    note: str
    checks: Checks
    seconds: float


class TamperDetector:
    """Learns a camera's reference picture, then checks it every ``check_seconds`` and reports episodes.

    ``reference``: a picture learned before (kept by the caller), None to learn one from the first
    frames; ``tampered``: whether an episode is open already (reported before a restart).
    """

    def __init__(self, settings: TamperSettings, gate: GateSettings, reference: np.ndarray | None = None,
                 *, tampered: bool = False) -> None:
        self.settings = settings
        self.area = gate_area(gate)
        self.reference: Reference | None = None
        if reference is not None and reference.shape == self.area.shape:
            self.reference = Reference(reference, self.area)
        self.tampered = tampered
        self.last: Checks | None = None  # the latest check's figures
        self._samples: list[np.ndarray] = []
        self._next = float("-inf")  # time of the next picture wanted
        self._streak: list[tuple[float, str | None, Checks]] = []  # checks since the state last held

    @property
    def learning(self) -> bool:
        return self.reference is None

    def relearn(self) -> None:
        """Forget the reference: the next frames teach a new one (the camera was re-aimed on purpose)."""
        self.reference, self._samples, self._next, self._streak = None, [], float("-inf"), []

    def wants(self, moment: float) -> bool:
        """Whether the frame at ``moment`` (seconds) is to be looked at: most frames are not.

        A clock set back by more than a minute does not stop the checks until it catches up.
        """
        return moment >= self._next or self._next - moment > 60.0

    def look(self, moment: float, grey: np.ndarray) -> Change | None:
        """Take the picture of the frame at ``moment``, at ``GREY_SIZE``; a Change when an episode starts or ends."""
        if self.reference is None:
            self._sample(moment, grey)
            return None
        self._next = moment + self.settings.check_seconds
        checks = self.last = measure(self.reference, grey)
        cause = judge(checks, self.settings)
        if (cause is not None) != self.tampered:
            self._streak.append((moment, cause, checks))
        else:
            self._streak.clear()
        return self._change(moment)

    def _sample(self, moment: float, grey: np.ndarray) -> None:
        self._samples.append(grey.copy())
        self._next = moment + self.settings.learn_seconds / (LEARN_FRAMES - 1)
        if len(self._samples) < LEARN_FRAMES:
            return
        reference = Reference(learn(self._samples), self.area)
        self._samples = []
        if reference.usable:
            self.reference = reference
            self._next = moment + self.settings.check_seconds

    def _change(self, moment: float) -> Change | None:
        if not self._streak:
            return None
        held = moment - self._streak[0][0]
        if held < (self.settings.clear_seconds if self.tampered else self.settings.hold_seconds):
            return None
        streak, self._streak = self._streak, []
        self.tampered = not self.tampered
        if not self.tampered:
            return Change(False, None, "the picture shows its scene again", streak[-1][2], round(held, 1))
        cause = Counter(c for _, c, _ in streak).most_common(1)[0][0]
        checks = next(checks for _, c, checks in reversed(streak) if c == cause)
        return Change(True, cause, describe(cause, checks), checks, round(held, 1))
