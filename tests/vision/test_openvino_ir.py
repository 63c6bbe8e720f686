"""Running the exported OpenVINO model at other input sizes than the one it was exported at, and its NMS."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from ultralytics.utils import nms

from gatewatch.vision.detector import MAX_DETECTIONS, NMS_IOU, non_max_suppression
from gatewatch.vision.openvino_ir import IrError, IrModel, _new_reshape_target, anchor_grid
from gatewatch.vision.sources import FileSource
from tests.shared_files import HIGHWAY, MODEL, STREET


def test_the_anchor_grid_is_ultralytics_make_anchors() -> None:
    points, strides = anchor_grid(64, 96)
    assert points.shape == (2, 8 * 12 + 4 * 6 + 2 * 3)
    assert points[:, :3].tolist() == [[0.5, 1.5, 2.5], [0.5, 0.5, 0.5]]
    assert strides[0] == 8 and strides[-1] == 32
    assert points[:, -1].tolist() == [2.5, 1.5]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ([1, 2, 128, 400], [1, 2, 128, -1]),  # attention: the 20 x 20 cells of stride 32
        ([1, 128, 20, 20], [1, 128, -1, 15]),  # back to rows x columns, columns of the new width
        ([1, 4, 16, 8400], [1, 4, 16, -1]),  # distribution focal loss over every anchor
        ([1, 144, -1], None),  # already free
        ([1, 64, 3, 3], None),  # does not depend on the size
    ],
)
def test_size_dependent_reshapes_are_freed(target: list[int], expected: list[int] | None) -> None:
    assert _new_reshape_target(target, (640, 640), (192, 480), 8400) == expected


@pytest.mark.skipif(not MODEL.exists(), reason="the shared model is not there")
def test_the_shared_model_runs_on_a_strip_and_agrees_with_its_exported_size() -> None:
    model = IrModel(next(MODEL.glob("*.xml")))
    assert model.exported_size == (640, 640)
    rng = np.random.default_rng(5)
    strip = rng.random((1, 3, 192, 640), dtype=np.float32)
    out = model(strip)
    assert out.shape == (1, 84, 80 * 24 + 40 * 12 + 20 * 6)
    # Padded to the exported square, the strip gives the same boxes where the padding is far away.
    square = np.full((1, 3, 640, 640), 114 / 255, np.float32)
    square[:, :, 224:416] = strip
    full = model(square)
    centre = out[0, :4, 10 * 80 + 40]  # a stride-8 anchor in the middle of the strip
    assert np.allclose(centre[:2], full[0, :2, (10 + 28) * 80 + 40] - [0, 224], atol=4.0)
    with pytest.raises(IrError, match="multiple of 32"):
        model(rng.random((1, 3, 100, 640), dtype=np.float32))


@pytest.mark.skipif(not (MODEL.exists() and STREET.exists() and HIGHWAY.exists()), reason="shared files missing")
@pytest.mark.parametrize(("video", "classes"), [(STREET, [0, 1, 3]), (HIGHWAY, [2, 3, 5, 7])])
def test_candidates_picked_in_numpy_give_ultralytics_nms_rows(video: Path, classes: list[int]) -> None:
    model = IrModel(next(MODEL.glob("*.xml")))
    compared = 0
    for frame in list(FileSource(video).frames())[::15]:
        image = cv2.resize(frame.bgr(), (640, 384))
        raw = model(np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1))[None].astype(np.float32) / 255.0)
        for confidence in (0.1, 0.25):
            theirs = nms.non_max_suppression(torch.from_numpy(raw), confidence, NMS_IOU, classes, False,
                                             max_det=MAX_DETECTIONS, nc=0)[0].numpy()
            ours = non_max_suppression(raw, classes, confidence)
            # Rows of equal score may come in either order: compare them sorted.
            assert np.array_equal(ours[np.lexsort(ours.T[::-1])], theirs[np.lexsort(theirs.T[::-1])])
            compared += len(ours)
    assert compared > 100  # the footage gave boxes to compare
