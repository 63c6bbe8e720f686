"""A recorded period as one source: real footage recorded in segments (cut at its keyframes), decoded as one stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import av
import pytest

from gatewatch.vision.segment_source import Segment, SegmentSource
from gatewatch.vision.segments import ClosedSegment
from gatewatch.vision.sources import FileSource, SourceError
from tests.recorded_segments import record
from tests.shared_files import MOTORCYCLES

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pieces(tmp_path_factory: pytest.TempPathFactory) -> list[ClosedSegment]:
    if not MOTORCYCLES.exists():
        pytest.skip("the shared footage is not there")
    folder = tmp_path_factory.mktemp("segments")
    return record(MOTORCYCLES, START, lambda at: folder / f"{at:%H%M%S.%f}.mp4")


def segments(pieces: list[ClosedSegment], *, apart: timedelta = timedelta(0)) -> list[Segment]:
    """The pieces as the source takes them; ``apart``: each after the first that much later, a gap before it."""
    return [Segment(f"segment #{n}", piece.path, piece.started_at + apart * bool(n)) for n, piece in enumerate(pieces)]


def test_the_segments_decode_as_the_whole_file_did(pieces: list[ClosedSegment]) -> None:
    assert [piece.frames for piece in pieces] == [150, 76]  # keyframes at frames 0 and 150: a cut mid-file
    source = SegmentSource(segments(pieces), START, START + timedelta(minutes=1))
    whole = FileSource(MOTORCYCLES, START)
    try:
        assert source.fps == pytest.approx(whole.fps) and source.stream.codec_context.name == "h264"
        got = [(f.index, f.time, int(f.picture.luma()[::8, ::8].sum())) for f in source.frames()]
        want = [(f.index, f.time, int(f.picture.luma()[::8, ::8].sum())) for f in whole.frames()]
    finally:
        source.close()
        whole.close()
    assert len(got) == 226
    assert got == want  # the same pictures, the same indexes, the same wall-clock times


def test_the_period_is_cut_out_of_the_segments(pieces: list[ClosedSegment]) -> None:
    source = SegmentSource(segments(pieces), START + timedelta(seconds=4.5), START + timedelta(seconds=5.5))
    packets: list[av.Packet] = []
    source.listen(packets.append)
    frames = list(source.frames())
    source.close()
    assert [f.index for f in frames] == list(range(len(frames)))
    assert 29 <= len(frames) <= 31  # one second of a 30 fps camera, across the cut between the two segments
    assert frames[0].time >= START + timedelta(seconds=4.5) and frames[-1].time <= START + timedelta(seconds=5.5)
    # The frames before the start were decoded from the keyframe before it, and their packets heard.
    assert len(packets) > len(frames) and all(p.size for p in packets)


def test_a_gap_between_segments_is_a_jump_in_time_not_in_indexes(pieces: list[ClosedSegment]) -> None:
    source = SegmentSource(segments(pieces, apart=timedelta(seconds=30)), START, START + timedelta(minutes=1))
    frames = list(source.frames())
    source.close()
    assert [f.index for f in frames] == list(range(226))
    steps = [(b.time - a.time).total_seconds() for a, b in pairwise(frames)]
    assert max(steps) == pytest.approx(30 + 1 / source.fps, abs=0.01) and steps.index(max(steps)) == 149
    assert sorted(steps)[-2] < 0.04


def test_a_missing_deleted_or_damaged_segment_is_named(pieces: list[ClosedSegment], tmp_path: Path) -> None:
    end = START + timedelta(minutes=1)
    gone = [*segments(pieces[:1]), Segment("recording segment #7", tmp_path / "gone.mp4", pieces[1].started_at)]
    with pytest.raises(SourceError, match=r"recording segment #7: its file .*gone\.mp4 is missing"):
        SegmentSource(gone, START, end)
    deleted = [*segments(pieces[:1]), Segment("recording segment #8", None, pieces[1].started_at)]
    with pytest.raises(SourceError, match="recording segment #8 has no file any more: retention deleted it"):
        SegmentSource(deleted, START, end)
    damaged = tmp_path / "damaged.mp4"
    data = pieces[1].path.read_bytes()
    damaged.write_bytes(data[: len(data) // 3])  # the recorder's disk filled up mid-file
    source = SegmentSource([*segments(pieces[:1]), Segment("recording segment #9", damaged, pieces[1].started_at)],
                           START, end)
    with pytest.raises(SourceError, match=r"recording segment #9 \(.*damaged\.mp4\) is cut short: it holds \d+ of its 76"):
        list(source.frames())
    source.close()
    with pytest.raises(SourceError, match="no recording segment covers it"):
        SegmentSource([], START, end)
