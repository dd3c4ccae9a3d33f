"""Precedent range benchmark: how good the precedent list is, how its cut was chosen, and its speed.

Quality: bench/precedent_eval.jsonl holds described incidents (free text and optional facts), each with
the enforcement actions an expert would call its precedents, written from the curated facts
(data/curated/ocr_actions.jsonl: incident labels and summaries) before any ranking was looked at. Each
incident goes through etl.precedents exactly as `/-/precedents.json?q=...` does; the list is then cut at
every threshold of a grid (and at MAX_PRECEDENTS), and per incident:
- precision = listed precedents that are labelled / listed (1.0 when nothing is listed: nothing wrong);
- recall = labelled precedents that are listed / labelled.
Averages over incidents (macro). The threshold chosen is the one with the best mean F1 (the higher one on
a tie); leave-one-out (choose on the other incidents, score the one left out) says how much of that is
fitting the labels. `etl.precedents.THRESHOLD` is the chosen value; the run says whether they agree.

Speed: p50 and p95 of `/-/precedents.json?q=...` and `/-/similar.json?q=...` (the same texts, requests
interleaved, a warm `kb serve`), and their ratio (goal: under 2).

`main(db_path, results_dir)` prints the figures and writes results_dir/precedents.json.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import percentile, served

BENCH_DIR = Path(__file__).resolve().parent
EVAL_FILE = BENCH_DIR / "precedent_eval.jsonl"
GRID = [round(0.0160 + 0.0005 * i, 4) for i in range(34)]  # 0.0160 .. 0.0325 (the fused score's range)
ROUNDS = 3


def load_eval(path: Path = EVAL_FILE) -> list[dict]:
    incidents = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            item = json.loads(line)
            if not item.get("incident") or not item.get("precedents"):
                raise ValueError(f"{path}:{n}: each line needs an incident and a non-empty precedents list")
            incidents.append(item)
    return incidents


def scores(listed: list[str], labelled: set[str]) -> dict[str, float]:
    hits = len(set(listed) & labelled)
    precision = hits / len(listed) if listed else 1.0
    recall = hits / len(labelled)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def cut(ranked: list[tuple[str, float]], threshold: float, limit: int) -> list[str]:
    return [i for i, score in ranked if score >= threshold][:limit]


def mean_scores(runs: list[dict], threshold: float, limit: int) -> dict[str, float]:
    per = [scores(cut(r["ranked"], threshold, limit), r["labelled"]) for r in runs]
    return {k: round(statistics.fmean(p[k] for p in per), 4) for k in ("precision", "recall", "f1")}


def best_threshold(runs: list[dict], limit: int) -> float:
    return max(GRID, key=lambda t: (mean_scores(runs, t, limit)["f1"], t))


# The labelled precedents are OCR's actions (the eval was written before other enforcers were loaded): the
# quality figures are measured with the OCR filter, as a compliance officer asks. `all_enforcers` repeats
# them without it, to show how much the other enforcers' actions crowd the list.
EVAL_AGENCIES = ("ocr",)


def ranked_lists(
    conn: sqlite3.Connection, searcher, incidents: list[dict], agencies: tuple[str, ...] = EVAL_AGENCIES
) -> list[dict]:
    """Each incident's ranked actions (id, fused score), best first, through etl.precedents."""
    from etl import precedents

    runs = []
    for item in incidents:
        query = precedents.Query(text=item["incident"], facts=precedents.parse_facts(conn, item.get("facts") or {}))
        hits = precedents.ranked(
            conn, searcher, precedents.resolve(conn, query), threshold=0.0, limit=100, agencies=agencies
        )
        runs.append(
            {
                "incident": item["incident"],
                "labelled": set(item["precedents"]),
                "ranked": [(h["id"], h["score"]) for h in hits],
            }
        )
    return runs


def quality(runs: list[dict]) -> dict[str, Any]:
    from etl.precedents import MAX_PRECEDENTS, THRESHOLD

    chosen = best_threshold(runs, MAX_PRECEDENTS)
    left_out = [
        scores(
            cut(r["ranked"], best_threshold(runs[:i] + runs[i + 1 :], MAX_PRECEDENTS), MAX_PRECEDENTS), r["labelled"]
        )
        for i, r in enumerate(runs)
    ]
    per_incident = [
        {"incident": r["incident"], "labelled": len(r["labelled"]), **scores(cut(r["ranked"], THRESHOLD, MAX_PRECEDENTS), r["labelled"]),
         "listed": len(cut(r["ranked"], THRESHOLD, MAX_PRECEDENTS))}
        for r in runs
    ]  # fmt: skip
    return {
        "incidents": len(runs),
        "max_precedents": MAX_PRECEDENTS,
        "threshold_shipped": THRESHOLD,
        "threshold_chosen": chosen,
        "agree": chosen == THRESHOLD,
        "at_shipped": mean_scores(runs, THRESHOLD, MAX_PRECEDENTS),
        "at_chosen": mean_scores(runs, chosen, MAX_PRECEDENTS),
        "leave_one_out": {k: round(statistics.fmean(s[k] for s in left_out), 4) for k in ("precision", "recall", "f1")},
        "fixed_k_10": mean_scores(runs, 0.0, 10),
        "sweep": [{"threshold": t, **mean_scores(runs, t, MAX_PRECEDENTS)} for t in GRID],
        "per_incident": per_incident,
    }


def latency(db_path: Path, incidents: list[dict]) -> dict[str, Any]:
    import httpx

    samples: dict[str, list[float]] = {"precedents": [], "similar": []}
    with served(db_path) as url, httpx.Client(base_url=url, timeout=120) as client:
        for path in ("/-/similar.json", "/-/precedents.json"):  # load the model and the index
            client.get(path, params={"q": "warm up"}).raise_for_status()
        for _ in range(ROUNDS):
            for item in incidents:
                for name in ("similar", "precedents"):
                    t = time.perf_counter()
                    client.get(f"/-/{name}.json", params={"q": item["incident"]}).raise_for_status()
                    samples[name].append((time.perf_counter() - t) * 1000)
    out: dict[str, Any] = {
        name: {"p50_ms": round(percentile(s, 50), 2), "p95_ms": round(percentile(s, 95), 2), "n": len(s)}
        for name, s in samples.items()
    }
    out["p50_ratio"] = round(out["precedents"]["p50_ms"] / out["similar"]["p50_ms"], 3)
    return out


def main(db_path: Path, results_dir: Path) -> dict:
    from etl.similar import open_searcher

    incidents = load_eval()
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    known = {r[0] for r in conn.execute("select id from enforcement_actions")}
    unknown = sorted({i for item in incidents for i in item["precedents"]} - known)
    if unknown:
        raise ValueError(f"{EVAL_FILE}: precedents not in {db_path}: {unknown}")
    searcher = open_searcher(conn)
    runs = ranked_lists(conn, searcher, incidents)
    every = ranked_lists(conn, searcher, incidents, agencies=())
    conn.close()
    results = {
        "agencies": list(EVAL_AGENCIES),
        "quality": quality(runs),
        "all_enforcers": {
            k: v for k, v in quality(every).items() if k in ("threshold_chosen", "at_shipped", "fixed_k_10")
        },
        "latency_http": latency(Path(db_path), incidents),
        "environment": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]},
    }
    _print(results)
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / "precedents.json"
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}")
    return results


def _print(r: dict) -> None:
    q, t = r["quality"], r["latency_http"]
    print(
        f"precedent range: {q['incidents']} labelled incidents, at most {q['max_precedents']} precedents, "
        f"agencies {', '.join(r['agencies'])}"
    )
    print(f"  threshold shipped {q['threshold_shipped']}, chosen by best mean F1 {q['threshold_chosen']}")
    for name in ("at_shipped", "at_chosen", "leave_one_out", "fixed_k_10"):
        s = q[name]
        print(f"  {name:<14} precision {s['precision']:.3f}  recall {s['recall']:.3f}  F1 {s['f1']:.3f}")
    e = r["all_enforcers"]["at_shipped"]
    print(f"  every enforcer  precision {e['precision']:.3f}  recall {e['recall']:.3f}  F1 {e['f1']:.3f} (at shipped)")
    print(
        f"  HTTP p50: precedents {t['precedents']['p50_ms']:.1f} ms, similar {t['similar']['p50_ms']:.1f} ms "
        f"(ratio {t['p50_ratio']:.2f}; goal under 2)"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else BENCH_DIR / "results")
