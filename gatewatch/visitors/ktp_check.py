"""What a KTP scan may put in the guard's form: a NIK only when everything read agrees with it.

The rule is never to guess. A NIK misread by one digit is another person's number, and the
guard, trusting the scan, checks it less than one typed by hand. So the NIK read on the card is
given only when:

* it is 16 digits exactly, as read: no letter is turned into a digit (``O`` into ``0``, ``I``
  into ``1``, ``B`` into ``8``...). The NIK has no check digit, so nothing could verify such a
  change: a letter means the recogniser was unsure there, and the number is unreadable;
* it passes the visitor log's own check (``visits.validate_nik``): a province code, a birth day
  (plus 40 for women) and month, a serial number that is not 0000;
* its digits 7-12 (DDMMYY) are a date that exists (no 31 April);
* the recogniser was confident of it (``MIN_NIK_SCORE``);
* and it agrees with the rest of the card when that was read: the birth date printed on the
  card has the same day, month and the year's last two digits, and "Jenis Kelamin" says
  PEREMPUAN exactly when the day has 40 added.

Otherwise the scan says the NIK is unreadable and why, and the guard types it. The name, birth
place and date and the region are given as read, for the guard to compare with the card.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from gatewatch.vision.ktp_fields import KtpFields
from gatewatch.visitors.visits import validate_nik

#: The recogniser's score under which a NIK is not trusted, whatever its digits.
MIN_NIK_SCORE = 0.9
#: Added to the birth day in a woman's NIK.
FEMALE_DAY_OFFSET = 40


@dataclass(frozen=True)
class KtpScan:
    """A scan's answer for the form: ``nik`` None when unreadable, with ``nik_problem`` saying why."""

    nik: str | None
    nik_problem: str | None
    name: str | None
    birth_place: str | None
    birth_date: str | None  # ISO date as printed on the card
    province: str | None
    regency: str | None
    address: str | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def checked_scan(fields: KtpFields) -> KtpScan:
    """The scan of a card whose fields were read as ``fields``: its NIK only if it passes every check."""
    problem = nik_problem(fields)
    return KtpScan(
        nik=fields.nik_text if problem is None else None,
        nik_problem=problem,
        name=fields.name,
        birth_place=fields.birth_place,
        birth_date=fields.birth_date.isoformat() if fields.birth_date else None,
        province=fields.province,
        regency=fields.regency,
        address=fields.address,
    )


def nik_problem(fields: KtpFields) -> str | None:
    """Why the NIK read on the card cannot be given; None when it passes every check."""
    text = fields.nik_text
    if not text:
        return "no NIK found on the card"
    if not (len(text) == 16 and text.isascii() and text.isdigit()):
        return "the NIK was not read as 16 digits"
    try:
        validate_nik(text)
    except ValueError as error:
        return str(error)
    born = nik_birth(text)
    if born is None:
        return f"NIK digits 7-12 ({text[6:12]}) are not a date"
    if fields.nik_score < MIN_NIK_SCORE:
        return "the NIK was read without confidence"
    day, month, year, female = born
    printed = fields.birth_date
    if printed is not None and (printed.day, printed.month, printed.year % 100) != (day, month, year):
        return "the NIK does not match the birth date on the card"
    if fields.female is not None and fields.female != female:
        return "the NIK does not match the sex on the card"
    return None


def nik_birth(nik: str) -> tuple[int, int, int, bool] | None:
    """(day, month, two-digit year, female) of a NIK's digits 7-12; None when no such date exists
    in either century (29 February needs a leap year in one of them)."""
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    female = day > FEMALE_DAY_OFFSET
    if female:
        day -= FEMALE_DAY_OFFSET
    for century in (1900, 2000):
        try:
            date(century + year, month, day)
        except ValueError:
            continue
        return day, month, year, female
    return None
