"""The ``ktp-read`` command: the NIK, name, birth date and region read on a photo of a KTP, as JSON.

``gatewatch ktp-read PHOTO`` reads one photo; ``gatewatch ktp-read --serve`` is the reader the
web app starts for its "Scan KTP" button (``gatewatch.visitors.ktp_scanner``): it loads the OCR
models once and answers photos sent on its standard input. The NIK is given only when every
check passes (``gatewatch.visitors.ktp_check``); otherwise ``nik`` is null and ``nik_problem``
says why. The OCR (cv2, onnxruntime) loads inside the command; it needs no configuration or database.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from gatewatch.cli.app import InputError, UsageError, echo_json
from gatewatch.visitors.ktp_check import checked_scan
from gatewatch.visitors.ktp_scanner import serve


@click.command("ktp-read")
@click.argument("photo", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--serve", "serving", is_flag=True,
              help="Answer photos sent on standard input, one JSON line each (the web app starts this).")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True,
              help="CPU threads the OCR uses (the web app passes plates.threads).")
def ktp_read(photo: Path | None, serving: bool, threads: int) -> None:
    """Read the NIK, name, birth date and region on PHOTO, a picture of a KTP; prints JSON."""
    if serving == (photo is not None):
        raise UsageError("give a PHOTO, or --serve")
    from gatewatch.vision.ktp_reader import KtpReader, decode_image

    reader = KtpReader(threads=threads)

    def read(data: bytes) -> dict[str, Any]:
        started = time.perf_counter()
        scan = checked_scan(reader.read(decode_image(data)))
        return {**scan.as_json(), "seconds": round(time.perf_counter() - started, 3)}

    reader.warm_up()  # the models' load is not counted in a scan's seconds
    if serving:
        serve(read, sys.stdin.buffer, sys.stdout.buffer)
        return
    assert photo is not None
    try:
        echo_json(read(photo.read_bytes()))
    except ValueError as error:
        raise InputError(f"{photo}: {error}") from None
