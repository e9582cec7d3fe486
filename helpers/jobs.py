"""A fine-tuning job described by one config file, run by the same code in a notebook cell, as a script
(`scripts/train.py`), and under `accelerate launch` on several processes or GPUs.

    job = load_job("configs/sft_full.json")
    summary = run_job(job)   # in a notebook: one process
    # accelerate launch --config_file configs/accelerate/cpu_ddp.yaml scripts/train.py configs/sft_full.json

`batch_size` is the global batch: each of N processes takes batch_size / N examples a step, so the same
config trains on the same examples per step, whatever N.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import PrinterCallback

from helpers.data import load_splits, reply_demonstrations, triage_conversations
from helpers.modeling import SHIPPED_BASE, load_model_and_tokenizer
from helpers.notebooks import ensure_processed_data
from helpers.peft_methods import lora_config
from helpers.runtime import REPO_ROOT
from helpers.training import chat_dataset, sft_config, sft_trainer, train, training_history

METHODS = ("full", "lora")


@dataclass
class Job:
    """Everything a fine-tuning run depends on. Paths are relative to the kit's folder."""

    output_dir: str
    model: str = str(SHIPPED_BASE.relative_to(REPO_ROOT))
    data_dir: str | None = None  # train.jsonl and friends; None: notebook 01's cleaned tickets (built if missing)
    replies_file: str | None = "data/support/replies.jsonl"
    method: str = "full"
    lora_rank: int = 8
    steps: int = 40
    batch_size: int = 8
    learning_rate: float = 1.2e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        for name in ("steps", "batch_size", "lora_rank"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, not {self.learning_rate}")


def load_job(path: str | Path, **overrides: Any) -> Job:
    """The job in a JSON config file, with `overrides` (e.g. `steps=10`) applied; an unknown key is an error."""
    path = Path(path)
    settings = {**json.loads(path.read_text(encoding="utf-8")), **overrides}
    known = {field.name for field in dataclasses.fields(Job)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"{path}: unknown settings {unknown}; a job takes {sorted(known)}")
    return Job(**settings)


def _resolve(path: str | None) -> Path | None:
    return None if path is None else (REPO_ROOT / path if not Path(path).is_absolute() else Path(path))


def job_conversations(job: Job) -> list[list[dict[str, str]]]:
    """The training chats of a job: triage tickets, then the reply demonstrations."""
    data_dir = _resolve(job.data_dir) or ensure_processed_data()
    replies = reply_demonstrations(_resolve(job.replies_file))[0] if job.replies_file else []
    return triage_conversations(list(load_splits(data_dir)["train"])) + replies


def run_job(job: Job, progress: bool = True) -> dict[str, Any]:
    """Fine-tune as the job says, on as many processes as it was launched on; save the model (the main
    process writes it once) and return the per-step training losses, the process count and the time.
    `progress=False` hides the progress bar (the main process shows it; the others never do)."""
    processes = int(os.environ.get("WORLD_SIZE", 1))  # set by the launcher (accelerate launch, torchrun)
    if job.batch_size % processes:
        raise ValueError(f"batch_size {job.batch_size} does not split evenly over {processes} processes")
    out = _resolve(job.output_dir)
    local_model = _resolve(job.model)
    model, tokenizer = load_model_and_tokenizer(local_model if local_model.exists() else job.model)  # else a Hub id
    config = sft_config(out / "checkpoints", learning_rate=job.learning_rate, max_steps=job.steps,
                        batch_size=job.batch_size // processes, seed=job.seed, logging_steps=1,
                        disable_tqdm=not progress or int(os.environ.get("RANK", 0)) != 0,
                        run_name=out.name)  # the tracker files it under the job's folder name
    peft_config = lora_config(job.lora_rank) if job.method == "lora" else None
    trainer = sft_trainer(model, tokenizer, chat_dataset(job_conversations(job)), config, peft_config=peft_config)
    if not progress:
        trainer.remove_callback(PrinterCallback)  # without a bar, the trainer would print every step's log
    seconds = train(trainer)["train_seconds"]
    trainer.save_model(str(out / "model"))  # on the main process only; an adapter with LoRA
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(out / "model")
    summary = {"losses": training_history(trainer)["loss"], "processes": processes, "train_seconds": seconds,
               "job": dataclasses.asdict(job)}
    if trainer.is_world_process_zero():
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
