"""Fine-tuning with TRL on any machine: a config with sane defaults for laptops and GPUs, chat
datasets, the loss mask made visible, and the training history as a table.

TRL's defaults are made for big models on GPUs: bf16, activation checkpointing and a learning rate
of 2e-5. `sft_config` picks the precision the machine supports, turns checkpointing off (it only
saves memory, at a cost in speed) and uses a learning rate suited to the kit's tiny model.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TYPE_CHECKING

import torch
from datasets import Dataset
from transformers import EarlyStoppingCallback
from trl import SFTConfig, SFTTrainer
from trl.chat_template_utils import get_training_chat_template, has_generation_markers

from helpers.runtime import PeakMemory, precision_flags
from helpers.tracking import direct_logs, tracker_settings

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def trainer_defaults(output_dir: str | Path, *, learning_rate: float, max_steps: int, batch_size: int,
                     seed: int = 0, warmup: float = 0.05, logs_per_run: int = 20, max_logging_steps: int = 10,
                     schedule: str = "cosine") -> dict[str, Any]:
    """The settings every trainer config of the kit shares, in one place: the run's size, a `schedule`
    with `warmup` (a share of the steps), no weight decay, seeds for the model and the data order,
    about `logs_per_run` logged points, no checkpoints along the way, no activation checkpointing
    (it saves memory at the cost of speed), pinned memory only on CUDA, the machine's precision
    (`helpers.runtime.precision_flags`) and the local tracker (`helpers.tracking`)."""
    if max_steps < 1:
        raise ValueError(f"max_steps must be at least 1, not {max_steps}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, not {learning_rate}")
    return dict(
        output_dir=str(output_dir), learning_rate=learning_rate, max_steps=max_steps,
        per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size * 2,
        lr_scheduler_type=schedule, warmup_steps=warmup, weight_decay=0.0, seed=seed, data_seed=seed,
        logging_steps=max(1, min(max_logging_steps, max_steps // logs_per_run)), save_strategy="no",
        activation_checkpointing=False, dataloader_pin_memory=torch.cuda.is_available(),
        **precision_flags(), **tracker_settings(output_dir),
    )


def sft_config(output_dir: str | Path, *, learning_rate: float = 1e-3, max_steps: int = 200,
               batch_size: int = 8, max_length: int = 512, eval_every: int | None = None,
               seed: int = 0, **overrides: Any) -> SFTConfig:
    """An `SFTConfig` that runs on CPU and GPU alike, with the loss on the assistant's tokens only.

    With `eval_every`, the validation loss is computed every `eval_every` steps, a checkpoint is
    saved each time and the best one (lowest validation loss) is loaded at the end. The logs go to
    the local tracker (`helpers.tracking`), filed under the notebook and the output folder's name (or
    `run_name=`). Any other `SFTConfig` field can be passed in `overrides`.
    """
    settings = trainer_defaults(output_dir, learning_rate=learning_rate, max_steps=max_steps,
                                batch_size=batch_size, seed=seed)
    settings.update(max_length=max_length, assistant_only_loss=True)
    if eval_every:
        settings.update(eval_strategy="steps", eval_steps=eval_every, save_strategy="steps",
                        save_steps=eval_every, save_total_limit=2, load_best_model_at_end=True,
                        metric_for_best_model="eval_loss", greater_is_better=False, save_only_model=True)
    settings.update(overrides)
    return SFTConfig(**settings)


def chat_dataset(conversations: Sequence[Sequence[Mapping[str, str]]]) -> Dataset:
    """A `datasets.Dataset` with one `messages` column, the format `SFTTrainer` reads."""
    if not conversations:
        raise ValueError("no conversations to train on")
    return Dataset.from_dict({"messages": [list(c) for c in conversations]})


def loss_mask(tokenizer: PreTrainedTokenizerBase, messages: Sequence[Mapping[str, str]]) -> list[tuple[str, bool]]:
    """Each token of a conversation with whether the loss is computed on it (True for the
    assistant's answer and its end-of-turn token, as `assistant_only_loss=True` trains)."""
    # A Hub template without `{% generation %}` markers trains with the version of it TRL patches in.
    template = None if has_generation_markers(tokenizer.chat_template) else get_training_chat_template(tokenizer)
    encoded = tokenizer.apply_chat_template(list(messages), tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True, chat_template=template)
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    texts = [tokenizer.convert_tokens_to_string([t]) for t in tokens]
    return list(zip(texts, (bool(m) for m in encoded["assistant_masks"])))


def show_loss_mask(tokenizer: PreTrainedTokenizerBase, messages: Sequence[Mapping[str, str]]) -> str:
    """The conversation as text with the trained tokens between ⟦ and ⟧, and a count."""
    pieces, inside = [], False
    mask = loss_mask(tokenizer, messages)
    for text, trained in mask:
        if trained != inside:
            pieces.append("⟦" if trained else "⟧")
            inside = trained
        pieces.append(text)
    if inside:
        pieces.append("⟧")
    trained = sum(m for _, m in mask)
    return "".join(pieces) + f"\n\n{trained} of {len(mask)} tokens are trained on ({trained / len(mask):.0%})."


def train(trainer: Any) -> dict[str, float]:
    """Run `trainer.train()` and return `train_seconds`, `train_loss` and `train_memory_mb`, the
    memory training needed on top of the loaded model (optimizer state, activations, gradients).
    Its logs land in the tracker under the config's project and run name (`helpers.tracking`)."""
    direct_logs(trainer)
    with PeakMemory() as memory:
        start = time.perf_counter()
        output = trainer.train()
        seconds = time.perf_counter() - start
    return {"train_seconds": seconds, "train_loss": output.training_loss, "train_memory_mb": memory.added_mb}


def sft_trainer(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, train_dataset: Dataset, config: SFTConfig,
                eval_dataset: Dataset | None = None, peft_config: Any = None,
                early_stopping_patience: int | None = None) -> SFTTrainer:
    """An `SFTTrainer` for `model` on chat data; with `early_stopping_patience` (needs a config
    made with `eval_every`), training stops after that many evaluations without improvement."""
    callbacks = []
    if early_stopping_patience:
        if config.eval_strategy == "no":
            raise ValueError("early stopping needs evaluations: make the config with eval_every=N")
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=early_stopping_patience))
    return SFTTrainer(model=model, args=config, train_dataset=train_dataset, eval_dataset=eval_dataset,
                      processing_class=tokenizer, peft_config=peft_config, callbacks=callbacks)


def training_history(trainer: Any) -> dict[str, list[float]]:
    """The logged curves of a finished run: `step`/`loss` (training) and `eval_step`/`eval_loss`."""
    history: dict[str, list[float]] = {"step": [], "loss": [], "eval_step": [], "eval_loss": []}
    for entry in trainer.state.log_history:
        if "loss" in entry:
            history["step"].append(entry["step"])
            history["loss"].append(entry["loss"])
        if "eval_loss" in entry:
            history["eval_step"].append(entry["step"])
            history["eval_loss"].append(entry["eval_loss"])
    return history
