"""Parameter-efficient fine-tuning (PEFT) with the `peft` library: the configurations the course
compares (LoRA and DoRA, IA3, prompt tuning, prefix tuning), how much of a model each trains, how
big the saved adapter is, and a check that a merged model computes what base + adapter computed.

    config = lora_config(rank=8, targets="attention")
    trainer = sft_trainer(model, tokenizer, data, sft_config(...), peft_config=config)

Module names are those of Llama-style models (Llama, SmolLM, Qwen2, Mistral); pass a list of
names to `lora_config(targets=...)` for any other architecture.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from peft import IA3Config, LoraConfig, PrefixTuningConfig, PromptTuningConfig, PromptTuningInit

from helpers.modeling import count_parameters

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

ATTENTION_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_MODULES = ("gate_proj", "up_proj", "down_proj")
DEFAULT_ALPHA = 16
TARGETS: dict[str, tuple[str, ...]] = {
    "attention": ATTENTION_MODULES, "mlp": MLP_MODULES, "all-linear": ATTENTION_MODULES + MLP_MODULES,
}


def lora_config(rank: int, alpha: float | None = None, targets: str | Sequence[str] = "all-linear",
                dropout: float = 0.0, use_dora: bool = False) -> LoraConfig:
    """A LoRA (or, with `use_dora=True`, DoRA) configuration for a causal LM.

    Each targeted weight W is frozen and learns an update B @ A of rank `rank`, scaled by
    `alpha / rank`. `alpha` defaults to 16 whatever the rank, as in the LoRA paper: the scale then
    shrinks as the rank grows, which keeps the size of the update, and so the right learning rate,
    about the same across ranks. `targets` is `"attention"` (q, k, v, o projections), `"mlp"`
    (gate, up, down projections), `"all-linear"` (both), or a list of module names.
    """
    if rank < 1:
        raise ValueError(f"LoRA rank must be at least 1, not {rank}")
    if isinstance(targets, str):
        if targets not in TARGETS:
            raise ValueError(f"Unknown targets {targets!r}: choose one of {sorted(TARGETS)} or a list of module names")
        modules = list(TARGETS[targets])
    else:
        modules = list(targets)
    return LoraConfig(task_type="CAUSAL_LM", r=rank, lora_alpha=alpha if alpha is not None else DEFAULT_ALPHA,
                      target_modules=modules, lora_dropout=dropout, use_dora=use_dora, bias="none")


def ia3_config() -> IA3Config:
    """An IA3 configuration: learned vectors that rescale the keys, the values and the input of the
    MLP's down projection, element by element (a few thousand numbers for a small model)."""
    return IA3Config(task_type="CAUSAL_LM", target_modules=["k_proj", "v_proj", "down_proj"],
                     feedforward_modules=["down_proj"])


def prompt_tuning_config(num_virtual_tokens: int = 16, init_text: str | None = None,
                         tokenizer_name_or_path: str | None = None) -> PromptTuningConfig:
    """A prompt-tuning configuration: `num_virtual_tokens` learned input embeddings put in front of
    every input; the model itself is untouched. With `init_text` (and the tokenizer's path) they
    start as the embeddings of that text, otherwise at random."""
    if init_text is not None:
        if tokenizer_name_or_path is None:
            raise ValueError("prompt tuning initialised from text needs tokenizer_name_or_path")
        return PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=num_virtual_tokens,
                                  prompt_tuning_init=PromptTuningInit.TEXT, prompt_tuning_init_text=init_text,
                                  tokenizer_name_or_path=str(tokenizer_name_or_path))
    return PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=num_virtual_tokens,
                              prompt_tuning_init=PromptTuningInit.RANDOM)


def prefix_tuning_config(num_virtual_tokens: int = 16) -> PrefixTuningConfig:
    """A prefix-tuning configuration: learned keys and values for `num_virtual_tokens` positions
    in every attention layer, which every real token can attend to."""
    return PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=num_virtual_tokens)


def trainable_fraction(model: torch.nn.Module) -> float:
    """The share of the model's parameters that training updates (0..1), tied weights counted once."""
    return count_parameters(model, trainable_only=True) / count_parameters(model)


def adapter_size_mb(folder: str | Path) -> float:
    """Size on disk, in MB (2**20 bytes), of the weight files (`*.safetensors`, `*.bin`) in a
    folder made by `save_pretrained`: an adapter's, or a whole model's to compare with."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin")] if folder.is_dir() else []
    if not files:
        raise FileNotFoundError(f"No weight files (*.safetensors, *.bin) in {folder}")
    return sum(p.stat().st_size for p in files) / 2**20


@torch.no_grad()
def _logits(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase,
            conversations: Sequence[Sequence[Mapping[str, str]]]):
    texts = [tokenizer.apply_chat_template(list(c), tokenize=False) for c in conversations]
    encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    model.eval()
    logits = model(**encoded).logits.float()
    return logits, encoded["attention_mask"].bool()


def merged_matches_adapter(peft_model, tokenizer: PreTrainedTokenizerBase,
                           conversations: Sequence[Sequence[Mapping[str, str]]],
                           atol: float | None = 1e-4) -> float:
    """Merge the adapter of a copy of `peft_model` into its weights (`merge_and_unload()`) and return
    the largest absolute difference between the logits of base + adapter and those of the merged
    model, on the real tokens of `conversations`. `peft_model` itself is left as it was. With `atol`,
    a larger difference raises `ValueError`: the merged model would not be the model you tested.
    """
    adapter_logits, mask = _logits(peft_model, tokenizer, conversations)
    merged = copy.deepcopy(peft_model).merge_and_unload()
    merged_logits, _ = _logits(merged, tokenizer, conversations)
    difference = (adapter_logits - merged_logits).abs()[mask].max().item()
    if atol is not None and difference > atol:
        raise ValueError(f"The merged model's logits differ from base + adapter by {difference:.3g} (> {atol:g})")
    return difference
