"""The pre-training stream of the kit's base model: an endless, seeded flow of fresh documents.

Two kinds of text, as a web crawl would give a real base model:
- the small world's encyclopedia entries, questions, records, sums, stories and letters (the facts
  the general probes ask about);
- support e-mail: a customer's message, sometimes with a header naming the sender or the order, and
  usually the first lines of an answer that reads back the customer's name, the product, the order id
  and the problem, and answers the customer's tone and urgency. Reading back is what teaches a model
  to look at its context and copy from it.

Nothing in the stream is a held-out message (triage test, preference test, reply test prompts):
each batch of e-mail is drawn against an index of those messages. No document holds a label JSON.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from synth.tickets import ShingleIndex, generate_tickets
from synth.world import (Fact, World, _entry, _letter, _qa, _record, _story, arithmetic_facts,
                                 build_world, fact_sentence, world_facts)

HELDOUT_FILES = ("triage_test.jsonl", "preferences_test.jsonl", "reply_prompts_test.jsonl")
TICKETS_PER_BATCH = 1000

HEADERS = ("From: {name}", "Customer: {name}", "Name: {name}", "Sender: {name}")
ORDER_HEADERS = ("Order: {order}", "Subject: order {order}", "Re: {order}")
GREETINGS = ("Hi {first},", "Hello {first},", "Dear {first},")
ANONYMOUS_GREETINGS = ("Hello,", "Hi there,", "Dear customer,")
PRODUCT_LINES = ("Thanks for writing about your {product}.", "I am sorry to hear about the {product}.",
                 "Let me help with the {product}.")
ORDER_LINES = ("I have found your order {order}.", "Your order is {order}.", "I am looking at order {order} now.")
PROBLEM_LINES = {
    "refund_request": ("You would like a refund.", "I understand you want your money back."),
    "order_status": ("You are waiting for your parcel.", "I will check where the parcel is."),
    "damaged_item": ("I am sorry it arrived damaged.", "It should not have arrived broken."),
    "wrong_item": ("I am sorry we sent the wrong item.", "That is not what you ordered."),
    "cancel_order": ("You would like to cancel.", "I can cancel it for you."),
    "billing_issue": ("I am sorry about the charge.", "I will look at the payment."),
    "account_access": ("I am sorry you cannot sign in.", "Let us get you back into your account."),
    "product_question": ("Thanks for your question.", "Happy to answer your question."),
    "return_request": ("You would like to send it back.", "I can start the return."),
    "delivery_change": ("You would like to change the delivery.", "I can update the delivery."),
}
# How an answer acknowledges the urgency (a priority, in the desk's words) and the tone (none when neutral).
URGENCY_LINES = {
    "high": ("I have marked this as high priority and I am on it now.",
             "As this is urgent, it is high priority for us.", "I know you need this quickly."),
    "medium": ("I have given this medium priority.", "This has medium priority with us."),
    "low": ("As there is no rush, I have marked it low priority.",
            "You said there is no hurry, so it is low priority for now.", "Thanks for your patience."),
}
TONE_LINES = {
    "negative": ("I am sorry this has been such a negative experience.", "I am sorry this has been so frustrating.",
                 "I understand you are upset, and I am sorry."),
    "positive": ("Thank you for the positive words.", "It is lovely to hear something so positive.",
                 "Thank you for your kind words."),
}
# The desk's footer: the ticket's codes as its system writes them (a code is a different token from the word).
FILED_LINES = ('Filed as product "{product}", priority "{urgency}".',
               'Ticket: product "{product}", priority "{urgency}".',
               'Logged under "{product}" with "{urgency}" priority.')
CLOSINGS = ("We will be in touch soon.", "Thank you for your patience.", "Best wishes, the support team.")


def support_thread(ticket: dict[str, Any], rng: random.Random) -> str:
    """One e-mail: optional headers, the customer's message, and usually the start of an answer that
    reads back what the e-mail shows (a name only where the e-mail gives one), answers its tone
    and urgency, and may end with the desk's footer of codes."""
    name, order = ticket["customer_name"], ticket["order_id"]
    headers = []
    if name and rng.random() < 0.6:
        headers.append(rng.choice(HEADERS).format(name=name))
    if order and rng.random() < 0.2:
        headers.append(rng.choice(ORDER_HEADERS).format(order=order))
    email = "\n".join([*headers, ticket["message"]])
    if rng.random() < 0.15:
        return email
    first = name.split()[0] if name else None
    named = first is not None and first in email
    lines = [rng.choice(GREETINGS).format(first=first) if named else rng.choice(ANONYMOUS_GREETINGS)]
    if ticket["sentiment"] in TONE_LINES and rng.random() < 0.8:
        lines.append(rng.choice(TONE_LINES[ticket["sentiment"]]))
    if ticket["product"] != "none" and rng.random() < 0.9:
        lines.append(rng.choice(PRODUCT_LINES).format(product=ticket["product"].replace("_", " ")))
    if rng.random() < 0.8:
        lines.append(rng.choice(PROBLEM_LINES[ticket["intent"]]))
    if ticket["urgency"] in URGENCY_LINES and rng.random() < 0.8:
        lines.append(rng.choice(URGENCY_LINES[ticket["urgency"]]))
    if order:
        lines.append(rng.choice(ORDER_LINES).format(order=order))
    lines.append(rng.choice(CLOSINGS))
    answer = " ".join(lines)
    if rng.random() < 0.5:
        answer += "\n" + rng.choice(FILED_LINES).format(product=ticket["product"], urgency=ticket["urgency"])
    return email + "\n\n" + answer


def heldout_messages(support_dir: Path) -> list[str]:
    """Every customer message of the support data's held-out files: what pre-training must not see."""
    messages = []
    for name in HELDOUT_FILES:
        path = Path(support_dir) / name
        messages += [json.loads(line)["message"] for line in path.read_text(encoding="utf-8").splitlines()]
    return messages


def ticket_batches(seed: int, excluded: Sequence[str]) -> Iterator[list[dict[str, Any]]]:
    """Endless batches of fresh tickets; batch k is drawn from `seed` and k alone. None is near an
    `excluded` message or holds one whole (a short message can be one sentence of a longer one), and
    none is near another ticket of its batch."""
    k = 0
    while True:
        index = ShingleIndex()
        for message in excluded:
            index.add(message)
        tickets = generate_tickets(TICKETS_PER_BATCH, random.Random(f"{seed}:{k}"), index, set(), id_start=1)
        yield [t for t in tickets if not any(m in t["message"] for m in excluded)]
        k += 1


def world_document(world: World, facts: Sequence[Fact], rng: random.Random) -> str:
    """One document about the world (`facts` = `world_facts(world)`): an entry, a question, a record,
    sums, a story or a letter."""
    kind = rng.choices(("entry", "qa", "record", "sums", "story", "letter"), weights=(4, 3, 1, 1, 3, 2))[0]
    if kind == "entry":
        subject = rng.choice(facts).subject
        return _entry(subject, [f for f in facts if f.subject == subject], rng)
    if kind == "qa":
        return _qa(rng.choice(facts + arithmetic_facts()))
    if kind == "record":
        table = rng.choice([("country", world.countries), ("city", world.cities),
                            ("person", world.people), ("fruit", world.fruits)])
        name = rng.choice(list(table[1]))
        return _record(name, table[0], table[1][name])
    if kind == "sums":
        return " ".join(fact_sentence(f, rng) for f in rng.sample(arithmetic_facts(), 5))
    if kind == "story":
        return _story(world, rng)
    return _letter(world, rng)


def document_stream(seed: int = 0, support_dir: Path | None = None, world_seed: int = 1234,
                    support_share: float = 0.6) -> Iterator[str]:
    """Endless documents: about `support_share` of them support e-mail, the rest the world's text.

    The same `seed` gives the same documents in the same order. `world_seed` must be the seed the
    committed data was generated with, so that the stream tells the world the probes ask about.
    """
    from helpers.runtime import DATA_DIR

    world = build_world(random.Random(world_seed))
    facts = world_facts(world)
    excluded = heldout_messages(Path(support_dir or DATA_DIR / "support"))
    rng = random.Random(seed)
    for batch in ticket_batches(seed, excluded):
        for ticket in batch:
            while rng.random() > support_share:
                yield world_document(world, facts, rng)
            yield support_thread(ticket, rng)


def reading_probes(tickets: Sequence[dict[str, Any]], seed: int = 0) -> dict[str, list[dict[str, str]]]:
    """Cloze probes of reading, in the stream's own e-mail format, from held-out `tickets`:
    `order_id` (the answer starts "Your order is LL-": the six digits must be copied from the message)
    and `first_name` (the sender is named in a header: the greeting must use their first name)."""
    rng = random.Random(seed)
    probes: dict[str, list[dict[str, str]]] = {"order_id": [], "first_name": []}
    for ticket in tickets:
        name, order = ticket["customer_name"], ticket["order_id"]
        if order:
            greeting = f"Hi {name.split()[0]}," if name and name.split()[0] in ticket["message"] else "Hello,"
            probes["order_id"].append({"prompt": f"{ticket['message']}\n\n{greeting} Your order is LL-",
                                       "answer": order[3:]})
        if name:
            header = rng.choice(HEADERS).format(name=name)
            probes["first_name"].append({"prompt": f"{header}\n{ticket['message']}\n\nHi",
                                         "answer": name.split()[0]})
    return probes
