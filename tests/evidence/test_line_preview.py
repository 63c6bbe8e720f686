"""The gate line preview replays real events' stored boxes: the motorcycle clip analysed by the real model.

Replayed against the line they were counted against, every event counts again, the same way; with
the inside on the other side, every one turns; a line where no rider crosses counts none. Events
whose boxes cannot be read are told apart, never guessed at.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session

from gatewatch.evidence import line_preview
from gatewatch.evidence.line_preview import Outcome, parse_track, preview, read_track, recent_events, replay
from gatewatch.models.db import make_engine
from gatewatch.models.enums import Direction
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import GateSettings
from tests.line_preview_events import CAMERA, GATE, analysed_events

pytestmark = pytest.mark.slow

COUNTED = GateSettings.model_validate(GATE)


def placed(**change: object) -> GateSettings:
    return COUNTED.placed({**COUNTED.placement(), **change})


def test_the_line_an_event_was_counted_against_counts_it_again_the_same_way() -> None:
    source = analysed_events()
    events = list(source.events)
    assert {e.direction for e in events} == {"entry"}  # riders come down the picture, towards the inside
    result = preview(events, source.data_dir, in_force=COUNTED, proposed=COUNTED)
    assert (result.in_force.same, result.in_force.other, result.in_force.none) == (len(events), 0, 0)
    assert result.proposed == result.in_force and result.no_boxes == 0 and result.changed == []
    for event in events:  # each replay's crossing is the event's own, near its moment in the clip
        track = read_track(source.data_dir / event.boxes_path, event.boxes_sha256)
        assert track is not None and track.frame_size == (1280, 720)
        seen = [box for _t, box in track.frames if box is not None]
        assert seen and {box.track_id for box in seen} == {event.track_id}
        assert replay(track, COUNTED) is Direction.ENTRY


def test_a_new_line_is_compared_with_the_line_in_force_event_by_event() -> None:
    source = analysed_events()
    events = list(source.events)
    turned = preview(events, source.data_dir, in_force=COUNTED, proposed=placed(inside=[0.5, 0.1]))
    assert (turned.proposed.same, turned.proposed.other, turned.proposed.none) == (0, len(events), 0)
    assert [(e.in_force, e.proposed) for e in turned.changed] == [(Outcome.SAME, Outcome.OTHER)] * len(events)
    answer = turned.as_json()
    assert answer["replayed"] == len(events) and answer["in_force"] == {"same": len(events), "other": 0, "none": 0}
    assert {c["event_id"] for c in answer["changed"]} == {e.id for e in events}

    above = preview(events, source.data_dir, in_force=COUNTED, proposed=placed(line=[[0.0, 0.05], [1.0, 0.05]]))
    assert (above.proposed.same, above.proposed.none) == (0, len(events))  # nobody crosses up there

    half = preview(events, source.data_dir, in_force=COUNTED, proposed=placed(line=[[0.0, 0.5], [0.3, 0.5]]))
    anchors = [(e.box_x1 + e.box_x2) / 2 / 1280 for e in events]  # where each crossed, across the picture
    assert half.proposed.same == sum(1 for x in anchors if x < 0.3 - 0.02)  # only those crossing the short line
    assert half.proposed.same + half.proposed.none == len(events)


def test_events_whose_boxes_cannot_be_read_are_left_out_as_no_boxes(tmp_path: Path) -> None:
    source = analysed_events()
    real = source.events[0]
    data = tmp_path / "data"
    (data / "boxes").mkdir(parents=True)
    (data / "boxes" / "broken.json").write_text('{"version": 1, "frames": [')
    (data / "boxes" / "other.json").write_text(json.dumps({"version": 99}))
    (tmp_path / "outside.json").write_bytes((source.data_dir / real.boxes_path).read_bytes())
    (data / "boxes" / "real.json").write_bytes((source.data_dir / real.boxes_path).read_bytes())

    def event(number: int, path: str | None) -> EntryEvent:
        return real.model_copy(update={"id": number, "boxes_path": path, "boxes_sha256": str(number)})

    events = [event(1, None), event(2, "boxes/missing.json"), event(3, "boxes/broken.json"),
              event(4, "boxes/other.json"), event(5, "../outside.json"), event(6, "boxes/real.json")]
    result = preview(events, data, in_force=COUNTED, proposed=COUNTED)
    assert result.no_boxes == 5 and [e.event_id for e in result.events] == [6]
    with pytest.raises(ValueError, match="version"):
        parse_track({"version": 99})
    with pytest.raises(ValueError, match="missing or wrong field"):
        parse_track({"version": 1, "event_track_id": 3, "frame_size": [1280, 720]})


def test_the_preview_takes_the_cameras_latest_events_newest_first() -> None:
    source = analysed_events()
    engine = make_engine(source.database_url)
    with Session(engine) as session:
        latest = recent_events(session, CAMERA, limit=3)
        assert recent_events(session, "another-camera") == []
    engine.dispose()
    newest = sorted(source.events, key=lambda e: e.occurred_at, reverse=True)[:3]
    assert [e.id for e in latest] == [e.id for e in newest]
    assert line_preview.PREVIEW_EVENTS == 50
