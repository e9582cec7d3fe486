"""Benchmark SFT throughput: the kit's SFT path against a plain PyTorch loop, and packed against padded batches.

    python scripts/benchmark_sft.py
    python scripts/benchmark_sft.py --steps 10 --repeats 1 --model path/to/model

Both comparisons train the kit's base model (or --model) on notebook 01's triage conversations.

1. Kit against plain loop. The kit's path is `sft_config` + `sft_trainer` + `trainer.train()`. The
   plain loop takes its batches from the same trainer's `get_train_dataloader()` (same data, same
   collation) and trains a fresh copy of the same model with `torch.optim.AdamW` (same learning rate,
   betas, epsilon, weight decay and fused kernel): forward with labels, backward, step, zero_grad.
   What the trainer does on top (gradient clipping, the learning-rate schedule, logging, TRL's
   chunked LM head that also computes the entropy and accuracy it logs) is the overhead measured.
2. Packed against padded, both through the kit's path. A padded step is --batch-size chats padded to
   the longest in the batch (max_length 512). A packed step has the same token budget: one row of
   max_length = batch size x mean chat length, filled with whole chats by TRL's best-fit packing
   (about batch-size chats a row). One row, because padding-free batches are flattened into a
   single row anyway: several shorter rows would hold the same tokens, only less tightly packed.
   Positions restart at every chat, so a row longer than the model's context is fine. Removing
   padding saves at most the padded batches' padding share, which the table shows.

Tokens are input tokens that are not padding (the attention mask's sum, or the row length of a
padding-free batch). Each run warms up for --warmup steps, then times --steps steps; each figure is
the median of --repeats runs, and each ratio the median of the runs' ratios. Numbers depend on the
machine and on whatever else it is doing: compare results only from the same run. Results go to
runs/benchmark_sft.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

from helpers.runtime import configure_cpu_threads

configure_cpu_threads()  # before torch is imported

import datasets  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import PrinterCallback, ProgressCallback, TrainerCallback  # noqa: E402


def synchronize() -> None:
    """Wait for queued GPU work, so that the clock measures it."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class Stopwatch(TrainerCallback):
    """Seconds and non-padding tokens from the end of step `warmup` to the end of training."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.tokens, self.seconds = warmup, 0.0, 0, 0.0

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.warmup:
            synchronize()
            self.start, self.tokens = time.perf_counter(), -state.num_input_tokens_seen

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        synchronize()
        self.seconds, self.tokens = time.perf_counter() - self.start, self.tokens + state.num_input_tokens_seen


def make_trainer(model_path: Path, conversations: Any, out: str, steps: int, batch_size: int,
                 max_length: int, packing: bool) -> Any:
    """The kit's SFT trainer on a fresh copy of the model, counting non-padding tokens, printing nothing."""
    from helpers.modeling import load_model_and_tokenizer
    from helpers.training import sft_config, sft_trainer

    model, tokenizer = load_model_and_tokenizer(model_path)
    config = sft_config(out, max_steps=steps, batch_size=batch_size, max_length=max_length, packing=packing,
                        include_num_input_tokens_seen="non_padding", disable_tqdm=True)
    trainer = sft_trainer(model, tokenizer, conversations, config)
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    return trainer


def kit_rate(trainer: Any, warmup: int, steps: int) -> dict[str, float]:
    """Tokens per second of `trainer.train()` after `warmup` steps."""
    watch = Stopwatch(warmup)
    trainer.add_callback(watch)
    trainer.train()
    return {"tokens_per_second": watch.tokens / watch.seconds, "tokens_per_step": watch.tokens / steps}


def plain_rate(trainer: Any, model_path: Path, warmup: int, steps: int) -> dict[str, float]:
    """Tokens per second of a bare AdamW loop on a fresh model copy, on the trainer's own batches."""
    from helpers.modeling import load_model_and_tokenizer

    model = load_model_and_tokenizer(model_path)[0].to(trainer.args.device).train()
    args = trainer.args
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2),
                                  eps=args.adam_epsilon, weight_decay=args.weight_decay,
                                  fused=getattr(args.optim, "value", args.optim) == "adamw_torch_fused")
    tokens = slots = 0
    for step, batch in enumerate(islice(trainer.get_train_dataloader(), warmup + steps)):
        if step == warmup:
            synchronize()
            start = time.perf_counter()
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= warmup:
            mask = batch.get("attention_mask")
            tokens += int(mask.sum()) if mask is not None else batch["input_ids"].numel()
            slots += batch["input_ids"].numel()
    synchronize()
    return {"tokens_per_second": tokens / (time.perf_counter() - start), "tokens_per_step": tokens / steps,
            "padding_share": 1 - tokens / slots}


def summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    """Medians over repeats, and the runs themselves."""
    return {**{key: statistics.median(run[key] for run in runs) for key in runs[0]}, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; medians are reported")
    parser.add_argument("--model", default=None, help="model folder or Hub id (default: the kit's base model)")
    parser.add_argument("--batch-size", type=int, default=8, help="chats per padded step")
    options = parser.parse_args()
    if options.warmup < 1 or options.steps < 1 or options.repeats < 1:
        parser.error("--warmup, --steps and --repeats must be at least 1")
    datasets.disable_progress_bars()  # the table is the output
    transformers.utils.logging.disable_progress_bar()

    from helpers.data import load_conversations
    from helpers.modeling import SHIPPED_BASE
    from helpers.notebooks import ensure_processed_data
    from helpers.results import library_versions
    from helpers.runtime import runs_dir
    from helpers.training import chat_dataset

    model_path = Path(options.model) if options.model else SHIPPED_BASE
    conversations = chat_dataset(load_conversations(ensure_processed_data() / "train.jsonl"))
    total = options.warmup + options.steps
    runs: dict[str, list[dict[str, float]]] = {"kit": [], "plain": [], "packed": []}
    with tempfile.TemporaryDirectory() as out:
        for repeat in range(options.repeats):
            padded = make_trainer(model_path, conversations, out, total, options.batch_size, 512, packing=False)
            mean_length = statistics.fmean(len(ids) for ids in padded.train_dataset["input_ids"])
            packed_length = round(options.batch_size * mean_length)
            # Alternate the order, so that drift in the machine's load does not favour one side.
            if repeat % 2:
                runs["plain"].append(plain_rate(padded, model_path, options.warmup, options.steps))
            runs["kit"].append(kit_rate(padded, options.warmup, options.steps))
            if not repeat % 2:
                runs["plain"].append(plain_rate(padded, model_path, options.warmup, options.steps))
            packed = make_trainer(model_path, conversations, out, total, 1, packed_length, packing=True)
            runs["packed"].append(kit_rate(packed, options.warmup, options.steps))

    results = {name: summary(values) for name, values in runs.items()}
    ratios = {"kit_over_plain": statistics.median(k["tokens_per_second"] / p["tokens_per_second"]
                                                  for k, p in zip(runs["kit"], runs["plain"])),
              "packed_over_padded": statistics.median(p["tokens_per_second"] / k["tokens_per_second"]
                                                      for p, k in zip(runs["packed"], runs["kit"]))}
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    report = {"machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": device},
              "libraries": library_versions(), "model": str(model_path),
              "settings": {"steps": options.steps, "warmup": options.warmup, "repeats": options.repeats,
                           "batch_size": options.batch_size, "max_length": 512, "packed_batch_size": 1,
                           "packed_max_length": packed_length, "mean_chat_tokens": mean_length},
              "results": results, "ratios": ratios}

    labels = {"kit": f"kit SFT, padded ({options.batch_size} chats)", "plain": "plain loop, same batches",
              "packed": f"kit SFT, packed (1 x {packed_length})"}
    print(f"\n{'run':<34}{'tokens/s':>10}{'tokens/step':>13}")
    for name, label in labels.items():
        print(f"{label:<34}{results[name]['tokens_per_second']:>10,.0f}{results[name]['tokens_per_step']:>13,.0f}")
    print(f"padding in the padded batches: {results['plain']['padding_share']:.1%}")
    print(f"kit / plain:     {ratios['kit_over_plain']:.2f}")
    print(f"packed / padded: {ratios['packed_over_padded']:.2f}")
    print(f"{options.repeats} repeat(s) of {options.warmup} + {options.steps} steps on {device}, "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs")
    path = runs_dir() / "benchmark_sft.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
