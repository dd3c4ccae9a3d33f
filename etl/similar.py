"""Similar-case search over the `embeddings` table: vector, BM25 and hybrid rankers, and the precomputed
`similar_actions` neighbours.

- vector: exact cosine search with numpy. All chunk vectors are held in one normalized float32 matrix
  (about 6,400 x 384, 10 MB) loaded once per process; a query is one matrix-vector product (about a
  millisecond) and an item scores the best of its chunks/passages (see etl/embed.py). At this size an
  approximate index buys nothing (bench/results/similar.json has the measured numbers).
- bm25: SQLite FTS5 (`enforcement_actions_fts`, `breaches_fts`, made by sqlite-utils enable_fts) ranked by
  bm25(). The user's free text is never passed as FTS syntax: it is split into word tokens, stop words
  dropped, and each token quoted as a prefix term of its crude stem ("laptops" -> "laptop"*), OR-ed.
  Actions are matched in the columns that describe the case (FTS_COLUMNS: entity, summary, incident),
  not in the curators' notes about sources, which only add noise (recall@10 0.80 -> 0.82 on the
  evaluation set). With kind=all the two tables' lists are merged by bm25 score.
- hybrid: reciprocal rank fusion (k=60) of the vector and BM25 lists (their top 100 each).
- like: the vector ranker with an action's own chunk vectors as the query (max over chunk pairs), the
  action itself excluded. `similar_actions` is built with the same function, so the row pages and
  `kb similar --like` agree.
- agencies: `search` and `like` take the enforcers whose actions may be listed (`ocr`, `state_ag`, `ftc`,
  `doj`; none given: every enforcer). The filter applies inside each ranker, before fusion, so an
  OCR-only search ranks OCR's actions among themselves exactly as if the others were not there (BM25's
  word weights still count every action). Breach reports have no enforcer and are never filtered.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from etl.agencies import AGENCIES
from etl.context import BuildContext

KINDS = {"actions": ("action",), "breaches": ("breach",), "all": ("action", "breach")}
RANKERS = ("hybrid", "vector", "bm25")
RRF_K = 60
CANDIDATES = 100  # each ranker's list length before fusion
NEIGHBOURS = 10  # rows per action in similar_actions
MAX_QUERY_CHARS = 2000
MAX_QUERY_TERMS = 64

FTS_TABLES = {"action": ("enforcement_actions", "enforcement_actions_fts"), "breach": ("breaches", "breaches_fts")}
# FTS columns searched per kind, where the FTS table has them (None: every column)
FTS_COLUMNS = {"action": ("entity", "summary", "incident_text", "incident"), "breach": None}

STOP_WORDS = frozenset(
    """a about after all also an and any are as at be been before being but by can could did
do does for from had has have how i if in into is it its me my no not of on or our over so such than that the
their them then there these they this those to under was we were what when where which while who whom why will
with without would you your find me show cases case like similar""".split()
)

Encoder = Callable[[Sequence[str]], np.ndarray]


# Embeds a query and scores the vectors while the calling thread runs BM25 on its connection: ONNX Runtime,
# numpy's einsum and SQLite all release the GIL, so with a core free a hybrid search costs the longer of the
# two. Made once per process. With no core free (other work on a 2-core machine) the two run one after the
# other; the thread then costs nothing measurable (docs/benchmarks.md).
_EMBED = ThreadPoolExecutor(max_workers=2, thread_name_prefix="query-embed")


class SearchError(ValueError):
    """Bad search input (empty query, unknown kind or action id, ...): the message says which."""


def parse_agencies(values: Iterable[str | None]) -> tuple[str, ...]:
    """The enforcers asked for, from repeated and/or comma-separated values ('ocr', 'ocr,ftc'), in the
    order of etl.agencies.AGENCIES; () for none (every enforcer). An unknown code is a SearchError."""
    asked = {v.strip() for value in values if value for v in value.split(",") if v.strip()}
    unknown = sorted(asked - set(AGENCIES))
    if unknown:
        raise SearchError(f"agency must be one or more of {', '.join(AGENCIES)} (not {', '.join(unknown)})")
    return tuple(a for a in AGENCIES if a in asked)


def agency_action_ids(conn: sqlite3.Connection, agencies: Sequence[str]) -> frozenset[str] | None:
    """The ids of the actions of these enforcers; None when no enforcer is named (no filter)."""
    if not agencies:
        return None
    marks = ",".join("?" * len(agencies))
    return frozenset(
        r[0] for r in conn.execute(f"select id from enforcement_actions where agency in ({marks})", list(agencies))
    )


# ---- pure helpers -----------------------------------------------------------------------------------


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: score(d) = sum over rankings of 1 / (k + rank), rank from 1.
    Best first; ties broken by the key so the order is reproducible."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def query_terms(text: str) -> list[str]:
    """The searchable words of free text: lower-cased word tokens, stop words and single characters
    (the "s" of "employee's", which as a prefix term would match every word in s) dropped, de-duplicated."""
    seen: list[str] = []
    for token in re.findall(r"\w+", text.lower()):
        if len(token.strip("_")) > 1 and token not in STOP_WORDS and token not in seen:
            seen.append(token)
    return seen[:MAX_QUERY_TERMS]


def stem(term: str) -> str:
    """A crude English stem used as an FTS prefix ("laptops" -> "laptop", "encrypted" -> "encrypt")."""
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if len(term) - len(suffix) >= 4 and term.endswith(suffix):
            return term[: -len(suffix)]
    return term


def fts_query(text: str) -> str | None:
    """A safe FTS5 MATCH expression for free text: quoted prefix terms OR-ed, or None if no terms."""
    terms = query_terms(text)
    if not terms:
        return None
    return " OR ".join('"{}"*'.format(stem(t).replace('"', '""')) for t in terms)


_WORD = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")


def _starts_a_word(prefix: str, lowered: str) -> bool:
    """Whether a word of `lowered` (a run of \\w characters) starts with `prefix`, found with str.find rather
    than by splitting the text into words (5x faster on a result's text; the same answer, tested)."""
    if not prefix:
        return _WORD_CHAR.search(lowered) is not None  # "" starts every word: true if there is one
    if not _WORD.fullmatch(prefix):
        return False  # a word never holds a non-word character
    at = lowered.find(prefix)
    while at != -1:
        if at == 0 or not _WORD_CHAR.match(lowered, at - 1):
            return True
        at = lowered.find(prefix, at + 1)
    return False


def _matched(prefixes: Sequence[tuple[str, str]], text: str | None) -> list[str]:
    lowered = (text or "").lower()
    return [term for term, prefix in prefixes if _starts_a_word(prefix, lowered)]


def matched_terms(terms: Iterable[str], text: str) -> list[str]:
    """The query terms (as the user wrote them) whose stem starts a word of text."""
    return _matched([(t, stem(t)) for t in terms], text)


# ---- the vector index -------------------------------------------------------------------------------


@dataclass
class SimilarIndex:
    """All chunk vectors, grouped by item: rows of `matrix` for item i are starts[i]:starts[i+1]."""

    keys: list[tuple[str, str]]  # (kind, item_id) per item, sorted
    starts: np.ndarray  # first matrix row of each item
    matrix: np.ndarray  # (chunks, 384) float32, L2-normalized
    model: str
    whole: np.ndarray | None = None  # per matrix row: True for windows of the whole text (part 'text')

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> SimilarIndex:
        models = [m for (m,) in conn.execute("select distinct model from embeddings")]
        if not models:
            raise SearchError("the embeddings table is empty: run `kb build`")
        if len(models) != 1:
            raise SearchError(f"embeddings mix models {sorted(models)}: rebuild the database")
        n, size = conn.execute("select count(*), max(length(vector)) from embeddings").fetchone()
        # Row by row into one array: holding every row at once left a server 25 MB more resident.
        matrix = np.empty((n, size // 4), dtype=np.float32)
        whole = np.empty(n, dtype=bool)
        keys: list[tuple[str, str]] = []
        starts: list[int] = []
        rows = conn.execute("select kind, item_id, vector, part from embeddings order by kind, item_id, chunk")
        for i, (kind, item_id, vector, part) in enumerate(rows):
            matrix[i] = np.frombuffer(vector, dtype="<f4")
            whole[i] = part == "text"
            if not keys or keys[-1] != (kind, item_id):
                keys.append((kind, item_id))
                starts.append(i)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        return cls(keys=keys, starts=np.asarray(starts), matrix=matrix, model=models[0], whole=whole)

    def __post_init__(self) -> None:
        self._position = {key: i for i, key in enumerate(self.keys)}
        self._kind = np.asarray([k for k, _ in self.keys])
        self._is_action = self._kind == "action"
        self._kinds_allowed: dict[tuple[str, ...], np.ndarray] = {}  # per kinds asked for: items of those kinds
        if self.whole is None:
            self.whole = np.ones(len(self.matrix), dtype=bool)

    def _allowed(self, kinds: Sequence[str]) -> np.ndarray:
        """A fresh boolean mask of the items of `kinds` (made once per kinds, then copied)."""
        key = tuple(kinds)
        mask = self._kinds_allowed.get(key)
        if mask is None:
            mask = self._kinds_allowed[key] = np.isin(self._kind, list(key))
        return mask.copy()

    def item_vectors(self, kind: str, item_id: str, whole_only: bool = False) -> np.ndarray:
        i = self._position.get((kind, item_id))
        if i is None:
            raise SearchError(f"no {kind} with id {item_id!r} in the embeddings")
        end = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.matrix)
        rows = self.matrix[self.starts[i] : end]
        assert self.whole is not None  # set by __post_init__
        return rows[self.whole[self.starts[i] : end]] if whole_only else rows

    def scores(self, query_vectors: np.ndarray, whole_only: bool = False) -> np.ndarray:
        """Per item: max cosine over (query chunk, item chunk) pairs (item chunks of the whole text only
        if whole_only)."""
        # einsum, not `@`: `@` goes to OpenBLAS, whose worker threads keep spinning after the call and
        # slowed the next query's model forward pass threefold on 2 cores (bench: 7 ms -> 24 ms). This
        # product is small enough (~0.3 ms) for einsum's single-threaded loop.
        sims = np.einsum("qd,nd->qn", np.asarray(query_vectors, dtype=np.float32), self.matrix)
        best = sims.max(axis=0)  # per chunk
        if whole_only:
            assert self.whole is not None  # set by __post_init__
            best = np.where(self.whole, best, -np.inf)
        return np.maximum.reduceat(best, self.starts)

    def rank(
        self,
        query_vectors: np.ndarray,
        kinds: Sequence[str],
        n: int,
        exclude: tuple[str, str] | None = None,
        whole_only: bool = False,
        actions: frozenset[str] | None = None,
    ) -> list[tuple[str, str, float]]:
        """The n best items of `kinds`; `actions`, when given, the only enforcement actions allowed."""
        scores = self.scores(query_vectors, whole_only)
        allowed = self._allowed(kinds)
        if actions is not None:
            listed = np.zeros(len(self.keys), dtype=bool)
            listed[[i for a in actions if (i := self._position.get(("action", a))) is not None]] = True
            allowed &= ~self._is_action | listed
        if exclude is not None and exclude in self._position:
            allowed[self._position[exclude]] = False
        candidates = np.flatnonzero(allowed)
        if len(candidates) == 0:
            return []
        return [(*self.keys[i], float(scores[i])) for i in candidates[_best(-scores[candidates], n)]]


def _best(costs: np.ndarray, n: int) -> np.ndarray:
    """Positions of the n lowest costs, lowest first, equal costs in position order: the first n of a stable
    argsort, without sorting all of them (a partition finds the n-th cost; only those up to it are sorted)."""
    if len(costs) > n:
        nth = np.partition(costs, n - 1)[n - 1]
        within = np.flatnonzero(costs <= nth)  # the n best and any ties of the n-th, in position order
        return within[np.argsort(costs[within], kind="stable")[:n]]
    return np.argsort(costs, kind="stable")


# ---- search -----------------------------------------------------------------------------------------


def _key(kind: str, item_id: str) -> str:
    return f"{kind}:{item_id}"


def _split(key: str) -> tuple[str, str]:
    kind, item_id = key.split(":", 1)
    return kind, item_id


def bm25_rank(
    conn: sqlite3.Connection,
    text: str,
    kinds: Sequence[str],
    n: int,
    agencies: Sequence[str] = (),
    columns: dict[str, tuple[str, ...]] | None = None,
) -> list[tuple[str, str, float]]:
    """[(kind, id, bm25 score)] best first (FTS5's bm25() is negative: lower is better); actions of
    `agencies` only when given. `columns`: a cache of fts_columns per kind for this database (a Searcher's),
    filled on first use; without it the FTS tables' columns are read on every call."""
    match = fts_query(text)
    if match is None:
        return []
    hits: list[tuple[str, str, float]] = []
    for kind in kinds:
        table, fts = FTS_TABLES[kind]
        # The best n by score first, then their ids: joining every match (a common word matches a third of
        # the breach reports) before the sort took twice as long. Equal scores at the n-th place are cut in
        # rowid order.
        only, params = "", list(agencies) if kind == "action" else []
        if params:
            only = f" and rowid in (select rowid from [{table}] where agency in ({','.join('?' * len(params))}))"
        sql = (
            f"select t.id, f.score from (select rowid, bm25([{fts}]) as score from [{fts}] "
            f"where [{fts}] match ?{only} order by score, rowid limit ?) f join [{table}] t on t.rowid = f.rowid "
            f"order by f.score, t.id"
        )
        if columns is None:
            searched = fts_columns(conn, kind)
        elif kind in columns:
            searched = columns[kind]
        else:
            searched = columns[kind] = fts_columns(conn, kind)
        restricted = f"{{{' '.join(searched)}}} : ({match})" if searched else match
        hits += [(kind, row[0], row[1]) for row in conn.execute(sql, (restricted, *params, n))]
    return sorted(hits, key=lambda h: (h[2], h[0], h[1]))[:n]


def fts_columns(conn: sqlite3.Connection, kind: str) -> tuple[str, ...]:
    """The columns of FTS_COLUMNS[kind] that its FTS table has, to restrict a MATCH to; () for all columns."""
    wanted = FTS_COLUMNS[kind]
    if wanted is None:
        return ()
    present = {row[1] for row in conn.execute(f"pragma table_info([{FTS_TABLES[kind][1]}])")}
    return tuple(c for c in wanted if c in present)


def _validate(k: int, kind: str, ranker: str) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 100:
        raise SearchError("k must be an integer from 1 to 100")
    if kind not in KINDS:
        raise SearchError(f"kind must be one of {', '.join(KINDS)}")
    if ranker not in RANKERS:
        raise SearchError(f"ranker must be one of {', '.join(RANKERS)}")


@dataclass
class Searcher:
    """Search API: an index loaded once plus a query encoder; each call takes a database connection
    (so Datasette can run it on its own read connection)."""

    index: SimilarIndex
    encoder: Encoder | None = None

    def __post_init__(self) -> None:
        # The FTS columns searched per kind, read from the database on the first search: a Searcher serves one
        # database, whose schema does not change (reading it cost each search two pragma queries).
        self._fts_columns: dict[str, tuple[str, ...]] = {}

    def search(
        self,
        conn: sqlite3.Connection,
        query: str,
        k: int = 10,
        kind: str = "all",
        ranker: str = "hybrid",
        agencies: Sequence[str] = (),
    ) -> list[dict]:
        """Free-text search, best first (see the module docstring for the rankers and `agencies`)."""
        _validate(k, kind, ranker)
        agencies = parse_agencies(agencies)
        if not isinstance(query, str) or not query.strip():
            raise SearchError("the query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise SearchError(f"the query is longer than {MAX_QUERY_CHARS} characters")
        kinds = KINDS[kind]
        ranks: dict[str, dict[str, int]] = {}
        lists: list[list[str]] = []
        scores: dict[str, float] = {}
        if ranker in ("vector", "hybrid"):
            if self.encoder is None:
                raise SearchError("this searcher has no query encoder")
            encoder, actions = self.encoder, agency_action_ids(conn, agencies)  # the connection: this thread only
            vector_ranked = _EMBED.submit(lambda: self.index.rank(encoder([query]), kinds, CANDIDATES, actions=actions))
        if ranker in ("bm25", "hybrid"):
            bm25_hits = bm25_rank(conn, query, kinds, CANDIDATES, agencies, self._fts_columns)
        if ranker in ("vector", "hybrid"):
            hits = vector_ranked.result()
            vec = [_key(kd, i) for kd, i, _ in hits]
            lists.append(vec)
            if ranker == "vector":
                scores = {_key(kd, i): s for kd, i, s in hits}
            for r, key in enumerate(vec, 1):
                ranks.setdefault(key, {})["vector"] = r
        if ranker in ("bm25", "hybrid"):
            lists.append([_key(kd, i) for kd, i, _ in bm25_hits])
            if ranker == "bm25":
                scores = {_key(kd, i): -s for kd, i, s in bm25_hits}
            for r, (kd, i, _) in enumerate(bm25_hits, 1):
                ranks.setdefault(_key(kd, i), {})["bm25"] = r
        if ranker == "hybrid":
            fused = rrf(lists)[:k]
        else:
            fused = [(key, scores[key]) for key in lists[0][:k]]
        terms = query_terms(query)
        return describe(conn, [(_split(key), score, ranks.get(key, {})) for key, score in fused], terms=terms)

    def like(
        self,
        conn: sqlite3.Connection,
        action_id: str,
        k: int = 10,
        kind: str = "actions",
        agencies: Sequence[str] = (),
    ) -> list[dict]:
        """Items most like an enforcement action (vector ranker, max over pairs of whole-text chunks),
        itself excluded; actions of `agencies` only when given."""
        _validate(k, kind, "vector")
        agencies = parse_agencies(agencies)
        if conn.execute("select 1 from enforcement_actions where id = ?", (action_id,)).fetchone() is None:
            raise SearchError(f"no enforcement action with id {action_id!r}")
        hits = self.index.rank(
            self.index.item_vectors("action", action_id, whole_only=True),
            KINDS[kind],
            k,
            exclude=("action", action_id),
            whole_only=True,
            actions=agency_action_ids(conn, agencies),
        )
        return describe(conn, [((kd, i), s, {"vector": r}) for r, (kd, i, s) in enumerate(hits, 1)], like=action_id)

    def like_breach(self, conn: sqlite3.Connection, breach_id: str, k: int = 5, kind: str = "breaches") -> list[dict]:
        """Items most like a breach report's description (vector ranker, whole texts), itself excluded. A report
        without a description has no vector (see etl/embed.py): SearchError, like an unknown id."""
        _validate(k, kind, "vector")
        if conn.execute("select 1 from breaches where id = ?", (breach_id,)).fetchone() is None:
            raise SearchError(f"no breach report with id {breach_id!r}")
        hits = self.index.rank(
            self.index.item_vectors("breach", breach_id, whole_only=True),
            KINDS[kind],
            k,
            exclude=("breach", breach_id),
            whole_only=True,
        )
        return describe(conn, [((kd, i), s, {"vector": r}) for r, (kd, i, s) in enumerate(hits, 1)])


def _provisions(conn: sqlite3.Connection, action_ids: Sequence[str]) -> dict[str, list[dict]]:
    if not action_ids:
        return {}
    sql = (
        f"select ap.action_id, ap.provision_id, coalesce(p.heading, ap.provision) as heading "
        f"from action_provisions ap left join provisions p on p.id = ap.provision_id "
        f"where ap.action_id in ({','.join('?' * len(action_ids))}) "
        f"order by ap.action_id, ap.provision_id, heading"
    )
    out: dict[str, list[dict]] = {}
    for action_id, provision_id, heading in conn.execute(sql, list(action_ids)):
        entry = {"id": provision_id, "heading": heading}
        if entry not in out.setdefault(action_id, []):
            out[action_id].append(entry)
    return out


def describe(
    conn: sqlite3.Connection,
    hits: Sequence[tuple[tuple[str, str], float, dict]],
    terms: Sequence[str] = (),
    like: str | None = None,
) -> list[dict]:
    """Result dicts for ranked (kind, id) hits: the row's facts plus why it matched."""
    action_ids = [i for (kd, i), _, _ in hits if kd == "action"] + ([like] if like else [])
    breach_ids = [i for (kd, i), _, _ in hits if kd == "breach"]
    actions = (
        {
            r[0]: r
            for r in conn.execute(
                f"select id, entity, announced, amount_usd, action_type, summary, incident, agency from enforcement_actions "
                f"where id in ({','.join('?' * len(action_ids))})",
                action_ids,
            )
        }
        if action_ids
        else {}
    )
    breaches = (
        {
            r[0]: r
            for r in conn.execute(
                f"select id, entity_name, submission_date, individuals_affected, breach_type, location, description "
                f"from breaches where id in ({','.join('?' * len(breach_ids))})",
                breach_ids,
            )
        }
        if breach_ids
        else {}
    )
    provisions = _provisions(conn, action_ids)
    prefixes = [(t, stem(t)) for t in terms]
    like_provisions = {p["id"] for p in provisions.get(like, []) if p["id"]} if like else set()
    results = []
    for (kind, item_id), score, ranks in hits:
        if kind == "action":
            _, entity, date, amount, action_type, summary, incident, agency = actions[item_id]
            own = provisions.get(item_id, [])
            text = " ".join([summary or "", " ".join(json.loads(incident) if incident else [])])
            item = {
                "kind": "action",
                "id": item_id,
                "agency": agency,
                "entity": entity,
                "date": date,
                "amount": amount,
                "action_type": action_type,
                "individuals_affected": None,
                "breach_type": None,
                "location": None,
                "summary": summary,
                "provisions": own,
            }
        else:
            _, entity, date, individuals, breach_type, location, description = breaches[item_id]
            own = []
            text = " ".join([description or "", breach_type or "", location or "", entity or ""])
            item = {
                "kind": "breach",
                "id": item_id,
                "agency": None,
                "entity": entity,
                "date": date,
                "amount": None,
                "action_type": None,
                "individuals_affected": individuals,
                "breach_type": breach_type,
                "location": location,
                "summary": description,
                "provisions": [],
            }
        if kind == "action":
            text += " " + (entity or "")
        item["score"] = round(float(score), 6)
        item["ranks"] = ranks
        item["matched_terms"] = _matched(prefixes, text)
        item["shared_provisions"] = [p for p in own if p["id"] in like_provisions]
        results.append(item)
    return results


# ---- loading for the CLI and Datasette --------------------------------------------------------------


def open_searcher(conn: sqlite3.Connection, encoder: Encoder | None = None) -> Searcher:
    """A Searcher on this database's embeddings, with the query encoder of etl/encoders.py by default."""
    index = SimilarIndex.load(conn)
    if encoder is None:
        from etl import encoders

        # Queries and stored vectors must come from the same weights (the runtime may differ: the build's
        # bfloat16 torch and the query encoder's float32 ONNX Runtime agree to cosine 0.99997).
        weights = encoders.weights_id()
        if index.model.split(" ")[0] != weights:
            raise SearchError(f"the embeddings were made by {index.model}, queries by {weights}: rebuild")
        encoder = encoders.query_encoder()
    return Searcher(index, encoder)


# ---- build stage: precomputed neighbours -------------------------------------------------------------


def neighbour_rows(conn: sqlite3.Connection, index: SimilarIndex, n: int = NEIGHBOURS) -> list[dict]:
    searcher = Searcher(index)  # `like` needs stored vectors only, never the model
    rows = []
    action_ids = [i for kd, i in index.keys if kd == "action"]
    for action_id in action_ids:
        for rank, hit in enumerate(searcher.like(conn, action_id, k=min(n, max(len(action_ids) - 1, 1))), 1):
            rows.append(
                {
                    "action_id": action_id,
                    "rank": rank,
                    "similar_id": hit["id"],
                    "score": hit["score"],
                    "shared_provisions": json.dumps([p["id"] for p in hit["shared_provisions"]]),
                }
            )
    return rows


def neighbours_stage(ctx: BuildContext) -> None:
    """Build stage: `similar_actions`, each action's nearest actions, so pages need no model."""
    db = ctx.db
    index = SimilarIndex.load(db.conn)
    rows = neighbour_rows(db.conn, index) if len(index.keys) > 1 else []
    table = db.table("similar_actions")
    table.drop(ignore=True)
    table.create(
        {"action_id": str, "rank": int, "similar_id": str, "score": float, "shared_provisions": str},
        pk=("action_id", "rank"),
        not_null={"action_id", "rank", "similar_id", "score"},
        foreign_keys=[("action_id", "enforcement_actions", "id"), ("similar_id", "enforcement_actions", "id")],
    )
    table.insert_all(rows)
    table.create_index(["similar_id"])
    ctx.counts["similar_actions"] = len(rows)
    ctx.echo(f"similar {len(rows)} neighbour rows for {len({r['action_id'] for r in rows})} actions")
