"""The fields of a KTP made of the OCR's text boxes: rows gathered by height, labels matched as OCR spells them."""

from __future__ import annotations

from datetime import date

from gatewatch.vision.ktp_fields import TextBox, card_fields, text_rows


def _row(y: float, *parts: str, score: float = 0.98, slope: float = 0.0) -> list[TextBox]:
    """Boxes of one printed row at height ``y``, left to right, each 30 px high; ``slope``: px down per box."""
    return [_box(text, score, 40 + 300 * i, y + slope * i, 250, 30, slope / 300) for i, text in enumerate(parts)]


def _box(text: str, score: float, x: float, y: float, width: float, height: float, tilt: float) -> TextBox:
    """A box whose top left corner is at x, y, going down ``tilt`` px per px to the right."""
    return TextBox(text, score, ((x, y), (x + width, y + tilt * width), (x + width, y + tilt * width + height),
                                 (x, y + height)))


CARD = [
    *_row(20, "PROVINSI DKI JAKARTA"),
    *_row(60, "KOTA JAKARTA SELATAN"),
    *_row(110, "NIK", ": 3174055203850001", slope=8),
    *_row(160, "Nama", ":SITI RAHAYU"),
    *_row(200, "Tempat/Tgl Lahir", ": JAKARTA, 12-03-1985"),
    *_row(240, "Jenis Kelamin", ": PEREMPUAN", "Gol. Darah : O"),
    *_row(280, "Alamat", ": JL. MELATI NO. 12"),
    *_row(320, "RT/RW", ": 003/007"),
    *_row(360, "Kel/Desa", ": CIPETE UTARA"),
    *_row(400, "Kecamatan", ": KEBAYORAN BARU"),
]


def test_every_field_of_a_card_is_read_from_its_rows() -> None:
    fields = card_fields(list(reversed(CARD)))  # the OCR's order does not matter

    assert fields.nik_text == "3174055203850001"
    assert fields.name == "SITI RAHAYU"
    assert (fields.birth_place, fields.birth_date) == ("JAKARTA", date(1985, 3, 12))
    assert fields.female is True
    assert (fields.province, fields.regency) == ("DKI JAKARTA", "KOTA JAKARTA SELATAN")
    assert fields.address == "JL. MELATI NO. 12, 003/007, CIPETE UTARA, KEBAYORAN BARU"
    assert fields.nik_score == 0.98


def test_a_label_and_its_value_in_one_box_and_the_label_misread() -> None:
    fields = card_fields([*_row(100, "NlK : 3174 0552 0385 0001", score=0.95), *_row(140, "NAMA: BUDI")])

    assert fields.nik_text == "3174055203850001"  # spaces taken out, nothing else changed
    assert fields.name == "BUDI"
    assert fields.nik_score == 0.95


def test_what_is_read_is_given_as_read_never_corrected() -> None:
    fields = card_fields(_row(100, "NIK", ": 31740552O385OOO1", score=0.7))

    assert fields.nik_text == "31740552O385OOO1"
    assert fields.nik_score == 0.7
    assert fields.birth_date is None and fields.name is None and fields.female is None


def test_a_birth_date_that_does_not_exist_is_not_given() -> None:
    fields = card_fields(_row(100, "Tempat/Tgl Lahir", ": BANDUNG, 31-04-1990"))

    assert (fields.birth_place, fields.birth_date) == ("BANDUNG", None)


def test_rows_keep_apart_even_when_close() -> None:
    rows = text_rows([*_row(100, "a", "b"), *_row(136, "c", "d")])

    assert [[box.text for box in row] for row in rows] == [["a", "b"], ["c", "d"]]


def test_slanted_rows_keep_apart_though_their_upright_bounds_overlap() -> None:
    """A photo at a slant: each row falls 60 px over its width, more than the rows' spacing."""
    tilt = 0.1
    boxes = [_box(f"r{row}c{col}", 0.9, 40 + 300 * col, 100 + 36 * row + 300 * col * tilt, 250, 24, tilt)
             for row in range(3) for col in range(2)]

    rows = text_rows(boxes)

    assert [[box.text for box in row] for row in rows] == [["r0c0", "r0c1"], ["r1c0", "r1c1"], ["r2c0", "r2c1"]]


def test_nothing_read_gives_nothing() -> None:
    fields = card_fields([])

    assert fields.nik_text is None and fields.nik_score == 0.0 and fields.address is None
