"""Recording segments play in the browser, each on its own and one after another, as replay and the
event page will show them: faststart MP4s of the camera's own H.264."""

from __future__ import annotations

import itertools
from pathlib import Path

from playwright.sync_api import Browser

from tests.shared_files import HIGHWAY
from tests.vision.test_segment_recorder import Recording


def test_segments_play_in_the_browser_one_after_another(tmp_path: Path, browser: Browser) -> None:
    segments = Recording(HIGHWAY, tmp_path).segments
    page_file = tmp_path / "segments.html"
    page_file.write_text("".join(f'<video src="{s.path.name}" muted preload="auto"></video>' for s in segments))
    page = browser.new_page()
    try:
        page.goto(page_file.as_uri())
        page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 2 || v.error)")
        shown = page.evaluate("[...document.querySelectorAll('video')].map(v => "
                              "[v.error && v.error.message, v.duration, v.videoWidth])")
        # Each plays to the end, then the next one from its start.
        page.evaluate("""() => { const videos = [...document.querySelectorAll('video')];
            videos.forEach((v, i) => { v.playbackRate = 4; v.onended = () => videos[i + 1] && videos[i + 1].play(); });
            videos[0].play(); }""")
        page.wait_for_function("(() => { const v = [...document.querySelectorAll('video')].at(-1); "
                               "return v.ended; })()", timeout=15_000)
    finally:
        page.close()
    assert [error for error, _, _ in shown] == [None] * len(segments)
    assert all(width == 1280 for _, _, width in shown)
    for (_, duration, _), segment in zip(shown, segments, strict=True):
        assert abs(duration - (segment.ended_at - segment.started_at).total_seconds()) < 0.1
    assert all(a.ended_at == b.started_at for a, b in itertools.pairwise(segments))
