"""The serving rows of issue 15 on `kb serve`, each against its floor measured in the same run.

- similar_http: `/-/similar.json?q=<query>&k=10` (hybrid) p50 over HTTP, for the labelled queries of
  bench/eval_queries.jsonl. Floor: embedding the same query in this process with the encoder the server
  uses (etl.encoders.query_encoder). Request and floor alternate query by query, so that a busy machine
  slows both alike. Also reported: the whole search in this process (`Searcher.search`), to show what the
  server adds to it; its BM25 step alone; the floor as the issue first measured it, the float32 torch
  model on one thread (the server's encoder before ONNX Runtime); and a minimal Datasette request
  (`/-/versions.json`) over the same client, what any request costs, so that (floor + it) / floor is the best
  ratio a search over HTTP could reach. Goal: <= 1.5x.
- table_json: `/kb/breaches.json?_search=phishing&_size=20` p50 with the table's default facets and count.
  Floor: the same request with `_nofacet=1&_nocount=1`; alternating. Goal: <= 1.5x. Also reported: the
  first time each of a set of searches is asked (the facet counts are then computed, not cached), against
  the same searches' floor.
- first_query: the first `/-/similar.json` query once the server answers, against the warm p50 of the same
  server. Goal: <= 1.5x (warm from the start).
- memory: the server's resident memory after the requests above. Floor: a server of a copy of the
  database without the embeddings table (Datasette and the data, no model), after the same requests but
  the similar-case ones. Goal: <= 300 MB.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import resident_mb, save, serve, stop
from bench.similar_bench import load_eval

TABLE = "/kb/breaches.json?_search=phishing&_size=20"
FLOOR_ARGS = "&_nofacet=1&_nocount=1"
ROUNDS = 3
GOALS = {"similar_http": 1.5, "table_json": 1.5, "first_query": 1.5, "memory_mb": 300}


def _ms(client: httpx.Client, path: str, params: dict | None = None) -> float:
    started = time.perf_counter()
    client.get(path, params=params).raise_for_status()
    return (time.perf_counter() - started) * 1000


def _torch_encoder():
    """The float32 torch model on one thread, as the server embedded queries before ONNX Runtime."""
    import torch

    from etl import encoders

    model = encoders.load_model()
    torch.set_num_threads(1)
    return lambda texts: model.encode(texts, normalize_embeddings=True, show_progress_bar=False)


def _timed_ms(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - started) * 1000


def _similar(client: httpx.Client, queries: list[str], db: Path) -> dict:
    from etl import encoders
    from etl.similar import KINDS, bm25_rank, open_searcher

    encoder, torch_encoder = encoders.query_encoder(), _torch_encoder()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    searcher = open_searcher(conn)
    searcher.search(conn, queries[0])  # warm
    torch_encoder(queries[:1])
    samples: dict[str, list[float]] = {"http": [], "floor": [], "search": [], "bm25": [], "torch": [], "empty": []}
    for _ in range(ROUNDS):
        for q in queries:
            samples["http"].append(_ms(client, "/-/similar.json", {"q": q, "k": 10}))
            samples["empty"].append(_ms(client, "/-/versions.json"))
            samples["floor"].append(_timed_ms(encoder, [q]))
            samples["search"].append(_timed_ms(searcher.search, conn, q))
            samples["bm25"].append(_timed_ms(bm25_rank, conn, q, KINDS["all"], 100))
            samples["torch"].append(_timed_ms(torch_encoder, [q]))
    conn.close()
    p50 = {name: round(statistics.median(values), 2) for name, values in samples.items()}
    return {
        "p50_ms": p50["http"],
        "floor_p50_ms": p50["floor"],
        "in_process_search_p50_ms": p50["search"],
        "bm25_p50_ms": p50["bm25"],
        "torch_float32_floor_p50_ms": p50["torch"],
        "http_empty_p50_ms": p50["empty"],
        "requests": len(samples["http"]),
    }


def _table(client: httpx.Client, searches: list[str]) -> dict:
    default, floor = [], []
    client.get(TABLE).raise_for_status()
    for _ in range(ROUNDS * 20):
        default.append(_ms(client, TABLE))
        floor.append(_ms(client, TABLE + FLOOR_ARGS))
    first, first_floor = [], []
    for word in searches:  # each search asked once: facets computed, not cached
        path = f"/kb/breaches.json?_search={word}&_size=20"
        first.append(_ms(client, path))
        first_floor.append(_ms(client, path + FLOOR_ARGS))
    return {
        "p50_ms": round(statistics.median(default), 2),
        "floor_p50_ms": round(statistics.median(floor), 2),
        "first_time_p50_ms": round(statistics.median(first), 2),
        "first_time_floor_p50_ms": round(statistics.median(first_floor), 2),
        "first_time_searches": len(searches),
    }


def _other_requests(client: httpx.Client) -> None:
    for path in ("/", "/kb/enforcement_actions", "/kb/breaches", "/-/provisions"):
        client.get(path).raise_for_status()


def _without_embeddings(db: Path, work: Path) -> Path:
    copy = work / "kb.db"  # kb serve wants the name kb.db
    shutil.copy(db, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("drop table embeddings")
    return copy


def main(db: Path, results_dir: Path) -> dict:
    from etl.similar import query_terms

    evals = load_eval()
    queries = [q["query"] for q in evals]
    searches = sorted({t for q in queries for t in query_terms(q)})[:40]
    proc, url = serve(db)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            first_ms = _ms(client, "/-/similar.json", {"q": queries[0], "k": 10})
            similar = _similar(client, queries, db)
            table = _table(client, searches)
            _other_requests(client)
            memory = resident_mb(proc.pid)
    finally:
        stop(proc)
    with tempfile.TemporaryDirectory(prefix="kb-bench-mem-") as tmp:
        proc, url = serve(_without_embeddings(db, Path(tmp)))
        try:
            with httpx.Client(base_url=url, timeout=60) as client:
                _table(client, searches[:5])
                _other_requests(client)
                memory_floor = resident_mb(proc.pid)
        finally:
            stop(proc)
    figures = {
        "similar_http": similar,
        "table_json": table,
        "first_query": {"first_ms": round(first_ms, 2), "warm_p50_ms": similar["p50_ms"]},
        "memory": {"resident_mb": memory, "floor_resident_mb": memory_floor},
        "goals": GOALS,
    }
    print(f"\nServing ({len(queries)} labelled queries x {ROUNDS}; {TABLE})")
    print(json.dumps(figures, indent=1))
    save(results_dir, "server", figures)
    return figures
