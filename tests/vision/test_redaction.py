"""Camera credentials never survive redaction, wherever in a text the URL stands; the rest of it does."""

from __future__ import annotations

import pytest

from gatewatch.vision.redaction import redact_optional, redact_url
from gatewatch.vision.sources import SourceError, StreamSource


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rtsp://admin:s3cret@10.0.0.5:554/Streaming/101", "rtsp://***@10.0.0.5:554/Streaming/101"),
        ("[Errno 111] Connection refused: 'rtsp://admin:s3cret@127.0.0.1:9/stream'",
         "[Errno 111] Connection refused: 'rtsp://***@127.0.0.1:9/stream'"),
        ("http://admin@cam.local/video.mjpg", "http://***@cam.local/video.mjpg"),
        ("rtsp://admin:p@ss@10.0.0.5/live", "rtsp://***@10.0.0.5/live"),  # an unencoded @ in the password
        ("http://cam/video.cgi?user=admin&pwd=s3cret&res=720", "http://cam/video.cgi?user=admin&pwd=***&res=720"),
        ("http://cam/snap?Password=s3cret", "http://cam/snap?Password=***"),
        ("http://cam/x?passwd=s3cret;token=abc#top", "http://cam/x?passwd=***;token=***#top"),
        ("http://cam/x?auth=abc def", "http://cam/x?auth=*** def"),
        ("a: rtsp://u:p@h1/x, b: rtsp://u:q@h2/y", "a: rtsp://***@h1/x, b: rtsp://***@h2/y"),
        # a URL taken for a file path loses a slash
        ("video file rtsp:/admin:s3cret@h/x does not exist", "video file rtsp:/***@h/x does not exist"),
    ],
)
def test_credentials_are_masked(text: str, expected: str) -> None:
    assert redact_url(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "rtsp://10.0.0.5:554/Streaming/101 stalled: no frame for 10.0 s",
        "video file /footage/gate:1/2026-11-20 09:00.mp4 does not exist",
        "mail admin@example.org about http://cam/video.cgi?resolution=720&compression=30",
        "behind real time: 60 frames at 20.0 frames/s",
        "",
    ],
)
def test_text_without_credentials_is_left_alone(text: str) -> None:
    assert redact_url(text) == text


def test_redacting_twice_changes_nothing_more() -> None:
    once = redact_url("rtsp://admin:s3cret@h/x?token=t")
    assert redact_url(once) == once == "rtsp://***@h/x?token=***"


def test_a_missing_note_stays_missing() -> None:
    assert redact_optional(None) is None
    assert redact_optional("rtsp://a:b@h") == "rtsp://***@h"


def test_a_source_error_never_carries_the_password() -> None:
    assert str(SourceError("stream rtsp://admin:s3cret@h/x broke off")) == "stream rtsp://***@h/x broke off"


def test_a_stream_that_cannot_be_opened_names_it_without_the_password() -> None:
    """Nothing listens on port 9 (discard); FFmpeg's own error quotes the URL it was given."""
    with pytest.raises(SourceError) as failure:
        StreamSource("rtsp://admin:s3cret@127.0.0.1:9/stream?pwd=s3cret", stall_seconds=2.0, open_timeout=2.0)
    message = str(failure.value)
    assert "s3cret" not in message
    assert "rtsp://***@127.0.0.1:9/stream" in message and "cannot be opened" in message
