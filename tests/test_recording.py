"""Recording a live crawl's exchanges and replaying them offline (crawlers/recording.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from scrapy import FormRequest, Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawlers.recording import (
    MANIFEST,
    RecordingMiddleware,
    ReplayMiddleware,
    decoded_body,
    difference,
    read_recording,
    request_record,
)

PORTAL = "https://ocrportal.hhs.gov/ocr/breach/breach_report_hip.jsf"


def test_a_form_post_is_recorded_field_by_field_in_order() -> None:
    request = FormRequest(PORTAL, formdata={"ocrForm": "ocrForm", "javax.faces.ViewState": "1:2", "empty": ""})
    record = request_record(request)
    assert record["method"] == "POST"
    assert record["form"] == [("ocrForm", "ocrForm"), ("javax.faces.ViewState", "1:2"), ("empty", "")]
    assert "body_sha256" not in record


def test_difference_names_the_first_field_that_changed() -> None:
    old = {"form": [("ocrForm", "ocrForm"), ("ocrForm:j_idt366", "ocrForm:j_idt366")]}
    assert difference(old, {"form": list(old["form"])}) is None
    new = {"form": [("ocrForm", "ocrForm"), ("ocrForm:j_idt389", "ocrForm:j_idt389")]}
    assert difference(old, new) == "form field 'ocrForm:j_idt366': recorded 'ocrForm:j_idt366', now None"


def test_a_gzip_body_is_stored_decoded() -> None:
    response = HtmlResponse(PORTAL, body=gzip.compress(b"<html>grid</html>"), headers={"Content-Encoding": "gzip"})
    assert decoded_body(response) == (b"<html>grid</html>", "gzip")
    assert decoded_body(HtmlResponse(PORTAL, body=b"plain")) == (b"plain", None)


def _crawler(**settings: str):
    return get_crawler(settings_dict=settings)


def test_both_middlewares_stay_off_without_their_setting() -> None:
    with pytest.raises(NotConfigured):
        RecordingMiddleware.from_crawler(_crawler())
    with pytest.raises(NotConfigured):
        ReplayMiddleware.from_crawler(_crawler())


def _record(folder: Path, exchanges: list[tuple[Request, HtmlResponse]]) -> None:
    crawler = _crawler(RECORD_DIR=str(folder))
    recorder = RecordingMiddleware.from_crawler(crawler)
    spider = crawler._create_spider("recorded")
    recorder.spider_opened(spider)
    for request, response in exchanges:
        assert recorder.process_response(request, response) is response


def test_recorded_exchanges_are_answered_again_and_a_changed_request_is_refused(tmp_path: Path, caplog) -> None:
    page = Request(PORTAL)
    export = FormRequest(PORTAL, formdata={"ocrForm": "ocrForm", "ocrForm:j_idt366": "ocrForm:j_idt366"})
    _record(
        tmp_path,
        [
            (page, HtmlResponse(PORTAL, body=b"<html>grid</html>", headers={"Set-Cookie": "JSESSIONID=a; Path=/ocr"})),
            (
                export,
                HtmlResponse(PORTAL, body=b"Name of Covered Entity,State\n", headers={"Content-Type": "text/csv"}),
            ),
        ],
    )
    manifest, exchanges = read_recording(tmp_path)
    assert manifest["spider"] == "recorded"
    assert [e["request"]["method"] for e in exchanges] == ["GET", "POST"]
    assert exchanges[0]["response"]["headers"]["Set-Cookie"] == ["JSESSIONID=a; Path=/ocr"]

    replay = ReplayMiddleware(tmp_path)
    answer = replay.process_request(export.replace())
    assert answer.body == b"Name of Covered Entity,State\n" and answer.status == 200
    changed = FormRequest(PORTAL, formdata={"ocrForm": "ocrForm", "ocrForm:j_idt389": "ocrForm:j_idt389"})
    with pytest.raises(IgnoreRequest, match="form field 'ocrForm:j_idt366'"):
        replay.process_request(changed)
    assert "not in the recording" in caplog.text  # logged as an error, so the crawl fails
    with pytest.raises(IgnoreRequest, match="no recorded request to this URL"):
        replay.process_request(Request(PORTAL + "?other=1"))


def test_recording_refuses_a_folder_that_holds_one_already(tmp_path: Path) -> None:
    _record(tmp_path, [(Request(PORTAL), HtmlResponse(PORTAL, body=b"x"))])
    with pytest.raises(NotConfigured, match="already holds a recording"):
        _record(tmp_path, [])
    assert json.loads((tmp_path / MANIFEST).read_text())["spider"] == "recorded"


def test_a_body_over_the_limit_keeps_only_its_sha256(tmp_path: Path) -> None:
    crawler = get_crawler(settings_dict={"RECORD_DIR": str(tmp_path), "RECORD_MAX_BODY": 3})
    recorder = RecordingMiddleware.from_crawler(crawler)
    recorder.spider_opened(crawler._create_spider("recorded"))
    recorder.process_response(Request(PORTAL), HtmlResponse(PORTAL, body=b"four"))
    _, (exchange,) = read_recording(tmp_path)
    assert exchange["response"]["body_size"] == 4 and "body_file" not in exchange["response"]
    with pytest.raises(IgnoreRequest, match="kept only the sha256"):
        ReplayMiddleware(tmp_path).process_request(Request(PORTAL))


def test_settings_enable_both_middlewares_next_to_the_downloader() -> None:
    settings = Settings()
    settings.setmodule("crawlers.settings")
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    # after the cookies middleware (700), so the recorded request carries its cookies
    assert middlewares["crawlers.recording.RecordingMiddleware"] > 700
    assert middlewares["crawlers.recording.ReplayMiddleware"] > 700
