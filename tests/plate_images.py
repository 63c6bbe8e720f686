"""Plate images the tests render: Indonesian plates at any height, alone or on a car-like shape."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gatewatch.models.enums import Direction
from gatewatch.plates import REGION_CODES, Plate
from gatewatch.settings import PlateSettings
from gatewatch.vision.gate import Crossing
from gatewatch.vision.plate_reader import Box
from gatewatch.vision.recorder import EventDraft
from tests.vision.test_clips import clip_frame, encoded

#: When the rendered cars pass: 10:00 WIB, within a gate's usual hours.
WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)

FONT_SIZE = 150  # plates are drawn large, then scaled down to the height under test
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
HEIGHTS = (20, 30, 45, 60)
DISTORTIONS: dict[str, dict[str, bool]] = {
    "clean": {},
    "perspective": {"perspective": True},
    "blur": {"blur": True},
    "noise": {"noise": True},
    "perspective+blur+noise": {"perspective": True, "blur": True, "noise": True},
}


def random_plate(rng: random.Random) -> Plate:
    number = rng.randint(1, 9999) if rng.random() < 0.8 else rng.randint(1, 99)
    suffix = "".join(rng.choice(LETTERS) for _ in range(rng.choice((0, 1, 2, 2, 3, 3))))
    return Plate(rng.choice(sorted(REGION_CODES)), str(number), suffix)


def render_plate(plate: Plate, height: int, white_on_black: bool, rng: random.Random, *,
                 perspective: bool = False, blur: bool = False, noise: bool = False) -> np.ndarray:
    """A BGR photo of a bordered plate ``height`` px high, on a margin of car body.

    The font is the one that ships with Pillow, so the test needs no system font; a thin
    outline makes it about as heavy as the characters on a plate.
    """
    font = ImageFont.load_default(size=FONT_SIZE)
    ink, paper = ((245, 245, 245), (20, 20, 20)) if white_on_black else ((15, 15, 15), (240, 240, 240))
    text, stroke = str(plate), FONT_SIZE // 50
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    plate_h, pad, border = int(FONT_SIZE * 1.6), FONT_SIZE // 4, FONT_SIZE // 30
    image = Image.new("RGB", (right - left + 2 * pad, plate_h), paper)
    draw = ImageDraw.Draw(image)
    inner = (border, border, image.width - 1 - border, plate_h - 1 - border)
    draw.rectangle(inner, outline=ink, width=2 * border)
    draw.text((pad - left, (plate_h - (bottom - top)) / 2 - top), text, font=font, fill=ink,
              stroke_width=stroke, stroke_fill=ink)
    margin = int(plate_h * rng.uniform(0.15, 0.35))
    canvas = np.full((plate_h + 2 * margin, image.width + 2 * margin, 3), rng.randint(40, 220), np.uint8)
    canvas[margin:margin + plate_h, margin:margin + image.width] = np.asarray(image)[:, :, ::-1]
    if perspective:
        canvas = off_axis(canvas, rng)
    scale = height / plate_h
    photo = cv2.resize(canvas, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if blur:
        photo = cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.5, 1.0) * max(1.0, height / 30))
    if noise:
        grain = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(6, 14), photo.shape)
        photo = np.clip(photo + grain, 0, 255).astype(np.uint8)
    return photo


def off_axis(image: np.ndarray, rng: random.Random, amount: float = 0.12) -> np.ndarray:
    """``image`` seen from off its axis: each corner moved inwards by up to ``amount`` of the size."""
    h, w = image.shape[:2]
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    inwards = np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    shifts = np.float32([[rng.uniform(0, amount * w), rng.uniform(0, 1.5 * amount * h)] for _ in range(4)])
    matrix = cv2.getPerspectiveTransform(corners, corners + inwards * shifts)
    return cv2.warpPerspective(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


def car_scene(plate: Plate, car_width: int, rng: random.Random) -> tuple[np.ndarray, Box]:
    """A 1280x720 frame with a car-like shape, front on, whose plate is as high as on a real car."""
    frame = np.full((720, 1280, 3), 110, np.uint8)
    car_height = int(car_width * 0.8)
    x1, y1 = (1280 - car_width) // 2, 700 - car_height
    cv2.rectangle(frame, (x1, y1), (x1 + car_width, 700), (60, 40, 150), -1)  # body
    cv2.rectangle(frame, (x1 + car_width // 8, y1 + car_height // 10),
                  (x1 + car_width * 7 // 8, y1 + car_height * 2 // 5), (50, 45, 40), -1)  # windscreen
    for lamp_x in (x1 + car_width // 7, x1 + car_width * 6 // 7):
        cv2.ellipse(frame, (lamp_x, y1 + car_height * 3 // 5), (car_width // 12, car_height // 20), 0, 0, 360,
                    (230, 230, 230), -1)
    photo = render_plate(plate, round(PlateSettings().plate_height_ratio * car_width), True, rng)
    top, left = y1 + car_height * 4 // 5 - photo.shape[0] // 2, (1280 - photo.shape[1]) // 2
    frame[top:top + photo.shape[0], left:left + photo.shape[1]] = photo
    return frame, (float(x1), float(y1), float(x1 + car_width), 700.0)


def car_draft(frame: np.ndarray, box: Box, track_id: int = 9, when: datetime = WHEN) -> EventDraft:
    """A car's entry as the recorder hands it to the store, every frame showing ``frame``."""
    clip = [clip_frame(i, frame, {track_id: box}) for i in range(30, 50)]
    crossing = Crossing(track_id, "car", Direction.ENTRY, 40, when, 0.9, box)
    return encoded(EventDraft(crossing, 10.0, clip, snapshot=frame, snapshot_box=box, snapshot_frame_index=40))
