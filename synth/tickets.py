"""Support tickets composed from the phrase banks, in four registers, checked so that every label can be
read off the text, and kept apart from each other by a shingle index."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from helpers.tasks import COMPANY, INTENTS, PRODUCTS
from helpers.text import shingles
from synth.phrases import (AGO, BANKS, CLOSINGS, DAMAGE, DEFAULT_ORDER_SHARE, DEFAULT_SENTIMENT_WEIGHTS,
                           DEFAULT_URGENCY_WEIGHTS, EXPORT_INTENT_WEIGHTS, FIRST_NAMES, LAST_NAMES,
                           MISSPELLINGS, NO_PRODUCT_SHARE, OPENINGS, ORDER_NP_PREFIXES, ORDER_REF_FORMS,
                           ORDER_SENTENCES, ORDER_SHARE, PARCEL_INTENTS, PARCEL_URGENCY_CUES, PLURAL_MENTIONS,
                           PRODUCT_KEYWORDS, PRODUCT_MENTIONS, QUESTIONS, REGISTER_WEIGHTS,
                           SENTIMENT_PATTERNS, SENTIMENT_WEIGHTS, SIGNOFFS, TERSE_TONE_CUES,
                           TERSE_URGENCY_CUES, TONE_CUES, URGENCY_CUES, URGENCY_PATTERNS, URGENCY_WEIGHTS,
                           WRONG_THINGS, _BARE_DIGITS_AFTER)

MAX_SIMILARITY = 0.6          # no two generated tickets are this similar (Jaccard of word trigrams)
NEAR_COPY_SIMILARITY = 0.85   # planted near duplicates and near leaks are at least this similar
TICKET_FIELDS = ("ticket_id", "customer_name", "message", "intent", "product", "order_id",
                 "urgency", "sentiment")
# While a message is edited (lower-cased, typos), the order reference is a placeholder: _REF is a
# bare reference (after words such as "order"), _ORDER_NP a noun phrase that may add "order ".
_REF, _ORDER_NP = "\x00", "\x01"


class ShingleIndex:
    """Word-trigram shingles of every accepted text, with an inverted index, so that a candidate
    is compared only with the texts it shares a shingle with."""

    def __init__(self, threshold: float = MAX_SIMILARITY) -> None:
        self.threshold = threshold
        self._postings: dict[str, list[int]] = {}
        self._sizes: list[int] = []

    def __len__(self) -> int:
        return len(self._sizes)

    def too_close(self, text: str) -> bool:
        """Whether `text` is at least `threshold`-similar to a text already in the index."""
        candidate = shingles(text)
        overlap: dict[int, int] = {}
        for shingle in candidate:
            for other in self._postings.get(shingle, ()):
                overlap[other] = overlap.get(other, 0) + 1
        size = len(candidate)
        return any(common / (size + self._sizes[other] - common) >= self.threshold
                   for other, common in overlap.items())

    def add(self, text: str) -> None:
        """Index `text`."""
        number = len(self._sizes)
        parts = shingles(text)
        self._sizes.append(len(parts))
        for shingle in parts:
            self._postings.setdefault(shingle, []).append(number)


def _weighted(rng: random.Random, values: Sequence[str], weights: Sequence[float]) -> str:
    return rng.choices(values, weights=weights, k=1)[0]


def _product_slots(rng: random.Random, product: str) -> dict[str, str]:
    """The product's name in a message, with matching determiners, pronouns and verbs."""
    if product == "none":
        return {}
    mention = rng.choice(PRODUCT_MENTIONS[product])
    plural = mention in PLURAL_MENTIONS
    det = rng.choice(("the", "my"))
    if plural:
        a_p = f"a pair of {mention}"
    else:
        a_p = ("an " if mention[0].lower() in "aeiou" or mention.startswith("LED") else "a ") + mention
    damage, damage_np = rng.choice(DAMAGE[product])
    return {
        "m": mention, "the_p": f"{det} {mention}", "The_p": f"{det.capitalize()} {mention}",
        "a_p": a_p, "it": "they" if plural else "it", "It": "They" if plural else "It",
        "it_obj": "them" if plural else "it", "is": "are" if plural else "is",
        "does": "do" if plural else "does", "Does": "Do" if plural else "Does",
        "has": "have" if plural else "has", "doesnt": "don't" if plural else "doesn't",
        "isnt": "aren't" if plural else "isn't",
        "damage": damage, "damage_np": damage_np, "q": rng.choice(QUESTIONS[product]),
    }


def _fill(template: str, slots: Mapping[str, str]) -> str:
    return template.format_map(slots)


def _lower_first(text: str) -> str:
    # "Hi there, the kettle ..." reads better than "Hi there, The kettle ..."; keep "I" and names.
    if text[:2] in ("I ", "I'") or text.startswith(COMPANY) or not text[:1].isupper():
        return text
    return text[0].lower() + text[1:]


def sentence_count(text: str) -> int:
    """Sentences in a message: runs of . ! ? followed by a space or the end, plus a trailing fragment."""
    text = text.strip()
    ends = len(re.findall(r"[.!?]+(?=\s|$)", text))
    return ends + (0 if re.search(r"[.!?]$", text) else 1)


def detected_products(message: str) -> list[str]:
    """The products a message names, by `PRODUCT_KEYWORDS` (word boundaries, any case)."""
    return [p for p, pattern in PRODUCT_KEYWORDS.items()
            if re.search(rf"\b(?:{pattern})\b", message, re.IGNORECASE)]


def _cues(patterns: Mapping[str, re.Pattern[str]], text: str) -> set[str]:
    return {label for label, pattern in patterns.items() if pattern.search(text)}


def labels_readable(message: str, labels: Mapping[str, Any]) -> bool:
    """Whether a message carries what its labels claim: the product named (or none), cue words
    for high/low urgency and negative/positive tone and none for another value, the order digits."""
    product = labels["product"]
    if detected_products(message) != ([] if product == "none" else [product]):
        return False
    urgency_cues = _cues(URGENCY_PATTERNS, message)
    if urgency_cues != ({labels["urgency"]} if labels["urgency"] != "medium" else set()):
        return False
    tone_cues = _cues(SENTIMENT_PATTERNS, message)
    if tone_cues != ({labels["sentiment"]} if labels["sentiment"] != "neutral" else set()):
        return False
    digits = re.findall(r"\d{5,}", message)
    wanted = [labels["order_id"][3:]] if labels["order_id"] else []
    # Only the order's own six digits; no long digit runs a PII scrubber could take for a phone.
    return digits == wanted and not re.search(r"\d(?:[\s\-().]?\d){6,}", message) and "@" not in message


def _add_typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if w.lower().strip(".,!?") in MISSPELLINGS]
    if spots and rng.random() < 0.6:
        i = rng.choice(spots)
        core = words[i].strip(".,!?")
        wrong = MISSPELLINGS[core.lower()]
        words[i] = words[i].replace(core, wrong if core.islower() else wrong.capitalize(), 1)
        return " ".join(words)
    spots = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not spots:
        return text
    i = rng.choice(spots)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]  # two neighbouring letters swapped
    return " ".join(words)


def _customer_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _new_order_digits(rng: random.Random, used: set[str]) -> str:
    while True:
        digits = f"{rng.randrange(100000, 1000000)}"
        if digits not in used:
            used.add(digits)
            return digits


def _join_terse(sentences: list[str]) -> str:
    # Terse writers drop full stops but keep question and exclamation marks.
    out = ""
    for sentence in sentences:
        sentence = sentence.rstrip(".")
        out += sentence if not out else (" " if out[-1] in "?!" else ". ") + sentence
    return out


def _core_sentence(rng: random.Random, labels: Mapping[str, Any], register: str,
                   slots: Mapping[str, str]) -> str | None:
    """The sentence that states the problem, from the intent's bank, in the register's voice; None
    when the bank has none that fits (a sentence naming an order, for a ticket without one)."""
    bank, product = BANKS[labels["intent"]], labels["product"]
    pool = bank.product if product != "none" else bank.no_product
    if register == "terse" and rng.random() < 0.7:
        pool = (bank.terse_product if product != "none" else bank.terse_no_product) or pool
    pool = [t for t in pool if labels["order_id"] is not None or "{o}" not in t]
    if not pool:
        return None
    core = _fill(rng.choice(pool), slots)
    if register == "chatty" and rng.random() < 0.3:
        core = "So, " + _lower_first(core)
    if register == "angry" and core.endswith(".") and rng.random() < 0.4:
        core = core[:-1] + rng.choice(("!", "!!"))
    return core


def _tone_and_opening(rng: random.Random, labels: Mapping[str, Any], register: str) -> tuple[str, bool, str]:
    """The tone cue (empty for a neutral ticket), whether it comes first, and the greeting (or none)."""
    terse = register == "terse"
    tone = ""
    if labels["sentiment"] != "neutral":
        tone = rng.choice((TERSE_TONE_CUES if terse else TONE_CUES)[labels["sentiment"]])
    tone_first = rng.random() < 0.5
    opening = ""
    if rng.random() < {"polite": 0.8, "chatty": 0.9, "angry": 0.35, "terse": 0.2}[register] and \
            not (terse and tone and tone_first):  # "hey unacceptable." reads oddly
        opening = rng.choice(OPENINGS[register]).format(company=COMPANY)
    return tone, tone_first, opening


def _middle_sentences(rng: random.Random, labels: Mapping[str, Any], terse: bool, core: str,
                      slots: Mapping[str, str]) -> tuple[list[str], str]:
    """After the problem: the order reference (unless the problem names it), maybe a detail, and the
    urgency cue of a ticket that is not of medium urgency. Returns them and the detail (optional)."""
    parts: list[str] = []
    if labels["order_id"] is not None and _ORDER_NP not in core:
        parts.append(rng.choice(("order " + _REF, _ORDER_NP)) if terse
                     else rng.choice(ORDER_SENTENCES).format(r=_REF))
    bank = BANKS[labels["intent"]]
    detail = _fill(rng.choice(bank.details), slots) if rng.random() < (0.3 if terse else 0.5) else ""
    if detail:
        parts.append(detail)
    if labels["urgency"] != "medium":
        cues = (TERSE_URGENCY_CUES if terse else URGENCY_CUES)[labels["urgency"]]
        if labels["urgency"] == "high" and not terse and labels["intent"] in PARCEL_INTENTS:
            cues = cues + PARCEL_URGENCY_CUES
        parts.append(rng.choice(cues))
    return parts, detail


def _render(opening: str, parts: Sequence[str], terse: bool) -> str:
    body = list(parts)
    if opening.endswith(","):
        body[0] = _lower_first(body[0])
    text = _join_terse(body) if terse else " ".join(body)
    return f"{opening} {text}" if opening else text


def _compose_message(rng: random.Random, labels: Mapping[str, Any], name: str | None) -> str | None:
    """One attempt at a message for these labels, with the order as a placeholder; None when the
    parts do not fit in four sentences. One message in ten gets a typo (never in the name)."""
    register = _weighted(rng, *zip(*REGISTER_WEIGHTS[labels["sentiment"]]))
    terse = register == "terse"
    slots = {"company": COMPANY, "ago": rng.choice(AGO), "wrong": rng.choice(WRONG_THINGS),
             "o": _ORDER_NP, **_product_slots(rng, labels["product"])}
    core = _core_sentence(rng, labels, register, slots)
    if core is None:
        return None
    tone, tone_first, opening = _tone_and_opening(rng, labels, register)
    middle, detail = _middle_sentences(rng, labels, terse, core, slots)
    parts = ([tone] if tone and tone_first else []) + [core] + middle + ([tone] if tone and not tone_first else [])
    closing = rng.choice(CLOSINGS[register]) if rng.random() < 0.45 else ""
    signoff = ""
    if name and rng.random() < 0.5:
        signoff = rng.choice(SIGNOFFS[register]).format(n=rng.choice((name.split()[0], name)))
    if closing and not signoff:
        parts.append(closing)

    # Drop optional parts (detail, closing, opening) until the message has at most four sentences.
    for optional in (detail, closing):
        if sentence_count(_render(opening, parts, terse)) > 4 and optional and optional in parts:
            parts.remove(optional)
    if sentence_count(_render(opening, parts, terse)) > 4:
        opening = ""
    if sentence_count(_render(opening, parts, terse)) > 4:
        return None
    text = _render(opening, parts, terse)
    if terse and rng.random() < 0.6:
        text = text.lower()
    if rng.random() < 0.1:
        text = _add_typo(rng, text)  # the caller checks the result like any other draft
    if signoff:
        text = f"{text} {signoff}" if terse or text[-1] in ".!?" else f"{text}. {signoff}"
    return text


def _place_order(draft: str, digits: str, rng: random.Random) -> str:
    """Put the order reference, in one of the export's formats, where the placeholders are."""
    ref = rng.choice(ORDER_REF_FORMS).format(d=digits)
    noun_phrase = rng.choice(ORDER_NP_PREFIXES) + ref
    if noun_phrase == digits:
        noun_phrase = "order " + digits  # bare digits inside a sentence read as an order only so
    if ref == digits and not _BARE_DIGITS_AFTER.search(draft.split(_REF)[0]):
        ref = "#" + digits
    return draft.replace(_ORDER_NP, noun_phrase).replace(_REF, ref)


def make_ticket(rng: random.Random, intent: str, used_orders: set[str], ticket_id: str) -> dict[str, Any]:
    """One ticket for `intent`: labels drawn from the intent's mix, then a message that shows them."""
    while True:
        product = "none" if rng.random() < NO_PRODUCT_SHARE.get(intent, 0.0) else \
            rng.choice(PRODUCTS[:-1])
        has_order = rng.random() < ORDER_SHARE.get(intent, DEFAULT_ORDER_SHARE)
        digits = _new_order_digits(rng, used_orders) if has_order else None
        labels = {
            "intent": intent, "product": product, "order_id": f"LL-{digits}" if digits else None,
            "urgency": _weighted(rng, ("low", "medium", "high"),
                                 URGENCY_WEIGHTS.get(intent, DEFAULT_URGENCY_WEIGHTS)),
            "sentiment": _weighted(rng, ("negative", "neutral", "positive"),
                                   SENTIMENT_WEIGHTS.get(intent, DEFAULT_SENTIMENT_WEIGHTS)),
        }
        name = _customer_name(rng) if rng.random() < 0.7 else None
        for _ in range(20):
            draft = _compose_message(rng, labels, name)
            if draft is None:
                continue
            message = _place_order(draft, digits, rng) if digits else draft
            words = len(message.split())
            if 10 <= words <= 70 and len(message) < 450 and labels_readable(message, labels):
                return {"ticket_id": ticket_id, "customer_name": name, "message": message, **labels}
        if digits:
            used_orders.discard(digits)


def generate_tickets(n: int, rng: random.Random, index: ShingleIndex, used_orders: set[str],
                     *, id_start: int, intents: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """`n` tickets, none too similar to each other or to anything already in `index`.

    `intents` fixes each ticket's intent (for a balanced set); by default intents are drawn with
    the export's mix. Ids run `T{id_start:06d}` upwards. Accepted messages are added to `index`.
    """
    tickets = []
    for i in range(n):
        intent = intents[i] if intents is not None else _weighted(rng, INTENTS, EXPORT_INTENT_WEIGHTS)
        while True:
            ticket = make_ticket(rng, intent, used_orders, f"T{id_start + i:06d}")
            if not index.too_close(ticket["message"]):
                break
            if ticket["order_id"]:
                used_orders.discard(ticket["order_id"][3:])
        index.add(ticket["message"])
        tickets.append(ticket)
    return tickets


def balanced_intents(n: int, rng: random.Random) -> list[str]:
    """`n` intents, as even as possible, in random order."""
    intents = [INTENTS[i % len(INTENTS)] for i in range(n)]
    rng.shuffle(intents)
    return intents


