"""Baselines to try before fine-tuning: the label prior (majority), prompting the base model with a few
solved examples (few-shot), and answering with the nearest training example found by BM25 (retrieval).

    retriever = BM25Retriever([r["message"] for r in train])
    outputs = retrieval_triage(train, test)          # the labels of each ticket's nearest neighbour
    shots = pick_shots(train, k=3, seed=0)
    outputs = few_shot_triage(model, tokenizer, test, shots)
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, TYPE_CHECKING

from helpers.evaluation import REPLY_MAX_TOKENS, TRIAGE_MAX_TOKENS
from helpers.generation import chat_generate
from helpers.tasks import LABEL_VALUES, REPLY_SYSTEM, TRIAGE_FIELDS, TRIAGE_SYSTEM, reply_prompt, triage_target

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

_WORD = re.compile(r"[a-z0-9]+")


def bm25_tokens(text: str) -> list[str]:
    """The words BM25 matches on: lower-cased runs of letters and digits."""
    return _WORD.findall(str(text).lower())


class BM25Retriever:
    """Nearest-example search over a list of texts with Okapi BM25 (`rank_bm25.BM25Okapi`)."""

    def __init__(self, texts: Sequence[str]):
        from rank_bm25 import BM25Okapi

        if not texts:
            raise ValueError("BM25Retriever needs at least one text to search")
        self.texts = list(texts)
        # An empty document would make BM25's average length zero; give it a placeholder word.
        self._index = BM25Okapi([bm25_tokens(t) or ["<empty>"] for t in self.texts])

    def scores(self, query: str) -> list[float]:
        """The BM25 score of every indexed text for `query` (higher is more similar)."""
        return list(self._index.get_scores(bm25_tokens(query)))

    def top(self, query: str, k: int = 1) -> list[int]:
        """Indices of the `k` most similar texts, best first (ties keep the earlier text)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        scores = self.scores(query)
        return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]

    def nearest(self, query: str) -> int:
        """Index of the most similar text."""
        return self.top(query, 1)[0]


def majority_triage(train_records: Sequence[Mapping[str, Any]], n: int) -> list[str]:
    """The floor every classifier must clear, `n` times: the triage answer that gives each label field
    its most common training label, and no order id."""
    labels = {field: Counter(r[field] for r in train_records).most_common(1)[0][0] for field in LABEL_VALUES}
    return [triage_target({**{f: None for f in TRIAGE_FIELDS}, **labels})] * n


def retrieval_triage(train_records: Sequence[Mapping[str, Any]],
                     records: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[int]]:
    """Triage by nearest example: each ticket gets the labels (as the triage JSON answer) of the most
    similar training ticket by BM25 over the messages. Returns the answers and the neighbours' indices."""
    retriever = BM25Retriever([r["message"] for r in train_records])
    neighbours = [retriever.nearest(r["message"]) for r in records]
    return [triage_target(train_records[i]) for i in neighbours], neighbours


def retrieval_replies(demonstrations: Sequence[Mapping[str, Any]],
                      tickets: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[int]]:
    """Replies by nearest example: each ticket gets the `reply` of the most similar demonstration
    ticket by BM25 over the messages, word for word. Returns the replies and the neighbours' indices."""
    if any("reply" not in d for d in demonstrations):
        raise ValueError("every demonstration needs a 'reply'")
    retriever = BM25Retriever([d["message"] for d in demonstrations])
    neighbours = [retriever.nearest(t["message"]) for t in tickets]
    return [demonstrations[i]["reply"] for i in neighbours], neighbours


def pick_shots(records: Sequence[Mapping[str, Any]], k: int, seed: int = 0,
               key: str = "intent") -> list[Mapping[str, Any]]:
    """`k` solved examples for a few-shot prompt: drawn (seeded) from the shorter half of `records`
    (short examples leave room in the context), each with a different `key` label where possible."""
    if k < 0:
        raise ValueError(f"k must be at least 0, not {k}")
    if k > len(records):
        raise ValueError(f"{k} shots asked for, but only {len(records)} examples to draw from")
    shortest = sorted(records, key=lambda r: len(r["message"]))[:max(k, len(records) // 2)]
    pool = list(shortest)
    random.Random(seed).shuffle(pool)
    shots, seen = [], set()
    for record in pool:  # first pass: one per label
        if len(shots) < k and record.get(key) not in seen:
            shots.append(record)
            seen.add(record.get(key))
    shots += [r for r in pool if r not in shots][:k - len(shots)]
    return shots


def few_shot_messages(message: str, shots: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Triage chat messages with solved examples first: the system prompt, then each shot as a user
    turn and its JSON answer as an assistant turn, then the ticket to triage."""
    messages = [{"role": "system", "content": TRIAGE_SYSTEM}]
    for shot in shots:
        messages += [{"role": "user", "content": shot["message"]},
                     {"role": "assistant", "content": triage_target(shot)}]
    return messages + [{"role": "user", "content": message}]


def few_shot_reply_messages(ticket: Mapping[str, Any], shots: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Reply-task chat messages with demonstrations first (each a ticket and its house-style reply)."""
    messages = [{"role": "system", "content": REPLY_SYSTEM}]
    for shot in shots:
        messages += [{"role": "user", "content": reply_prompt(shot)}, {"role": "assistant", "content": shot["reply"]}]
    return messages + [{"role": "user", "content": reply_prompt(ticket)}]


def prompt_tokens(tokenizer: PreTrainedTokenizerBase, messages: Sequence[Mapping[str, str]]) -> int:
    """How many tokens a chat prompt takes, generation prompt included."""
    return len(tokenizer.apply_chat_template(list(messages), tokenize=True, add_generation_prompt=True)["input_ids"])


def fit_shots(tokenizer: PreTrainedTokenizerBase, shots: Sequence[Mapping[str, Any]], conversations_for,
              queries: Sequence[Any], context: int, max_new_tokens: int) -> list[Mapping[str, Any]]:
    """The longest prefix of `shots` for which every query's prompt (`conversations_for(query, shots)`)
    plus `max_new_tokens` fits in `context` tokens; drops shots from the end until it does."""
    shots = list(shots)
    while shots:
        longest = max(prompt_tokens(tokenizer, conversations_for(q, shots)) for q in queries)
        if longest + max_new_tokens <= context:
            break
        shots.pop()
    return shots


def few_shot_triage(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, records: Sequence[Mapping[str, Any]],
                    shots: Sequence[Mapping[str, Any]], batch_size: int = 16, progress: bool = True) -> list[str]:
    """The model's greedy triage answers with `shots` in the prompt (same length limit as zero-shot)."""
    conversations = [few_shot_messages(r["message"], shots) for r in records]
    return chat_generate(model, tokenizer, conversations, max_new_tokens=TRIAGE_MAX_TOKENS,
                         batch_size=batch_size, progress=progress)


def few_shot_replies(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, tickets: Sequence[Mapping[str, Any]],
                     shots: Sequence[Mapping[str, Any]], temperature: float, seed: int = 0,
                     batch_size: int = 16, progress: bool = True) -> list[str]:
    """The model's replies with demonstration `shots` in the prompt, sampled like `evaluate_replies`."""
    conversations = [few_shot_reply_messages(t, shots) for t in tickets]
    return chat_generate(model, tokenizer, conversations, max_new_tokens=REPLY_MAX_TOKENS, batch_size=batch_size,
                         progress=progress, temperature=temperature, seed=seed)
