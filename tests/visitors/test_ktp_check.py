"""A KTP scan gives a NIK only when every check passes: read as 16 digits, plausible, confident, and in
agreement with the birth date and sex printed on the card. Never a corrected or guessed one."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from gatewatch.vision.ktp_fields import KtpFields
from gatewatch.visitors.ktp_check import checked_scan, nik_birth, nik_problem

#: A woman born on 12 March 1985 in South Jakarta (day 12 + 40).
NIK = "3174055203850001"
READ = KtpFields(nik_text=NIK, nik_score=0.99, name="SITI RAHAYU", birth_place="JAKARTA",
                 birth_date=date(1985, 3, 12), female=True, province="DKI JAKARTA",
                 regency="KOTA JAKARTA SELATAN", address="JL. MELATI NO. 12")


def test_a_nik_that_agrees_with_the_card_is_given() -> None:
    scan = checked_scan(READ)

    assert (scan.nik, scan.nik_problem) == (NIK, None)
    assert scan.as_json()["birth_date"] == "1985-03-12"
    assert scan.name == "SITI RAHAYU"


def test_without_the_birth_date_and_sex_read_the_nik_alone_decides() -> None:
    assert checked_scan(dataclasses.replace(READ, birth_date=None, female=None)).nik == NIK


@pytest.mark.parametrize(
    ("nik_text", "score", "problem"),
    [
        (None, 0.99, "no NIK found"),
        ("31740552O3850001", 0.99, "not read as 16 digits"),  # an O is not turned into 0
        ("317405520385001", 0.99, "not read as 16 digits"),
        ("3174055203850001", 0.5, "without confidence"),
        ("9974055203850001", 0.99, "province code"),
        ("3174057103850001", 0.99, "birth date on the card"),  # day 31 (71 - 40): a date, not hers
        ("3174053104850001", 0.99, "not a date"),  # 31 April
        ("3174051203850001", 0.99, "sex on the card"),  # a man's day: the card says PEREMPUAN
        ("3174055203860001", 0.99, "birth date on the card"),  # 1986
        ("3174055203850000", 0.99, "serial number"),
    ],
)
def test_a_nik_failing_any_check_is_unreadable(nik_text: str | None, score: float, problem: str) -> None:
    scan = checked_scan(dataclasses.replace(READ, nik_text=nik_text, nik_score=score))

    assert scan.nik is None
    assert problem in (scan.nik_problem or "")
    assert scan.name == "SITI RAHAYU"  # the rest is still given for the guard to check


def test_the_birth_day_of_a_nik() -> None:
    assert nik_birth("3174055203850001") == (12, 3, 85, True)
    assert nik_birth("3174052902000001") == (29, 2, 0, False)  # 2000 was a leap year
    assert nik_birth("3174052902010001") is None
    assert nik_problem(dataclasses.replace(READ, nik_text="3174052902000001", birth_date=None, female=None)) is None
