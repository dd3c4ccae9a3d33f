"""all-MiniLM-L6-v2 as an ONNX graph built from the packaged weights, for ONNX Runtime (no torch).

A server only embeds short queries, and torch alone is 224 MB resident before any model is loaded; an
ONNX Runtime session of the same fp32 weights keeps a replica under 300 MB (docs/benchmarks.md). The
graph is the forward pass of the model's three sentence-transformers modules (its modules.json):
transformers' BertModel (absolute positions, token type 0, post-layer-norm, exact erf GELU), mean pooling
over the attention mask, L2 normalization. Built from model.safetensors on first use, it needs no export
step and no file beside the database: etl.encoders.onnx_graph keeps the file in the user's cache folder,
named by the weights and this module's code. tests/test_encoders.py checks its vectors against
sentence-transformers' (max difference about 1e-6).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

OPSET = 17  # LayerNormalization


class _Graph:
    """Collects nodes and initializers; names are generated so that each layer reads as the model does."""

    def __init__(self, weights: dict[str, np.ndarray]):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.weights = weights
        self.nodes: list = []
        self.initializers: list = []
        self._n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def weight(self, name: str, transpose: bool = False) -> str:
        value = self.weights[name]
        return self.const(name, value.T if transpose else value)

    def op(self, op_type: str, *inputs: str, **attrs) -> str:
        self._n += 1
        out = f"{op_type.lower()}_{self._n}"
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, prefix: str) -> str:
        return self.op(
            "Add", self.op("MatMul", x, self.weight(f"{prefix}.weight", transpose=True)), self.weight(f"{prefix}.bias")
        )

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        return self.op(
            "LayerNormalization", x, self.weight(f"{prefix}.weight"), self.weight(f"{prefix}.bias"), epsilon=eps
        )


def _attention(g: _Graph, x: str, mask_bias: str, prefix: str, heads: int, head_size: int) -> str:
    split = g.const(f"{prefix}.split_shape", np.array([0, 0, heads, head_size], dtype=np.int64))
    merge = g.const(f"{prefix}.merge_shape", np.array([0, 0, heads * head_size], dtype=np.int64))

    def project(name: str, perm: list[int]) -> str:
        return g.op("Transpose", g.op("Reshape", g.linear(x, f"{prefix}.self.{name}"), split), perm=perm)

    q = project("query", [0, 2, 1, 3])  # (batch, heads, seq, head_size)
    k = project("key", [0, 2, 3, 1])  # (batch, heads, head_size, seq)
    v = project("value", [0, 2, 1, 3])
    scale = g.const(f"{prefix}.scale", np.array(1 / math.sqrt(head_size), dtype=np.float32))
    scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), mask_bias)
    context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
    merged = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge)
    return g.linear(merged, f"{prefix}.output.dense")


def _gelu(g: _Graph, x: str, prefix: str) -> str:
    """0.5 * x * (1 + erf(x / sqrt(2))): BERT's "gelu" (ONNX Runtime fuses the pattern into one kernel)."""
    half = g.const(f"{prefix}.half", np.array(0.5, dtype=np.float32))
    one = g.const(f"{prefix}.one", np.array(1.0, dtype=np.float32))
    root2 = g.const(f"{prefix}.sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))
    return g.op("Mul", g.op("Mul", x, half), g.op("Add", g.op("Erf", g.op("Div", x, root2)), one))


def build_model(model_dir: Path):
    """The ONNX ModelProto: inputs input_ids and attention_mask (int64, batch x seq), output
    sentence_embedding (float32, batch x hidden, L2-normalized)."""
    from onnx import TensorProto, helper
    from safetensors.numpy import load_file

    config = json.loads((model_dir / "config.json").read_text())
    hidden, heads, eps = config["hidden_size"], config["num_attention_heads"], config["layer_norm_eps"]
    g = _Graph(load_file(str(model_dir / "model.safetensors")))

    # embeddings: word + position + token type 0 (a single sentence), then layer norm
    ids, mask = "input_ids", "attention_mask"
    words = g.op("Gather", g.weight("embeddings.word_embeddings.weight"), ids)
    seq_len = g.op("Shape", ids, start=1, end=2)  # [seq]
    zero = g.const("zero", np.array([0], dtype=np.int64))
    pos = g.op("Slice", g.weight("embeddings.position_embeddings.weight"), zero, seq_len, zero)  # rows 0..seq-1
    type0 = g.const("token_type_0", g.weights["embeddings.token_type_embeddings.weight"][0])
    x = g.layer_norm(g.op("Add", g.op("Add", words, pos), type0), "embeddings.LayerNorm", eps)

    # padding: an additive bias of the lowest float on masked keys, shape (batch, 1, 1, seq)
    mask_f = g.op("Cast", mask, to=TensorProto.FLOAT)
    lowest = g.const("lowest", np.array(np.finfo(np.float32).min, dtype=np.float32))
    one = g.const("one", np.array(1.0, dtype=np.float32))
    bias = g.op("Mul", g.op("Sub", one, mask_f), lowest)
    mask_bias = g.op("Unsqueeze", bias, g.const("axes12", np.array([1, 2], dtype=np.int64)))

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        attended = _attention(g, x, mask_bias, f"{p}.attention", heads, hidden // heads)
        x = g.layer_norm(g.op("Add", attended, x), f"{p}.attention.output.LayerNorm", eps)
        inner = _gelu(g, g.linear(x, f"{p}.intermediate.dense"), p)
        x = g.layer_norm(g.op("Add", g.linear(inner, f"{p}.output.dense"), x), f"{p}.output.LayerNorm", eps)

    # mean pooling over real tokens (sentence-transformers clamps the count at 1e-9), then L2 normalize
    # (torch's F.normalize divides by max(norm, 1e-12))
    axis1 = g.const("axes1", np.array([1], dtype=np.int64))
    mask3 = g.op("Unsqueeze", mask_f, g.const("axes_last", np.array([-1], dtype=np.int64)))
    summed = g.op("ReduceSum", g.op("Mul", x, mask3), axis1, keepdims=0)
    counts = g.op(
        "Max", g.op("ReduceSum", mask3, axis1, keepdims=0), g.const("min_count", np.array(1e-9, dtype=np.float32))
    )
    mean = g.op("Div", summed, counts)
    norm = g.op("Sqrt", g.op("ReduceSum", g.op("Mul", mean, mean), axis1, keepdims=1))
    out = g.op("Div", mean, g.op("Max", norm, g.const("min_norm", np.array(1e-12, dtype=np.float32))))
    g.nodes.append(helper.make_node("Identity", [out], ["sentence_embedding"]))

    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in (ids, mask)],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializer=g.initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)


def save(model_dir: Path, out: Path) -> None:
    """Write the graph of model_dir's weights to out (`python -m etl.minilm_onnx MODEL_DIR OUT`)."""
    import onnx

    onnx.save(build_model(model_dir), out)


if __name__ == "__main__":
    save(Path(sys.argv[1]), Path(sys.argv[2]))
