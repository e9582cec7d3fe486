"""Generating text for evaluation: batched, left-padded, greedy or seeded sampling, with the same
decoding settings for every model compared (the model's own stop tokens, none of its sampling
defaults).

    replies = chat_generate(model, tokenizer, conversations, temperature=1.0, seed=0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

GENERATION_BATCH = 64  # prompts generated together: on a CPU, fewer and fuller batches are far faster


@contextmanager
def padding_side(tokenizer: PreTrainedTokenizerBase, side: str):
    """Pad on `side` ("left" or "right") inside the block, and restore the tokenizer's own side after it."""
    before = tokenizer.padding_side
    tokenizer.padding_side = side
    try:
        yield tokenizer
    finally:
        tokenizer.padding_side = before


@torch.no_grad()
def generate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompts: Sequence[str],
             max_new_tokens: int = 64, batch_size: int = GENERATION_BATCH, add_bos: bool = True,
             progress: bool = True, temperature: float = 0.0, seed: int = 0) -> list[str]:
    """Continuations of raw-text prompts, in batches, stopping at the model's stop tokens: greedy
    with `temperature=0`, otherwise sampled from the full distribution at that temperature (no top-k
    or top-p), seeded with `seed` so that the same call gives the same text.

    Prompts are batched by length (outputs come back in the order given): rows of a batch then need
    little padding, and a small model generates about twice as fast in batches of 64 as of 16.
    For chat models, build prompts with `tokenizer.apply_chat_template(..., tokenize=False,
    add_generation_prompt=True)` (its text already starts with bos: pass `add_bos=False`).
    """
    model.eval()
    bos = tokenizer.bos_token if add_bos and tokenizer.bos_token else ""
    texts = [bos + p for p in prompts]
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(texts)), key=lengths.__getitem__)
    outputs: list[str] = [""] * len(texts)
    decoding = _decoding(model, tokenizer, max_new_tokens, temperature)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    batches = range(0, len(texts), batch_size)
    with padding_side(tokenizer, "left"):  # generation continues from the right end of every row
        for start in tqdm(batches, desc="generating", disable=not progress or len(batches) < 2):
            rows = order[start:start + batch_size]
            enc = tokenizer([texts[i] for i in rows], return_tensors="pt", padding=True,
                            add_special_tokens=False).to(model.device)
            out = model.generate(**enc, generation_config=decoding)
            new_tokens = out[:, enc["input_ids"].shape[1]:]
            for i, text in zip(rows, tokenizer.batch_decode(new_tokens, skip_special_tokens=True)):
                outputs[i] = text
    torch.random.set_rng_state(generator_state)  # sampling here leaves the caller's random stream alone
    return outputs


def _decoding(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, max_new_tokens: int,
              temperature: float) -> GenerationConfig:
    """The same decoding for every model compared: the model's own stop tokens, and none of its own
    sampling settings (a Hub model ships a temperature, top-p and a repetition penalty)."""
    own = model.generation_config
    sampling = dict(do_sample=False)
    if temperature > 0:
        sampling = dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
    return GenerationConfig(max_new_tokens=max_new_tokens, eos_token_id=own.eos_token_id, bos_token_id=own.bos_token_id,
                            pad_token_id=tokenizer.pad_token_id, **sampling)


def chat_generate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                  conversations: Sequence[Sequence[Mapping[str, str]]], max_new_tokens: int = 96,
                  batch_size: int = GENERATION_BATCH, progress: bool = True, temperature: float = 0.0,
                  seed: int = 0) -> list[str]:
    """The model's next assistant turn for each conversation (its last message is the user's),
    batched; greedy by default, sampled with `temperature > 0` (seeded): the same settings for
    every model compared."""
    prompts = [tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True)
               for c in conversations]
    return generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size,
                    add_bos=False, progress=progress, temperature=temperature, seed=seed)
