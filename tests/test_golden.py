"""Golden files: every saved input in tests/golden/<spider>/ goes through its spider's parse path and must give
what the `<case>.expected.json` beside it says (docs/crawling.md, "Golden files").

    KB_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py

rewrites the outputs of every expected file from what the spiders yield now, instead of comparing: review the
change with `git diff tests/golden/` before committing it.

A case's input keys (never rewritten):
  "comment"        where the input comes from: hand-written, or recorded (and from where)
  "input"          the input file, beside the case; or
  "snapshot_file"  a file of the spider's snapshot_folder in the snapshot (recorded inputs are read in place,
                   never copied into git)
  "callback", "url", "cb_kwargs"
                   the input is the response for url given to that spider callback (the live path); without
                   "callback" the input is replayed (`-a export=<file>`, the spider's start()), and "url", if
                   given, picks the one replayed item with that url
  "spider_args"    keyword arguments of the spider
Its outputs, compared (and rewritten by the switch):
  "items"          every item yielded, or "item": the fields listed, of the one item picked by url
  "requests"       every request yielded: url, callback, and method and form fields when it is not a GET
  "actions"        etl.press_releases.extract_actions of those items (enforcement pages)
  "closed", "errors"  the CloseSpider reason and the lines logged at ERROR, when the input stops the crawl
A new case written with its input keys only gets "items" (and "requests" for a callback) on its first update.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from conftest import REPO_ROOT, SNAPSHOT_DIR
from itemadapter import ItemAdapter, is_item
from scrapy import Request
from scrapy.exceptions import CloseSpider
from scrapy.http import TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.utils.test import get_crawler

from crawlers.registry import ContractError, SpiderContract, contract, spiders
from etl.press_releases import extract_actions

GOLDEN = REPO_ROOT / "tests" / "golden"
UPDATE = os.environ.get("KB_UPDATE_GOLDEN") == "1"
INPUT_KEYS = ("comment", "input", "snapshot_file", "callback", "url", "cb_kwargs", "spider_args")
OUTPUT_KEYS = ("items", "item", "requests", "actions")
STOP_KEYS = ("closed", "errors")
CASES = sorted(GOLDEN.glob("*/*.expected.json"))


@functools.cache
def _contracts() -> dict[str, SpiderContract]:
    return {c.name: c for c in spiders()}


class _ErrorLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def _drain(results: AsyncIterator[Any], into: list[Any]) -> None:
    async for result in results:
        into.append(result)


def _request(request: Request) -> dict[str, Any]:
    summary: dict[str, Any] = {"url": request.url, "callback": getattr(request.callback, "__name__", None)}
    if request.method != "GET":
        summary["method"] = request.method
    if request.body:
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        summary["form"] = {k: v[0] if len(v) == 1 else v for k, v in form.items()}
    return summary


@functools.cache
def _run(
    spider_name: str, path: Path, callback: str | None, url: str | None, cb_kwargs_json: str, spider_args_json: str
) -> tuple[list[dict], list[dict], str | None, list[str]]:
    """(items, requests, CloseSpider reason, ERROR lines) of one input; cached, as recorded files hold many cases."""
    spider_class = _contracts()[spider_name].spider_class
    spider_args = json.loads(spider_args_json)
    if callback is None:
        spider_args = {"export": str(path), **spider_args}
    spider = spider_class.from_crawler(get_crawler(spider_class), **spider_args)
    errors = _ErrorLines()
    logging.getLogger(spider_name).addHandler(errors)
    out: list[Any] = []
    closed = None
    try:
        if callback is None:
            asyncio.run(_drain(spider.start(), out))
        else:
            assert url, "a callback case needs the url its input is fetched from"
            response_class = responsetypes.from_filename(path.name)
            encoding = {"encoding": "utf-8"} if issubclass(response_class, TextResponse) else {}
            response = response_class(url, body=path.read_bytes(), request=Request(url), **encoding)
            out.extend(getattr(spider, callback)(response, **json.loads(cb_kwargs_json)))
    except CloseSpider as e:
        closed = e.reason
    finally:
        logging.getLogger(spider_name).removeHandler(errors)
    items = [ItemAdapter(o).asdict() for o in out if is_item(o) and not isinstance(o, Request)]
    requests = [_request(o) for o in out if isinstance(o, Request)]
    return items, requests, closed, errors.lines


def _outputs(spider_name: str, case_path: Path, case: dict[str, Any]) -> dict[str, Any]:
    """What the spider gives now for the case's input, under the case's output keys (and closed, errors)."""
    if "snapshot_file" in case:
        folder = _contracts()[spider_name].snapshot_folder
        assert folder, f"{spider_name} declares no snapshot_folder"
        path = SNAPSHOT_DIR / folder / case["snapshot_file"]
    else:
        path = case_path.parent / case["input"]
    callback = case.get("callback")
    items, requests, closed, errors = _run(
        spider_name,
        path,
        callback,
        case.get("url"),
        json.dumps(case.get("cb_kwargs", {}), sort_keys=True),
        json.dumps(case.get("spider_args", {}), sort_keys=True),
    )
    if callback is None and "url" in case:
        items = [i for i in items if i.get("url") == case["url"]]
        assert len(items) == 1, f"{case['url']} is replayed {len(items)} times from {path.name}"
    keys = [k for k in OUTPUT_KEYS if k in case] or (
        ["items", "requests"] if callback else ["item"] if "url" in case else ["items"]
    )
    got: dict[str, Any] = {}
    for key in keys:
        if key == "items":
            got[key] = items
        elif key == "item":
            got[key] = {k: items[0][k] for k in (case.get("item") or items[0])}
        elif key == "requests":
            got[key] = requests
        elif key == "actions":
            got[key] = [a for i in items for a in extract_actions(i)]
    return {**got, "closed": closed, "errors": errors}


def _rewrite(case_path: Path, case: dict[str, Any], got: dict[str, Any]) -> None:
    """The case with its outputs replaced (its own key order kept; closed/errors only when the crawl stopped)."""
    new = {k: got.get(k, v) for k, v in case.items() if k not in STOP_KEYS}
    new.update({k: v for k, v in got.items() if k not in new and k not in STOP_KEYS})
    if got["closed"] is not None or got["errors"]:
        new.update(closed=got["closed"], errors=got["errors"])
    case_path.write_text(json.dumps(new, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@pytest.mark.parametrize("case_path", CASES, ids=lambda p: f"{p.parent.name}/{p.name.removesuffix('.expected.json')}")
def test_golden(case_path: Path) -> None:
    case = json.loads(case_path.read_text(encoding="utf-8"))
    unknown = set(case) - {*INPUT_KEYS, *OUTPUT_KEYS, *STOP_KEYS}
    assert not unknown, f"unknown key(s) {sorted(unknown)} (see this module's docstring)"
    assert ("input" in case) != ("snapshot_file" in case), "give exactly one of input, snapshot_file"
    got = _outputs(case_path.parent.name, case_path, case)
    if UPDATE:
        _rewrite(case_path, case, got)
        return
    expected = {k: case[k] for k in got if k not in STOP_KEYS}
    assert got == {**expected, "closed": case.get("closed"), "errors": case.get("errors", [])}


# -- one contract per spider ----------------------------------------------------------------------


def test_every_spider_declares_its_contract_and_has_golden_cases() -> None:
    names = [c.name for c in spiders()]
    assert names == ["breach_portal", "hhs_enforcement"]
    for name in names:
        assert list((GOLDEN / name).glob("*.expected.json")), f"tests/golden/{name}/ has no case"
    assert sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) == names  # a folder per spider, no other


def test_a_spider_without_its_contract_is_named() -> None:
    class Undeclared:
        name = "undeclared"
        snapshot_folder = None

    with pytest.raises(
        ContractError,
        match=r"'undeclared' .* does not declare snapshot_required, "
        r"live_saves_snapshot, raw_file_stem\(item\)",
    ):
        contract(Undeclared)
