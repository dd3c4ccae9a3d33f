"""`python -m bench.bare_encode DB`: the cold build's floor. Embeds the distinct texts of a built database with
sentence-transformers' own `model.encode()` (float32, its defaults: batch 32, torch's thread count) and
prints {"texts": n, "seconds": s} as JSON; the model's load is not timed. A process of its own, so that no
thread setting of the build encoder applies."""

from __future__ import annotations

import json
import sys
import time

import sqlite_utils


def main(db_path: str) -> None:
    from etl import embed, encoders

    db = sqlite_utils.Database(db_path)
    items, _ = embed.item_texts(db)
    texts = list({c.content_hash: c.text for c in embed.chunks_for(items, encoders.tokenizer())}.values())
    model = encoders.load_model()
    started = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    print(json.dumps({"texts": len(texts), "seconds": round(time.perf_counter() - started, 2)}))


if __name__ == "__main__":
    main(sys.argv[1])
