"""Indonesian number plates: parsing typed and OCR text, display form, confusion-tolerant matching.

A plate (TNKB) is a region code of one or two letters, one to four digits and up to three
letters: ``BG 1234 AB``. Pure: no vision libraries and no database, so the web app and the
vision code alike can use it (``gatewatch.models.sql.plate_key_sql`` is ``match_key`` in SQL).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import product

#: Region codes of Indonesian civilian plates, compiled from the TNKB code table kept by
#: Korlantas Polri (as listed on Indonesian Wikipedia, "Tanda nomor kendaraan bermotor
#: Indonesia"). Left out: the codes of the Papua provinces formed in 2022, which were not
#: confirmed when this list was written, and the special series (RI, CD/CC, military, police),
#: which do not follow the region-number-letters form.
REGION_CODES: frozenset[str] = frozenset((
    # Java
    "A", "B", "D", "E", "F", "G", "H", "K", "L", "M", "N", "P", "R", "S", "T", "W", "Z",
    "AA", "AB", "AD", "AE", "AG",
    # Sumatra
    "BA", "BB", "BD", "BE", "BG", "BH", "BK", "BL", "BM", "BN", "BP",
    # Bali and Nusa Tenggara
    "DK", "DR", "EA", "DH", "EB", "ED",
    # Kalimantan
    "DA", "KB", "KH", "KT", "KU",
    # Sulawesi
    "DB", "DC", "DD", "DL", "DM", "DN", "DP", "DT", "DW",
    # Maluku and Papua
    "DE", "DG", "DS", "PA", "PB",
))

#: What OCR confuses, in the direction a position needs: a letter where a digit belongs and back.
_TO_DIGIT = {"O": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "L": "1", "J": "1", "T": "7",
             "B": "8", "S": "5", "Z": "2", "G": "6", "A": "4"}
_TO_LETTER = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G", "4": "A", "7": "T"}
#: The confusions of look-alike glyphs; the others in the tables above are less likely, so cost more.
LOOK_ALIKES = {"O": "0", "I": "1", "B": "8", "S": "5", "Z": "2"}
_LOOK_ALIKE = str.maketrans(LOOK_ALIKES)
_LOOK_ALIKE_SWAP_COST, _OTHER_SWAP_COST = 0.3, 1.0
#: OCR spaces are hints: a parse that puts its gaps elsewhere costs this per disagreement.
_HINT_COST = 0.5
#: Characters read off the plate's border or screws; a stray one costs little to leave out.
_BORDER_JUNK = frozenset({"I", "1", "L", "J"})
_BORDER_JUNK_COST = 0.4
#: Most consecutive OCR words a plate is read as ("BG", "1234", "AB").
_MAX_WORDS = 3
#: A reading that costs more than this is a guess, not a plate.
_MAX_COST = 2.0

#: Look-alikes of Latin capitals that the OCR model's large alphabet holds and NFKC leaves alone.
_LATIN = str.maketrans({"×": "X", "〇": "O"})
_EXPIRY = re.compile(r"\b\d{2}\s*[.,:]\s*\d{2}\b")  # the "09.27" row under the number
_NOT_ALPHANUMERIC = re.compile(r"[^A-Z0-9]+")
_TYPED_SEPARATORS = re.compile(r"[\s.\-]+")
_TYPED = re.compile(r"([A-Z]{1,2})([0-9]{1,4})([A-Z]{0,3})")


@dataclass(frozen=True)
class Plate:
    region: str
    number: str
    suffix: str

    def __str__(self) -> str:
        return " ".join(part for part in (self.region, self.number, self.suffix) if part)


def parse_typed_plate(text: str) -> Plate | None:
    """A plate as a person types it ("bg-1234-ab", "B.1.A"), taken literally: no confusion is fixed.

    Only spaces, dots and dashes may separate the parts; None if the rest is not a plate.
    """
    match = _TYPED.fullmatch(_TYPED_SEPARATORS.sub("", text).upper())
    if match is None or match[1] not in REGION_CODES:
        return None
    return Plate(*match.groups())


def normalise_plate(text: str) -> str:
    """A plate as a person types it ("bg-1234-ab") in display form, "BG 1234 AB".

    Taken literally, as ``parse_typed_plate`` takes it; raises ValueError when it is no plate.
    """
    plate = parse_typed_plate(text)
    if plate is None:
        shown = text if len(text) <= 20 else f"{text[:20]}..."
        raise ValueError(
            f"{shown!r} is not an Indonesian number plate: expected a region code (1-2 letters), "
            "1-4 digits and up to 3 letters, such as B 1234 XYZ"
        )
    return str(plate)


def parse_plate(text: str) -> Plate | None:
    """The most likely plate in OCR or typed text, with confusions fixed by position; None if none."""
    parsed = parse_plate_with_cost(text)
    return parsed[0] if parsed else None


def parse_plate_with_cost(text: str) -> tuple[Plate, int] | None:
    """The most likely plate in ``text`` and how many characters had to be swapped to get it.

    Letters are expected in the region and suffix, digits in the number; a character of the
    other kind is swapped through the OCR confusion tables (0/O, 1/I, 8/B, 5/S, 2/Z, ...).
    Words around the plate (border marks, the expiry row) may be left out. Of all readings with
    a known region code the cheapest wins: swaps of look-alike glyphs are cheap, other swaps,
    words left out and gaps that disagree with the text's spaces cost more; None if even the
    cheapest costs more than two unlikely swaps.
    """
    latin = unicodedata.normalize("NFKC", text).translate(_LATIN).upper()  # full-width "Ｂ" is "B"
    words = _NOT_ALPHANUMERIC.sub(" ", _EXPIRY.sub(" ", latin)).split()
    best: tuple[float, Plate, int] | None = None
    for first in range(len(words)):
        for last in range(first + 1, min(len(words), first + _MAX_WORDS) + 1):
            left_out = sum(map(_left_out_cost, words[:first] + words[last:]))
            for cost, plate, swaps in _readings(words[first:last]):
                if left_out + cost <= _MAX_COST and (best is None or left_out + cost < best[0]):
                    best = (left_out + cost, plate, swaps)
    return (best[1], best[2]) if best else None


def _left_out_cost(word: str) -> float:
    return _BORDER_JUNK_COST if word in _BORDER_JUNK else float(len(word))


def _readings(words: list[str]) -> list[tuple[float, Plate, int]]:
    """Every (cost, plate, swaps) the joined ``words`` can be read as."""
    text = "".join(words)
    gaps = {sum(map(len, words[:i])) for i in range(1, len(words))}
    readings = []
    for region_len, number_len in product((1, 2), (1, 2, 3, 4)):
        if not 0 <= len(text) - region_len - number_len <= 3:
            continue
        fixed = _fix_kinds(text, region_len, number_len)
        if fixed is None:
            continue
        chars, cost, swaps = fixed
        plate = Plate(chars[:region_len], chars[region_len:region_len + number_len],
                      chars[region_len + number_len:])
        if plate.region not in REGION_CODES:
            continue
        cost += _HINT_COST * len(gaps ^ ({region_len, region_len + number_len} - {len(text)}))
        readings.append((cost, plate, swaps))
    return readings


def _fix_kinds(text: str, region_len: int, number_len: int) -> tuple[str, float, int] | None:
    """``text`` with digits in the number and letters elsewhere, the cost and count of swaps."""
    chars, cost, swaps = [], 0.0, 0
    for i, char in enumerate(text):
        want_digit = region_len <= i < region_len + number_len
        if char.isdigit() != want_digit:
            swapped = (_TO_DIGIT if want_digit else _TO_LETTER).get(char)
            if swapped is None:
                return None
            look_alike = char.translate(_LOOK_ALIKE) == swapped.translate(_LOOK_ALIKE)
            cost += _LOOK_ALIKE_SWAP_COST if look_alike else _OTHER_SWAP_COST
            swaps += 1
            char = swapped
        chars.append(char)
    return "".join(chars), cost, swaps


def match_key(text: str) -> str:
    """A key that is equal for two spellings of one plate, whatever look-alike glyphs OCR chose.

    Capitals without spaces or punctuation, with O, I, B, S and Z mapped to 0, 1, 8, 5 and 2.
    """
    return _NOT_ALPHANUMERIC.sub("", text.upper()).translate(_LOOK_ALIKE)


def plates_match(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` (typed or read) name the same plate, up to look-alike glyphs."""
    return key_matches(match_key(a), b)


def key_matches(key: str, plate: str | None) -> bool:
    """``plates_match`` of the plate whose ``match_key`` is ``key`` and ``plate``: the key worked out once."""
    return bool(key and plate) and key == match_key(plate)
