"""Preference optimisation with TRL: DPO and KTO configs with sane defaults for laptops and GPUs,
unpaired (thumbs-up / thumbs-down) data made from preference pairs, and the implicit rewards the
trainers log, as curves.

    config = dpo_config("runs/05_dpo/checkpoints/dpo", beta=0.1, max_steps=80)
    trainer = DPOTrainer(model=model, args=config, train_dataset=pairs, processing_class=tokenizer)
    trainer.train()
    curves = reward_curves(trainer.state.log_history)   # rewards/chosen, /rejected, /margins, /accuracies

TRL's defaults are made for big models on GPUs: bf16, activation checkpointing and a learning rate
of 1e-6. The factories here pick the precision the machine supports, turn checkpointing off and use a
learning rate suited to the kit's tiny model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset
from trl import DPOConfig, KTOConfig

from helpers.training import trainer_defaults

# The implicit-reward metrics DPO logs (KTO logs all but `accuracies`), as named in trl's log history.
REWARD_KEYS = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")


def _common_settings(output_dir: str | Path, learning_rate: float, max_steps: int, batch_size: int,
                     max_length: int, eval_every: int | None, seed: int) -> dict[str, Any]:
    """What DPO and KTO share: a tenth of the steps to warm up, and about ten logged points (their
    implicit-reward curves), with held-out pairs scored every `eval_every` steps if given."""
    settings = trainer_defaults(output_dir, learning_rate=learning_rate, max_steps=max_steps, batch_size=batch_size,
                                seed=seed, warmup=0.1, logs_per_run=10, max_logging_steps=5)
    settings.update(max_length=max_length)
    if eval_every:
        settings.update(eval_strategy="steps", eval_steps=eval_every)
    return settings


def dpo_config(output_dir: str | Path, *, beta: float = 0.1, learning_rate: float = 5e-4, max_steps: int = 80,
               batch_size: int = 8, max_length: int = 256, eval_every: int | None = None, seed: int = 0,
               **overrides: Any) -> DPOConfig:
    """A `DPOConfig` that runs on CPU and GPU alike.

    `beta` scales the implicit reward beta * log(pi / pi_ref): a larger beta pulls the model harder
    towards its reference (the SFT model), a smaller one lets it drift further to separate chosen from
    rejected. With `eval_every`, the held-out pairs passed as `eval_dataset` are scored every
    `eval_every` steps (eval loss and `eval_rewards/*`). Any other `DPOConfig` field can be passed in
    `overrides` (e.g. `loss_type=["ipo"]`).
    """
    if not beta > 0:
        raise ValueError(f"beta must be positive, not {beta}")
    settings = _common_settings(output_dir, learning_rate, max_steps, batch_size, max_length, eval_every, seed)
    settings.update(beta=beta)
    settings.update(overrides)
    return DPOConfig(**settings)


def kto_config(output_dir: str | Path, *, beta: float = 0.1, learning_rate: float = 5e-4, max_steps: int = 80,
               batch_size: int = 8, max_length: int = 256, desirable_weight: float = 1.0,
               undesirable_weight: float = 1.0, eval_every: int | None = None, seed: int = 0,
               **overrides: Any) -> KTOConfig:
    """A `KTOConfig` that runs on CPU and GPU alike, for unpaired data (`prompt`, `completion`,
    `label`: True for a good answer, False for a bad one; see `unpaired_dataset`).

    KTO compares each answer's implicit reward with a running estimate of the KL to the reference, so
    its batches need several examples (`batch_size` of 2 or more). `desirable_weight` and
    `undesirable_weight` rebalance the loss when good and bad answers are not equally many.
    """
    if not beta > 0:
        raise ValueError(f"beta must be positive, not {beta}")
    if batch_size < 2:
        raise ValueError("KTO estimates its KL term across a batch: batch_size must be at least 2")
    settings = _common_settings(output_dir, learning_rate, max_steps, batch_size, max_length, eval_every, seed)
    settings.update(beta=beta, desirable_weight=desirable_weight, undesirable_weight=undesirable_weight)
    settings.update(overrides)
    return KTOConfig(**settings)


def unpaired_dataset(pairs: Sequence[Mapping[str, Any]], seed: int = 0) -> Dataset:
    """Preference pairs as unpaired feedback, the data KTO reads: each pair becomes two rows,
    (`prompt`, chosen answer, `label=True`) and (`prompt`, rejected answer, `label=False`), shuffled
    with `seed` so that a batch mixes prompts and labels as real thumbs-up / thumbs-down logs do."""
    if not pairs:
        raise ValueError("no preference pairs to unpair")
    rows = []
    for number, pair in enumerate(pairs):
        missing = [key for key in ("prompt", "chosen", "rejected") if key not in pair]
        if missing:
            raise ValueError(f"pair {number} lacks {missing}: a pair needs 'prompt', 'chosen' and 'rejected'")
        rows.append({"prompt": pair["prompt"], "completion": pair["chosen"], "label": True})
        rows.append({"prompt": pair["prompt"], "completion": pair["rejected"], "label": False})
    return Dataset.from_list(rows).shuffle(seed=seed)


def reward_curves(log_history: Sequence[Mapping[str, Any]], prefix: str = "") -> dict[str, list[float]]:
    """The implicit-reward curves of a DPO or KTO run from its `trainer.state.log_history`.

    Returns `step` and, for each of `chosen`, `rejected`, `margins` and `accuracies` that the trainer
    logged, its values at those steps (the mean over the logging interval). The implicit reward of an
    answer is beta * (log pi(answer) - log pi_ref(answer)): how much more likely training made it.
    With `prefix="eval_"`, the same curves from the evaluations on held-out pairs.
    """
    keys = {f"{prefix}{key}": key.split("/")[1] for key in REWARD_KEYS}
    curves: dict[str, list[float]] = {"step": []}
    for entry in log_history:
        if f"{prefix}rewards/chosen" not in entry:
            continue
        curves["step"].append(entry["step"])
        for logged, name in keys.items():
            if logged in entry:
                curves.setdefault(name, []).append(float(entry[logged]))
    if not curves["step"]:
        raise ValueError(f"no '{prefix}rewards/chosen' in the log history: was this a DPO or KTO run, "
                         f"with logging (or, for prefix='eval_', evaluation) during training?")
    return curves
