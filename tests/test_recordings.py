"""Every recorded real exchange under tests/recordings/ replays through its spider (docs/crawling.md).

A folder there is what `kb crawl --record DIR` saved for one spider (DIR/<spider>/), copied in by a
maintainer with internet. Each is replayed with REPLAY_DIR: the spider runs its live flow against the
recorded answers and must ask for exactly the recorded requests, in any order, and finish cleanly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_breach_portal_live import (
    crawl,
    portal,  # noqa: F401  (the portal replica fixture, requested by `replica`)
)
from test_hhs_live import crawl as crawl_hhs
from test_hhs_live import wayback  # noqa: F401  (the archive replica fixture, requested by `archive`)

from crawlers.recording import read_recording
from crawlers.registry import spiders
from etl.context import REPO_ROOT

RECORDINGS = Path(__file__).parent / "recordings"


# Where the recorded crawl put its output; a replay puts it under its own work folder instead.
OUTPUT_ARGUMENTS = {"out"}


def replay_recording(folder: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """Run the recorded spider, with the arguments it was recorded with, against the recording; what it
    saves goes under work/."""
    manifest, _ = read_recording(folder)
    contract = {s.name: s for s in spiders()}[manifest["spider"]]
    arguments = {k: v for k, v in manifest.get("arguments", {}).items() if k not in OUTPUT_ARGUMENTS}
    if contract.live_saves_snapshot:
        arguments["out"] = str(work / "snap")
    cmd = [sys.executable, "-m", "scrapy", "crawl", contract.name, "-s", f"REPLAY_DIR={folder}"]
    cmd += ["-s", f"RAW_DIR={work / 'raw'}", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"]
    for name, value in arguments.items():
        cmd += ["-a", f"{name}={value}"]
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings")
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "folder", sorted(p for p in RECORDINGS.glob("*") if (p / "manifest.json").is_file()), ids=lambda p: p.name
)
def test_recorded_exchange_replays(folder: Path, tmp_path: Path) -> None:
    result = replay_recording(folder, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture
def replica(request: pytest.FixtureRequest) -> str:
    """The address of a local replica of the Breach Portal (tests/test_breach_portal_live.py)."""
    return request.getfixturevalue("portal")


def test_a_crawl_recorded_against_the_portal_replica_replays_to_the_same_exports(replica: str, tmp_path: Path) -> None:
    """Record a live crawl (against the local replica of the portal), then replay the recording offline:
    the spider asks for exactly the recorded requests and saves byte-identical exports."""
    recording = tmp_path / "recording" / "breach_portal"
    live = crawl(replica, tmp_path / "live", "-a", "lists=hipaa", "-s", f"RECORD_DIR={recording}")
    assert live.returncode == 0, live.stderr
    manifest, exchanges = read_recording(recording)
    assert manifest["arguments"]["portal_url"] == replica and manifest["arguments"]["lists"] == "hipaa"
    posts = [e["request"] for e in exchanges if e["request"]["method"] == "POST"]
    assert len(posts) == 3  # export, tab switch, export
    assert ["ocrForm", "ocrForm"] in posts[0]["form"]
    assert any(e["response"]["headers"].get("Content-Disposition") for e in exchanges)

    replay = replay_recording(recording, tmp_path / "replay")
    assert replay.returncode == 0, replay.stderr[-3000:]
    live_snap, replay_snap = tmp_path / "live" / "snap", tmp_path / "replay" / "snap"
    assert sorted(p.name for p in replay_snap.iterdir()) == sorted(p.name for p in live_snap.iterdir())
    for path in live_snap.iterdir():
        assert (replay_snap / path.name).read_bytes() == path.read_bytes()


def test_a_replay_fails_when_the_site_now_expects_other_form_fields(replica: str, tmp_path: Path) -> None:
    recording = tmp_path / "recording" / "breach_portal"
    assert crawl(replica, tmp_path / "live", "-a", "lists=hipaa", "-s", f"RECORD_DIR={recording}").returncode == 0
    first_post = next(p for p in sorted(recording.glob("0*.json")) if '"POST"' in p.read_text())
    exchange = json.loads(first_post.read_text())
    exchange["request"]["form"] = [[k, v + "-changed" if k == "ocrForm" else v] for k, v in exchange["request"]["form"]]
    first_post.write_text(json.dumps(exchange))
    replay = replay_recording(recording, tmp_path / "replay")
    assert replay.returncode == 1
    assert "form field 'ocrForm': recorded 'ocrForm-changed', now 'ocrForm'" in replay.stderr
    assert not (tmp_path / "replay" / "snap").exists() or not any((tmp_path / "replay" / "snap").iterdir())


@pytest.fixture
def archive(request: pytest.FixtureRequest) -> str:
    """The address of a local replica of the Wayback Machine's raw captures (tests/test_hhs_live.py)."""
    return request.getfixturevalue("wayback")


def test_an_archive_route_crawl_replays_with_its_clock_on_another_day(archive: str, tmp_path: Path) -> None:
    """as_of is left to default (today) when recording; the manifest makes it explicit, so the replay asks the
    archive for the same captures whatever the day, redirects and the PDF that is an HTML page included."""
    recording = tmp_path / "recording" / "hhs_enforcement"
    live = crawl_hhs(tmp_path / "live", "-a", f"archive_url={archive}/web/", "-s", f"RECORD_DIR={recording}")
    assert live.returncode == 0, live.stderr
    manifest, exchanges = read_recording(recording)
    assert re.fullmatch(r"\d{8}", manifest["arguments"]["as_of"])
    assert any(e["response"]["status"] == 302 for e in exchanges)  # each redirect hop is its own exchange

    replay = replay_recording(recording, tmp_path / "replay")
    assert replay.returncode == 0, replay.stderr[-3000:]
    live_items = (tmp_path / "live" / "hhs_enforcement" / "live.jsonl").read_text().splitlines()
    replayed_items = (tmp_path / "replay" / "raw" / "hhs_enforcement" / "live.jsonl").read_text().splitlines()
    assert sorted(replayed_items) == sorted(live_items) and live_items
