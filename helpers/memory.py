"""How much memory training takes, before you train: an estimate from a model's config, and a
measurement to check it against.

Training holds four things: the weights, their gradients, the optimizer's state (AdamW keeps two
numbers per trainable weight) and the activations that the backward pass needs, which grow with
batch size times sequence length. `estimate_training_memory` adds them up for full fine-tuning, LoRA
and QLoRA (4-bit frozen weights); `measure_training_memory` trains a few steps and reads the peak.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

import torch

from helpers.runtime import PeakMemory

METHODS = ("full", "lora", "qlora")
PRECISIONS = ("fp32", "bf16", "fp16")  # the compute precision; weights stay fp32 except QLoRA's
GB = 2**30


def _shape(config: Any) -> dict[str, int]:
    """The sizes that memory depends on, from a transformers config (or a dict with the same names)."""
    get = config.get if isinstance(config, Mapping) else lambda name, default=None: getattr(config, name, default)
    hidden, heads = get("hidden_size"), get("num_attention_heads")
    head_dim = get("head_dim") or hidden // heads
    return {"hidden": hidden, "layers": get("num_hidden_layers"), "intermediate": get("intermediate_size"),
            "vocab": get("vocab_size"), "q": heads * head_dim, "kv": (get("num_key_value_heads") or heads) * head_dim,
            "tied": bool(get("tie_word_embeddings", False)), "bias": bool(get("attention_bias", False)) or
            get("model_type") == "qwen2"}


def parameter_count(config: Any) -> int:
    """Parameters of a Llama-style decoder (Llama, Qwen2, Mistral, SmolLM): embeddings, attention,
    gated MLP and norms, counting tied input and output embeddings once."""
    s = _shape(config)
    attention = s["hidden"] * (2 * s["q"] + 2 * s["kv"]) + (s["q"] + 2 * s["kv"] if s["bias"] else 0)
    layer = attention + 3 * s["hidden"] * s["intermediate"] + 2 * s["hidden"]
    embeddings = s["vocab"] * s["hidden"] * (1 if s["tied"] else 2)
    return embeddings + s["layers"] * layer + s["hidden"]


def lora_parameter_count(config: Any, rank: int) -> int:
    """Trainable parameters of a rank-`rank` LoRA adapter on every linear layer of every block."""
    s = _shape(config)
    h, i = s["hidden"], s["intermediate"]
    shapes = [(h, s["q"]), (h, s["kv"]), (h, s["kv"]), (s["q"], h), (h, i), (h, i), (i, h)]
    return s["layers"] * sum(rank * (n_in + n_out) for n_in, n_out in shapes)


def activation_values_per_token(config: Any) -> dict[str, int]:
    """Numbers per token that training holds at its peak, the start of the backward pass: in each block
    (`block`) the residual stream, both norms' outputs, the attention output before and after its
    projection, queries and keys after the rotary embedding, values (keys and values once more when
    grouped-query attention repeats them for every query head), and the MLP's gate, up, activation
    and product; then (`logits`, always fp32) the logits, their log-softmax, and the gradients of both.
    Counted from the tensors PyTorch saves for the backward pass of a Llama-style model."""
    s = _shape(config)
    repeated = 2 * s["q"] if s["kv"] != s["q"] else 0
    block = 6 * s["hidden"] + 2 * s["q"] + 2 * s["kv"] + repeated + 4 * s["intermediate"]
    return {"block": s["layers"] * block, "logits": 4 * s["vocab"]}


def estimate_training_memory(config: Any, method: str = "full", precision: str = "fp32", batch_size: int = 8,
                             sequence_length: int = 512, lora_rank: int = 8) -> dict[str, float]:
    """Peak memory (GB) of training with AdamW: `weights`, `gradients`, `optimizer` state, `activations`
    and their `total`. Full fine-tuning keeps fp32 weights, with a half-precision copy under bf16/fp16
    autocast; LoRA keeps the frozen weights in the compute precision (QLoRA: 4-bit NF4, about 0.56 bytes
    each with its scales) and the adapter in fp32. Activations take 2 bytes a number under autocast, 4 in
    fp32 (the logits stay fp32 either way). Without activation checkpointing, and without
    the framework's own overhead (CUDA context, allocator slack, about a few hundred MB)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    if batch_size < 1 or sequence_length < 1:
        raise ValueError("batch_size and sequence_length must be at least 1")
    params = parameter_count(config)
    trainable = params if method == "full" else lora_parameter_count(config, lora_rank)
    half = precision != "fp32"
    if method == "full":  # fp32 master weights, and their half-precision copy under autocast
        weights = params * (6.0 if half else 4.0)
    else:  # frozen weights in the compute precision (QLoRA: 4-bit), the adapter in fp32
        weights = params * (0.5625 if method == "qlora" else 2.0 if half else 4.0) + trainable * 4.0
    tokens = batch_size * sequence_length
    values = activation_values_per_token(config)
    activations = tokens * (values["block"] * (2 if half else 4) + values["logits"] * 4)
    parts = {"weights": weights, "gradients": trainable * 4.0, "optimizer": trainable * 8.0, "activations": activations}
    parts = {name: value / GB for name, value in parts.items()}
    return {**parts, "total": sum(parts.values())}


def measure_training_memory(model: torch.nn.Module, batch_size: int, sequence_length: int, steps: int = 2,
                            seed: int = 0) -> dict[str, float]:
    """Memory (GB) of `steps` AdamW steps on random tokens of exactly `batch_size` x `sequence_length`,
    on the model's device: `peak` (on a CPU the process's resident memory, Python and libraries
    included; on a GPU what torch allocated) and `added`, the peak less what was in use before (the
    weights): gradients, optimizer state and activations, the figure to check an estimate against."""
    generator = torch.Generator().manual_seed(seed)
    vocab = model.get_input_embeddings().num_embeddings
    batch = torch.randint(0, vocab, (batch_size, sequence_length), generator=generator).to(model.device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    model.train()
    gc.collect()
    with PeakMemory() as memory:
        for _ in range(steps):
            model(input_ids=batch, labels=batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    return {"peak": memory.peak_mb / 1024, "added": memory.added_mb / 1024}


# Published shapes (config.json) of models a reader will fine-tune: estimates need no download.
PUBLISHED_CONFIGS: dict[str, dict[str, Any]] = {
    "SmolLM2-135M": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                         num_key_value_heads=3, vocab_size=49152, tie_word_embeddings=True, model_type="llama"),
    "Qwen2.5-0.5B": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True, model_type="qwen2"),
    "Qwen2.5-1.5B": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True, model_type="qwen2"),
    "Qwen2.5-7B": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                       num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False, model_type="qwen2"),
}
OVERHEAD_GB = 1.0  # the CUDA context and the allocator's slack


def fits(estimate: Mapping[str, float], card_gb: float) -> bool:
    """Whether an estimate (`estimate_training_memory`) fits a card of `card_gb` GB, leaving `OVERHEAD_GB`."""
    return estimate["total"] + OVERHEAD_GB <= card_gb
