"""etl/encoders.py and etl/minilm_onnx.py: the tokenizer, the build encoder (torch) and the query encoder
(ONNX Runtime) against sentence-transformers' own encode(), and an unchanged rebuild that never imports
torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from similar_corpus import ACTIONS, BREACHES, LONG_DESCRIPTION

from etl import embed, encoders

REPO_ROOT = Path(__file__).resolve().parent.parent

TEXTS = [a[6] for a in ACTIONS] + [b[6] for b in BREACHES if b[6]] + ["ransomware", "a stolen laptop"]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """sentence-transformers' encode() in float32: what both runtimes must reproduce."""
    model = encoders.load_model()
    return model.encode(TEXTS + [LONG_DESCRIPTION * 3], batch_size=8, normalize_embeddings=True)


@pytest.mark.model
def test_query_encoder_gives_sentence_transformers_vectors(reference):
    query = encoders.query_encoder()
    assert encoders.query_encoder() is query
    batch = query(TEXTS + [LONG_DESCRIPTION * 3])  # padded batch; the last text is truncated at 256 pieces
    one_by_one = np.concatenate([query([t]) for t in TEXTS])
    assert batch.dtype == np.float32 and batch.shape == (len(TEXTS) + 1, encoders.DIMENSIONS)
    assert np.abs(batch - reference).max() < 1e-5
    assert np.abs(one_by_one - reference[: len(TEXTS)]).max() < 1e-5


@pytest.mark.model
def test_the_query_graph_is_written_once_and_read_by_the_next_process(tmp_path: Path, monkeypatch) -> None:
    first = encoders.QueryEncoder(graph_dir=tmp_path)
    [graph] = tmp_path.glob("*.onnx")
    assert graph.name == f"all-MiniLM-L6-v2-{encoders.graph_key()}.onnx"
    assert not list(tmp_path.glob(".writing-*"))  # the partial file was renamed, not left behind

    def no_build(*args, **kwargs):
        raise AssertionError("the graph was built again")

    monkeypatch.setattr(encoders.subprocess, "run", no_build)
    second = encoders.QueryEncoder(graph_dir=tmp_path)
    assert np.array_equal(second(TEXTS[:3]), first(TEXTS[:3]))


@pytest.mark.model
def test_without_a_writable_cache_folder_the_graph_is_built_for_the_process_alone(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    encoder = encoders.QueryEncoder(graph_dir=blocker / "cache")  # a folder inside a file cannot be made
    assert encoder(["ransomware"]).shape == (1, encoders.DIMENSIONS)


@pytest.mark.model
def test_build_encoder_matches_float32_and_keeps_order(reference):
    encoder = encoders.build_encoder()
    texts = TEXTS * 3  # several forward passes of FORWARD_BATCH, run in parallel
    vectors = encoder(texts)
    expected = np.concatenate([reference[: len(TEXTS)]] * 3)
    cosine = (vectors * expected).sum(axis=1)
    # float32 on a CPU without AMX; bfloat16 products measured at cosine >= 0.99997 on the full corpus
    assert cosine.min() > (0.9999 if encoder.bf16 else 0.999999)
    assert encoders.model_id().endswith("torch-bf16" if encoder.bf16 else "torch-fp32")
    assert encoder([]).shape == (0, encoders.DIMENSIONS)


@pytest.mark.model
def test_tokenizer_chunks_like_transformers():
    """Chunk boundaries come from word-piece offsets: the tokenizers library alone gives those of
    transformers' tokenizer (which the build used before), so cached chunk texts stay valid."""
    from transformers import AutoTokenizer

    slow = AutoTokenizer.from_pretrained(str(encoders.model_path()), local_files_only=True)
    fast = encoders.tokenizer()
    for text in [LONG_DESCRIPTION, *TEXTS]:
        ours = fast.encode(text, add_special_tokens=False)
        theirs = slow(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        assert ours.ids == theirs["input_ids"] and ours.offsets == [tuple(o) for o in theirs["offset_mapping"]]


UNCHANGED_REBUILD = """
import sys
from pathlib import Path
import numpy as np
from similar_corpus import build_mini_kb
from etl import embed

root = Path(sys.argv[1])
fake = lambda texts: np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384)
first = embed.embed_database(build_mini_kb(root / "a.db"), root / "cache.sqlite", encoder=fake, echo=lambda _: None)
assert "torch" not in sys.modules
second = embed.embed_database(build_mini_kb(root / "b.db"), root / "cache.sqlite", echo=lambda _: None)
assert first.embedded > 0 and second.embedded == 0, (first, second)
print("torch imported:", "torch" in sys.modules)
"""


def test_unchanged_rebuild_does_not_import_torch(tmp_path: Path):
    """Nothing to embed: the stage reads the tokenizer and the cache, and leaves torch (seconds) alone."""
    result = subprocess.run(
        [sys.executable, "-c", UNCHANGED_REBUILD, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT / "tests",
        env={"PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'tests'}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "torch imported: False" in result.stdout
    assert embed.WINDOW == encoders.MAX_TOKENS - 2
