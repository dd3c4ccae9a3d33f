"""Topic rules (parametrized table), overrides, and the topics stage on the curated data."""

from __future__ import annotations

import re

import pytest
from conftest import REPO_ROOT

from etl import load_actions, topics
from etl.context import BuildError
from etl.curated import CURATED_FILE
from etl.topics import TOPIC_IDS, ActionFacts, classify, covers

CURATED_DIR = REPO_ROOT / "data" / "curated"

# (provisions cited, initiative, text, topics expected, topics that must not be given)
# Hand-made facts, worded like the curated incident labels and summaries.
RULES = [
    (("164.308(a)(1)(ii)(A)",), None, "hacking", {"risk_analysis"}, {"risk_management"}),
    ((), "risk_analysis", "ransomware", {"risk_analysis", "ransomware"}, set()),
    (("164.524(b)(2)",), None, "delayed access", {"right_of_access"}, set()),
    ((), "right_of_access", "x", {"right_of_access"}, set()),
    ((), None, "failed to provide patient a copy of his records", {"right_of_access"}, set()),
    ((), None, "reviewing/modifying users' right of access", set(), {"right_of_access"}),
    (("164.502(a)",), None, "x", {"impermissible_disclosure"}, set()),
    (
        (),
        None,
        "impermissible disclosure to media (TV documentary filming)",
        {"media_online_disclosure", "impermissible_disclosure"},
        set(),
    ),
    ((), None, "PHI disclosed in replies to patient reviews on Yelp", {"media_online_disclosure"}, set()),
    ((), None, "theft of unencrypted backup media", {"encryption"}, {"media_online_disclosure"}),
    ((), None, "After media reports, OCR opened a review", set(), {"media_online_disclosure"}),
    ((), None, "ransomware encrypted the servers", {"ransomware"}, {"encryption"}),
    (("164.502(e)",), None, "x", {"missing_baa"}, set()),
    ((), None, "no business associate agreement with the vendor", {"missing_baa"}, set()),
    ((), None, "improper disposal of PHI in unsecured dumpsters", {"disposal"}, {"exposed_server"}),
    ((), None, "workforce snooping in celebrity records", {"workforce_access_control"}, set()),
    (
        (),
        None,
        "former employees accessed network after separation",
        {"terminated_user_access"},
        {"workforce_access_control"},
    ),
    (("164.308(a)(3)(ii)(C)",), None, "x", {"terminated_user_access"}, set()),
    ((), None, "phishing / email account compromise", {"phishing_email"}, set()),
    ((), None, "misconfigured web portal exposed PHI to search engines", {"exposed_server"}, set()),
    ((), None, "unsecured PACS server accessed by unauthorized party", {"exposed_server"}, set()),
    (("164.404(b)",), None, "x", {"breach_notification"}, set()),
    (("164.400-164.414",), None, "x", {"breach_notification"}, set()),
    ((), None, "Security, Privacy and Breach Notification Rule failures", set(), {"breach_notification"}),
    ((), None, "untimely breach notification", {"breach_notification"}, set()),
    ((), None, "failed to cooperate with OCR investigation", {"failure_to_cooperate"}, set()),
    (("160.310(b)",), None, "x", {"failure_to_cooperate"}, set()),
    ((), None, "paper records left on subway", set(), set(TOPIC_IDS)),
]


@pytest.mark.parametrize("provisions, initiative, text, expected, absent", RULES, ids=[r[2][:40] for r in RULES])
def test_topic_rules(provisions, initiative, text, expected, absent):
    got = classify(ActionFacts("a", provisions, initiative, text))
    assert expected <= set(got)
    assert not (absent & set(got))


def test_evidence_names_the_rule():
    got = classify(ActionFacts("a", ("164.524",), "right_of_access", "x"))
    assert got["right_of_access"] == "cites 164.524; initiative right_of_access"


@pytest.mark.parametrize(
    "rule, cited, result",
    [
        ("164.524", "164.524(b)(2)", True),
        ("164.524", "164.524", True),
        ("164.52", "164.524", False),
        ("164.308(a)(1)(ii)(A)", "164.308(a)(1)(ii)(B)", False),
        ("164.400", "164.400-164.414", True),
    ],
)
def test_covers(rule, cited, result):
    assert covers(rule, cited) is result


@pytest.fixture
def loaded(fresh_db, tmp_path):
    load_actions.load(fresh_db, CURATED_DIR / CURATED_FILE, tmp_path / "no-raw", echo=lambda s: None)
    return fresh_db


def test_stage_on_curated_data_with_overrides(loaded):
    out: list[str] = []
    counts = topics.load(loaded, CURATED_DIR / topics.OVERRIDES_FILE, echo=out.append)
    assert loaded["topics"].count == len(TOPIC_IDS) == 15
    every_rule = {r["rule"] for r in loaded.query("select rule from topics")}
    assert all(every_rule)
    by_topic = {
        r["topic_id"]: r["n"] for r in loaded.query("select topic_id, count(*) n from action_topics group by topic_id")
    }
    right_of_access = loaded.execute(
        "select count(*) from enforcement_actions where initiative = 'right_of_access'"
    ).fetchone()[0]
    assert by_topic["right_of_access"] >= right_of_access == 53
    assert set(by_topic) == set(TOPIC_IDS)
    # overrides from the project's file applied
    memorial = {
        r["topic_id"]
        for r in loaded.query(
            "select topic_id from action_topics where action_id = '2017-02-16-memorial-healthcare-system'"
        )
    }
    assert "risk_analysis" not in memorial and "terminated_user_access" in memorial
    pmi = loaded.execute(
        "select source, evidence from action_topics where action_id = "
        "'2024-10-03-providence-medical-institute' and topic_id = 'workforce_access_control'"
    ).fetchone()
    assert pmi[0] == "override" and pmi[1].startswith("override: ")
    assert counts["topic_overrides"] == 4
    assert "derive topics:" in out[0]


@pytest.mark.parametrize(
    "row, field",
    [
        ("2018-10-15-anthem,hacking,add,why", "topic"),
        ("2018-10-15-anthem,ransomware,maybe,why", "action"),
        ("2018-10-15-anthem,ransomware,add,", "reason"),
        ("2018-10-15-anthem,ransomware,add", "(line)"),
        # malformed and naming an action absent from this build: still an error (it is wrong in every snapshot)
        ("2018-10-15-nobody,hacking,add,why", "topic"),
        ("2018-10-15-nobody,ransomware,add,", "reason"),
    ],
)
def test_bad_override_names_file_line_field(loaded, tmp_path, row, field):
    path = tmp_path / "topic_overrides.csv"
    path.write_text("action_id,topic,action,reason\n2018-10-15-anthem,encryption,add,fine\n" + row + "\n")
    with pytest.raises(BuildError, match=re.escape(f"{path}:3: field '{field}'")):
        topics.load(loaded, path, echo=lambda s: None)


@pytest.mark.parametrize(
    "row, field, reason",
    [
        ("2018-10-15-nobody,ransomware,add,why", "action_id", "no enforcement action '2018-10-15-nobody'"),
        (
            "2018-10-15-anthem,ransomware,remove,not given by the rules",
            "topic",
            "the rules do not give 2018-10-15-anthem the topic ransomware, so there is nothing to remove",
        ),
    ],
)
def test_an_override_whose_target_is_absent_is_skipped_and_reported(loaded, tmp_path, row, field, reason):
    path = tmp_path / "topic_overrides.csv"
    path.write_text("action_id,topic,action,reason\n2018-10-15-anthem,encryption,add,fine\n" + row + "\n")
    out: list[str] = []
    warnings: list[dict] = []
    counts = topics.load(loaded, path, echo=out.append, warnings=warnings)
    assert warnings == [{"file": str(path), "line": 3, "field": field, "reason": reason}]
    assert out[0] == f"{path}:3: field '{field}': {reason} (override skipped)"
    assert counts["topic_overrides"] == 1  # the row before it still applies
    assert (
        loaded.execute(
            "select source from action_topics where action_id = '2018-10-15-anthem' and topic_id = 'encryption'"
        ).fetchone()[0]
        == "override"
    )
