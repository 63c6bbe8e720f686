"""KTP-like identity cards the tests render: the card's layout with random plausible people, photographed
at a slant, blurred and with glare, as a guard's tablet would see them.

The layout follows the e-KTP: the province and regency in the header, then ``NIK``, ``Nama``,
``Tempat/Tgl Lahir``, ``Jenis Kelamin``, ``Alamat``, ``RT/RW``, ``Kel/Desa``, ``Kecamatan`` and
the rest, each a label, a colon and a value, and the holder's photo on the right.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import date, timedelta

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = "/usr/share/fonts/truetype/dejavu/"
CARD_SIZE = (1012, 638)  # 85.6 x 54 mm at about 300 dpi
PROVINCES = {
    "11": "ACEH", "12": "SUMATERA UTARA", "13": "SUMATERA BARAT", "16": "SUMATERA SELATAN", "31": "DKI JAKARTA",
    "32": "JAWA BARAT", "33": "JAWA TENGAH", "34": "DI YOGYAKARTA", "35": "JAWA TIMUR", "36": "BANTEN",
    "51": "BALI", "61": "KALIMANTAN BARAT", "64": "KALIMANTAN TIMUR", "73": "SULAWESI SELATAN", "94": "PAPUA",
}
REGENCIES = ("KOTA JAKARTA SELATAN", "KABUPATEN BOGOR", "KOTA BANDUNG", "KABUPATEN SLEMAN", "KOTA SURABAYA",
             "KOTA PALEMBANG", "KABUPATEN BADUNG", "KOTA MAKASSAR", "KOTA MEDAN", "KABUPATEN TANGERANG")
FIRST = ("BUDI", "SITI", "AGUS", "DEWI", "RINA", "ANDI", "NUR", "EKO", "PUTRI", "RIZKY", "WAHYU", "INDAH",
         "HENDRA", "YULIA", "BAMBANG", "RATNA", "FAJAR", "MEGA", "TEGUH", "LESTARI", "ARIF", "SRI", "JOKO")
LAST = ("SANTOSO", "RAHAYU", "SETIAWAN", "HIDAYAT", "PRATAMA", "WIJAYA", "KURNIAWAN", "SAPUTRA", "LUBIS",
        "NASUTION", "SIREGAR", "HARAHAP", "SIMANJUNTAK", "GUNAWAN", "SUSANTO", "PERMATASARI", "WULANDARI")
PLACES = ("JAKARTA", "BANDUNG", "SURABAYA", "MEDAN", "PALEMBANG", "SEMARANG", "MAKASSAR", "BOGOR", "DENPASAR",
          "YOGYAKARTA", "MALANG", "PADANG")
STREETS = ("JL. MELATI NO. 12", "JL. SUDIRMAN KAV. 5", "GG. MAWAR III/7", "JL. RAYA BOGOR KM 21",
           "PERUM GRIYA ASRI BLOK C2/14", "JL. DIPONEGORO NO. 45")
VILLAGES = ("KEBAYORAN LAMA", "CIPETE UTARA", "SUKAMAJU", "MENTENG", "TEGALSARI", "SIDOMULYO", "CEMPAKA PUTIH")


@dataclass(frozen=True)
class Person:
    nik: str
    name: str
    birth_place: str
    born: date
    female: bool
    province: str
    regency: str


@dataclass(frozen=True)
class Card:
    person: Person
    photo: bytes  # JPEG, as a tablet's camera takes it and the page scales it
    printed_born: date  # the birth date printed on the card (the person's, unless made to disagree)


def random_person(rng: random.Random) -> Person:
    code = rng.choice(sorted(PROVINCES))
    female = rng.random() < 0.5
    born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 55))
    day = born.day + (40 if female else 0)
    nik = f"{code}{rng.randint(1, 79):02d}{rng.randint(1, 50):02d}{day:02d}{born:%m%y}{rng.randint(1, 9999):04d}"
    words = rng.choice((2, 2, 3))
    name = " ".join([rng.choice(FIRST), *(rng.choice(FIRST + LAST) for _ in range(words - 2)), rng.choice(LAST)])
    return Person(nik, name, rng.choice(PLACES), born, female, PROVINCES[code], rng.choice(REGENCIES))


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONTS + ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"), size)


def render_card(person: Person, rng: random.Random, printed_born: date | None = None) -> Image.Image:
    """The card, flat and sharp, CARD_SIZE pixels."""
    width, height = CARD_SIZE
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    shade = np.linspace(0, 1, width)[None, :, None]
    light, deep = np.array([214, 232, 246]), np.array([168, 204, 232])
    pixels[:] = (light + (deep - light) * shade).astype(np.uint8)
    card = Image.fromarray(pixels)
    draw = ImageDraw.Draw(card)
    header = _font(30, bold=True)
    for row, text in enumerate((f"PROVINSI {person.province}", person.regency)):
        draw.text((width * 0.42, 22 + row * 38), text, font=header, fill=(20, 20, 20), anchor="ma")
    label, value = _font(22), _font(22)
    born = printed_born or person.born
    draw.text((36, 112), "NIK", font=_font(34, bold=True), fill=(10, 10, 10))
    draw.text((210, 112), f": {person.nik}", font=_font(34, bold=True), fill=(10, 10, 10))
    rows = (
        ("Nama", person.name),
        ("Tempat/Tgl Lahir", f"{person.birth_place}, {born:%d-%m-%Y}"),
        ("Jenis Kelamin", f"{'PEREMPUAN' if person.female else 'LAKI-LAKI'}    Gol. Darah : -"),
        ("Alamat", rng.choice(STREETS)),
        ("RT/RW", f"{rng.randint(1, 15):03d}/{rng.randint(1, 12):03d}"),
        ("Kel/Desa", rng.choice(VILLAGES)),
        ("Kecamatan", rng.choice(VILLAGES)),
        ("Agama", rng.choice(("ISLAM", "KRISTEN", "KATOLIK", "HINDU", "BUDDHA"))),
        ("Status Perkawinan", rng.choice(("KAWIN", "BELUM KAWIN"))),
        ("Pekerjaan", rng.choice(("KARYAWAN SWASTA", "WIRASWASTA", "PELAJAR/MAHASISWA", "PEGAWAI NEGERI SIPIL"))),
        ("Kewarganegaraan", "WNI"),
        ("Berlaku Hingga", "SEUMUR HIDUP"),
    )
    for index, (name, text) in enumerate(rows):
        y = 170 + index * 36
        draw.text((36, y), name, font=label, fill=(25, 25, 25))
        draw.text((240, y), f": {text}", font=value, fill=(25, 25, 25))
    photo_box = (width - 250, 150, width - 50, 410)
    draw.rectangle(photo_box, fill=(200, 40, 40))
    draw.ellipse((photo_box[0] + 50, photo_box[1] + 40, photo_box[2] - 50, photo_box[1] + 150), fill=(230, 190, 160))
    draw.rectangle((photo_box[0] + 30, photo_box[1] + 160, photo_box[2] - 30, photo_box[3]), fill=(40, 40, 60))
    draw.text(((photo_box[0] + photo_box[2]) / 2, 425), person.regency.split(" ", 1)[1], font=_font(18),
              fill=(25, 25, 25), anchor="ma")
    draw.text(((photo_box[0] + photo_box[2]) / 2, 450), f"{rng.randint(1, 28):02d}-0{rng.randint(1, 9)}-2019",
              font=_font(18), fill=(25, 25, 25), anchor="ma")
    return card


def photographed(card: Image.Image, rng: random.Random, *, slant: float = 0.06, blur: float = 1.2,
                 glare: float = 0.35, quality: int = 85) -> bytes:
    """A JPEG of ``card`` on a table, as a camera takes it: a perspective of up to ``slant`` of the card's
    size at each corner, a blur of up to ``blur`` px, a glare spot of up to ``glare`` strength."""
    width, height = card.size
    canvas_w, canvas_h = int(width * 1.35), int(height * 1.45)
    table = np.full((canvas_h, canvas_w, 3), rng.randint(40, 120), dtype=np.uint8)
    left, top = (canvas_w - width) / 2, (canvas_h - height) / 2
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    placed = np.float32([[left + x + rng.uniform(-slant, slant) * width, top + y + rng.uniform(-slant, slant) * height]
                         for x, y in corners])
    matrix = cv2.getPerspectiveTransform(corners, placed)
    source = cv2.cvtColor(np.asarray(card), cv2.COLOR_RGB2BGR)
    picture = cv2.warpPerspective(source, matrix, (canvas_w, canvas_h), dst=table, borderMode=cv2.BORDER_TRANSPARENT)
    if glare > 0:
        ys, xs = np.mgrid[0:canvas_h, 0:canvas_w]
        cx, cy = rng.uniform(left, left + width), rng.uniform(top, top + height)
        radius = rng.uniform(0.1, 0.25) * width
        spot = np.exp(-(((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius ** 2))) * rng.uniform(0, glare)
        picture = (picture + (255 - picture.astype(np.float32)) * spot[..., None]).astype(np.uint8)
    image = Image.fromarray(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB))
    if blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, blur)))
    output = io.BytesIO()
    image.save(output, "JPEG", quality=quality)
    return output.getvalue()


def random_card(rng: random.Random, **distortion: float) -> Card:
    person = random_person(rng)
    return Card(person, photographed(render_card(person, rng), rng, **distortion), person.born)
