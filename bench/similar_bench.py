"""Similar-case search benchmark: ranking quality on a labelled query set, and query latency.

Quality: bench/eval_queries.jsonl holds realistic queries, each with the enforcement actions a compliance
reader would call relevant (judged from the case facts in data/curated/ocr_actions.jsonl, before looking
at any ranking). For BM25 alone, vectors alone and the hybrid (RRF) ranker, searching enforcement actions:
- recall@10 = relevant in the top 10 / min(10, number relevant)  (so 1.0 is reachable when more than 10
  are relevant; queries with many relevant actions would otherwise cap far below 1)
- nDCG@10 with binary gains, ideal = min(10, number relevant) relevant results first.

Latency (same run, same queries, warm):
- Python API (`Searcher.search`, the code `kb similar` runs), per ranker;
- HTTP `/-/similar.json` on a `kb serve` server started here, warmed by one request first;
- the vector scoring step: numpy matrix product vs a pure-Python cosine loop over every vector
  (brute-force baseline), and the whole vector search with each;
- `kb similar` as a command (a new process: imports and model load included), a few runs;
- sqlite-vec `vec0` exact KNN, only if the `sqlite_vec` package happens to be installed (it is not a
  project dependency).

`main(db_path, results_dir)` prints the figures and writes results_dir/similar.json.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import served

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
EVAL_FILE = BENCH_DIR / "eval_queries.jsonl"
RANKERS = ("bm25", "vector", "hybrid")
K = 10
ROUNDS = 3  # timed repetitions of the whole query set


def load_eval(path: Path = EVAL_FILE) -> list[dict]:
    queries = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        item = json.loads(line)
        if not item.get("query") or not item.get("relevant"):
            raise ValueError(f"{path}:{n}: each line needs a query and a non-empty relevant list")
        queries.append(item)
    return queries


def recall_at(ranked: list[str], relevant: set[str], k: int = K) -> float:
    return len(set(ranked[:k]) & relevant) / min(k, len(relevant))


def ndcg_at(ranked: list[str], relevant: set[str], k: int = K) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(samples_ms, 50)), 3),
        "p95_ms": round(float(np.percentile(samples_ms, 95)), 3),
        "n": len(samples_ms),
    }


def quality(conn, searcher, queries: list[dict]) -> dict:
    out: dict = {}
    for ranker in RANKERS:
        per_query = []
        for q in queries:
            ranked = [r["id"] for r in searcher.search(conn, q["query"], k=K, kind="actions", ranker=ranker)]
            relevant = set(q["relevant"])
            per_query.append(
                {
                    "query": q["query"],
                    "recall@10": round(recall_at(ranked, relevant), 4),
                    "ndcg@10": round(ndcg_at(ranked, relevant), 4),
                }
            )
        out[ranker] = {
            "recall@10": round(float(np.mean([p["recall@10"] for p in per_query])), 4),
            "ndcg@10": round(float(np.mean([p["ndcg@10"] for p in per_query])), 4),
            "per_query": per_query,
        }
    return out


def python_latency(conn, searcher, queries: list[dict]) -> dict:
    out = {}
    for ranker in RANKERS:
        for q in queries:  # warm caches (FTS pages, the model)
            searcher.search(conn, q["query"], k=K, kind="all", ranker=ranker)
        samples = []
        for _ in range(ROUNDS):
            for q in queries:
                t = time.perf_counter()
                searcher.search(conn, q["query"], k=K, kind="all", ranker=ranker)
                samples.append((time.perf_counter() - t) * 1000)
        out[ranker] = percentiles(samples)
    return out


def brute_force_scores(vectors: list[list[float]], starts: list[int], query: list[float]) -> list[float]:
    """The baseline: a pure-Python cosine loop (vectors are unit length, so cosine = dot)."""
    chunk_scores = [sum(a * b for a, b in zip(v, query, strict=True)) for v in vectors]
    bounds = starts + [len(vectors)]
    return [max(chunk_scores[bounds[i] : bounds[i + 1]]) for i in range(len(starts))]


def vector_step_latency(searcher, queries: list[dict]) -> dict:
    index = searcher.index
    query_vectors = searcher.encoder([q["query"] for q in queries])
    vectors = index.matrix.tolist()
    starts = index.starts.tolist()
    numpy_ms, python_ms, encode_ms = [], [], []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        searcher.encoder([q["query"]])
        encode_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        np_scores = index.scores(query_vectors[i : i + 1])
        numpy_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        py_scores = brute_force_scores(vectors, starts, query_vectors[i].tolist())
        python_ms.append((time.perf_counter() - t) * 1000)
        if not np.allclose(np_scores, py_scores, atol=1e-4):
            raise AssertionError("numpy and brute-force scores disagree")
    numpy_p, python_p, encode_p = percentiles(numpy_ms), percentiles(python_ms), percentiles(encode_ms)
    return {
        "vectors": len(vectors),
        "items": len(starts),
        "query_encode": encode_p,
        "numpy_scoring": numpy_p,
        "pure_python_scoring": python_p,
        "vector_search_numpy_total_p50_ms": round(encode_p["p50_ms"] + numpy_p["p50_ms"], 3),
        "vector_search_brute_force_total_p50_ms": round(encode_p["p50_ms"] + python_p["p50_ms"], 3),
    }


def sqlite_vec_latency(searcher, queries: list[dict]) -> dict:
    try:
        import sqlite_vec  # noqa: F401  (optional; not a project dependency)
    except ImportError:
        return {"measured": False, "reason": "sqlite_vec is not installed (not a project dependency)"}
    from pysqlite3 import dbapi2  # the standard library's sqlite3 here cannot load extensions

    conn = dbapi2.connect(":memory:")
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    dim = searcher.index.matrix.shape[1]
    conn.execute(f"create virtual table v using vec0(embedding float[{dim}] distance_metric=cosine)")
    conn.executemany(
        "insert into v (rowid, embedding) values (?, ?)",
        [(i, row.astype("<f4").tobytes()) for i, row in enumerate(searcher.index.matrix)],
    )
    samples = []
    for q in searcher.encoder([q["query"] for q in queries]):
        t = time.perf_counter()
        conn.execute(
            "select rowid, distance from v where embedding match ? and k = 100", (q.astype("<f4").tobytes(),)
        ).fetchall()
        samples.append((time.perf_counter() - t) * 1000)
    return {
        "measured": True,
        "version": conn.execute("select vec_version()").fetchone()[0],
        "knn_k100": percentiles(samples),
    }


def http_latency(db_path: Path, queries: list[dict]) -> dict:
    import httpx

    with served(db_path) as url, httpx.Client(base_url=url, timeout=120) as client:
        t = time.perf_counter()
        first = client.get("/-/similar.json", params={"q": "warm up", "k": K})
        first_ms = (time.perf_counter() - t) * 1000
        first.raise_for_status()
        out: dict[str, Any] = {"first_request_ms_model_load": round(first_ms, 1)}
        for ranker in RANKERS:
            samples = []
            for _ in range(ROUNDS):
                for q in queries:
                    t = time.perf_counter()
                    r = client.get("/-/similar.json", params={"q": q["query"], "k": K, "ranker": ranker})
                    samples.append((time.perf_counter() - t) * 1000)
                    r.raise_for_status()
            out[ranker] = percentiles(samples)
        samples = []
        for q in queries[:10]:
            t = time.perf_counter()
            client.get("/-/similar", params={"q": q["query"]}).raise_for_status()
            samples.append((time.perf_counter() - t) * 1000)
        out["html_page_hybrid"] = percentiles(samples)
        return out


def cli_latency(db_path: Path, query: str, runs: int = 3) -> dict:
    kb = str(Path(sys.executable).parent / "kb")
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([kb, "similar", query, "--json", "--db", str(db_path)], check=True, capture_output=True)
        samples.append((time.perf_counter() - t) * 1000)
    return {"query": query, **percentiles(samples), "note": "a new process each run: imports + model load"}


def main(db_path: Path, results_dir: Path) -> dict:
    from etl import encoders
    from etl.similar import open_searcher

    db_path, results_dir = Path(db_path), Path(results_dir)
    queries = load_eval()
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    t = time.perf_counter()
    encoders.query_encoder()
    model_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    searcher = open_searcher(conn)
    load_ms = (time.perf_counter() - t) * 1000
    known = {r[0] for r in conn.execute("select id from enforcement_actions")}
    unknown = sorted({i for q in queries for i in q["relevant"]} - known)
    if unknown:
        raise ValueError(f"{EVAL_FILE}: relevant ids not in {db_path}: {unknown}")
    results: dict[str, Any] = {
        "queries": len(queries),
        "environment": {
            "cpus": os.cpu_count(),
            "query_encoder": "ONNX Runtime float32, one thread (etl/encoders.py)",
            "model": searcher.index.model,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "index_load_ms": round(load_ms, 1),
        "model_load_ms": round(model_ms, 1),
        "quality_actions": quality(conn, searcher, queries),
        "latency_python_api": python_latency(conn, searcher, queries),
        "latency_vector_step": vector_step_latency(searcher, queries),
        "latency_sqlite_vec": sqlite_vec_latency(searcher, queries),
        "latency_http": http_latency(db_path, queries),
        "latency_kb_similar_command": cli_latency(db_path, queries[0]["query"]),
    }
    conn.close()
    # Latency depends on what else the machine runs: keep the load next to the figures.
    results["environment"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    _print(results)
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / "similar.json"
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}")
    return results


def _print(r: dict) -> None:
    env = r["environment"]
    print(
        f"similar-case search: {r['queries']} labelled queries, enforcement actions, top {K} "
        f"({env['cpus']} CPUs, load average {env['load_average_at_start'][0]} -> {env['load_average_at_end'][0]})"
    )
    print(f"  {'ranker':<8} {'recall@10':>10} {'nDCG@10':>9}")
    for ranker in RANKERS:
        q = r["quality_actions"][ranker]
        print(f"  {ranker:<8} {q['recall@10']:>10.3f} {q['ndcg@10']:>9.3f}")
    print("  latency (ms)            p50      p95")
    for ranker in RANKERS:
        for where in ("latency_python_api", "latency_http"):
            p = r[where][ranker]
            print(f"  {where[8:]:<11} {ranker:<7} {p['p50_ms']:>8.2f} {p['p95_ms']:>8.2f}")
    v = r["latency_vector_step"]
    print(
        f"  vector scoring over {v['vectors']} vectors: numpy p50 {v['numpy_scoring']['p50_ms']:.3f}, "
        f"pure-Python loop p50 {v['pure_python_scoring']['p50_ms']:.1f} (query encoding p50 "
        f"{v['query_encode']['p50_ms']:.2f})"
    )
    sv = r["latency_sqlite_vec"]
    print(f"  sqlite-vec: {sv['knn_k100'] if sv['measured'] else sv['reason']}")
    c = r["latency_kb_similar_command"]
    print(
        f"  `kb similar` command (new process) p50 {c['p50_ms']:.0f} ms; HTTP first request (model load) "
        f"{r['latency_http']['first_request_ms_model_load']:.0f} ms"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else BENCH_DIR / "results")
