"""Security basics: no secrets in the repository, a polite crawler by default, and a read-only Datasette with
SQL time and row limits (checked over HTTP on the real server). Markup escaping is tested with the site."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import REPO_ROOT
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader

# Shapes of credentials that must never be committed (each also matched case-sensitively by its issuer).
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY( BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "OpenAI-style key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9]{32,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:[^/\s@'\"]{3,}@[\w.-]+"),
}


def repository_files() -> list[Path]:
    """Files git tracks, plus new ones not ignored (the lead commits them later)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [REPO_ROOT / name for name in out.decode().split("\0") if name and (REPO_ROOT / name).is_file()]


def test_no_secrets_in_the_repository() -> None:
    files = repository_files()
    assert len(files) > 50 and REPO_ROOT / "etl" / "build.py" in files
    found = []
    for path in files:
        text = path.read_bytes()[:5_000_000].decode("utf-8", errors="replace")
        for kind, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                found.append(f"{path.relative_to(REPO_ROOT)}: {kind}: {match.group(0)[:12]}...")
    assert not found, "\n".join(found)
    ignored = (REPO_ROOT / ".gitignore").read_text()
    assert ".env" in ignored or not (REPO_ROOT / ".env").exists()


@pytest.mark.parametrize(
    "pattern, sample",
    [
        ("private key", "-----BEGIN " + "RSA PRIVATE KEY-----"),
        ("AWS access key id", "AKIA" + "ABCDEFGHIJKLMNOP"),
        ("GitHub token", "ghp_" + "a" * 36),
        ("password in a URL", "postgres://admin:" + "hunter2@db.example.org/kb"),
    ],
)
def test_secret_patterns_catch_their_kind(pattern: str, sample: str) -> None:
    assert SECRET_PATTERNS[pattern].search(f"x = '{sample}'")


def crawler_settings(spider_name: str) -> Settings:
    """The settings a spider runs with: the project's, then the spider's own custom_settings on top."""
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    spider = SpiderLoader.from_settings(settings.frozencopy()).load(spider_name)
    settings.setdict(spider.custom_settings or {}, priority="spider")
    return settings


@pytest.mark.parametrize("spider_name", ["breach_portal", "hhs_enforcement"])
def test_crawler_is_polite_by_default(spider_name: str) -> None:
    settings = crawler_settings(spider_name)
    assert settings.getbool("ROBOTSTXT_OBEY") is True
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is True
    assert settings.getfloat("DOWNLOAD_DELAY") >= 1
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2
    user_agent = settings.get("USER_AGENT")
    assert re.search(r"\+?https?://\S+", user_agent), user_agent  # an address the site operator can use
    assert "Scrapy" not in user_agent
    assert settings.getint("RETRY_TIMES") <= 5


def test_datasette_is_immutable_with_sql_limits(datasette_url: str, built: dict) -> None:
    db_sha = hashlib.sha256(built["db"].read_bytes()).hexdigest()
    settings = httpx.get(f"{datasette_url}/-/settings.json", timeout=30).json()
    assert 0 < settings["sql_time_limit_ms"] <= 5000
    assert 0 < settings["max_returned_rows"] <= 5000
    [kb] = [d for d in httpx.get(f"{datasette_url}/-/databases.json", timeout=30).json() if d["name"] == "kb"]
    assert kb["is_mutable"] is False

    for sql in [
        "delete from breaches",
        "update breaches set state = 'XX'",
        "drop table breaches",
        "select 1; delete from breaches",
        "attach database '/tmp/x.db' as x",
        "pragma writable_schema = 1",
    ]:
        response = httpx.get(f"{datasette_url}/kb.json", params={"sql": sql}, timeout=30)
        assert response.status_code >= 400, (sql, response.text[:300])
    count = httpx.get(
        f"{datasette_url}/kb.json", params={"sql": "select count(*) as n from breaches", "_shape": "array"}, timeout=30
    ).json()
    assert count[0]["n"] > 6000

    rows = httpx.get(
        f"{datasette_url}/kb.json", params={"sql": "select breach_id from breach_observations"}, timeout=30
    ).json()
    assert len(rows["rows"]) == settings["max_returned_rows"] and rows["truncated"] is True

    slow = (
        "with recursive c(x) as (select 1 union all select x + 1 from c where x < 10000000000) select count(*) from c"
    )
    response = httpx.get(f"{datasette_url}/kb.json", params={"sql": slow}, timeout=60)
    assert response.status_code >= 400 and "too long" in response.text.lower()
    assert hashlib.sha256(built["db"].read_bytes()).hexdigest() == db_sha
