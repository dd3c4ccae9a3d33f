"""Embedding throughput: the build's embed stage against its encoder alone on the same texts.

Both run in this process, with the model already loaded (its load time is reported on its own): the
pipeline (`etl.embed.embed_database` with an empty vector cache: reading the items, chunking, the encode
calls batch by batch, a cache commit per batch, writing the `embeddings` table) and one call of the build
encoder (etl/encoders.py) on the distinct chunk texts. Rounds alternate so that a busy machine slows both
alike; the best round of each is kept. The two must give the same vectors (same runtime; which texts share
a forward pass may differ), and the build encoder's must be the float32 model's to a cosine near 1 (the
float32 reference: the query encoder, equal to float32 torch to 1.5e-7, on the first REFERENCE_TEXTS).
(The build against sentence-transformers' own `model.encode()` is the cold build's floor, bench/build_bench.py.)

Target (issue 7): pipeline time / bare encode time <= 1.15.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlite_utils

from bench.common import save

TARGET_RATIO = 1.15
REFERENCE_TEXTS = 200


def _sample_db(db: Path, work: Path, every: int) -> sqlite_utils.Database:
    """A copy of db keeping every enforcement action and every `every`-th described breach report (by id, so
    all years and description lengths are represented)."""
    copy = work / "sample.db"
    shutil.copy(db, copy)
    sample = sqlite_utils.Database(copy)
    sample.execute(
        """delete from breaches where id not in (
        select id from (select id, row_number() over (order by id) as n from breaches
                        where trim(coalesce(description, '')) != '') where n % ? = 0)""",
        [every],
    )
    sample.conn.commit()
    return sample


class TimedEncoder:
    """The real encoder, with the time spent inside it added up (the rest of the stage is overhead)."""

    def __init__(self, encode):
        self.encode, self.seconds = encode, 0.0

    def __call__(self, texts):
        started = time.perf_counter()
        try:
            return self.encode(texts)
        finally:
            self.seconds += time.perf_counter() - started


def main(db: Path, results_dir: Path, every: int = 12, rounds: int = 2) -> dict:
    from etl import embed, encoders

    with tempfile.TemporaryDirectory(prefix="kb-embed-bench-") as tmp:
        work = Path(tmp)
        sample = _sample_db(Path(db), work, every)
        started = time.perf_counter()
        tokenizer = encoders.tokenizer()
        build_encoder = encoders.build_encoder()
        load_s = time.perf_counter() - started
        items, _ = embed.item_texts(sample)
        chunks = embed.chunks_for(items, tokenizer)
        texts = sorted({c.content_hash: c.text for c in chunks}.values(), key=len)
        build_encoder(texts[:64])  # warm up

        bare_runs, pipeline_runs, overheads, bare = [], [], [], None
        for round_ in range(rounds):
            started = time.perf_counter()
            bare = build_encoder(texts)
            bare_runs.append(time.perf_counter() - started)
            encoder = TimedEncoder(build_encoder)
            started = time.perf_counter()
            report = embed.embed_database(
                sample, work / f"cache-{round_}.sqlite", encoder=encoder, tokenizer=tokenizer, echo=lambda _line: None
            )
            pipeline_runs.append(time.perf_counter() - started)
            overheads.append(pipeline_runs[-1] - encoder.seconds)
            assert report.embedded == len(texts) and report.reused == 0
        if bare is None:  # the loop above never ran
            raise ValueError(f"rounds must be at least 1, got {rounds}")
        float32 = encoders.query_encoder()(texts[:REFERENCE_TEXTS])
        min_cosine_to_float32 = float((bare[:REFERENCE_TEXTS] * float32).sum(axis=1).min())
        stored = {
            r["content_hash"]: np.frombuffer(r["vector"], dtype="<f4")
            for r in sample.query("select content_hash, vector from embeddings")
        }
        max_diff = max(float(np.abs(stored[embed.content_hash(t)] - bare[i]).max()) for i, t in enumerate(texts))
        sample.close()

    bare_s, pipeline_s = min(bare_runs), min(pipeline_runs)
    figures = {
        "texts": len(texts),
        "items": len(items),
        "runtime": encoders.build_runtime(),
        "model_load_s": round(load_s, 2),
        "min_cosine_to_float32": round(min_cosine_to_float32, 6),
        "bare_encode_s": round(bare_s, 2),
        "pipeline_s": round(pipeline_s, 2),
        "bare_texts_per_s": round(len(texts) / bare_s, 1),
        "pipeline_texts_per_s": round(len(texts) / pipeline_s, 1),
        "ratio": round(pipeline_s / bare_s, 3),
        "target_ratio": TARGET_RATIO,
        # Time the stage spends outside the model (reading, chunking, cache commits, table writes): less
        # sensitive to a busy machine than the ratio of two separately timed runs.
        "pipeline_overhead_s": round(min(overheads), 2),
        "ratio_from_overhead": round((bare_s + min(overheads)) / bare_s, 3),
        "rounds_overhead_s": [round(s, 2) for s in overheads],
        "rounds_bare_s": [round(s, 2) for s in bare_runs],
        "rounds_pipeline_s": [round(s, 2) for s in pipeline_runs],
        "max_abs_vector_diff": max_diff,
    }
    print(
        f"\nEmbedding throughput ({len(texts)} distinct chunk texts of {len(items)} items: all actions, every "
        f"{every}th described breach; best of {rounds})"
    )
    print(f"  model load            {load_s:7.2f} s  (0 if an earlier bench in this process loaded it)")
    print(
        f"  build encoder ({figures['runtime']}) {bare_s:.2f} s  {figures['bare_texts_per_s']:.1f} texts/s; "
        f"min cosine to float32 {min_cosine_to_float32:.6f}"
    )
    print(f"  pipeline embed stage  {pipeline_s:7.2f} s  {figures['pipeline_texts_per_s']:7.1f} texts/s")
    print(
        f"  ratio pipeline/encoder {figures['ratio']:6.3f}    (target <= {TARGET_RATIO}); "
        f"max |vector difference| {max_diff:.1e}"
    )
    print(
        f"  stage time outside the model {figures['pipeline_overhead_s']:.2f} s "
        f"-> (bare + overhead) / bare = {figures['ratio_from_overhead']:.3f}"
    )
    save(Path(results_dir), "embed", figures)
    return figures
