"""Measuring a language model: held-out perplexity, an n-gram baseline to compare it with, cloze
probes of what it knows, the loss on answers, triage scores, and house-style replies judged by the
rubric, with their KL to a reference model and win rates. The text comes from `helpers.generation`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, TYPE_CHECKING

import numpy as np
import torch

from helpers.generation import GENERATION_BATCH, chat_generate, generate
from helpers.metrics import score_task, score_triage
from helpers.pretraining import pack_documents
from helpers.rubric import reply_example_scores, rubric_verdict
from helpers.tasks import reply_messages, triage_messages

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

TRIAGE_MAX_TOKENS = 96  # a triage answer is about 60 tokens; room for a model that rambles
REPLY_MAX_TOKENS = 96  # a house-style reply is about 50 tokens; a longer one fails `concise` anyway
REPLY_TEMPERATURE = 1.0  # replies are judged as sampled: what the policy does, what RL and DPO change


@torch.no_grad()
def heldout_perplexity(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, documents: Sequence[str],
                       block_size: int = 128, batch_size: int = 16) -> float:
    """Perplexity of `model` on documents packed into blocks exactly as in pre-training."""
    blocks = torch.tensor(pack_documents(documents, tokenizer, block_size)["input_ids"])
    model.eval()
    total_nll, total_tokens = 0.0, 0
    for start in range(0, len(blocks), batch_size):
        batch = blocks[start:start + batch_size].to(model.device)
        loss = model(input_ids=batch, labels=batch).loss  # mean over the predicted tokens
        n_predicted = batch.numel() - len(batch)
        total_nll += loss.item() * n_predicted
        total_tokens += n_predicted
    return math.exp(total_nll / total_tokens)


def ngram_perplexities(train_ids: Sequence[int], heldout_ids: Sequence[int], vocab_size: int) -> dict[str, float]:
    """Held-out perplexity of two count-based baselines trained on the same tokens as the model:
    an add-one unigram model, and a bigram model interpolated with it (the mixing weight is the best
    of a small grid on the held-out text itself, which flatters the baseline, not the model)."""
    unigrams = Counter(train_ids)
    bigrams = Counter(zip(train_ids, train_ids[1:]))
    total = len(train_ids)

    def p_unigram(token: int) -> float:
        return (unigrams[token] + 1) / (total + vocab_size)

    pairs = list(zip(heldout_ids, heldout_ids[1:]))
    unigram_nll = -sum(math.log(p_unigram(b)) for _, b in pairs) / len(pairs)
    best = math.inf
    for weight in (0.5, 0.7, 0.8, 0.9, 0.95):
        nll = -sum(math.log(weight * (bigrams[(a, b)] / unigrams[a] if unigrams[a] else 0.0)
                            + (1 - weight) * p_unigram(b)) for a, b in pairs) / len(pairs)
        best = min(best, nll)
    return {"unigram": math.exp(unigram_nll), "bigram": math.exp(best)}


def _first_word(text: str) -> str:
    match = re.match(r"\s*([\w'-]+)", text)
    return match.group(1).lower() if match else ""


def probe_accuracy(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                   probes: Sequence[Mapping[str, str]], batch_size: int = 32,
                   progress: bool = True) -> tuple[float, list[dict]]:
    """Share of cloze probes (`prompt` -> `answer`) whose greedy continuation starts with the answer.

    Returns the accuracy and one row per probe (prompt, answer, the model's words, correct).
    """
    continuations = generate(model, tokenizer, [p["prompt"] for p in probes], max_new_tokens=6,
                             batch_size=batch_size, progress=progress)
    rows = [{**p, "output": out.strip(), "correct": _first_word(out) == p["answer"].lower()}
            for p, out in zip(probes, continuations)]
    return sum(r["correct"] for r in rows) / len(rows), rows


def assistant_tokens(tokenizer: PreTrainedTokenizerBase,
                     conversation: Sequence[Mapping[str, str]]) -> dict[str, list[int]]:
    """`input_ids` of the whole conversation and `assistant_masks` (1 on the last assistant answer's
    tokens, end-of-turn included). Templates with `{% generation %}` markers (the kit's) give the mask
    themselves; for one without them (most Hub templates) the answer is what follows the prompt the
    template writes for that turn."""
    encoded = tokenizer.apply_chat_template(list(conversation), tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True)
    ids = list(encoded["input_ids"])
    mask = list(encoded.get("assistant_masks") or [])
    if not any(mask):
        prompt = tokenizer.apply_chat_template(list(conversation[:-1]), tokenize=True, return_dict=True,
                                               add_generation_prompt=True)["input_ids"]
        if ids[:len(prompt)] != list(prompt):
            raise ValueError("the chat template writes the prompt differently when the answer follows: "
                             "add {% generation %} markers to it to mark the answer")
        mask = [0] * len(prompt) + [1] * (len(ids) - len(prompt))
    return {"input_ids": ids, "assistant_masks": mask}


@torch.no_grad()
def answer_token_logprobs(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                          conversations: Sequence[Sequence[Mapping[str, str]]],
                          batch_size: int = 16) -> list[tuple[float, int]]:
    """Per conversation: the summed log-probability of the assistant's answer (the tokens
    `assistant_only_loss` trains, end-of-turn included) and how many tokens it has."""
    model.eval()
    rows: list[tuple[float, int]] = []
    for start in range(0, len(conversations), batch_size):
        encoded = [assistant_tokens(tokenizer, c) for c in conversations[start:start + batch_size]]
        width = max(len(e["input_ids"]) for e in encoded)
        ids = torch.full((len(encoded), width), tokenizer.pad_token_id)
        labels = torch.full((len(encoded), width), -100)
        attention = torch.zeros((len(encoded), width), dtype=torch.long)
        for row, e in enumerate(encoded):
            n = len(e["input_ids"])
            ids[row, :n] = torch.tensor(e["input_ids"])
            attention[row, :n] = 1
            labels[row, :n] = torch.where(torch.tensor(e["assistant_masks"]) == 1, ids[row, :n], -100)
        logits = model(input_ids=ids.to(model.device), attention_mask=attention.to(model.device)).logits
        logits = logits[:, -width:]  # prompt tuning prepends virtual tokens: keep the input's own
        targets = labels[:, 1:].to(model.device)
        nll = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2).float(), targets,
                                                ignore_index=-100, reduction="none")
        counted = targets != -100
        rows += [(-nll[i].sum().item(), int(counted[i].sum())) for i in range(len(encoded))]
    return rows


def answer_loss(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                conversations: Sequence[Sequence[Mapping[str, str]]], batch_size: int = 16) -> float:
    """Mean loss per token on the assistant's answers only (the tokens `assistant_only_loss` trains),
    whatever the model was trained on: the one validation loss comparable across training setups."""
    rows = answer_token_logprobs(model, tokenizer, conversations, batch_size)
    return -sum(logprob for logprob, _ in rows) / sum(count for _, count in rows)


def answer_logprobs(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    conversations: Sequence[Sequence[Mapping[str, str]]],
                    batch_size: int = 16) -> list[float]:
    """The log-probability `model` gives each conversation's assistant answer (summed over its tokens)."""
    return [logprob for logprob, _ in answer_token_logprobs(model, tokenizer, conversations, batch_size)]


def evaluate_triage(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    records: Sequence[Mapping[str, Any]], batch_size: int = GENERATION_BATCH,
                    progress: bool = True) -> tuple[dict[str, float], list[str]]:
    """Triage scores (`helpers.metrics.score_triage`) of `model` on labelled tickets, with its raw
    outputs: one greedy answer per ticket to the same prompt every notebook uses."""
    conversations = [triage_messages(r["message"]) for r in records]
    outputs = chat_generate(model, tokenizer, conversations, max_new_tokens=TRIAGE_MAX_TOKENS,
                            batch_size=batch_size, progress=progress)
    return score_triage(outputs, records), outputs


def evaluate_task(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                  conversations: Sequence[Sequence[Mapping[str, str]]], scoring: str = "exact",
                  batch_size: int = GENERATION_BATCH,
                  progress: bool = True) -> tuple[dict[str, float], list[str]]:
    """Scores (`helpers.metrics.score_task`) of `model` on held-out chats of any task, with its raw
    outputs: one greedy answer to each chat without its last (assistant) message, which is the reference.
    Answers get room for the longest reference plus a quarter."""
    references = [conversation[-1]["content"] for conversation in conversations]
    longest = max(len(tokenizer(r, add_special_tokens=False)["input_ids"]) for r in references)
    outputs = chat_generate(model, tokenizer, [list(c[:-1]) for c in conversations],
                            max_new_tokens=longest * 5 // 4 + 4, batch_size=batch_size, progress=progress)
    return score_task(outputs, references, scoring), outputs


def reply_scores(replies: Sequence[str], tickets: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The mean rubric score of replies to tickets (`rubric_score`) and each item's pass rate
    (`rubric_<item>`, over the tickets where the item applies): the means of `reply_example_scores`."""
    return {key: float(np.nanmean(values)) for key, values in reply_example_scores(replies, tickets).items()}


def evaluate_replies(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                     tickets: Sequence[Mapping[str, Any]], temperature: float = REPLY_TEMPERATURE,
                     seed: int = 0, batch_size: int = GENERATION_BATCH,
                     progress: bool = True) -> tuple[dict[str, float], list[str]]:
    """Rubric scores (`reply_scores`) of `model`'s replies to tickets, with the replies: one per
    ticket, sampled at `temperature` with `seed` (greedy at 0), the same for every model compared."""
    replies = chat_generate(model, tokenizer, [reply_messages(t) for t in tickets], max_new_tokens=REPLY_MAX_TOKENS,
                            batch_size=batch_size, progress=progress, temperature=temperature, seed=seed)
    return reply_scores(replies, tickets), replies


def kl_to_reference(model: PreTrainedModel, reference: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    tickets: Sequence[Mapping[str, Any]], replies: Sequence[str]) -> float:
    """KL(model || reference) per reply, in nats: the mean of log p_model - log p_reference over
    replies that `model` itself sampled (temperature 1), the Monte Carlo estimate RL trainers log."""
    conversations = [reply_messages(t, r) for t, r in zip(tickets, replies)]
    policy = answer_logprobs(model, tokenizer, conversations)
    ref = answer_logprobs(reference, tokenizer, conversations)
    return sum(p - q for p, q in zip(policy, ref)) / len(conversations)


def win_rate(replies: Sequence[str], baseline_replies: Sequence[str], tickets: Sequence[Mapping[str, Any]]) -> float:
    """Share of tickets where the rubric prefers `replies` to `baseline_replies` (`rubric_verdict`;
    a tie counts half)."""
    points = {"A": 1.0, "tie": 0.5, "B": 0.0}
    verdicts = [rubric_verdict(reply, baseline, ticket)
                for reply, baseline, ticket in zip(replies, baseline_replies, tickets, strict=True)]
    return sum(points[v] for v in verdicts) / len(tickets)
