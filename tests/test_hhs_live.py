"""The hhs_enforcement live crawl against the real sites' behaviour (issue 16): local replicas of hhs.gov (its
Akamai 403 block page on every path) and of the Wayback Machine (`/web/<timestamp>id_/<url>`, redirecting to
the nearest capture), the real `scrapy crawl` in a subprocess, the shrink guard on `live.jsonl`, and
`kb build` keeping the live crawl's raw file when it replays the snapshot."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO_ROOT

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

    def replay(replays: dict[str, Path], raw_dir: Path) -> None:  # what the replay subprocess writes
        for spider, export in replays.items():
            (raw_dir / spider).mkdir(parents=True, exist_ok=True)
            (raw_dir / spider / f"{export.name}.jsonl").write_text("")

    monkeypatch.setattr(build, "run_replays", replay)
    echoed: list[str] = []
    build.crawl_stage(snapshot, tmp_path / "raw", echoed.append)
    assert sorted(p.name for p in raw.glob("*.jsonl")) == ["hhs_press_releases.jsonl", "live.jsonl"]
    assert _lines(raw / "live.jsonl") == [{"url": "https://www.hhs.gov/press-room/a.html"}]
    assert any("an_export_no_longer_in_the_snapshot.jsonl" in line for line in echoed)


# -- local replicas of hhs.gov and of the Wayback Machine --------------------------------------------------

FIXTURES = REPO_ROOT / "tests" / "golden" / "hhs_enforcement"
INDEX = "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/index.html"
DEER_OAKS = "https://www.hhs.gov/press-room/ocr-hipaa-racap-deer-oaks.html"
DEER_OAKS_PDF = "https://www.hhs.gov/sites/default/files/ocr-hipaa-racap-deer-oaks.pdf"
PIH_PDF = "https://www.hhs.gov/sites/default/files/ocr-hipaa-racap-pih.pdf"
ANTHEM = "https://www.hhs.gov/hipaa/for-professionals/compliance-enforcement/agreements/anthem/index.html"
ANTHEM_PDF = "https://www.hhs.gov/sites/default/files/anthem-ra-cap.pdf"
# Hand-written after the "Access Denied" page Akamai serves for hhs.gov (../shared/snapshot/hhs_pages/README.md:
# every path answers 403 to automated clients, robots.txt included).
BLOCK_PAGE = (
    b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n \nYou don't have "
    b'permission to access "http&#58;&#47;&#47;www&#46;hhs&#46;gov&#47;" on this server.<P>\n'
    b"Reference&#32;&#35;18&#46;5c2f1402&#46;1764000000&#46;1a2b3c4d\n</BODY>\n</HTML>\n"
)
HTML = "text/html; charset=UTF-8"


class _Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep pytest output quiet
        pass

    def send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class FakeHhsGov(_Quiet):
    """hhs.gov as automated clients see it: 403 and the block page for every path."""

    paths: list[str] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send(403, BLOCK_PAGE, HTML)


class FakeWayback(_Quiet):
    """The Wayback Machine's raw captures: `/web/<timestamp>id_/<url>` redirects (302) to the capture nearest the
    timestamp, `/web/<capture timestamp>id_/<url>` serves the bytes as captured, with their content type; an
    address with no capture is a 404. Captures: {hhs.gov address: (timestamp, content type, body)}."""

    captures: dict[str, tuple[str, str, bytes]] = {}
    paths: list[str] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        m = re.fullmatch(r"/web/(\d{1,14})id_/(https?://.+)", self.path)
        if not m:
            self.send(404, b"not found", "text/plain")
            return
        asked, url = m.group(1), re.sub(r"^http://", "https://", m.group(2))
        if url not in self.captures:
            self.send(404, b"<html><body>Wayback Machine has not archived that URL.</body></html>", HTML)
            return
        timestamp, content_type, body = self.captures[url]
        if asked != timestamp:
            host = self.headers["Host"]
            self.send(302, b"", HTML, {"Location": f"http://{host}/web/{timestamp}id_/{url}"})
            return
        self.send(200, body, content_type)


CAPTURES = {
    INDEX: ("20260302101500", HTML, (FIXTURES / "agreements_index_2026.html").read_bytes()),
    DEER_OAKS: ("20250708123456", HTML, (FIXTURES / "press_room_2026.html").read_bytes()),
    DEER_OAKS_PDF: ("20250708123502", "application/pdf", (FIXTURES / "agreement.pdf").read_bytes()),
    PIH_PDF: ("20250424080000", HTML, BLOCK_PAGE),  # a .pdf address whose capture is an HTML page
    ANTHEM: ("20190101000000", HTML, (FIXTURES / "case_page_new_layout.html").read_bytes()),
    ANTHEM_PDF: ("20190101000100", "application/pdf", (FIXTURES / "agreement.pdf").read_bytes()),
}


def _serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def hhs_gov() -> Iterator[str]:
    FakeHhsGov.paths = []
    yield from _serve(FakeHhsGov)


@pytest.fixture
def wayback() -> Iterator[str]:
    FakeWayback.paths, FakeWayback.captures = [], dict(CAPTURES)
    yield from _serve(FakeWayback)


def crawl(raw_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `scrapy crawl hhs_enforcement` live, in a subprocess, without the polite delays."""
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings")
    command = [sys.executable, "-m", "scrapy", "crawl", "hhs_enforcement", *args, "-s", f"RAW_DIR={raw_dir}"]
    command += ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "LOG_LEVEL=WARNING"]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


def _previous_live(raw_dir: Path, pages: int) -> Path:
    """A last good live.jsonl of that many pages."""
    live = raw_dir / "hhs_enforcement" / "live.jsonl"
    live.parent.mkdir(parents=True, exist_ok=True)
    items = [
        {"url": f"https://www.hhs.gov/press-room/p{i}.html", "text": "A page.", "error": None} for i in range(pages)
    ]
    live.write_text("".join(json.dumps(i) + "\n" for i in items))
    return live


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line]


def test_hhs_gov_403_fails_the_crawl_loudly_and_keeps_the_previous_live_file(hhs_gov: str, tmp_path: Path) -> None:
    live = _previous_live(tmp_path, 3)
    before = live.read_bytes()
    result = crawl(tmp_path, "-a", "route=direct", "-a", f"site_url={hhs_gov}")
    assert result.returncode == 1, result.stderr
    [line] = _error_lines(result.stderr)
    assert f"{INDEX}: HTTP 403 from {hhs_gov}/hipaa/" in line and "blocked" in line
    assert "Traceback" not in result.stderr
    assert live.read_bytes() == before
    assert [p.name for p in live.parent.iterdir()] == ["live.jsonl"]  # no temporary file left
    assert FakeHhsGov.paths == ["/robots.txt", "/hipaa/for-professionals/compliance-enforcement/agreements/index.html"]


def _archive_crawl(wayback: str, raw_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return crawl(raw_dir, "-a", f"archive_url={wayback}/web/", "-a", "as_of=20261201", *args)


def test_archive_route_reads_captures_and_keeps_their_provenance(wayback: str, tmp_path: Path) -> None:
    result = _archive_crawl(wayback, tmp_path)
    assert result.returncode == 0, result.stderr
    items = {i["url"]: i for i in _lines(tmp_path / "hhs_enforcement" / "live.jsonl")}
    deer_oaks = items[DEER_OAKS]
    assert deer_oaks["fetched_from"] == f"{wayback}/web/20250708123456id_/{DEER_OAKS}"
    assert deer_oaks["captured"] == "2025-07-08T12:34:56Z"
    assert (deer_oaks["kind"], deer_oaks["published"], deer_oaks["error"]) == ("press_release", "2025-07-07", None)
    # Links of an archived page are hhs.gov addresses, followed through the archive again.
    assert items[DEER_OAKS_PDF]["fetched_from"] == f"{wayback}/web/20250708123502id_/{DEER_OAKS_PDF}"
    assert "$16,000,000" in items[ANTHEM_PDF]["text"]
    assert items[ANTHEM]["captured"] == "2019-01-01T00:00:00Z"
    # A .pdf address whose capture is an HTML page, and pages the archive has no capture of: items with errors.
    assert items[PIH_PDF]["error"].startswith("not a PDF") and items[PIH_PDF]["text"] is None
    concentra = "https://www.hhs.gov/press-room/ocr-settles-with-concentra.html"
    assert items[concentra]["error"] == f"HTTP 404 from {wayback}/web/20261201id_/{concentra}"
    assert sorted(u for u, i in items.items() if i["error"] is None) == sorted(
        [DEER_OAKS, DEER_OAKS_PDF, ANTHEM, ANTHEM_PDF]
    )
    # Every request went to the archive at the crawl's timestamp, or to a capture it redirected to.
    asked = [p for p in FakeWayback.paths if p != "/robots.txt"]
    assert asked[0] == f"/web/20261201id_/{INDEX}"
    assert all(re.fullmatch(r"/web/\d{8}(?:\d{6})?id_/https://www\.hhs\.gov/\S+", p) for p in asked)
    assert f"/web/20261201id_/{DEER_OAKS_PDF}" in asked  # ?language=en dropped


def test_archive_without_the_index_fails_the_crawl(wayback: str, tmp_path: Path) -> None:
    FakeWayback.captures.pop(INDEX)
    live = _previous_live(tmp_path, 3)
    before = live.read_bytes()
    result = _archive_crawl(wayback, tmp_path)
    assert result.returncode == 1
    [line] = _error_lines(result.stderr)
    assert f"{INDEX}: the agreements index was not fetched (HTTP 404 from {wayback}/web/20261201id_/{INDEX})" in line
    assert live.read_bytes() == before


def test_a_crawl_that_gets_no_page_fails(wayback: str, tmp_path: Path) -> None:
    FakeWayback.captures = {INDEX: CAPTURES[INDEX]}  # the index, and no capture of anything it links
    result = _archive_crawl(wayback, tmp_path)
    assert result.returncode == 1
    [line] = _error_lines(result.stderr)
    assert "the live crawl got no page" in line
    assert not (tmp_path / "hhs_enforcement" / "live.jsonl").exists()


@pytest.mark.parametrize("force", [False, True])
def test_a_live_crawl_far_smaller_than_the_last_good_one_is_kept_out_unless_forced(
    wayback: str, tmp_path: Path, force: bool
) -> None:
    live = _previous_live(tmp_path, 20)  # this crawl gets 4 pages
    before = live.read_bytes()
    result = _archive_crawl(wayback, tmp_path, *(["-a", "force=1"] if force else []))
    if force:
        assert result.returncode == 0, result.stderr
        assert len(_lines(live)) > 4 and live.read_bytes() != before
    else:
        assert result.returncode == 1
        [line] = _error_lines(result.stderr)
        assert f"4 pages is under 80% of the 20 pages of the last good live crawl ({live})" in line
        assert live.read_bytes() == before
