"""Issue 15's table from the figures of one `python -m bench` run: each step, its floor measured in the same
run, the ratio and the goal. Rows whose bench did not run in this invocation are left out, so the table
never mixes runs. Printed, and saved as bench/results/speed.json.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import save


def _row(step: str, floor: float | None, now: float, unit: str, goal: str, met: bool, note: str = "") -> dict:
    ratio = round(now / floor, 2) if floor else None
    return {
        "step": step,
        "floor": floor,
        "now": now,
        "unit": unit,
        "ratio": ratio,
        "goal": goal,
        "met": met,
        "note": note,
    }


def _build_rows(build: dict) -> list[dict]:
    cold, unchanged = build["cold"], build["unchanged"]
    return [
        _row(
            "unchanged rebuild (kb build, new process)",
            unchanged["floor_read_stamps_s"],
            unchanged["total_s"],
            "s",
            f"<= {unchanged['goal_s']:.0f} s",
            unchanged["total_s"] <= unchanged["goal_s"],
            "floor: start Python, import the build, read the replay stamps",
        ),
        _row(
            "cold build (empty raw and cache folders)",
            cold["floor_bare_encode_s"],
            cold["total_s"],
            "s",
            f"<= {cold['goal_s']:.0f} s, quality kept",
            cold["total_s"] <= cold["goal_s"],
            f"floor: bare float32 model.encode() of the same {cold['floor_texts']} texts",
        ),
    ]


def _server_rows(server: dict) -> list[dict]:
    similar, table, first, memory, goals = (
        server["similar_http"],
        server["table_json"],
        server["first_query"],
        server["memory"],
        server["goals"],
    )
    first_ratio = table["first_time_p50_ms"] / table["first_time_floor_p50_ms"]
    floor_ms = similar["floor_p50_ms"]
    # The best a search over HTTP could do: the embedding plus an empty Datasette request (older runs lack it)
    empty_ms = similar.get("http_empty_p50_ms")
    bound = (
        f"; best possible (floor + a minimal request {empty_ms} ms) / floor = {(floor_ms + empty_ms) / floor_ms:.2f}x"
        if empty_ms is not None
        else ""
    )
    return [
        _row(
            "similar-case search p50 over HTTP",
            similar["floor_p50_ms"],
            similar["p50_ms"],
            "ms",
            f"<= {goals['similar_http']}x",
            similar["p50_ms"] <= goals["similar_http"] * similar["floor_p50_ms"],
            f"floor: the query embedded in-process by the server's encoder; in-process: whole search "
            f"{similar['in_process_search_p50_ms']} ms, its BM25 {similar['bm25_p50_ms']} ms, all but the "
            f"embedding {similar['in_process_search_p50_ms'] - floor_ms:.2f} ms"
            f"{bound}; against the float32 torch encoder ({similar['torch_float32_floor_p50_ms']} ms): "
            f"{similar['p50_ms'] / similar['torch_float32_floor_p50_ms']:.2f}x",
        ),
        _row(
            "full-text table JSON p50, default facets",
            table["floor_p50_ms"],
            table["p50_ms"],
            "ms",
            f"<= {goals['table_json']}x",
            table["p50_ms"] <= goals["table_json"] * table["floor_p50_ms"],
            f"floor: _nofacet=1&_nocount=1; a search asked for the first time: {first_ratio:.2f}x",
        ),
        _row(
            "first similar-case query after start",
            first["warm_p50_ms"],
            first["first_ms"],
            "ms",
            f"<= {goals['first_query']}x",
            first["first_ms"] <= goals["first_query"] * first["warm_p50_ms"],
            "floor: the warm p50 of the same server",
        ),
        _row(
            "server memory (resident, after requests)",
            memory["floor_resident_mb"],
            memory["resident_mb"],
            "MB",
            f"<= {goals['memory_mb']} MB",
            memory["resident_mb"] <= goals["memory_mb"],
            "floor: the same server on the database without its embeddings",
        ),
    ]


def _load_row(load: dict) -> dict:
    worst = max(f["p99_ms"] or 0 for f in load.values())
    errors = sum(f["errors"] for f in load.values())
    p99s = ", ".join(f"{name} {f['p99_ms']}" for name, f in load.items())
    return _row(
        "16 concurrent clients, 20 s: worst p99",
        None,
        worst,
        "ms",
        "p99 <= 250 ms every endpoint, 0 errors",
        worst <= 250 and errors == 0,
        f"{errors} errors; p99 ms: {p99s}",
    )


def summary(figures: dict[str, dict], results_dir: Path) -> list[dict]:
    rows: list[dict] = []
    if "build" in figures:
        rows += _build_rows(figures["build"])
    if "server" in figures:
        rows += _server_rows(figures["server"])
    if "load" in figures:
        rows.append(_load_row(figures["load"]))
    if not rows:
        return rows
    print("\nIssue 15: each step against its floor, this run")
    print(f"{'step':<44}{'floor':>9}{'now':>9}{'ratio':>7}  {'goal':<28}met")
    for r in rows:
        floor = f"{r['floor']:g}" if r["floor"] is not None else "-"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        print(
            f"{r['step']:<44}{floor:>9}{r['now']:>9g}{ratio:>7}  {r['goal']:<28}{'yes' if r['met'] else 'NO'}"
            f"  ({r['unit']}; {r['note']})"
        )
    save(results_dir, "speed", {"rows": rows})
    return rows
