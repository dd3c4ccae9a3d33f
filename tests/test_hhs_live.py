"""The hhs_enforcement live crawl against the real sites' behaviour (issue 16): local replicas of hhs.gov (its
Akamai 403 block page on every path) and of the Wayback Machine (`/web/<timestamp>id_/<url>`, redirecting to
the nearest capture), the real `scrapy crawl` in a subprocess, the shrink guard on `live.jsonl`, and
`kb build` keeping the live crawl's raw file when it replays the snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl import build


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- kb build and the live raw file ----------------------------------------------------------------------


def test_build_replay_keeps_the_live_crawls_raw_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replaying the snapshot's press releases must not erase `live.jsonl` (and the other way round)."""
    snapshot = tmp_path / "snapshot"
    (snapshot / "breach_portal").mkdir(parents=True)
    (snapshot / "hhs_press_releases").mkdir()
    (snapshot / "hhs_press_releases" / "hhs_press_releases_2018_p_fragments.csv").write_text(",URL,Text\n")
    raw = tmp_path / "raw" / "hhs_enforcement"
    raw.mkdir(parents=True)
    (raw / "live.jsonl").write_text('{"url": "https://www.hhs.gov/press-room/a.html"}\n')
    (raw / "an_export_no_longer_in_the_snapshot.jsonl").write_text("")

    def replay(spider: str, export: Path, raw_dir: Path) -> None:  # what the replay subprocess writes
        (raw_dir / spider).mkdir(parents=True, exist_ok=True)
        (raw_dir / spider / f"{export.name}.jsonl").write_text("")

    monkeypatch.setattr(build, "run_spider", replay)
    echoed: list[str] = []
    build.crawl_stage(snapshot, tmp_path / "raw", echoed.append)
    assert sorted(p.name for p in raw.glob("*.jsonl")) == ["hhs_press_releases.jsonl", "live.jsonl"]
    assert _lines(raw / "live.jsonl") == [{"url": "https://www.hhs.gov/press-room/a.html"}]
    assert any("an_export_no_longer_in_the_snapshot.jsonl" in line for line in echoed)
