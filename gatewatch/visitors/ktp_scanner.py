"""The web app's way to read a KTP: a reader process of its own, started on the first scan and kept.

The web app loads no OCR library (it runs on small web workers; ``tests/test_layers.py``), so
the card is read by ``gatewatch ktp-read --serve``, as a replay runs in ``gatewatch replay-run``.
Loading the OCR models takes longer than reading a card, so the process is kept between scans:
the first scan of a web worker pays the load, the next ones only the reading. The process reads
one request per line on its standard input (JSON: the photo in base64) and answers one line of
JSON on its standard output (``serve``); it leaves when its input closes (the web worker is gone)
or after ``IDLE_SECONDS`` without a scan, and the next scan starts another.

The photo goes through the pipe, never to a file: unless ``visitors.keep_ktp_photos`` says so,
nothing of the card is written anywhere. Scans of one web worker take turns (a lock); a scan
that does not answer within its timeout ends the process, and the guard is told to try again.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from gatewatch.settings import Settings

log = logging.getLogger(__name__)

#: A reader process leaves after this long without a scan; the next scan starts another.
IDLE_SECONDS = 600.0
#: How long a scan may take, the models' load included (a first scan after the process started).
FIRST_SCAN_SECONDS = 30.0
#: How long a scan may take once the reader runs.
SCAN_SECONDS = 15.0


class ScanFailed(Exception):
    """The reader could not answer (it crashed or took too long); the guard may try again."""


class NotAPicture(ValueError):
    """The upload is not a picture the reader can decode."""


class KtpScanner:
    """One reader process, started on demand and kept; scans take turns."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None,
                 log_path: str | os.PathLike[str] | None = None) -> None:
        self.command, self.env, self.log_path = command, env, log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def scan(self, photo: bytes) -> dict[str, Any]:
        """The reader's answer for ``photo`` (the fields of ``ktp_check.KtpScan`` and ``seconds``).

        Raises NotAPicture for a photo that does not decode, ScanFailed when the reader fails.
        """
        request = json.dumps({"photo": base64.b64encode(photo).decode("ascii")}).encode("ascii") + b"\n"
        with self._lock:
            fresh = self._process is None or self._process.poll() is not None
            if fresh:
                self._start()
            assert self._process is not None and self._process.stdin and self._process.stdout
            deadline = time.monotonic() + (FIRST_SCAN_SECONDS if fresh else SCAN_SECONDS)
            try:
                _write_all(self._process.stdin, request, deadline)
                line = _read_line(self._process.stdout, deadline)
            except (OSError, TimeoutError) as error:
                self._stop()
                raise ScanFailed(f"the KTP reader did not answer: {error}") from None
        try:
            answer = json.loads(line)
        except ValueError:
            raise ScanFailed("the KTP reader's answer is not JSON") from None
        if answer.get("error") == "not_a_picture":
            raise NotAPicture(answer.get("message", "not a picture"))
        if "error" in answer:
            raise ScanFailed(answer.get("message", answer["error"]))
        return answer

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> None:
        if self.log_path:
            Path(self.log_path).parent.mkdir(parents=True, exist_ok=True)
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(self.command, env=self.env, bufsize=0, stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=output, start_new_session=True)
        finally:
            if output is not subprocess.DEVNULL:
                output.close()

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream:
                    stream.close()
            self._process = None


def _write_all(stream: IO[bytes], data: bytes, deadline: float) -> None:
    """Write ``data`` to the reader's input before ``deadline`` (a reader that stopped reading
    cannot hold the web request); TimeoutError otherwise, OSError when the reader has ended."""
    descriptor = stream.fileno()
    os.set_blocking(descriptor, False)
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the reader takes no photo")
        _, ready, _ = select.select([], [descriptor], [], left)
        if ready:
            try:
                view = view[os.write(descriptor, view):]
            except BlockingIOError:
                continue


def _read_line(stream: IO[bytes], deadline: float) -> bytes:
    """One line from the reader's output before ``deadline`` (``time.monotonic``); TimeoutError
    otherwise, OSError when the reader has ended."""
    chunks = []
    descriptor = stream.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer in time")
        ready, _, _ = select.select([descriptor], [], [], left)
        if not ready:
            continue
        chunk = os.read(descriptor, 1 << 16)
        if not chunk:
            raise OSError("the reader ended")
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)


_scanners: dict[str, KtpScanner] = {}
_scanners_lock = threading.Lock()


def scanner_for(settings: Settings) -> KtpScanner:
    """The reader of this process for ``settings``' site, started on its first scan."""
    key = str(settings.data_dir.resolve())
    with _scanners_lock:
        if key not in _scanners:
            _scanners[key] = KtpScanner(
                [sys.executable, "-m", "gatewatch", "ktp-read", "--serve", "--threads", str(settings.plates.threads)],
                env=settings.child_environment(),
                log_path=settings.data_dir / "ktp-reader.log",
            )
        return _scanners[key]


def serve(read: Callable[[bytes], dict[str, Any]], stdin: IO[bytes], stdout: IO[bytes],
          idle_seconds: float = IDLE_SECONDS) -> None:
    """The reader process's loop: one JSON request per line in, one JSON answer per line out,
    until the input closes or ``idle_seconds`` pass without a request.

    ``read`` answers one photo's bytes (raising ValueError for one that is not a picture).
    """
    descriptor = stdin.fileno()
    while True:
        ready, _, _ = select.select([descriptor], [], [], idle_seconds)
        if not ready:
            return
        line = stdin.readline()
        if not line:
            return
        try:
            photo = base64.b64decode(json.loads(line)["photo"], validate=True)
            answer = read(photo)
        except ValueError as error:
            answer = {"error": "not_a_picture", "message": str(error)}
        except Exception as error:  # the web app is told; the reader keeps serving
            log.exception("reading a KTP failed")
            answer = {"error": "failed", "message": type(error).__name__}
        stdout.write(json.dumps(answer).encode("utf-8") + b"\n")
        stdout.flush()
