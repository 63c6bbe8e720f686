"""One model for every camera of a box: called from many threads at once, each size compiled once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np

from gatewatch.settings import DetectorSettings
from gatewatch.vision.detector import load_model
from gatewatch.vision.sources import FileSource
from tests.shared_files import HIGHWAY, MODEL, STREET

CLASSES = [0, 1, 2, 3, 5, 7]
SIZES = ((1280, 352), (640, 384))  # two cameras' gate strips of different sizes


def _pictures() -> list[np.ndarray]:
    pictures = []
    for video in (STREET, HIGHWAY):
        source = FileSource(video, datetime(2026, 12, 5, tzinfo=UTC))
        try:
            frames = source.frames()
            pictures += [next(frames).bgr() for _ in range(3)]
        finally:
            source.close()
    return pictures


def test_cameras_sharing_the_model_from_their_threads_get_what_each_would_alone() -> None:
    shared = load_model(DetectorSettings(model=str(MODEL)), shared=True)
    pictures = _pictures()
    jobs = [(picture, size) for picture in pictures for size in SIZES]
    alone = [shared.predict(picture, size, CLASSES, 0.25) for picture, size in jobs]
    assert sum(len(found) for found in alone) > 10  # people and cars were found
    together: dict[int, list[np.ndarray]] = {}

    def camera(number: int) -> None:  # every "camera" runs every job, in its own order
        order = jobs[number:] + jobs[:number]
        together[number] = [shared.predict(picture, size, CLASSES, 0.25) for picture, size in order]

    threads = [threading.Thread(target=camera, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for number, results in together.items():
        expected = alone[number:] + alone[:number]
        assert len(results) == len(expected)
        for got, want in zip(results, expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
    assert sorted(shared.compiled_sizes) == sorted(SIZES)  # once per size, not per camera
