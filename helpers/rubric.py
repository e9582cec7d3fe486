"""The house-style rubric: the rule-based, held-out judge of every reply in the course.

A reply to a ticket is scored on the items of `RUBRIC_ITEMS`; the score is the share of the
applicable items it passes (an item about the customer's name or order id applies only when the
ticket has one). Every rule is a short list of phrases, matched case-insensitively at the start of
a word (so "guarantee" also catches "guaranteed"), and curly apostrophes count as straight ones.

    from helpers.rubric import score_reply
    score_reply("Hi Priya, I'm sorry ...", ticket).score   # 0.0 .. 1.0
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RUBRIC_ITEMS = (
    "names_customer", "acknowledges_problem", "cites_order_id", "one_next_step",
    "concise", "no_blame", "no_forbidden_promise",
)
RUBRIC_DESCRIPTIONS: dict[str, str] = {
    "names_customer": "Addresses the customer by first or full name (only when the ticket has a name).",
    "acknowledges_problem": "Acknowledges or apologises, and names the product or the problem.",
    "cites_order_id": "Quotes the canonical order id, e.g. LL-482913 (only when the ticket has one).",
    "one_next_step": "Gives exactly one concrete next step (a phrase from NEXT_STEP_PHRASES).",
    "concise": "Is a whole reply of the house length: MIN_WORDS (12) to MAX_WORDS (60) words.",
    "no_blame": "Does not blame the customer (no phrase from BLAME_PHRASES).",
    "no_forbidden_promise": "Makes no promise the desk cannot keep (no phrase from FORBIDDEN_PROMISES).",
}
MIN_WORDS, MAX_WORDS = 12, 60  # fewer words than a greeting, one step and a sign-off make no reply

# An acknowledgement is one of these phrases plus a mention of the product or the problem.
ACKNOWLEDGEMENT_PHRASES = (
    "sorry", "apolog", "thank you for letting us know", "thanks for letting us know",
    "thanks for flagging", "thank you for flagging", "i understand", "i can imagine",
    "that must be frustrating", "thanks for your question", "thank you for your question",
    "thanks for asking",
)
# Words that name each intent's problem, for tickets about no product (and as an alternative).
PROBLEM_WORDS: dict[str, tuple[str, ...]] = {
    "refund_request": ("refund", "money back"),
    "order_status": ("order", "delivery", "parcel", "tracking"),
    "damaged_item": ("damage", "broken", "crack", "faulty"),
    "wrong_item": ("wrong", "mix-up", "incorrect"),
    "cancel_order": ("cancel",),
    "billing_issue": ("charge", "payment", "billing", "invoice"),
    "account_access": ("account", "log in", "login", "logging in", "sign in", "password", "locked out"),
    "product_question": ("question",),
    "return_request": ("return", "send back", "sending back"),
    "delivery_change": ("address", "delivery"),
}
# Each phrase commits the desk to one concrete action; a reply must contain exactly one of them.
NEXT_STEP_PHRASES = (
    "i have started", "i've started", "i have arranged", "i've arranged",
    "i have sent", "i've sent", "i have updated", "i've updated",
    "i have cancelled", "i've cancelled", "i have asked", "i've asked",
    "please reply with", "please send us", "you will receive", "you'll receive",
)
BLAME_PHRASES = (
    "you should have", "you shouldn't have", "your fault", "not our fault", "you failed to",
    "if you had read", "if you'd read", "you didn't read", "you did not read", "you didn't check",
    "you did not check", "you forgot to", "you must have", "as clearly stated",
    "as we already told you", "as already explained", "you were supposed to", "user error",
)
FORBIDDEN_PROMISES = (
    "guarantee", "within 24 hours", "within 24h", "within a day", "by tomorrow",
    "refund everything", "immediately", "never happen again", "free for life", "lifetime",
    "i promise", "we promise", "100%", "full compensation",
)


@dataclass(frozen=True)
class RubricResult:
    """A reply's rubric score (mean of the applicable items) and each applicable item's verdict."""

    score: float
    items: dict[str, bool]

    @property
    def failed(self) -> list[str]:
        """The applicable items the reply breaks, in `RUBRIC_ITEMS` order."""
        return [name for name in RUBRIC_ITEMS if name in self.items and not self.items[name]]


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    # Longest first, so that a longer phrase wins over a shorter one starting at the same place.
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in ordered) + ")", re.IGNORECASE)


_ACK = _phrase_pattern(ACKNOWLEDGEMENT_PHRASES)
_STEP = _phrase_pattern(NEXT_STEP_PHRASES)
_BLAME = _phrase_pattern(BLAME_PHRASES)
_PROMISE = _phrase_pattern(FORBIDDEN_PROMISES)


def _plain(text: str) -> str:
    """Curly apostrophes and quotes as straight ones, so "I’ve" matches "i've"."""
    return text.replace("\u2019", "'").replace("\u2018", "'")


def product_words(product: str | None) -> tuple[str, ...]:
    """How a reply may name a product: its readable name and its last word ("desk lamp", "lamp")."""
    if not product or product == "none":
        return ()
    readable = product.replace("_", " ")
    return tuple(dict.fromkeys((readable, readable.split()[-1])))


def count_next_steps(reply: str) -> int:
    """How many next-step phrases (`NEXT_STEP_PHRASES`) a reply contains."""
    return len(_STEP.findall(_plain(reply)))


def _names_customer(reply: str, name: str) -> bool:
    first = name.split()[0]
    return re.search(rf"(?<!\w){re.escape(first)}(?!\w)", reply, re.IGNORECASE) is not None


def _acknowledges(reply: str, ticket: Mapping[str, Any]) -> bool:
    words = product_words(ticket.get("product")) + PROBLEM_WORDS.get(ticket.get("intent", ""), ())
    return bool(_ACK.search(reply)) and bool(words) and bool(_phrase_pattern(words).search(reply))


def score_reply(reply: str, ticket: Mapping[str, Any]) -> RubricResult:
    """Score a reply to `ticket` (a mapping with intent, product, order_id and customer_name).

    Items about the name and the order id are left out of `items` (and of the mean) when the
    ticket has no name or no order id. Returns the mean of the applicable items, in 0..1.
    """
    text = _plain(reply)
    items: dict[str, bool] = {}
    if ticket.get("customer_name"):
        items["names_customer"] = _names_customer(text, str(ticket["customer_name"]))
    items["acknowledges_problem"] = _acknowledges(text, ticket)
    if ticket.get("order_id"):
        order_id = re.escape(str(ticket["order_id"]))
        items["cites_order_id"] = re.search(rf"(?<!\w){order_id}(?!\d)", text, re.IGNORECASE) is not None
    items["one_next_step"] = count_next_steps(text) == 1
    items["concise"] = MIN_WORDS <= len(text.split()) <= MAX_WORDS
    items["no_blame"] = _BLAME.search(text) is None
    items["no_forbidden_promise"] = _PROMISE.search(text) is None
    ordered = {name: items[name] for name in RUBRIC_ITEMS if name in items}
    return RubricResult(score=sum(ordered.values()) / len(ordered), items=ordered)


def reply_example_scores(replies: Sequence[str], tickets: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Per reply: `rubric_score` and each `rubric_<item>` (1 pass, 0 fail, NaN where the item does not
    apply): the source of every mean (`helpers.evaluation.reply_scores`) and interval of the rubric."""
    if len(replies) != len(tickets):
        raise ValueError(f"{len(replies)} replies for {len(tickets)} tickets")
    if not replies:
        raise ValueError("no replies to score")
    results = [score_reply(reply, ticket) for reply, ticket in zip(replies, tickets)]
    scores = {"rubric_score": np.array([result.score for result in results])}
    for item in RUBRIC_ITEMS:
        values = np.array([float(result.items[item]) if item in result.items else np.nan for result in results])
        if not np.isnan(values).all():
            scores[f"rubric_{item}"] = values
    return scores


def rubric_verdict(reply_a: str, reply_b: str, ticket: Mapping[str, Any]) -> str:
    """The rule-based judge of a pair: "A" or "B", whichever the rubric scores higher, or "tie"."""
    a, b = score_reply(reply_a, ticket).score, score_reply(reply_b, ticket).score
    return "A" if a > b else "B" if b > a else "tie"
