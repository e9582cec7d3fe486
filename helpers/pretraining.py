"""Pre-training a causal LM on plain text with the `transformers` Trainer: documents are
tokenised, joined with `<|bos|>`/`<|eos|>` and cut into equal blocks (nothing is padded or wasted),
from a file (`pack_documents`) or from an endless stream of fresh documents (`StreamedBlocks`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TYPE_CHECKING

import torch
from datasets import Dataset
from safetensors.torch import load_model
from transformers import DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainerState, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from helpers.runtime import precision_flags
from helpers.tracking import direct_logs, tracker_settings

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def split_documents(text: str) -> list[str]:
    """Split a corpus file into documents (separated by blank lines), dropping empty ones."""
    return [doc.strip() for doc in text.split("\n\n") if doc.strip()]


def wrap_document(ids: Sequence[int], tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """A document's token ids between bos and eos, as the model reads it in pre-training (a tokenizer
    without a bos token, as Qwen's, starts the document with its text)."""
    bos = [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]
    return [*bos, *ids, tokenizer.eos_token_id]


def corpus_token_stream(documents: Sequence[str], tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """The token ids of documents, each wrapped in bos/eos, joined: the text as the model reads it."""
    stream: list[int] = []
    for ids in tokenizer(list(documents), add_special_tokens=False)["input_ids"]:
        stream += wrap_document(ids, tokenizer)
    return stream


def pack_documents(documents: Sequence[str], tokenizer: PreTrainedTokenizerBase, block_size: int = 128) -> Dataset:
    """Cut the documents' token stream (`corpus_token_stream`) into `block_size` blocks.

    The last partial block is dropped; the share dropped is at most one block.
    """
    stream = corpus_token_stream(documents, tokenizer)
    n_blocks = len(stream) // block_size
    if n_blocks == 0:
        raise ValueError(f"The corpus has {len(stream)} tokens, fewer than one block of {block_size}.")
    blocks = [stream[i * block_size:(i + 1) * block_size] for i in range(n_blocks)]
    return Dataset.from_dict({"input_ids": blocks})


class StreamedBlocks(torch.utils.data.IterableDataset):
    """Blocks of `block_size` tokens cut from an endless document stream, as `pack_documents` cuts a
    file: `make_stream()` is called afresh for each pass, so the same stream gives the same blocks
    (which is what lets the Trainer resume by skipping the batches it has already seen)."""

    def __init__(self, make_stream: Callable[[], Iterator[str]], tokenizer: PreTrainedTokenizerBase,
                 block_size: int = 256, docs_per_call: int = 256) -> None:
        self.make_stream = make_stream
        self.tokenizer = tokenizer
        self.block_size = block_size
        self.docs_per_call = docs_per_call

    def __iter__(self) -> Iterator[dict[str, list[int]]]:
        stream, buffer = self.make_stream(), []
        while True:
            documents = [next(stream) for _ in range(self.docs_per_call)]  # tokenised together: far faster
            buffer += corpus_token_stream(documents, self.tokenizer)
            while len(buffer) >= self.block_size:
                yield {"input_ids": buffer[:self.block_size]}
                buffer = buffer[self.block_size:]


def pretraining_arguments(output_dir: str | Path, max_steps: int, learning_rate: float = 1e-3,
                          batch_size: int = 16, seed: int = 0, eval_steps: int = 50,
                          warmup_steps: int | None = None, save_steps: int | None = None,
                          run_name: str | None = None, project: str | None = None) -> TrainingArguments:
    """Trainer settings that suit a small model: a high learning rate with warm-up and cosine decay
    to a tenth of it, held-out loss every `eval_steps`, checkpoints to resume from (every
    `save_steps`, default four evaluations), and the precision `precision_flags` picks for this machine.
    The logs go to the local tracker as `run_name` of `project` (`helpers.tracking.tracker_settings`)."""
    return TrainingArguments(
        output_dir=str(output_dir), max_steps=max_steps, learning_rate=learning_rate,
        lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr_rate": 0.1},
        warmup_steps=max(1, max_steps // 20) if warmup_steps is None else warmup_steps, weight_decay=0.01,
        per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size,
        eval_strategy="steps", eval_steps=eval_steps, logging_steps=max(1, eval_steps // 5),
        save_strategy="steps", save_steps=save_steps or eval_steps * 4, save_total_limit=2,
        seed=seed, data_seed=seed, dataloader_num_workers=0,
        **precision_flags(), **tracker_settings(output_dir, run_name, project),
    )


class TrainingLog(TrainerCallback):
    """After each held-out evaluation, measure what the model can do and append one JSON line to
    `path`: step, tokens seen, wall seconds, training and held-out loss, and each of `probes`
    (name -> a function of model and tokenizer that returns a share in 0..1)."""

    def __init__(self, path: str | Path, tokens_per_step: int,
                 probes: Mapping[str, Callable[..., float]] | None = None,
                 earlier: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.tokens_per_step = tokens_per_step
        self.probes = dict(probes or {})
        # A continued model counts on from the last row of its earlier training (`earlier`), and a
        # resumed run from its own last logged row.
        self.earlier = {"step": 0, "tokens": 0, "seconds": 0.0, **(earlier or {})}
        done = read_training_log(self.path)[-1]["seconds"] if self.path.exists() else self.earlier["seconds"]
        self.started = time.time() - done

    def on_evaluate(self, args, state, control, metrics=None, model: PreTrainedModel=None,
                    processing_class=None, **kwargs):
        losses = [h["loss"] for h in state.log_history if "loss" in h]
        row = {"step": self.earlier["step"] + state.global_step,
               "tokens": self.earlier["tokens"] + state.global_step * self.tokens_per_step,
               "seconds": round(time.time() - self.started, 1),
               "train_loss": losses[-1] if losses else None, "heldout_loss": (metrics or {}).get("eval_loss")}
        was_training = model.training
        row.update({name: probe(model, processing_class) for name, probe in self.probes.items()})
        model.train(was_training)
        with self.path.open("a") as log:
            log.write(json.dumps(row) + "\n")


def read_training_log(path: str | Path) -> list[dict]:
    """The rows a `TrainingLog` wrote, in order (a resumed run may repeat a step: the last row wins)."""
    rows: dict[int, dict] = {}
    for line in Path(path).read_text().splitlines():
        row = json.loads(line)
        rows[row["step"]] = row
    return [rows[step] for step in sorted(rows)]


def pretrain(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, train, heldout: Dataset,
             args: TrainingArguments, callbacks: Sequence[TrainerCallback] = ()) -> Trainer:
    """Train `model` on packed blocks (a `Dataset` or `StreamedBlocks`); resume from the last
    checkpoint in `args.output_dir` if there is one."""
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=heldout,
                      processing_class=tokenizer, callbacks=list(callbacks),
                      data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False))
    last = get_last_checkpoint(args.output_dir) if Path(args.output_dir).is_dir() else None
    direct_logs(trainer, fresh=last is None)  # a resumed run adds to its logs
    if last and TrainerState.load_from_json(f"{last}/trainer_state.json").global_step >= args.max_steps:
        # a finished run: resuming would train one step past its end
        load_model(model, f"{last}/model.safetensors")
        return trainer
    trainer.train(resume_from_checkpoint=last)
    return trainer


def loss_curves(trainer: Trainer) -> dict[str, list[tuple[int, float]]]:
    """(step, loss) pairs of the training and held-out loss from a trainer's log history."""
    history = trainer.state.log_history
    return {"train": [(h["step"], h["loss"]) for h in history if "loss" in h],
            "heldout": [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]}
