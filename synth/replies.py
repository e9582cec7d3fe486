"""Replies in the house style, flawed replies that break one or two rubric items in realistic ways,
reply demonstrations and preference pairs."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from helpers.rubric import score_reply
from helpers.tasks import COMPANY
from synth.phrases import AGENT_NAMES
from synth.tickets import TICKET_FIELDS


NAMED_GREETINGS = ("Hi {first},", "Hello {first},", "Dear {first},", "Hi {full},", "Dear {full},")
ANONYMOUS_GREETINGS = ("Hi there,", "Hello,", "Hello there,", "Dear customer,")
# Acknowledgements per intent: naming the product ({m}) or, for no product, the problem.
ACKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "refund_request": (("I'm sorry the {m} {wasnt} right for you.", "I'm sorry the {m} didn't work out.",
                        "Thanks for letting us know about the refund for your {m}."),
                       ("I'm sorry you're still waiting for your refund.",)),
    "order_status": (("I'm sorry your {m} {hasnt} arrived yet.", "Sorry for the wait on your {m}.",
                      "I understand you're waiting for your {m}."),
                     ("I'm sorry your order is taking longer than expected.",
                      "Sorry for the wait on your delivery.",
                      "I understand you'd like to know where your parcel is.")),
    "damaged_item": (("I'm so sorry your {m} arrived damaged.",
                      "I'm sorry to hear the {m} {was} broken when {it} arrived.",
                      "Sorry the {m} reached you in that state."), ()),
    "wrong_item": (("I'm sorry we sent the wrong item instead of your {m}.",
                    "Apologies for the mix-up with your {m}.",
                    "Sorry you received the wrong item rather than the {m}."), ()),
    "cancel_order": (("I understand you'd like to cancel the {m}.",
                      "Thanks for letting us know you no longer need the {m}."),
                     ("Thanks for letting us know you'd like to cancel.",
                      "I understand you want to cancel your order.")),
    "billing_issue": (("I'm sorry about the charge for your {m}.",
                       "Apologies for the billing mix-up on your {m}."),
                      ("I'm sorry about the problem with the charge on your card.",
                       "Sorry for the confusion over your payment.",
                       "Apologies for the trouble with your invoice.")),
    "account_access": ((), ("I'm sorry you're having trouble logging in to your account.",
                            "Sorry you've been locked out of your account.",
                            "I understand how annoying it is when a password reset doesn't arrive.")),
    "product_question": (("Thanks for your question about the {m}.", "Thanks for asking about the {m}."), ()),
    "return_request": (("I'm sorry the {m} {wasnt} quite right.", "Sorry the {m} didn't suit you.",
                        "Thanks for letting us know you'd like to return the {m}."), ()),
    "delivery_change": (("Thanks for letting us know about the new address for your {m}.",
                         "I understand you need the {m} delivered somewhere else."),
                        ("Thanks for letting us know about the change of address.",
                         "I understand you need to change the delivery for your order.")),
}
# One next step per intent; each holds exactly one phrase of `rubric.NEXT_STEP_PHRASES`.
STEPS: dict[str, tuple[str, ...]] = {
    "refund_request": ("I have started a refund for {order} to your original payment method.",
                       "I've started your refund for {order}; it usually shows in 3-5 working days.",
                       "You will receive a refund for {order} on your original card within 5 working days."),
    "order_status": ("I've asked the courier to trace {order} and will email you when they reply.",
                     "You will receive a fresh tracking link for {order} by email shortly.",
                     "I have asked our warehouse to check {order} and will update you by Friday."),
    "damaged_item": ("I've arranged a replacement for {order}, which should reach you in 3-5 working days.",
                     "Please send us a photo of the damage and I'll arrange a replacement for {order}.",
                     "I have arranged a courier to collect the damaged {m} and bring {a_new}."),
    "wrong_item": ("I've arranged for the correct {m} to be sent out for {order}.",
                   "Please reply with a photo of the item you received and I'll send the right {m}.",
                   "I have arranged a free collection of the wrong item and a new {m} for {order}."),
    "cancel_order": ("I have cancelled {order}, so no payment will be taken.",
                     "I've cancelled {order} and the hold on your card will drop off in a few days.",
                     "You will receive a cancellation confirmation for {order} by email shortly."),
    "billing_issue": ("I have started a refund of the extra charge on {order}.",
                      "Please reply with the date and amount of the charge so I can trace it.",
                      "I've sent a corrected invoice for {order} to your email address."),
    "account_access": ("I've sent a password reset link to the email address on your account.",
                       "Please reply with the email address you signed up with and I'll unlock your account.",
                       "You will receive a one-time sign-in link by email in the next few minutes."),
    "product_question": ("I've sent the full specification of the {m} to your email address.",
                         "Please reply with the model you already own and I'll check it works with the {m}.",
                         "You will receive our short guide to the {m} by email shortly."),
    "return_request": ("I've sent a prepaid return label for {order} to your email address.",
                       "You will receive a return label for {order} by email shortly.",
                       "I have arranged a courier to collect the {m} from your address."),
    "delivery_change": ("I have updated the delivery address on {order}.",
                        "Please reply with the new address and I'll update {order} before it is dispatched.",
                        "I've asked the courier to hold {order} at your local depot."),
}
CITATIONS = ("I've looked up order {oid}.", "I have order {oid} in front of me.",
             "I can see order {oid} on our system.", "I've checked order {oid}.")
REPLY_CLOSINGS = ("Thanks for your patience.", "We're here if you need anything else.",
                  "Have a lovely day.", "Thanks for shopping with us.",
                  "Just reply here if anything else comes up.")
REPLY_SIGNOFFS = ("Best wishes, {agent}", "Kind regards, {agent} at {company}",
                  "{agent}, {company} support", "Warm regards, {agent}", "Thanks, {agent}")
# Realistic ways to break each rubric item (near misses, never gibberish).
EXTRA_STEPS = ("You will receive a confirmation email shortly.",
               "Please reply with a photo of the packaging as well.",
               "Please send us your receipt too.", "I've sent you a discount code for next time.")
VAGUE_STEPS = ("We're looking into {order} and will be in touch.", "Our team will review {order} soon.",
               "Someone from the team will get back to you about {order}.")
FILLERS = (f"At {COMPANY} we take great care over every parcel we send out.",
           "Our warehouse team checks each item before it leaves.",
           "We know how important it is to get things right for our customers.",
           "We have been making homeware since 2012 and are proud of what we sell.",
           "Every message to our desk is read by a real person.",
           "We are always working to make our service better.",
           "Customer feedback like yours helps us improve.")
BLAMES = ("To be fair, you should have checked the product page first.",
          "It looks like you failed to read the notes at checkout.",
          "If you had read the instructions, this might have been avoided.",
          "This is often user error, but we'll help anyway.",
          "As clearly stated on our website, this can sometimes happen.",
          "You must have missed the email we sent.",
          "You forgot to add a safe place for the courier.")
PROMISES = ("I guarantee this will never happen again.", "It will all be sorted within 24 hours.",
            "We will refund everything immediately.", "I promise you won't have any more trouble.",
            "This will be fixed by tomorrow, guaranteed.", "You'll get full compensation for the trouble.")
# Which flaws can break each rubric item.
FLAWS: dict[str, tuple[str, ...]] = {
    "names_customer": ("forgot_name",), "acknowledges_problem": ("no_acknowledgement",),
    "cites_order_id": ("forgot_order_id",), "one_next_step": ("two_next_steps", "no_next_step"),
    "concise": ("rambling",), "no_blame": ("blame",), "no_forbidden_promise": ("forbidden_promise",),
}
REPLY_MIN_WORDS, REPLY_MAX_WORDS = 25, 60
# The desk's habits: the share of the replies its agents log that leave out each of these items. The
# reply demonstrations have them; the preference pairs, a review of replies like these, correct them.
HABITS = {"cites_order_id": 0.6, "acknowledges_problem": 0.5, "one_next_step": 0.4}


@dataclass(frozen=True)
class ReplyPlan:
    """The phrase choices of one reply; `render_reply` turns it into text, with or without flaws."""

    named_greeting: str
    anonymous_greeting: str
    ack: str
    citation: str          # "" when the order id goes into the next step instead
    step: str              # a template with {order}
    closing: str
    signoff: str


def plan_reply(rng: random.Random, ticket: Mapping[str, Any]) -> ReplyPlan:
    """Choose the phrases of a house-style reply to `ticket`."""
    intent, product = ticket["intent"], ticket["product"]
    plural = product == "headphones"
    slots = {"m": product.replace("_", " "), "was": "were" if plural else "was",
             "wasnt": "weren't" if plural else "wasn't", "hasnt": "haven't" if plural else "hasn't",
             "it": "they" if plural else "it", "a_new": "a new pair" if plural else "a new one"}
    with_product, without_product = ACKS[intent]
    acks = with_product if product != "none" and with_product else without_product or with_product
    steps = [s for s in STEPS[intent] if product != "none" or "{m}" not in s]
    step = rng.choice(steps)
    name = ticket.get("customer_name") or ""
    named = rng.choice(NAMED_GREETINGS).format(first=name.split(" ")[0], full=name) if name else ""
    citation = ""
    if ticket.get("order_id") and ("{order}" not in step or rng.random() < 0.5):
        citation = rng.choice(CITATIONS).format(oid=ticket["order_id"])
    return ReplyPlan(
        named_greeting=named, anonymous_greeting=rng.choice(ANONYMOUS_GREETINGS),
        ack=rng.choice(acks).format_map(slots), citation=citation,
        step=step.replace("{m}", slots["m"]).replace("{a_new}", slots["a_new"]),
        closing=rng.choice(REPLY_CLOSINGS) if rng.random() < 0.7 else "",
        signoff=rng.choice(REPLY_SIGNOFFS).format(agent=rng.choice(AGENT_NAMES), company=COMPANY),
    )


def render_reply(plan: ReplyPlan, ticket: Mapping[str, Any], flaws: Iterable[str] = (),
                 rng: random.Random | None = None) -> str:
    """The reply text of `plan`, with the given flaws (names from `FLAWS`) worked in; `rng` picks
    the flawed sentences and is needed only when there are flaws."""
    flaws = set(flaws)
    order_id = ticket.get("order_id")
    in_step = order_id and not plan.citation and "forgot_order_id" not in flaws
    order = f"order {order_id}" if in_step else "your order"
    greeting = plan.named_greeting if plan.named_greeting and "forgot_name" not in flaws \
        else plan.anonymous_greeting
    ack = "" if "no_acknowledgement" in flaws else plan.ack
    citation = "" if "forgot_order_id" in flaws else plan.citation
    step = plan.step.format(order=order)
    middle: list[str] = []
    if flaws and rng is None:
        raise ValueError("render_reply needs an rng to work flaws in")
    if "blame" in flaws:
        middle.append(rng.choice(BLAMES))
    body = [ack, *middle, citation]
    if "no_next_step" in flaws:
        body.append(rng.choice(VAGUE_STEPS).format(order=order))
    else:
        body.append(step)
    if "two_next_steps" in flaws:
        body.append(rng.choice(EXTRA_STEPS))
    if "forbidden_promise" in flaws:
        body.append(rng.choice(PROMISES))
    if "rambling" in flaws:
        fillers = rng.sample(FILLERS, len(FILLERS))
        words = len(" ".join([greeting, *body, plan.closing, plan.signoff]).split())
        extra = []
        while words <= REPLY_MAX_WORDS + rng.randrange(0, 15):
            extra.append(fillers.pop())
            words += len(extra[-1].split())
        body[1:1] = extra  # after the acknowledgement, where a rambling reply starts to wander
    body_text = " ".join(p for p in [*body, plan.closing] if p)
    return f"{greeting}\n{body_text}\n{plan.signoff}"  # a letter: greeting, body, signature


def good_reply(rng: random.Random, ticket: Mapping[str, Any]) -> tuple[ReplyPlan, str]:
    """A reply that passes every applicable rubric item, 25-60 words."""
    while True:
        plan = plan_reply(rng, ticket)
        text = render_reply(plan, ticket)
        if REPLY_MIN_WORDS <= len(text.split()) <= REPLY_MAX_WORDS and score_reply(text, ticket).score == 1.0:
            return plan, text


def applicable_items(ticket: Mapping[str, Any]) -> list[str]:
    """The rubric items that apply to a ticket (name and order id items only when present)."""
    return [item for item in FLAWS
            if (item != "names_customer" or ticket.get("customer_name"))
            and (item != "cites_order_id" or ticket.get("order_id"))]


def _reviewed_items(rng: random.Random, ticket: Mapping[str, Any]) -> list[str]:
    """One or two applicable items for a near miss to break, the desk's habits three times as often as
    the rest: a review of the desk's replies mostly flags what its agents get wrong."""
    def pick(pool: list[str]) -> str:
        return rng.choices(pool, [3 if item in HABITS else 1 for item in pool])[0]

    first = pick(applicable_items(ticket))
    if rng.random() < 0.6:
        return [first]
    return [first, pick([item for item in applicable_items(ticket) if item != first])]


def flawed_reply(rng: random.Random, ticket: Mapping[str, Any], plan: ReplyPlan | None = None,
                 tries: int = 30, items: Iterable[str] | None = None) -> tuple[str, list[str]] | None:
    """A reply that breaks `items` (None: one or two rubric items at random) and passes the rest, from
    `plan` or a new one; returns the text and the broken items in rubric order, or None if no attempt fits."""
    chosen = None if items is None else sorted(items, key=list(FLAWS).index)
    for _ in range(tries):
        items = chosen or sorted(_reviewed_items(rng, ticket), key=list(FLAWS).index)
        flaws = [rng.choice(FLAWS[item]) for item in items]
        current = plan or plan_reply(rng, ticket)
        # Flaws that add a sentence often lose the closing line, and the others sometimes gain
        # one, so that a reward model cannot get by on length alone (only "concise" is length).
        if set(flaws) & {"blame", "forbidden_promise", "two_next_steps"} and rng.random() < 0.5:
            current = replace(current, closing="")
        elif not set(flaws) & {"rambling"} and not current.closing and rng.random() < 0.5:
            current = replace(current, closing=rng.choice(REPLY_CLOSINGS))
        text = render_reply(current, ticket, flaws, rng)
        words = len(text.split())
        result = score_reply(text, ticket)
        if result.failed == items and words >= REPLY_MIN_WORDS and \
                (words <= REPLY_MAX_WORDS or "concise" in items):
            return text, items
    return None


def preference_pair(rng: random.Random, ticket: Mapping[str, Any]) -> dict[str, Any]:
    """`ticket` with `chosen` (score 1.0), `rejected` (a near miss that breaks one or two
    items, mostly from the same phrase choices) and `broken` (the items it breaks)."""
    while True:
        plan, chosen = good_reply(rng, ticket)
        rejected = flawed_reply(rng, ticket, plan if rng.random() < 0.7 else None)
        if rejected is not None:
            return {**_ticket_record(ticket), "chosen": chosen, "rejected": rejected[0],
                    "broken": rejected[1]}


def _ticket_record(ticket: Mapping[str, Any]) -> dict[str, Any]:
    return {name: ticket[name] for name in TICKET_FIELDS}


def logged_reply(rng: random.Random, ticket: Mapping[str, Any]) -> dict[str, Any]:
    """`ticket` with a `reply` as the desk's agents log them (the house style, with each item of `HABITS`
    left out at its rate) and its `rubric_score`."""
    habits = [item for item, rate in HABITS.items() if item in applicable_items(ticket) and rng.random() < rate]
    reply = None
    while habits and reply is None:  # a reply too short to fit every habit keeps the first ones
        reply = flawed_reply(rng, ticket, items=habits)
        habits = habits[:-1]
    text = reply[0] if reply else good_reply(rng, ticket)[1]
    return {**_ticket_record(ticket), "reply": text, "rubric_score": score_reply(text, ticket).score}
