"""Bounded load test on loopback: concurrent clients against the JSON API of a served database.

Each client loops over the endpoints for a fixed duration; we report throughput, p50/p99 latency
and errors per endpoint. Target (issue 7): zero errors, p99 under 250 ms on a 2-core machine.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from bench.common import percentile, save, served

ENDPOINTS = {
    "table_json": "/kb/breaches.json?_size=50&state=CA",
    "canned_query": "/kb/actions_largest_overall.json",  # a canned query of kb_site/metadata/actions.yml
    "full_text": "/kb/breaches.json?_search=ransomware&_size=20",
    "similar": "/-/similar.json?q=ransomware+encrypted+our+EHR+no+risk+analysis&k=10",
}


async def _client(base: str, paths: list[tuple[str, str]], stop_at: float, samples: dict) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        i = 0
        while time.perf_counter() < stop_at:
            name, path = paths[i % len(paths)]
            i += 1
            started = time.perf_counter()
            try:
                response = await client.get(path)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            samples[name].append((time.perf_counter() - started, ok))


async def _run(base: str, endpoints: dict[str, str], clients: int, seconds: float) -> dict:
    samples: dict[str, list[tuple[float, bool]]] = {name: [] for name in endpoints}
    paths = list(endpoints.items())
    stop_at = time.perf_counter() + seconds
    await asyncio.gather(
        *[_client(base, paths[i % len(paths) :] + paths[: i % len(paths)], stop_at, samples) for i in range(clients)]
    )
    figures = {}
    for name, rows in samples.items():
        latencies = [t * 1000 for t, _ in rows]
        figures[name] = {
            "requests": len(rows),
            "errors": sum(1 for _, ok in rows if not ok),
            "throughput_rps": round(len(rows) / seconds, 1),
            "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
            "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
        }
    return figures


def main(db: Path, results_dir: Path, clients: int = 16, seconds: float = 20.0) -> dict:
    with served(db) as base:
        for path in ENDPOINTS.values():  # warm up (model load, page cache), and fail early on a wrong path
            httpx.get(base + path, timeout=60).raise_for_status()
        figures = asyncio.run(_run(base, ENDPOINTS, clients, seconds))
    print(f"\nLoad test: {clients} clients, {seconds:.0f} s, loopback")
    print(f"{'endpoint':<14}{'requests':>10}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, f in figures.items():
        print(f"{name:<14}{f['requests']:>10}{f['errors']:>8}{f['throughput_rps']:>9}{f['p50_ms']:>9}{f['p99_ms']:>9}")
    save(results_dir, "load", {"clients": clients, "seconds": seconds, "endpoints": figures})
    return figures
