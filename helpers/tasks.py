"""The course's two support-desk tasks: what a label may be, and how each task becomes chat messages.

Triage: a customer message -> one JSON object with the keys of `TRIAGE_FIELDS`.
Replies: a ticket -> a reply in the house style (scored by `helpers.rubric`).
Every notebook builds its prompts here, so base, fine-tuned and aligned models see the same text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

COMPANY = "Lumen & Loom"

INTENTS = (
    "refund_request", "order_status", "damaged_item", "wrong_item", "cancel_order",
    "billing_issue", "account_access", "product_question", "return_request", "delivery_change",
)
PRODUCTS = (
    "kettle", "desk_lamp", "blender", "headphones", "backpack",
    "coffee_grinder", "smart_plug", "yoga_mat", "none",
)
URGENCIES = ("low", "medium", "high")
SENTIMENTS = ("negative", "neutral", "positive")

# Allowed values per label field; `order_id` is a string like "LL-482913" or null.
LABEL_VALUES: dict[str, tuple[str, ...]] = {
    "intent": INTENTS, "product": PRODUCTS, "urgency": URGENCIES, "sentiment": SENTIMENTS,
}
TRIAGE_FIELDS = ("intent", "product", "order_id", "urgency", "sentiment")
ORDER_ID_PATTERN = re.compile(r"^LL-\d{6}$")

# Spellings seen in exports that mean a canonical label (after lower-casing and turning spaces
# and hyphens into underscores). Anything neither canonical nor listed here is an unknown label.
LABEL_ALIASES: dict[str, dict[str, str]] = {
    "intent": {
        "refund": "refund_request", "refunds": "refund_request", "money_back": "refund_request",
        "where_is_my_order": "order_status", "tracking": "order_status", "status": "order_status",
        "damaged": "damaged_item", "broken_item": "damaged_item", "damage": "damaged_item",
        "wrong_product": "wrong_item", "incorrect_item": "wrong_item",
        "cancel": "cancel_order", "cancellation": "cancel_order",
        "billing": "billing_issue", "payment_issue": "billing_issue", "charge": "billing_issue",
        "login": "account_access", "account": "account_access", "login_issue": "account_access",
        "question": "product_question", "product_info": "product_question",
        "return": "return_request", "returns": "return_request",
        "change_delivery": "delivery_change", "address_change": "delivery_change",
    },
    "product": {
        "lamp": "desk_lamp", "desklamp": "desk_lamp", "grinder": "coffee_grinder",
        "coffeegrinder": "coffee_grinder", "plug": "smart_plug", "smartplug": "smart_plug",
        "mat": "yoga_mat", "yogamat": "yoga_mat", "headset": "headphones", "bag": "backpack",
        "n/a": "none", "na": "none", "no_product": "none",
    },
    "urgency": {"urgent": "high", "hi": "high", "med": "medium", "normal": "medium", "lo": "low"},
    "sentiment": {"neg": "negative", "angry": "negative", "pos": "positive", "happy": "positive",
                  "neu": "neutral"},
}

TRIAGE_SYSTEM = f"Triage this {COMPANY} support ticket as JSON."
REPLY_SYSTEM = f"You write replies to customers for the support desk of {COMPANY}, in the house style."


def normalize_label(field: str, value: Any) -> str | None:
    """Map a raw label spelling to its canonical value; None if it is neither canonical nor a
    known alias (the caller decides whether that is an error)."""
    if field not in LABEL_VALUES:
        raise KeyError(f"{field!r} is not a label field; label fields are {sorted(LABEL_VALUES)}")
    key = re.sub(r"[\s\-]+", "_", str(value).strip().lower())
    if key in LABEL_VALUES[field]:
        return key
    return LABEL_ALIASES[field].get(key)


def triage_target(labels: Mapping[str, Any]) -> str:
    """The assistant's answer for a ticket: its labels as one JSON object, keys in a fixed order."""
    return json.dumps({name: labels[name] for name in TRIAGE_FIELDS})


def triage_messages(message: str, labels: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
    """Chat messages for triage; with `labels`, the assistant's answer is appended (training)."""
    messages = [{"role": "system", "content": TRIAGE_SYSTEM}, {"role": "user", "content": message}]
    if labels is not None:
        messages.append({"role": "assistant", "content": triage_target(labels)})
    return messages


def reply_prompt(ticket: Mapping[str, Any]) -> str:
    """The user turn of the reply task: who wrote, about which order, and what they said."""
    name = ticket.get("customer_name") or "unknown"
    order = ticket.get("order_id") or "none"
    return f"Customer: {name}\nOrder: {order}\nMessage: {ticket['message']}"


def reply_messages(ticket: Mapping[str, Any], reply: str | None = None) -> list[dict[str, str]]:
    """Chat messages for the reply task; with `reply`, the assistant's answer is appended."""
    messages = [{"role": "system", "content": REPLY_SYSTEM},
                {"role": "user", "content": reply_prompt(ticket)}]
    if reply is not None:
        messages.append({"role": "assistant", "content": reply})
    return messages
