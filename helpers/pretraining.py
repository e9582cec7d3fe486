"""Pre-training a causal LM on plain text with the `transformers` Trainer: documents are
tokenised, joined with `<|bos|>`/`<|eos|>` and cut into equal blocks (nothing is padded or wasted).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from datasets import Dataset
from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from helpers.runtime import precision_flags


def split_documents(text: str) -> list[str]:
    """Split a corpus file into documents (separated by blank lines), dropping empty ones."""
    return [doc.strip() for doc in text.split("\n\n") if doc.strip()]


def corpus_token_stream(documents: Sequence[str], tokenizer) -> list[int]:
    """The token ids of documents, each wrapped in bos/eos, joined: the text as the model reads it."""
    stream: list[int] = []
    for ids in tokenizer(list(documents), add_special_tokens=False)["input_ids"]:
        stream += [tokenizer.bos_token_id, *ids, tokenizer.eos_token_id]
    return stream


def pack_documents(documents: Sequence[str], tokenizer, block_size: int = 128) -> Dataset:
    """Cut the documents' token stream (`corpus_token_stream`) into `block_size` blocks.

    The last partial block is dropped; the share dropped is at most one block.
    """
    stream = corpus_token_stream(documents, tokenizer)
    n_blocks = len(stream) // block_size
    if n_blocks == 0:
        raise ValueError(f"The corpus has {len(stream)} tokens, fewer than one block of {block_size}.")
    blocks = [stream[i * block_size:(i + 1) * block_size] for i in range(n_blocks)]
    return Dataset.from_dict({"input_ids": blocks})


def pretraining_arguments(output_dir: str | Path, max_steps: int, learning_rate: float = 1e-3,
                          batch_size: int = 16, seed: int = 0, eval_steps: int = 50) -> TrainingArguments:
    """Trainer settings that suit a small model: a high learning rate with warm-up and cosine decay,
    held-out loss every `eval_steps`, a checkpoint to resume from, bf16/fp16 only on a GPU."""
    return TrainingArguments(
        output_dir=str(output_dir), max_steps=max_steps, learning_rate=learning_rate,
        lr_scheduler_type="cosine", warmup_steps=max(1, max_steps // 20), weight_decay=0.01,
        per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size,
        eval_strategy="steps", eval_steps=eval_steps, logging_steps=max(1, eval_steps // 5),
        save_strategy="steps", save_steps=eval_steps * 4, save_total_limit=1,
        seed=seed, data_seed=seed, report_to="none", dataloader_num_workers=0,
        **precision_flags(),
    )


def pretrain(model, tokenizer, train: Dataset, heldout: Dataset, args: TrainingArguments) -> Trainer:
    """Train `model` on packed blocks; resume from the last checkpoint in `args.output_dir` if any."""
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=heldout,
                      data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False))
    last = get_last_checkpoint(args.output_dir) if Path(args.output_dir).is_dir() else None
    trainer.train(resume_from_checkpoint=last)
    return trainer


def loss_curves(trainer: Trainer) -> dict[str, list[tuple[int, float]]]:
    """(step, loss) pairs of the training and held-out loss from a trainer's log history."""
    history = trainer.state.log_history
    return {"train": [(h["step"], h["loss"]) for h in history if "loss" in h],
            "heldout": [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]}


def perplexity_from_loss(loss: float) -> float:
    """Perplexity is e to the mean negative log-likelihood per token."""
    return math.exp(loss)
