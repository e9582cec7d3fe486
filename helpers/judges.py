"""A language model as judge: the pairwise prompt, its answer read as A or B (from text or from the
next-token probabilities), each pair asked in both orders, and the judge's agreement with the rubric.

    judged = judge_pairs(model, tokenizer, tickets, first, second)
    judge_agreement(judged, rubric_prefers_first)    # agreement, position consistency, with intervals
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TYPE_CHECKING

import numpy as np
import torch

from helpers.generation import padding_side
from helpers.intervals import with_intervals
from helpers.tasks import reply_prompt

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

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
