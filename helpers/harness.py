"""One evaluation harness for every model and baseline: the kit's metrics through `evaluate`,
per-example scores, bootstrap confidence intervals, error analysis (confusion matrices, failure
shares, worst examples) and a pairwise judge (the rubric, or a language model asked "A or B?").

    suite = triage_metric_suite()                    # evaluate.combine of the kit's local modules
    suite.compute(predictions=outputs, references=[triage_target(r) for r in records])
    per_example = triage_example_scores(outputs, records)
    summary = with_intervals(per_example, seed=0)    # metric, metric_ci_low, metric_ci_high
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TYPE_CHECKING

import numpy as np
import torch

from helpers.evaluation import answer_token_logprobs, padding_side
from helpers.metrics import triage_example_scores, triage_rows
from helpers.tasks import LABEL_VALUES, reply_prompt, triage_target

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

CONFUSION_FIELDS = ("intent", "product", "urgency", "sentiment")
NO_ANSWER = "(no answer)"  # the output was not a JSON object with this field
OTHER_LABEL = "(other)"    # a value outside the field's allowed labels


# ---- models ---------------------------------------------------------------------------------

def load_for_evaluation(path_or_id: str | Path, base: str | Path | None = None,
                        trust_remote_code: bool = False) -> tuple[Any, Any]:
    """Load a model and tokenizer for evaluation: a full model folder or Hub id, or a PEFT adapter
    folder (it has `adapter_config.json`) put on `base` (default: the base the adapter names) with
    `PeftModel.from_pretrained`. The model is put in eval mode on the GPU when there is one."""
    from transformers import AutoModelForCausalLM

    from helpers.modeling import load_model_and_tokenizer

    path = Path(str(path_or_id))
    if (path / "adapter_config.json").exists():
        from peft import PeftModel

        base = base or json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
        if not base:
            raise ValueError(f"{path} is a PEFT adapter that names no base model: pass `base`")
        _, tokenizer = load_model_and_tokenizer(base, trust_remote_code=trust_remote_code)
        base_model = AutoModelForCausalLM.from_pretrained(str(base), dtype="auto", trust_remote_code=trust_remote_code)
        model = PeftModel.from_pretrained(base_model, str(path))
    else:
        if not path.exists() and (path.is_absolute() or str(path_or_id).startswith(".")):
            raise FileNotFoundError(f"No model at {path}")
        model, tokenizer = load_model_and_tokenizer(path_or_id, trust_remote_code=trust_remote_code)
    model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
    return model, tokenizer


# ---- the kit's metrics through `evaluate` ---------------------------------------------------

def load_kit_metric(name: str) -> Any:
    """One of the kit's metric modules (`helpers.metric_modules`), loaded from its file by `evaluate.load`."""
    import evaluate

    from helpers.metric_modules import metric_path

    return evaluate.load(metric_path(name))


def triage_metric_suite() -> Any:
    """JSON validity, schema validity, field accuracies and exact match in one `evaluate.combine`."""
    import evaluate

    from helpers.metric_modules import TRIAGE_METRICS

    return evaluate.combine([load_kit_metric(name) for name in TRIAGE_METRICS])


def triage_references(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Labelled tickets as the string references the triage metric modules take."""
    return [triage_target(r) for r in records]


def ticket_references(tickets: Sequence[Mapping[str, Any]]) -> list[str]:
    """Tickets as the string references the rubric module takes."""
    keys = ("message", "intent", "product", "order_id", "customer_name")
    return [json.dumps({k: t.get(k) for k in keys}) for t in tickets]


# ---- per-example scores ---------------------------------------------------------------------

@torch.no_grad()
def answer_nll(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
               conversations: Sequence[Sequence[Mapping[str, str]]], batch_size: int = 16) -> np.ndarray:
    """Per conversation: the negative log-likelihood of the assistant's answer (summed over its tokens,
    end-of-turn included) and its number of tokens, as an (n, 2) array. `answer_ppl` of a set is
    exp(sum of the first column / sum of the second): `ppl_statistic`."""
    rows = answer_token_logprobs(model, tokenizer, conversations, batch_size=batch_size)
    return np.array([[-logprob, n] for logprob, n in rows], dtype=float)


def ppl_statistic(rows: np.ndarray) -> float:
    """Perplexity per answer token of (nll, tokens) rows: exp(total nll / total tokens)."""
    return math.exp(rows[:, 0].sum() / rows[:, 1].sum())


# ---- bootstrap confidence intervals ---------------------------------------------------------

def bootstrap_ci(values: Sequence[float] | np.ndarray, statistic: Callable[[np.ndarray], float] | None = None,
                 n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """The statistic of `values` (default: the mean, skipping NaN) and its percentile bootstrap
    interval: resample the examples with replacement `n_resamples` times (seeded) and take the
    (1 - confidence) / 2 and (1 + confidence) / 2 quantiles. `values` may be 2-D (one row per example).
    Returns (estimate, low, high)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 0 or len(values) == 0:
        raise ValueError("bootstrap_ci needs at least one example")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, not {n_resamples}")
    default = statistic is None
    statistic = statistic or (lambda v: float(np.nanmean(v)))
    estimate = statistic(values)
    rng = np.random.default_rng(seed)
    n = len(values)
    draws = rng.integers(0, n, size=(n_resamples, n))
    if default and values.ndim == 1 and not np.isnan(values).any():
        stats = values[draws].mean(axis=1)  # the default on complete data, vectorised
    else:
        with warnings.catch_warnings():  # a resample may hold no applicable example: NaN, skipped below
            warnings.simplefilter("ignore", RuntimeWarning)
            stats = np.array([statistic(values[row]) for row in draws])
    alpha = (1 - confidence) / 2
    low, high = np.nanquantile(stats, [alpha, 1 - alpha])
    # A bootstrap percentile interval can miss the estimate of a skewed statistic by rounding; keep it inside.
    return float(estimate), float(min(low, estimate)), float(max(high, estimate))


def with_intervals(per_example: Mapping[str, np.ndarray], n_resamples: int = 1000, confidence: float = 0.95,
                   seed: int = 0, statistics: Mapping[str, Callable[[np.ndarray], float]] | None = None
                   ) -> dict[str, float]:
    """`{metric, metric_ci_low, metric_ci_high}` for every per-example metric (the mean, or the
    function in `statistics`), each bootstrapped with the same seed."""
    summary: dict[str, float] = {}
    for name, values in per_example.items():
        statistic = (statistics or {}).get(name)
        estimate, low, high = bootstrap_ci(values, statistic, n_resamples, confidence, seed)
        summary.update({name: estimate, f"{name}_ci_low": low, f"{name}_ci_high": high})
    return summary


def paired_difference_ci(a: Sequence[float], b: Sequence[float], n_resamples: int = 1000,
                         confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over the same examples and its paired bootstrap interval: the fair way to ask
    whether one model beats another on one test set (an interval above 0 says a wins)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired scores must have the same shape, not {a.shape} and {b.shape}")
    return bootstrap_ci(a - b, None, n_resamples, confidence, seed)


# ---- error analysis -------------------------------------------------------------------------

def predicted_labels(outputs: Sequence[str], records: Sequence[Mapping[str, Any]], field: str) -> list[str]:
    """What each output says for `field`: its label, `NO_ANSWER` when the output is not a JSON object
    with that key, or `OTHER_LABEL` for a value outside the allowed labels."""
    if field not in LABEL_VALUES:
        raise KeyError(f"{field!r} has no fixed labels; choose one of {sorted(LABEL_VALUES)}")
    labels = []
    for row in triage_rows(outputs, records):
        answer = row["answer"]
        if answer is None or field not in answer:
            labels.append(NO_ANSWER)
        else:
            labels.append(answer[field] if answer[field] in LABEL_VALUES[field] else OTHER_LABEL)
    return labels


def confusion_matrix(outputs: Sequence[str], records: Sequence[Mapping[str, Any]], field: str) -> Any:
    """Counts of (true label, predicted label) for one triage field, as a pandas DataFrame: rows the
    true labels, columns the allowed labels plus `OTHER_LABEL` and `NO_ANSWER`."""
    import pandas as pd

    predicted = predicted_labels(outputs, records, field)
    rows, columns = list(LABEL_VALUES[field]), [*LABEL_VALUES[field], OTHER_LABEL, NO_ANSWER]
    table = pd.DataFrame(0, index=pd.Index(rows, name=f"true {field}"),
                         columns=pd.Index(columns, name=f"predicted {field}"))
    for record, label in zip(records, predicted):
        table.loc[record[field], label] += 1
    return table


def failure_shares(per_example: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Where a model fails: for each per-field accuracy (`<field>_accuracy`) or rubric item
    (`rubric_<item>`), the share of examples it gets wrong (of those where it applies)."""
    shares = {}
    for name, values in per_example.items():
        if name in ("field_accuracy", "rubric_score"):
            continue
        if name.endswith("_accuracy") or name.startswith("rubric_"):
            label = name.removesuffix("_accuracy").removeprefix("rubric_")
            shares[label] = float(1 - np.nanmean(values))
    return shares


def worst_examples(scores: Sequence[float], inputs: Sequence[Any], outputs: Sequence[str],
                   references: Sequence[Any], k: int = 5) -> list[dict[str, Any]]:
    """The `k` examples with the lowest score (ties keep the test-set order), with input, output and reference."""
    order = sorted(range(len(scores)), key=lambda i: (scores[i], i))[:k]
    return [{"index": i, "score": float(scores[i]), "input": inputs[i], "output": outputs[i],
             "reference": references[i]} for i in order]


# ---- judges ---------------------------------------------------------------------------------

JUDGE_SYSTEM = "You compare two replies to a customer and say which one follows the house style better."


def judge_messages(ticket: Mapping[str, Any], reply_a: str, reply_b: str) -> list[dict[str, str]]:
    """The model-as-judge prompt: the house style in a few words, the ticket, replies A and B, and
    the question, to be answered with one letter."""
    style = ("The house style: name the customer, acknowledge the problem, quote the order id, give exactly "
             "one next step, stay short, never blame the customer, promise nothing the desk cannot keep.")
    user = (f"{style}\n\nTicket:\n{reply_prompt(ticket)}\n\nReply A:\n{reply_a}\n\nReply B:\n{reply_b}\n\n"
            "Which reply follows the house style better? Answer with one letter, A or B.")
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


_NAMED = re.compile(r"(?i:reply|answer|option|verdict|choice)\s*(?:is)?\s*[:\-]?\s*[(*\[]*([AB])(?![A-Za-z])")
_LEADING = re.compile(r"^[\s(*\[]*([AB])(?:[\s)*\].,:;!]*$|[)*\].,:;!\n])")


def parse_verdict(text: Any) -> str | None:
    """A judge's answer read as "A" or "B", or None when it names neither or both. Accepts "A",
    "b.", "(B)", "**A**", "Reply B", "Answer: A", "The answer is B."; rejects junk, empty text,
    answers naming both, and a sentence that merely starts with the article ("A refund ...")."""
    if not isinstance(text, str):
        return None
    bare = re.sub(r"[^A-Za-z]", "", text).upper()
    if bare in ("A", "B"):
        return bare
    named = set(_NAMED.findall(text))
    if len(named) == 1:
        return named.pop()
    leading = _LEADING.match(text)
    return leading.group(1) if leading and not named else None


def _letter_ids(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """Token ids that start an answer "A" / "B" (with and without a leading space)."""
    ids = {}
    for letter in ("A", "B"):
        encodings = [tokenizer.encode(variant, add_special_tokens=False) for variant in (letter, " " + letter)]
        ids[letter] = sorted({e[0] for e in encodings if len(e) == 1})  # a letter that is one whole token
    if not ids["A"] or not ids["B"] or set(ids["A"]) & set(ids["B"]):
        raise ValueError("the tokenizer has no single tokens for the answers A and B: read the judge's "
                         "generated text with `parse_verdict` instead")
    return ids["A"], ids["B"]


@torch.no_grad()
def verdict_probabilities(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                          conversations: Sequence[Sequence[Mapping[str, str]]],
                          batch_size: int = 16) -> np.ndarray:
    """For each judge prompt, P(answer A) / (P(A) + P(B)) from the model's next-token distribution
    right after the generation prompt: a verdict that never fails to parse."""
    a_ids, b_ids = _letter_ids(tokenizer)
    model.eval()
    out = []
    with padding_side(tokenizer, "left"):  # the last position is then every row's next token
        for start in range(0, len(conversations), batch_size):
            texts = [tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True)
                     for c in conversations[start:start + batch_size]]
            enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            logits = model(**enc).logits[:, -1].float()
            probs = torch.softmax(logits, dim=-1)
            p_a, p_b = probs[:, a_ids].sum(-1), probs[:, b_ids].sum(-1)
            out += (p_a / (p_a + p_b).clamp_min(1e-30)).tolist()
    return np.array(out)


def judge_pairs(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                tickets: Sequence[Mapping[str, Any]], first: Sequence[str], second: Sequence[str],
                batch_size: int = 16) -> dict[str, np.ndarray]:
    """Ask the judge model about every pair twice, `first` as A then as B, to cancel position bias.
    Returns per pair: `p_first_as_a` (P(A) with first shown as A), `p_first_as_b` (P(B) with first
    shown as B, i.e. first preferred), `p_first` (their mean) and `consistent` (both orders pick the
    same reply)."""
    if not (len(tickets) == len(first) == len(second)):
        raise ValueError(f"{len(tickets)} tickets, {len(first)} and {len(second)} replies: they must pair up")
    forward = verdict_probabilities(
        model, tokenizer, [judge_messages(t, a, b) for t, a, b in zip(tickets, first, second)], batch_size
    )
    swapped = verdict_probabilities(
        model, tokenizer, [judge_messages(t, b, a) for t, a, b in zip(tickets, first, second)], batch_size
    )
    p_first_as_b = 1 - swapped
    return {"p_first_as_a": forward, "p_first_as_b": p_first_as_b, "p_first": (forward + p_first_as_b) / 2,
            "consistent": ((forward > 0.5) == (p_first_as_b > 0.5)).astype(float),
            "says_a": np.concatenate([forward > 0.5, swapped > 0.5]).astype(float)}


def judge_agreement(judged: Mapping[str, np.ndarray], rubric_prefers_first: Sequence[bool],
                    n_resamples: int = 1000, seed: int = 0) -> dict[str, float]:
    """How a judge model's verdicts (`judge_pairs`) agree with the rubric's on the same pairs, with
    bootstrap intervals: `agreement` (both orders averaged), `agreement_one_order` (first order only),
    `position_consistency`, and `says_a` (share of "A" answers; 0.5 means no position bias)."""
    rubric = np.asarray(rubric_prefers_first, dtype=bool)
    per_pair = {"agreement": ((judged["p_first"] > 0.5) == rubric).astype(float),
                "agreement_one_order": ((judged["p_first_as_a"] > 0.5) == rubric).astype(float),
                "position_consistency": judged["consistent"]}
    summary = with_intervals(per_pair, n_resamples=n_resamples, seed=seed)
    summary.update(with_intervals({"says_a": judged["says_a"]}, n_resamples=n_resamples, seed=seed))
    return summary


# ---- your own model on your own file --------------------------------------------------------

def evaluate_on_file(model_path: str | Path, data_file: str | Path, columns: Mapping[str, str] | str | None = None,
                     base: str | Path | None = None, limit: int | None = None, n_resamples: int = 1000,
                     seed: int = 0) -> dict[str, float]:
    """Triage scores, with bootstrap intervals, of any model folder, adapter folder or Hub id on a
    labelled file (JSONL, CSV or Parquet; `columns` maps the kit's fields to yours, as in
    `helpers.data.load_records`): greedy answers to the kit's triage prompt, plus `answer_ppl`."""
    from helpers.data import load_records, parse_column_mapping, triage_conversations
    from helpers.evaluation import evaluate_triage

    records = load_records(data_file, parse_column_mapping(columns))[:limit]
    model, tokenizer = load_for_evaluation(model_path, base=base)
    _, outputs = evaluate_triage(model, tokenizer, records, progress=False)
    per_example = triage_example_scores(outputs, records)
    per_example["answer_ppl"] = answer_nll(model, tokenizer, triage_conversations(records))
    return with_intervals(per_example, n_resamples=n_resamples, seed=seed, statistics={"answer_ppl": ppl_statistic})
