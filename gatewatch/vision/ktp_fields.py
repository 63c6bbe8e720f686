"""The fields of an Indonesian identity card (KTP) in the text boxes the OCR found on its photo.

A KTP is a form: a header (``PROVINSI ...``, then ``KABUPATEN ...`` or ``KOTA ...``), then one
row per field, a label, a colon and the value: ``NIK : 3174...``, ``Nama : ...``,
``Tempat/Tgl Lahir : JAKARTA, 12-03-1985``, ``Jenis Kelamin : PEREMPUAN``, ``Alamat : ...``,
``RT/RW``, ``Kel/Desa``, ``Kecamatan``... The OCR returns boxes of text, a label and its value
in one box or in several: boxes are gathered into rows by their height on the card, each row is
read left to right, and the rows are matched by their label.

Only what was read is given, never a correction: the NIK is the text after its label with its
spaces taken out, digits or not. Whether it is a plausible NIK is decided above this layer
(``gatewatch.visitors.ktp_check``), which knows the NIK's structure. Pure Python: no OCR here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

Point = tuple[float, float]


@dataclass(frozen=True)
class TextBox:
    """One line of text the OCR read: its text, the recogniser's score (0..1) and its corners
    (top left, top right, bottom right, bottom left, in the photo's pixels: a slanted line's
    box is slanted)."""

    text: str
    score: float
    corners: tuple[Point, Point, Point, Point]

    @property
    def left(self) -> Point:
        """The middle of the left edge."""
        (x1, y1), (x2, y2) = self.corners[0], self.corners[3]
        return (x1 + x2) / 2, (y1 + y2) / 2

    @property
    def right(self) -> Point:
        """The middle of the right edge."""
        (x1, y1), (x2, y2) = self.corners[1], self.corners[2]
        return (x1 + x2) / 2, (y1 + y2) / 2

    @property
    def height(self) -> float:
        """The text's height: the mean length of the left and right edges."""
        (ax, ay), (bx, by), (cx, cy), (dx, dy) = self.corners
        return (((dx - ax) ** 2 + (dy - ay) ** 2) ** 0.5 + ((cx - bx) ** 2 + (cy - by) ** 2) ** 0.5) / 2

    def height_at(self, x: float) -> float:
        """Where the line's middle is at ``x``, continued beyond its ends."""
        (x1, y1), (x2, y2) = self.left, self.right
        return y1 if x2 == x1 else y1 + (y2 - y1) * (x - x1) / (x2 - x1)


@dataclass(frozen=True)
class KtpFields:
    """What was read on a card; None for a field not found."""

    nik_text: str | None  # the NIK row's value without spaces, as read: not checked
    nik_score: float  # the lowest recogniser score among the NIK value's boxes
    name: str | None
    birth_place: str | None
    birth_date: date | None  # only a date that exists
    female: bool | None  # from "Jenis Kelamin": PEREMPUAN True, LAKI-LAKI False
    province: str | None  # the header's "PROVINSI ..." without the word
    regency: str | None  # the header's "KABUPATEN ..." or "KOTA ...", as printed
    address: str | None  # "Alamat", then RT/RW, Kel/Desa, Kecamatan joined with commas


#: Boxes whose vertical centres are this close (in box heights) are on one row.
_ROW_TOLERANCE = 0.5
#: Labels as the OCR spells them: ``I`` read as ``1`` or ``l``, spaces lost or added.
_LABELS = {
    "nik": r"N\s*[I1lL|]\s*K",
    "name": r"Nama",
    "birth": r"Tempat\s*/?\s*T[gq]l\.?\s*Lahir",
    "sex": r"Jenis\s*Kelamin",
    "address": r"Alamat",
    "rt_rw": r"RT\s*/\s*RW",
    "village": r"Kel\s*/?\s*Desa",
    "district": r"Kecamatan",
}
_LABEL_ROW = {key: re.compile(rf"^\s*{label}\b\s*[:;.：]?\s*(?P<value>.*)$", re.IGNORECASE)
              for key, label in _LABELS.items()}
_PROVINCE = re.compile(r"^\s*PROVINSI\s+(?P<value>.+)$", re.IGNORECASE)
_REGENCY = re.compile(r"^\s*(?P<value>(?:KABUPATEN|KOTA)\s+.+)$", re.IGNORECASE)
_BIRTH = re.compile(r"^(?P<place>.*?)[,.，\s]*(?P<day>\d{2})\s*[-–—.]\s*(?P<month>\d{2})\s*[-–—.]\s*(?P<year>\d{4})\s*$")
#: Punctuation the OCR may put before a value: the colon read as another mark, or full-width (the
#: recogniser's models were trained on Chinese text too).
_LEADING = re.compile(r"^[\s:;.,|'\"`：；，]+")


def card_fields(boxes: Sequence[TextBox]) -> KtpFields:
    """The fields of the card whose text boxes are ``boxes``."""
    rows = [_row_text(row) for row in text_rows(boxes)]
    values: dict[str, tuple[str, float]] = {}
    province = regency = None
    for text, score in rows:
        if province is None and (match := _PROVINCE.match(text)):
            province = _clean(match["value"])
            continue
        if regency is None and (match := _REGENCY.match(text)):
            regency = _clean(match["value"])
            continue
        for key, pattern in _LABEL_ROW.items():
            if key not in values and (match := pattern.match(text)):
                values[key] = (_clean(match["value"]), score)
                break
    nik = values.get("nik")
    place, born = _birth(values["birth"][0]) if "birth" in values else (None, None)
    return KtpFields(
        nik_text="".join(nik[0].split()) or None if nik else None,
        nik_score=nik[1] if nik else 0.0,
        name=_value(values, "name"),
        birth_place=place,
        birth_date=born,
        female=_female(_value(values, "sex")),
        province=province,
        regency=regency,
        address=", ".join(part for key in ("address", "rt_rw", "village", "district")
                          if (part := _value(values, key))) or None,
    )


def text_rows(boxes: Sequence[TextBox]) -> list[list[TextBox]]:
    """The boxes gathered into rows, top to bottom, each row left to right.

    Boxes are taken left to right; one joins the row whose last box's line, continued to its
    left edge, passes within ``_ROW_TOLERANCE`` of the smaller text height of its left edge's
    middle. A photo taken at a slant tilts the rows, and a slanted box's upright bounds would
    reach into the next row: the line's direction keeps them apart.
    """
    rows: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda item: item.left[0]):
        x, y = box.left
        best, distance = None, float("inf")
        for row in rows:
            last = row[-1]
            gap = abs(last.height_at(x) - y)
            if gap <= _ROW_TOLERANCE * min(box.height, last.height) and gap < distance:
                best, distance = row, gap
        if best is None:
            rows.append([box])
        else:
            best.append(box)
    return sorted(rows, key=lambda row: row[0].left[1])


def _row_text(row: Sequence[TextBox]) -> tuple[str, float]:
    """A row's text, its boxes joined by spaces, and the lowest score after its first box (the
    label's); a row of one box has that box's score."""
    scores = [box.score for box in row]
    return " ".join(box.text.strip() for box in row), min(scores[1:] or scores)


def _clean(value: str) -> str:
    return " ".join(_LEADING.sub("", value).split())


def _value(values: dict[str, tuple[str, float]], key: str) -> str | None:
    return values[key][0] or None if key in values else None


def _birth(value: str) -> tuple[str | None, date | None]:
    """Place and date of ``JAKARTA, 12-03-1985``; a date that does not exist is not given."""
    match = _BIRTH.match(value)
    if match is None:
        return (value or None), None
    try:
        born = date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        born = None
    return (_clean(match["place"]).rstrip(",") or None), born


def _female(value: str | None) -> bool | None:
    text = (value or "").upper()
    if text.startswith("PEREMPUAN"):
        return True
    if text.startswith("LAKI"):
        return False
    return None
