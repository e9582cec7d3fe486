"""Models: the kit's tiny Llama-style configuration, and loading any causal LM (the kit's own or a
Hub model) the same way, with generation that stops at the end of an assistant turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

from helpers.runtime import REPO_ROOT
from helpers.tokenization import END_OF_TURN

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

# The kit's foundation model, pre-trained once by `scripts/pretrain_base.py` and committed: every
# notebook's default MODEL, loaded like any Hub model.
SHIPPED_BASE = REPO_ROOT / "models" / "loom-base-4m"
# The gpu profile's model: a small instruct model with a permissive license (Apache-2.0) whose chat
# template TRL can train on answers only, and whose full fine-tuning fits a free Colab T4.
GPU_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"

# Sizes of the kit's own foundation model: `cpu` pre-trains in about two minutes on two cores,
# `gpu` is the same design, bigger, for a card.
MODEL_SIZES: dict[str, dict[str, int]] = {
    "cpu": {"hidden_size": 256, "intermediate_size": 704, "num_hidden_layers": 4, "num_attention_heads": 4},
    "gpu": {"hidden_size": 512, "intermediate_size": 1408, "num_hidden_layers": 8, "num_attention_heads": 8},
}


def default_model(profile: str) -> str | Path:
    """The model a notebook starts from when `MODEL` is not set: the shipped base on `cpu`, `GPU_MODEL` on `gpu`."""
    return GPU_MODEL if profile == "gpu" else SHIPPED_BASE


def tiny_llama_config(tokenizer: PreTrainedTokenizerBase, size: str = "cpu", max_positions: int = 512) -> LlamaConfig:
    """A Llama configuration (RMSNorm, rotary positions, SwiGLU) sized by `size`, with the
    tokenizer's special-token ids; input and output embeddings are tied to save parameters."""
    if size not in MODEL_SIZES:
        raise ValueError(f"Unknown model size {size!r}: choose one of {sorted(MODEL_SIZES)}")
    return LlamaConfig(
        vocab_size=len(tokenizer), max_position_embeddings=max_positions, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, **MODEL_SIZES[size],
    )


def build_model(tokenizer: PreTrainedTokenizerBase, size: str = "cpu", seed: int = 0) -> LlamaForCausalLM:
    """A freshly initialised (untrained) tiny Llama for `tokenizer`, with stop-at-end-of-turn
    generation settings."""
    torch.manual_seed(seed)
    model = LlamaForCausalLM(tiny_llama_config(tokenizer, size))
    model.generation_config = chat_generation_config(tokenizer)
    return model


def chat_generation_config(tokenizer: PreTrainedTokenizerBase, max_new_tokens: int = 64) -> GenerationConfig:
    """Greedy decoding that stops at `<|end|>` (end of an assistant turn) or the end of text."""
    stop_ids = [tokenizer.convert_tokens_to_ids(END_OF_TURN), tokenizer.eos_token_id]
    return GenerationConfig(do_sample=False, max_new_tokens=max_new_tokens, eos_token_id=stop_ids,
                            pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id)


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Number of (trainable) parameters, counting tied weights once."""
    params = {id(p): p for p in model.parameters() if p.requires_grad or not trainable_only}
    return sum(p.numel() for p in params.values())


def load_model_and_tokenizer(path_or_id: str | Path, dtype: torch.dtype | str = torch.float32,
                             trust_remote_code: bool = False):
    """Load a causal LM and its tokenizer from a local folder or a Hub id, exactly as for any Hub model.

    Weights load in full precision by default, whatever dtype the checkpoint was saved in (Hub models
    ship bf16, which a T4 cannot compute in): the trainer's bf16/fp16 flag decides the compute precision.

    `trust_remote_code` stays off unless you ask for it; weights load from safetensors. A tokenizer
    without a pad token gets its end-of-text token as pad, so batches can be padded.
    """
    path_or_id = str(path_or_id)
    tokenizer = AutoTokenizer.from_pretrained(path_or_id, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path_or_id, dtype=dtype, trust_remote_code=trust_remote_code)
    return model, tokenizer


def save_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, path: str | Path) -> Path:
    """Save model (safetensors), tokenizer and generation settings to `path`, as `save_pretrained`
    does, but into a temporary folder renamed at the end: a crash never leaves half a model."""
    import shutil

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    return path
