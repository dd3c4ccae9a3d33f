"""Fixtures for the site tests (tests/test_site_http.py, tests/browser/): a second Datasette server on a
copy of the pipeline-built database with hostile rows added."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlite_utils
from servers import start_kb_serve

# Hand-written hostile fixture values (not from the sources): text a source could carry that must stay
# inert on every page. Each sets a global when it runs, so a browser test can tell that it did not.
HOSTILE_ACTION_ID = "2099-01-01-hostile-test-entity"
HOSTILE_BREACH_ID = "2099-01-01-hostile-test-entity-zz"
SCRIPT = "<script>window.__pwned = 'script'</script>"
IMG = "<img src=x onerror=\"window.__pwned='onerror'\">"
JS_URL = "javascript:window.__pwned='href'"


def add_hostile_rows(db: sqlite_utils.Database) -> None:
    """One enforcement action and one breach report whose every text field carries markup."""
    provision = db.execute(
        "select provision_id from action_provisions where provision_id is not null "
        "group by provision_id order by count(*) desc limit 1"
    ).fetchone()[0]
    db["enforcement_actions"].insert(
        {
            "id": HOSTILE_ACTION_ID,
            "entity": f"Hostile {SCRIPT} Clinic {IMG}",
            "entity_key": "hostile",
            "announced": "2099-01-01",
            "year": 2099,
            "action_type": "resolution_agreement",
            "amount_usd": 12345,
            "entity_type": "healthcare_provider",
            "state": "ZZ",
            "cap_years": 2,
            "incident": json.dumps([f"incident {SCRIPT}"]),
            "incident_text": f"incident {SCRIPT}",
            "summary": f"Summary {SCRIPT} and {IMG} [link](javascript:alert(1))",
            "notes": f"notes {IMG}",
            "hhs_urls": json.dumps([JS_URL, "https://www.hhs.gov/hostile-test"]),
            "evidence": json.dumps([]),
            "confidence": "high",
            "origin": "curated",
            "agency": "ocr",
            "states": json.dumps(["ZZ"]),
            "form_detail": f"form {SCRIPT}",
            "amount_note": f"amount note {IMG}",
            "states_note": f"states {SCRIPT}",
            "docket": f"docket {IMG}",
        }
    )
    db["action_provisions"].insert(
        {
            "id": f"{HOSTILE_ACTION_ID}/test/1",
            "action_id": HOSTILE_ACTION_ID,
            "provision": provision,
            "provision_id": provision,
            "flag": "exact",
            "label": f"label {SCRIPT}",
            "basis": "stated",
            "source": "curated",
        }
    )
    db["action_documents"].insert(
        {
            "action_id": HOSTILE_ACTION_ID,
            "url": JS_URL,
            "kind": "press_release",
            "title": f"Title {IMG}",
            "published": "2099-01-01",
            "text": f"text {SCRIPT}",
        }
    )
    db["breaches"].insert(
        {
            "id": HOSTILE_BREACH_ID,
            "list": "hipaa",
            "entity_name": f"Hostile {SCRIPT} Clinic",
            "entity_key": "hostile",
            "state": "ZZ",
            "covered_entity_type": "healthcare_provider",
            "individuals_affected": 600,
            "individuals_placeholder": 0,
            "submission_date": "2099-01-01",
            "year": 2099,
            "breach_type": f"Theft {IMG}",
            "location": "Laptop",
            "breach_types": json.dumps([f"Theft {IMG}"]),
            "locations": json.dumps(["Laptop"]),
            "business_associate_present": 0,
            "description": f"Description {SCRIPT} {IMG}",
            "status": "archive",
            "first_seen": "2099-01",
            "last_seen": "2099-01",
        }
    )
    db["breach_action_links"].insert(
        {
            "breach_id": HOSTILE_BREACH_ID,
            "action_id": HOSTILE_ACTION_ID,
            "score": 1.0,
            "method": f"rules {IMG}",
            "evidence": SCRIPT,
            "days_to_action": 0,
        }
    )


@pytest.fixture(scope="session")
def hostile_site(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """A real `kb serve` on a copy of the built database plus the hostile rows (the copy is kb.db too:
    Datasette names the database after the file)."""
    db_path = tmp_path_factory.mktemp("hostile") / "kb.db"
    shutil.copy(built["db"], db_path)
    db = sqlite_utils.Database(db_path)
    add_hostile_rows(db)
    db.close()
    proc, url = start_kb_serve(db_path)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
