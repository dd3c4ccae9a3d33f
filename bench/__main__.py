"""`python -m bench --db data/kb.db` (what `make bench` runs): every benchmark, figures printed and saved
as JSON under bench/results/.

- build:   build time by stage on the full snapshot, cold and unchanged, with their floors (bench/build_bench.py)
- load:    Datasette JSON latency under 16 concurrent clients (bench/load.py)
- server:  similar-case and table JSON latency, first query and memory of `kb serve`, with their floors
           (bench/server_bench.py)
- embed:   embedding throughput, pipeline vs bare model.encode() (bench/embed_bench.py)
- similar: similar-case search quality and latency vs brute force (bench/similar_bench.py)
- precedents: precedent range precision and recall on labelled incidents, how its threshold was chosen,
           and its HTTP latency beside similar-case search (bench/precedent_bench.py)

Then issue 15's table from this run's figures: each step against its floor (bench/speed.py).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import REPO_ROOT

BENCHES = ("build", "load", "server", "embed", "similar", "precedents")


def run(name: str, db: Path, snapshot_dir: Path, results_dir: Path) -> dict:
    if name == "build":
        from bench import build_bench

        return build_bench.main(snapshot_dir, results_dir)
    if name == "load":
        from bench import load

        return load.main(db, results_dir)
    if name == "server":
        from bench import server_bench

        return server_bench.main(db, results_dir)
    if name == "embed":
        from bench import embed_bench

        return embed_bench.main(db, results_dir)
    if name == "precedents":
        from bench import precedent_bench

        return precedent_bench.main(db, results_dir)
    from bench import similar_bench

    return similar_bench.main(db, results_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=REPO_ROOT / "data" / "kb.db", help="a built database (kb.db)")
    parser.add_argument("--snapshot-dir", type=Path, default=REPO_ROOT.parent / "shared" / "snapshot")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "bench" / "results")
    parser.add_argument("--only", choices=BENCHES, action="append", help="run only these (repeatable)")
    args = parser.parse_args(argv)
    if not args.db.is_file():
        parser.error(f"{args.db}: no database; run `make build` first")
    names = args.only or list(BENCHES)
    figures = {}
    for name in names:
        started = time.perf_counter()
        print(f"\n=== {name} ===", flush=True)
        figures[name] = run(name, args.db, args.snapshot_dir, args.results_dir)
        print(f"({name} took {time.perf_counter() - started:.0f} s)", flush=True)
    from bench import speed

    speed.summary(figures, args.results_dir)
    print(f"\nfigures saved under {args.results_dir}")


if __name__ == "__main__":
    main()
