"""An ultralytics YOLO detection model exported to OpenVINO IR, run at any input size.

Ultralytics exports static models (640 x 640 here): the detection head's anchor grid and a few
reshapes in the attention block are constants of that size. A gate region is a strip far
smaller than that square, and inference time follows the pixel count, so this module rewrites
those constants for the size asked for and compiles one model per size. Every rewrite is
checked against what the exported size implies; a graph that does not match is refused rather
than guessed at.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openvino as ov
from openvino import opset13

#: Strides of the three detection scales of YOLOv8/YOLO11 heads.
STRIDES = (8, 16, 32)


class IrError(Exception):
    """The IR cannot be run at the requested size; the message says why."""


def anchor_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Anchor centres (2, N) in grid units and their strides (N,), as ultralytics' make_anchors."""
    points, strides = [], []
    for stride in STRIDES:
        rows, cols = height // stride, width // stride
        ys, xs = np.meshgrid(np.arange(rows, dtype=np.float32) + 0.5, np.arange(cols, dtype=np.float32) + 0.5,
                             indexing="ij")
        points.append(np.stack((xs.ravel(), ys.ravel())))
        strides.append(np.full(rows * cols, stride, np.float32))
    return np.concatenate(points, axis=1), np.concatenate(strides)


def _new_reshape_target(target: list[int], old: tuple[int, int], new: tuple[int, int],
                        anchors: int) -> list[int] | None:
    """The reshape target for the new size, or None when it does not depend on the size."""
    if -1 in target:
        return None
    cells = {(old[0] // s) * (old[1] // s) for s in STRIDES} | {anchors}
    for stride in STRIDES:  # ... x rows x cols  ->  ... x -1 x cols
        if len(target) >= 2 and target[-2:] == [old[0] // stride, old[1] // stride]:
            return [*target[:-2], -1, new[1] // stride]
    if target[-1] in cells:  # ... x cells  ->  ... x -1
        return [*target[:-1], -1]
    return None


def resize_model(model: ov.Model, height: int, width: int) -> ov.Model:
    """Rewrite ``model`` (in place) for inputs of ``height`` x ``width``; both multiples of 32."""
    if height % 32 or width % 32:
        raise IrError(f"input size {width}x{height} is not a multiple of 32")
    shape = model.input().get_partial_shape()
    if shape.is_dynamic:
        model.reshape([1, 3, height, width])
        return model
    old = (shape[2].get_length(), shape[3].get_length())
    if old == (height, width):
        return model
    old_points, old_strides = anchor_grid(*old)
    new_points, new_strides = anchor_grid(height, width)
    anchors = old_strides.size
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        if kind == "Reshape" and op.input_value(1).get_node().get_type_name() == "Constant":
            target = [int(v) for v in op.input_value(1).get_node().get_vector()]
            replacement = _new_reshape_target(target, old, (height, width), anchors)
            if replacement is not None:
                op.input(1).replace_source_output(opset13.constant(np.array(replacement, np.int64)).output(0))
        elif kind == "Constant" and list(op.get_output_shape(0)) in ([1, 2, anchors], [1, 1, anchors]):
            data = op.get_data()
            expected, fresh = (old_points, new_points) if data.shape[1] == 2 else (old_strides, new_strides)
            if not np.array_equal(data.reshape(expected.shape), expected):
                raise IrError(f"constant {op.get_friendly_name()} is not the anchor grid of {old[1]}x{old[0]}")
            constant = opset13.constant(fresh.reshape(1, -1, fresh.shape[-1]).astype(data.dtype))
            for target_input in list(op.output(0).get_target_inputs()):
                target_input.replace_source_output(constant.output(0))
    model.get_parameters()[0].set_partial_shape(ov.PartialShape([1, 3, height, width]))
    try:
        model.validate_nodes_and_infer_types()
    except RuntimeError as exc:
        raise IrError(f"the model cannot run at {width}x{height}: {str(exc).splitlines()[0]}") from None
    return model


class IrModel:
    """Compiles the IR once per input size and runs it: (1, 3, h, w) float in, raw head out.

    Safe to call from many threads at once: each call takes one of the compiled model's infer
    requests, waiting while all are busy, and OpenVINO runs requests side by side. ``hint``
    ``LATENCY`` (one request, every thread on it, as ultralytics compiles it) suits one caller;
    ``THROUGHPUT`` (as many requests as OpenVINO's streams, a core or two each) suits the
    cameras of a box sharing one model: they spend less CPU per inference than requests that
    each take every core, and a busy camera uses the streams a quiet one leaves. A size not
    seen before is compiled by the calling thread while other sizes go on being served.
    ``threads`` caps the CPU threads of one inference (0: OpenVINO's choice).
    """

    def __init__(self, xml: Path, threads: int = 0, hint: str = "LATENCY") -> None:
        self._xml = xml
        self._core = ov.Core()
        self._config: dict[str, object] = {"PERFORMANCE_HINT": hint}
        if threads:
            self._config["INFERENCE_NUM_THREADS"] = threads
        exported = self._core.read_model(xml).input().get_partial_shape()
        self.exported_size = None if exported.is_dynamic else (exported[3].get_length(), exported[2].get_length())
        self._sizes: dict[tuple[int, int], _Compiled] = {}
        self._sizes_lock = threading.Lock()

    @property
    def compiled_sizes(self) -> list[tuple[int, int]]:
        """Input sizes (w, h) compiled so far, each once however many cameras use it."""
        return [size for size, entry in self._sizes.items() if entry.ready]

    def __call__(self, blob: np.ndarray) -> np.ndarray:
        height, width = blob.shape[2:]
        with self._sizes_lock:
            entry = self._sizes.setdefault((width, height), _Compiled())
        return entry.run(blob, lambda: self._compile(height, width))

    def _compile(self, height: int, width: int) -> ov.CompiledModel:
        model = resize_model(self._core.read_model(self._xml), height, width)
        return self._core.compile_model(model, "CPU", self._config)


class _Compiled:
    """One input size's compiled model and its pool of infer requests, made at first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # held while compiling: callers of this size wait, others do not
        self._requests: queue.SimpleQueue[ov.InferRequest] | None = None

    @property
    def ready(self) -> bool:
        return self._requests is not None

    def run(self, blob: np.ndarray, compile_model: Callable[[], ov.CompiledModel]) -> np.ndarray:
        requests = self._requests or self._make(compile_model)
        request = requests.get()
        try:
            request.infer({0: blob})
            return request.get_output_tensor(0).data.copy()  # the request's buffer is reused by its next caller
        finally:
            requests.put(request)

    def _make(self, compile_model: Callable[[], ov.CompiledModel]) -> queue.SimpleQueue[ov.InferRequest]:
        with self._lock:
            if self._requests is None:
                compiled = compile_model()
                requests: queue.SimpleQueue[ov.InferRequest] = queue.SimpleQueue()
                for _ in range(max(1, compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))):
                    requests.put(compiled.create_infer_request())
                self._requests = requests
            return self._requests
