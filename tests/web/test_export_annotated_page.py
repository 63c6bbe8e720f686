"""The auditor asks for annotated clips on the exports page: the job draws them in a process of its own
(the web app loads no video library) and the ZIP holds them beside the original clips."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from gatewatch.evidence.export import MANIFEST
from gatewatch.models.enums import Role
from gatewatch.settings import Settings
from tests.remuxed_clip import RemuxedClip, remux_cut, store_copied_event
from tests.web_helpers import GATE, post_form, recent


@pytest.fixture(scope="module")
def copied_clip(tmp_path_factory: pytest.TempPathFactory) -> RemuxedClip:
    return remux_cut(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=1.0)


def _finished(client: FlaskClient, job_page: str, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"{job_page}.json").get_json()
        if state["finished"]:
            return state
        time.sleep(0.2)
    raise AssertionError(f"the export job {job_page} did not finish: {state}")


def test_an_export_asked_for_annotated_clips_on_the_page_holds_them(
    client_for: Callable[[Role], FlaskClient], web_settings: Settings, web_engine: sa.Engine,
    copied_clip: RemuxedClip,
) -> None:
    event = store_copied_event(web_engine, web_settings.data_dir, GATE, copied_clip, recent(5))
    auditor = client_for(Role.AUDITOR)
    form = auditor.get("/audit/exports").get_data(as_text=True)
    assert 'name="annotated"' in form and 'id="f-annotated"' in form
    response = post_form(auditor, "/audit/exports", {"event_ids": str(event.id), "annotated": "1"},
                         page="/audit/exports")
    assert response.status_code == 303
    job_page = response.headers["Location"]
    assert _finished(auditor, job_page)["status"] == "done"
    page = auditor.get(job_page).get_data(as_text=True)
    assert 'id="export-job-annotated"' in page and "Annotated clips: 1" in page
    download = auditor.get(f"{job_page}/download")
    with zipfile.ZipFile(io.BytesIO(download.get_data())) as archive:
        names = set(archive.namelist())
        files = json.loads(archive.read(MANIFEST))["files"]
    assert {f"annotated/event-{event.id}.mp4", event.clip_path, event.boxes_path} <= names
    assert f"annotated/event-{event.id}.mp4" in files

    # Without the box ticked: the original clip and boxes only.
    response = post_form(auditor, "/audit/exports", {"event_ids": str(event.id)}, page="/audit/exports")
    job_page = response.headers["Location"]
    assert _finished(auditor, job_page)["status"] == "done"
    assert 'id="export-job-annotated"' not in auditor.get(job_page).get_data(as_text=True)
    with zipfile.ZipFile(io.BytesIO(auditor.get(f"{job_page}/download").get_data())) as archive:
        names = set(archive.namelist())
    assert {event.clip_path, event.boxes_path} <= names
    assert not [name for name in names if name.startswith("annotated/")]
