"""The house-style rubric: each item on hand-written replies, applicability, bounds and case."""

import pytest

from helpers.rubric import (RUBRIC_DESCRIPTIONS, RUBRIC_ITEMS, RubricResult, count_next_steps,
                            score_reply)

TICKET = {"customer_name": "Priya Shah", "intent": "damaged_item", "product": "desk_lamp",
          "order_id": "LL-482913"}
GOOD = ("Hi Priya,\nI'm sorry your desk lamp arrived damaged. I've arranged a replacement for order "
        "LL-482913, which should reach you in 3-5 working days.\nBest wishes, Sam")


def failed(reply: str, ticket: dict = TICKET) -> list[str]:
    return score_reply(reply, ticket).failed


def test_a_house_style_reply_scores_one():
    result = score_reply(GOOD, TICKET)
    assert isinstance(result, RubricResult)
    assert result.score == 1.0
    assert list(result.items) == list(RUBRIC_ITEMS)
    assert set(RUBRIC_DESCRIPTIONS) == set(RUBRIC_ITEMS)


@pytest.mark.parametrize("reply, passes", [
    (GOOD, True),
    (GOOD.replace("Hi Priya,", "Dear Priya Shah,"), True),
    (GOOD.replace("Hi Priya,", "Hi there,"), False),
    (GOOD.replace("Hi Priya,", "Dear Ms Shah,"), False),        # the first name is the rule
    (GOOD.replace("Hi Priya,", "Hi Priyanka,"), False),         # whole words only
])
def test_names_customer(reply, passes):
    assert score_reply(reply, TICKET).items["names_customer"] is passes


@pytest.mark.parametrize("reply, passes", [
    (GOOD, True),
    (GOOD.replace("your desk lamp arrived damaged", "about this"), False),      # no product/problem
    (GOOD.replace("I'm sorry your desk lamp arrived damaged.", "Your lamp arrived."), False),  # no apology
    (GOOD.replace("desk lamp arrived damaged", "parcel was broken"), True),   # the problem named
    (GOOD.replace("I'm sorry your", "Apologies: your"), True),
])
def test_acknowledges_problem(reply, passes):
    assert score_reply(reply, TICKET).items["acknowledges_problem"] is passes


def test_acknowledgement_of_a_ticket_about_no_product_needs_the_problem():
    ticket = {"intent": "account_access", "product": "none", "customer_name": None, "order_id": None}
    ok = "Hello,\nSorry you've been locked out of your account. I've sent a reset link to your email.\nSam"
    vague = "Hello,\nSorry about that. I've sent a reset link to your email.\nSam"
    assert score_reply(ok, ticket).items["acknowledges_problem"] is True
    assert score_reply(vague, ticket).items["acknowledges_problem"] is False


@pytest.mark.parametrize("reply, passes", [
    (GOOD, True),
    (GOOD.replace("order LL-482913", "your order"), False),
    (GOOD.replace("LL-482913", "482913"), False),              # the canonical id, not its digits
    (GOOD.replace("LL-482913", "ll-482913"), True),            # any case
    (GOOD.replace("LL-482913", "LL-4829130"), False),          # not a longer number
])
def test_cites_order_id(reply, passes):
    assert score_reply(reply, TICKET).items["cites_order_id"] is passes


@pytest.mark.parametrize("reply, steps", [
    (GOOD, 1),
    (GOOD.replace("I've arranged a replacement", "We will look at a replacement"), 0),
    (GOOD + " Please send us a photo of the box too.", 2),
    ("Please reply with your address. You will receive a label. I have started a refund.", 3),
    ("I’ve started a refund.", 1),                            # curly apostrophe
    ("I HAVE SENT a label.", 1),                              # any case
])
def test_one_next_step(reply, steps):
    assert count_next_steps(reply) == steps
    assert score_reply(reply, TICKET).items["one_next_step"] is (steps == 1)


def test_concise_counts_words():
    assert score_reply(" ".join(["word"] * 60), TICKET).items["concise"] is True
    assert score_reply(" ".join(["word"] * 61), TICKET).items["concise"] is False
    filler = "We take great care over every parcel and we are proud of it. " * 3
    rambling = GOOD.replace("Best", filler + "Best")
    assert failed(rambling) == ["concise"]


@pytest.mark.parametrize("sentence", [
    "You should have checked the size guide.", "If you had read the instructions, it would work.",
    "This is user error.", "YOU FAILED TO enter the right address.", "It's not our fault.",
    "You forgot to add a safe place.",
])
def test_no_blame(sentence):
    assert failed(GOOD.replace("\nBest", f" {sentence}\nBest")) == ["no_blame"]


@pytest.mark.parametrize("sentence", [
    "I guarantee it.", "It is guaranteed to work.", "It will arrive within 24 hours.",
    "We will refund everything immediately.", "This will never happen again.",
    "Delivery is free for life.", "I promise it will be perfect.", "We are 100% sure.",
])
def test_no_forbidden_promise(sentence):
    assert failed(GOOD.replace("\nBest", f" {sentence}\nBest")) == ["no_forbidden_promise"]


def test_harmless_look_alikes_pass():
    # "you should see", "on time", "reply here" are not blame, promises or next steps.
    reply = GOOD.replace("\nBest", " You should see it soon. Just reply here if you need us.\nBest")
    assert score_reply(reply, TICKET).score == 1.0


def test_items_about_name_and_order_apply_only_when_the_ticket_has_them():
    ticket = dict(TICKET, customer_name=None, order_id=None)
    reply = GOOD.replace("Hi Priya,", "Hi there,").replace("order LL-482913", "your order")
    result = score_reply(reply, ticket)
    assert "names_customer" not in result.items and "cites_order_id" not in result.items
    assert result.score == 1.0
    assert score_reply(reply, TICKET).score == pytest.approx(5 / 7)


def test_score_is_the_mean_of_the_applicable_items_and_stays_in_bounds():
    worst = ("You should have read the manual. I guarantee nothing. " * 10).strip()
    result = score_reply(worst, TICKET)
    assert result.score == 0.0 and not any(result.items.values())
    assert result.failed == list(RUBRIC_ITEMS)
    half = score_reply(GOOD.replace("Hi Priya,", "Hi,") + " I guarantee it.", TICKET)
    assert half.score == pytest.approx(5 / 7)
    for reply in ("", "   ", GOOD, worst):
        assert 0.0 <= score_reply(reply, TICKET).score <= 1.0


def test_matching_ignores_case():
    assert score_reply(GOOD.upper(), TICKET).score == 1.0
    assert score_reply(GOOD.lower(), TICKET).score == 1.0
