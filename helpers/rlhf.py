"""RLHF with TRL on any machine: a reward model trained on preference pairs, reward functions
checked before RL starts, GRPO with CPU-safe defaults, and a callback that judges the policy on
held-out prompts while it trains.

    rm = load_reward_model(sft_dir, tokenizer)              # a scalar head on the SFT model
    RewardTrainer(rm, reward_config(out), train_dataset=pairs, processing_class=tokenizer).train()
    check_reward_function(my_reward, prompts, completions)  # one finite float per completion, or a clear error
    GRPOTrainer(policy, reward_funcs=rm, args=grpo_config(out, beta=0.05), ...).train()
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TYPE_CHECKING

import torch
from transformers import AutoModelForSequenceClassification, TrainerCallback
from trl import GRPOConfig, RewardConfig

from helpers.evaluation import evaluate_replies, evaluate_triage, kl_to_reference, win_rate
from helpers.generation import padding_side
from helpers.intervals import bootstrap_ci
from helpers.rubric import reply_example_scores, score_reply
from helpers.tasks import reply_messages
from helpers.training import trainer_defaults

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

RUBRIC_TICKET_FIELDS = ("intent", "product", "order_id", "customer_name")  # what the rubric reads of a ticket


def reward_config(output_dir: str | Path, *, learning_rate: float = 5e-4, max_steps: int = 80,
                  batch_size: int = 8, max_length: int = 512, seed: int = 0, **overrides: Any) -> RewardConfig:
    """A `RewardConfig` that runs on CPU and GPU alike, with a learning rate for a small model.

    `RewardTrainer` drops (does not truncate) pairs longer than `max_length` tokens: measure the
    pairs with `pair_lengths` and pass at least the longest. Any other field goes in `overrides`.
    """
    settings = trainer_defaults(output_dir, learning_rate=learning_rate, max_steps=max_steps,
                                batch_size=batch_size, seed=seed)
    settings.update(max_length=max_length)
    settings.update(overrides)
    return RewardConfig(**settings)


def grpo_config(output_dir: str | Path, *, beta: float = 0.05, learning_rate: float = 5e-5, max_steps: int = 40,
                prompts_per_step: int = 4, num_generations: int = 4, max_completion_length: int = 64,
                temperature: float = 1.0, seed: int = 0, **overrides: Any) -> GRPOConfig:
    """A `GRPOConfig` for CPU and GPU alike: each step samples `num_generations` completions for each of
    `prompts_per_step` prompts (at `temperature`, stopping at the model's end-of-turn token), scores
    them, and pushes up those that beat their group's mean; `beta` weighs the KL penalty to the
    reference model (0: no penalty, and no reference model is loaded). Any other field goes in `overrides`.
    """
    if beta < 0:
        raise ValueError(f"beta is a KL penalty weight and cannot be negative (got {beta})")
    if num_generations < 2:
        raise ValueError("GRPO compares completions within a group: num_generations must be at least 2")
    settings = trainer_defaults(output_dir, learning_rate=learning_rate, max_steps=max_steps,
                                batch_size=prompts_per_step * num_generations, seed=seed, warmup=0,
                                schedule="constant", max_logging_steps=1)  # every step's reward and KL
    settings.update(beta=beta, num_generations=num_generations, max_completion_length=max_completion_length,
                    temperature=temperature, top_k=0, top_p=1.0, disable_dropout=True, log_completions=False)
    settings.update(overrides)
    return GRPOConfig(**settings)


def load_reward_model(path: str | Path, tokenizer: PreTrainedTokenizerBase) -> Any:
    """A sequence-classification model with one output (the reward) on the weights at `path`: the
    language model's body with a new, untrained scalar head instead of its output layer, and the
    tokenizer's pad token in its config (the head reads the last token that is not padding)."""
    model = AutoModelForSequenceClassification.from_pretrained(str(path), num_labels=1, dtype=torch.float32)
    if tokenizer.pad_token_id is None:
        raise ValueError("the tokenizer has no pad token: set tokenizer.pad_token first")
    model.config.pad_token_id = tokenizer.pad_token_id
    return model


def pair_lengths(tokenizer: PreTrainedTokenizerBase, pairs: Sequence[Mapping[str, Any]]) -> list[int]:
    """Token count of the longer side (prompt + chosen, prompt + rejected) of each conversational pair,
    tokenized as `RewardTrainer` does (the chat template)."""
    def count(messages: list[dict[str, str]]) -> int:
        return len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])

    return [max(count(list(p["prompt"]) + list(p["chosen"])), count(list(p["prompt"]) + list(p["rejected"])))
            for p in pairs]


@torch.no_grad()
def reward_scores(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                  conversations: Sequence[Sequence[Mapping[str, str]]], batch_size: int = 32) -> list[float]:
    """The reward model's score of each whole conversation (prompt and assistant reply), formatted
    with the chat template exactly as `RewardTrainer` trains on and `GRPOTrainer` scores."""
    model.eval()
    scores: list[float] = []
    with padding_side(tokenizer, "right"):
        for start in range(0, len(conversations), batch_size):
            texts = [tokenizer.apply_chat_template(list(c), tokenize=False)
                     for c in conversations[start:start + batch_size]]
            enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            scores += model(**enc).logits[:, 0].float().tolist()
    return scores


def judge_policy(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 tickets: Sequence[Mapping[str, Any]], reference: PreTrainedModel,
                 baseline: Mapping[str, Sequence[str]] | None = None, reward_model: Any = None,
                 triage_records: Sequence[Mapping[str, Any]] = (), greedy: bool = True,
                 seed: int = 0) -> tuple[dict[str, float], dict[str, list[str]]]:
    """How a policy replies to held-out tickets, measured the same way for every model notebooks 04 and
    05 compare: the rubric scores of its sampled replies (`rubric_score`, `rubric_<item>`), their KL to
    `reference` and their `win_rate` against the `baseline`'s replies (the replies this function
    returned for the baseline model; None: this is the baseline, KL 0 and win rate 0.5), the reward
    model's mean score (`reward`, with `reward_model`), the greedy (deployed) replies' rubric score and
    win rate (`rubric_score_greedy`, `win_rate_greedy`, with `greedy`) and triage accuracy
    (`field_accuracy`, `json_valid`, on `triage_records`). Returns the scores and the replies,
    `{"sampled": [...], "greedy": [...]}`."""
    scores, sampled = evaluate_replies(model, tokenizer, tickets, seed=seed, progress=False)
    replies = {"sampled": sampled}
    if baseline is None:
        result = {**scores, "kl": 0.0, "win_rate": 0.5}
    else:
        result = {**scores, "kl": kl_to_reference(model, reference, tokenizer, tickets, sampled),
                  "win_rate": win_rate(sampled, baseline["sampled"], tickets)}
    if reward_model is not None:
        rewards = reward_scores(reward_model, tokenizer, [reply_messages(t, r) for t, r in zip(tickets, sampled)])
        result["reward"] = sum(rewards) / len(rewards)
    if greedy:
        greedy_scores, replies["greedy"] = evaluate_replies(model, tokenizer, tickets, temperature=0, progress=False)
        result["rubric_score_greedy"] = greedy_scores["rubric_score"]
        if baseline is None:
            result["win_rate_greedy"] = 0.5
        elif "greedy" in baseline:
            result["win_rate_greedy"] = win_rate(replies["greedy"], baseline["greedy"], tickets)
    if triage_records:
        triage, _ = evaluate_triage(model, tokenizer, triage_records, progress=False)
        result.update(field_accuracy=triage["field_accuracy"], json_valid=triage["json_valid"])
    return result, replies


def reward_model_function(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                          batch_size: int = 32) -> Callable[..., list[float]]:
    """The reward model as a reward function for `GRPOTrainer`'s `reward_funcs`: it scores each prompt
    followed by its completion (both conversational, or both plain text) with `reward_scores`. A plain
    function, so `check_reward_function` can test it like any other before RL starts."""
    def reward_model(prompts: Sequence[Any], completions: Sequence[Any], **_: Any) -> list[float]:
        if prompts and isinstance(prompts[0], str):  # plain text: score the concatenation
            texts = [p + _completion_text(c) for p, c in zip(prompts, completions, strict=True)]
            conversations = [[{"role": "user", "content": t}] for t in texts]
        else:
            conversations = [list(p) + [{"role": "assistant", "content": _completion_text(c)}]
                             for p, c in zip(prompts, completions, strict=True)]
        return reward_scores(model, tokenizer, conversations, batch_size)

    return reward_model


def pair_rewards(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, pairs: Sequence[Mapping[str, Any]],
                 batch_size: int = 32) -> tuple[list[float], list[float]]:
    """Rewards of the chosen and of the rejected reply of each pair; a pair is ranked right when its
    chosen reward is the higher one."""
    chosen = reward_scores(model, tokenizer, [list(p["prompt"]) + list(p["chosen"]) for p in pairs], batch_size)
    rejected = reward_scores(model, tokenizer, [list(p["prompt"]) + list(p["rejected"]) for p in pairs], batch_size)
    return chosen, rejected


def accuracy_by_item(pairs: Sequence[Mapping[str, Any]], chosen: Sequence[float],
                     rejected: Sequence[float]) -> dict[str, float]:
    """Pair accuracy per rubric item that the rejected reply breaks (a pair's `row["broken"]`): which
    flaws the reward model learned to see. A pair breaking two items counts for both."""
    right: dict[str, list[bool]] = {}
    for pair, c, r in zip(pairs, chosen, rejected, strict=True):
        for item in pair["row"].get("broken", []):
            right.setdefault(item, []).append(c > r)
    return {item: sum(v) / len(v) for item, v in sorted(right.items())}


def _completion_text(completion: Any) -> str:
    """A completion as text, whether TRL passes it as a string or as a list of messages."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content", "") for m in completion if m.get("role", "assistant") == "assistant")


def rubric_reward(prompts: Sequence[Any], completions: Sequence[Any], intent: Sequence[str],
                  product: Sequence[str | None], order_id: Sequence[str | None],
                  customer_name: Sequence[str | None], **_: Any) -> list[float]:
    """A rule-based reward: the rubric score (0..1) of each completion, for GRPO's `reward_funcs`. The
    ticket fields arrive as dataset columns (see `grpo_dataset`), one value per completion."""
    return [score_reply(_completion_text(c), {"intent": i, "product": p, "order_id": o, "customer_name": n}).score
            for c, i, p, o, n in zip(completions, intent, product, order_id, customer_name, strict=True)]


def grpo_dataset(tickets: Sequence[Mapping[str, Any]]) -> Any:
    """A `datasets.Dataset` of reply prompts for GRPO: a conversational `prompt` column (system and user
    turns) and the ticket fields a rule-based reward reads (`RUBRIC_TICKET_FIELDS`)."""
    import datasets

    if not tickets:
        raise ValueError("no tickets to prompt with")
    return datasets.Dataset.from_list([{"prompt": reply_messages(t), **{k: t.get(k) for k in RUBRIC_TICKET_FIELDS}}
                                       for t in tickets])


def check_reward_function(func: Callable[..., Any], prompts: Sequence[Any], completions: Sequence[Any],
                          **columns: Sequence[Any]) -> list[float]:
    """Call a reward function as `GRPOTrainer` does (`prompts=`, `completions=` and the dataset's other
    columns as keyword lists) on a few samples, and return its rewards, or raise a `ValueError` that
    says what is wrong: not a list, not one value per completion, a value that is None, not a number,
    NaN or infinite. Run it before RL starts: TRL turns None into NaN and trains on it silently."""
    name = getattr(func, "__name__", type(func).__name__)
    if not callable(func):
        raise ValueError(f"reward function {name!r} is not callable")
    if len(prompts) != len(completions) or not completions:
        raise ValueError(
            f"give the check one prompt per completion ({len(prompts)} prompts, {len(completions)} completions)"
        )
    try:
        rewards = func(prompts=list(prompts), completions=list(completions), **{k: list(v) for k, v in columns.items()})
    except Exception as error:
        raise ValueError(
            f"reward function {name!r} failed on sample completions: {type(error).__name__}: {error}"
        ) from error
    if isinstance(rewards, torch.Tensor):
        rewards = rewards.tolist()
    if isinstance(rewards, (str, bytes)) or not isinstance(rewards, Sequence):
        raise ValueError(f"reward function {name!r} must return a list of floats, one per completion; "
                         f"it returned a {type(rewards).__name__}")
    if len(rewards) != len(completions):
        raise ValueError(f"reward function {name!r} returned {len(rewards)} rewards for {len(completions)} "
                         "completions: it must return exactly one per completion")
    checked = []
    for index, value in enumerate(rewards):
        if value is None:
            raise ValueError(
                f"reward function {name!r} returned None for completion {index}: every completion needs a number"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"reward function {name!r} returned {value!r} ({type(value).__name__}) for completion "
                             f"{index}: rewards must be numbers")
        if not math.isfinite(value):
            raise ValueError(
                f"reward function {name!r} returned {value} for completion {index}: rewards must be finite"
            )
        checked.append(float(value))
    return checked


class ReplyJudgeCallback(TrainerCallback):
    """Every `every` steps (and before the first), judge the policy on held-out tickets: rubric score of
    replies sampled at temperature 1 (seeded, as `evaluate_replies`) with its 95% bootstrap interval, the
    reward model's mean score of them, and their KL to `reference`. The rows collect in `history`."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, tickets: Sequence[Mapping[str, Any]], reward_model: Any,
                 reference: PreTrainedModel, every: int = 10, seed: int = 0) -> None:
        if every < 1:
            raise ValueError("every must be a positive number of steps")
        self.tokenizer, self.tickets, self.reward_model = tokenizer, list(tickets), reward_model
        self.reference, self.every, self.seed = reference, every, seed
        self.history: list[dict[str, float]] = []

    def judge(self, model: PreTrainedModel, step: int) -> dict[str, float]:
        """Measure `model` now and append the row (step, rubric_score and its interval, reward, kl, seconds)
        to `history`."""
        start = time.perf_counter()
        was_training = model.training
        _, replies = evaluate_replies(model, self.tokenizer, self.tickets, seed=self.seed, progress=False)
        conversations = [reply_messages(t, r) for t, r in zip(self.tickets, replies)]
        rubric, low, high = bootstrap_ci(reply_example_scores(replies, self.tickets)["rubric_score"], seed=self.seed)
        row = {"step": step, "rubric_score": rubric, "rubric_score_ci_low": low, "rubric_score_ci_high": high,
               "reward": sum(reward_scores(self.reward_model, self.tokenizer, conversations)) / len(replies),
               "kl": kl_to_reference(model, self.reference, self.tokenizer, self.tickets, replies)}
        row["seconds"] = time.perf_counter() - start
        model.train(was_training)
        self.history.append(row)
        return row

    def on_train_begin(self, args, state, control, model: PreTrainedModel=None, **kwargs):
        self.judge(model, 0)

    def on_step_end(self, args, state, control, model: PreTrainedModel=None, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            if not self.history or self.history[-1]["step"] != state.global_step:
                self.judge(model, state.global_step)


def grpo_history(trainer: Any) -> dict[str, list[float]]:
    """The curves `GRPOTrainer` logged, one value per logged step: `step`, `reward` (mean over the
    sampled completions), `kl` (to the reference; absent with beta 0), `completion_length`."""
    keys = {"reward": "reward", "kl": "kl", "completion_length": "completions/mean_length"}
    history: dict[str, list[float]] = {"step": [], **{k: [] for k in keys}}
    for entry in trainer.state.log_history:
        if "reward" not in entry:
            continue
        history["step"].append(entry["step"])
        for name, key in keys.items():
            history[name].append(entry.get(key, float("nan")))
    return history
