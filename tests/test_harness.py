"""The evaluation harness on known data and tiny models made on the fly: bootstrap intervals, BM25
retrieval, few-shot prompts, the `evaluate` metric modules, error analysis, verdict parsing and the
pairwise judge, and clear errors on bad input."""

import json

import numpy as np
import pytest

from helpers.baselines import (BM25Retriever, bm25_tokens, few_shot_messages, fit_shots, pick_shots,
                               retrieval_replies, retrieval_triage)
from helpers.evaluation import reply_scores
from helpers.harness import (NO_ANSWER, OTHER_LABEL, answer_nll, confusion_matrix, evaluate_on_file,
                             failure_shares, load_for_evaluation, load_kit_metric, predicted_labels,
                             ticket_references, triage_metric_suite, triage_references, worst_examples)
from helpers.intervals import bootstrap_ci, paired_difference_ci, ppl_statistic, with_intervals
from helpers.judges import judge_agreement, judge_pairs, parse_verdict, verdict_probabilities
from helpers.metric_modules import metric_path
from helpers.metrics import score_triage, triage_example_scores
from helpers.rubric import reply_example_scores, rubric_verdict
from helpers.modeling import build_model
from helpers.tasks import reply_messages, triage_messages, triage_target
from helpers.tokenization import train_tokenizer

KETTLE = {"message": "My kettle arrived broken, order LL-482913. Please help.", "intent": "damaged_item",
          "product": "kettle", "order_id": "LL-482913", "urgency": "high", "sentiment": "negative",
          "customer_name": "Priya Shah"}
PARCEL = {"message": "Where is my parcel? The tracking has not moved.", "intent": "order_status",
          "product": "none", "order_id": None, "urgency": "low", "sentiment": "neutral", "customer_name": None}
LAMP = {"message": "Can I return the desk lamp? It is too bright.", "intent": "return_request",
        "product": "desk_lamp", "order_id": None, "urgency": "medium", "sentiment": "neutral",
        "customer_name": "Tom Reyes"}
GOOD_REPLY = ("Hi Priya,\nI'm sorry your kettle arrived broken. I have arranged a replacement for order "
              "LL-482913. Just reply here if anything else comes up.")
BAD_REPLY = "Dear customer,\nYou should have checked the box. We guarantee a refund immediately."


# ---- bootstrap ------------------------------------------------------------------------------

def test_bootstrap_of_a_constant_is_a_point():
    assert bootstrap_ci([0.7] * 50) == pytest.approx((0.7, 0.7, 0.7))


def test_bootstrap_interval_of_a_coin_has_the_textbook_width():
    values = np.array([0, 1] * 200)  # p = 0.5, n = 400: the normal interval is +-1.96 * sqrt(.25 / 400)
    estimate, low, high = bootstrap_ci(values, n_resamples=2000, seed=0)
    assert estimate == 0.5 and low < 0.5 < high
    assert high - low == pytest.approx(2 * 1.96 * 0.025, rel=0.15)
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)  # seeded: repeatable
    narrower = bootstrap_ci(values, confidence=0.5, seed=0)
    assert narrower[2] - narrower[1] < (high - low) / 2


def test_bootstrap_skips_missing_values_and_takes_any_statistic():
    estimate, low, high = bootstrap_ci([1.0, np.nan, 0.0, 1.0, np.nan, 1.0], seed=0)
    assert estimate == 0.75 and 0 <= low <= estimate <= high <= 1
    rows = np.array([[2.0, 1], [4.0, 3]])  # total nll 6 over 4 tokens
    assert ppl_statistic(rows) == pytest.approx(np.exp(1.5))
    estimate, low, high = bootstrap_ci(rows, statistic=ppl_statistic, n_resamples=200)
    assert (
        estimate == pytest.approx(np.exp(1.5))
        and np.exp(4 / 3) - 1e-9 <= low <= estimate <= high <= np.exp(2) + 1e-9
    )


def test_with_intervals_and_paired_differences():
    summary = with_intervals({"json_valid": np.array([1.0, 1.0, 0.0, 1.0])}, n_resamples=100)
    assert set(summary) == {"json_valid", "json_valid_ci_low", "json_valid_ci_high"}
    assert summary["json_valid_ci_low"] <= summary["json_valid"] == 0.75 <= summary["json_valid_ci_high"]
    a = np.array([1.0] * 80 + [0.0] * 20)
    assert paired_difference_ci(a, a) == (0.0, 0.0, 0.0)
    diff, low, high = paired_difference_ci(a, np.zeros(100))
    assert diff == 0.8 and low > 0.6


def test_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 0.0], confidence=95)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci([1.0, 0.0], n_resamples=0)
    with pytest.raises(ValueError, match="same shape"):
        paired_difference_ci([1, 0, 1], [1, 0])


# ---- baselines ------------------------------------------------------------------------------

def test_bm25_finds_the_ticket_that_shares_the_rare_words():
    train = [KETTLE, PARCEL, LAMP]
    retriever = BM25Retriever([r["message"] for r in train])
    assert retriever.nearest("the kettle is broken") == 0
    assert retriever.nearest("tracking for my parcel please") == 1
    assert retriever.top("return a lamp", k=3)[0] == 2 and sorted(retriever.top("lamp", k=3)) == [0, 1, 2]
    assert bm25_tokens("Order LL-482913!") == ["order", "ll", "482913"]
    outputs, neighbours = retrieval_triage(train, [{**LAMP, "message": "I want to return this lamp"}])
    assert neighbours == [2] and json.loads(outputs[0]) == json.loads(triage_target(LAMP))
    replies, neighbours = retrieval_replies([{**KETTLE, "reply": GOOD_REPLY}, {**PARCEL, "reply": "x"}],
                                            [{"message": "kettle broken"}])
    assert replies == [GOOD_REPLY] and neighbours == [0]


def test_baselines_reject_bad_input():
    with pytest.raises(ValueError, match="at least one text"):
        BM25Retriever([])
    with pytest.raises(ValueError, match="k must be"):
        BM25Retriever(["a b"]).top("a", k=0)
    with pytest.raises(ValueError, match="needs a 'reply'"):
        retrieval_replies([KETTLE], [PARCEL])
    with pytest.raises(ValueError, match="only 3 examples"):
        pick_shots([KETTLE, PARCEL, LAMP], k=5)


def test_shots_are_varied_and_fit_the_context(tokenizer):
    pool = [{**r, "message": f"{r['message'][:20]} {'x' * i}"} for i in range(4) for r in (KETTLE, PARCEL, LAMP)]
    shots = pick_shots(pool, k=3, seed=0)
    assert len({s["intent"] for s in shots}) == 3 and pick_shots(pool, k=3, seed=0) == shots
    messages = few_shot_messages("My lamp flickers", shots)
    assert [m["role"] for m in messages] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    assert messages[2]["content"] == triage_target(shots[0])
    build = lambda record, s: few_shot_messages(record["message"], s)
    assert len(fit_shots(tokenizer, shots, build, [KETTLE], context=10_000, max_new_tokens=96)) == 3
    one_shot = len(tokenizer.apply_chat_template(build(KETTLE, shots[:1]), add_generation_prompt=True)["input_ids"])
    assert len(fit_shots(tokenizer, shots, build, [KETTLE], context=one_shot + 10, max_new_tokens=10)) == 1
    assert fit_shots(tokenizer, shots, build, [KETTLE], context=5, max_new_tokens=10) == []


# ---- metric modules -------------------------------------------------------------------------

TRIAGE_OUTPUTS = [triage_target(KETTLE), json.dumps({**json.loads(triage_target(PARCEL)), "urgency": "high"}),
                  "not json", json.dumps({**json.loads(triage_target(LAMP)), "product": "toaster"})]
TRIAGE_REFS = [KETTLE, PARCEL, LAMP, LAMP]


def test_metric_modules_through_evaluate_combine_match_the_kit():
    suite = triage_metric_suite()
    combined = suite.compute(predictions=TRIAGE_OUTPUTS, references=triage_references(TRIAGE_REFS))
    kit = score_triage(TRIAGE_OUTPUTS, TRIAGE_REFS)
    assert combined == pytest.approx(kit) and set(combined) == set(kit)
    per_example = triage_example_scores(TRIAGE_OUTPUTS, TRIAGE_REFS)
    assert {k: v.mean() for k, v in per_example.items()} == pytest.approx(kit)

    replies, tickets = [GOOD_REPLY, BAD_REPLY, "Hi Tom, sorry about the lamp."], [KETTLE, KETTLE, LAMP]
    rubric = load_kit_metric("rubric_score").compute(predictions=replies, references=ticket_references(tickets))
    assert rubric == pytest.approx(reply_scores(replies, tickets))
    per_reply = reply_example_scores(replies, tickets)
    assert {k: np.nanmean(v) for k, v in per_reply.items()} == pytest.approx(rubric)
    assert per_reply["rubric_score"][0] == 1.0 and np.isnan(per_reply["rubric_cites_order_id"][2])


def test_metric_modules_reject_bad_references():
    with pytest.raises(KeyError, match="Unknown metric module"):
        metric_path("bleu")
    metric = load_kit_metric("field_accuracy")
    with pytest.raises(ValueError, match="reference 1 is not a JSON object"):
        metric.compute(predictions=["{}", "{}"], references=[triage_target(KETTLE), "kettle"])
    with pytest.raises(ValueError, match="lacks the triage field"):
        metric.compute(predictions=["{}"], references=[json.dumps({"intent": "damaged_item"})])
    with pytest.raises(ValueError, match="replies for"):
        reply_example_scores(["a"], [KETTLE, LAMP])


# ---- error analysis -------------------------------------------------------------------------

def test_confusion_matrix_counts_right_wrong_other_and_missing():
    predicted = predicted_labels(TRIAGE_OUTPUTS, TRIAGE_REFS, "product")
    assert predicted == ["kettle", "none", NO_ANSWER, OTHER_LABEL]
    table = confusion_matrix(TRIAGE_OUTPUTS, TRIAGE_REFS, "product")
    assert table.loc["kettle", "kettle"] == 1 and table.loc["none", "none"] == 1
    assert table.loc["desk_lamp", NO_ANSWER] == 1 and table.loc["desk_lamp", OTHER_LABEL] == 1
    assert table.values.sum() == 4
    with pytest.raises(KeyError, match="no fixed labels"):
        confusion_matrix(TRIAGE_OUTPUTS, TRIAGE_REFS, "order_id")


def test_failure_shares_and_worst_examples():
    shares = failure_shares(triage_example_scores(TRIAGE_OUTPUTS, TRIAGE_REFS))
    assert shares["urgency"] == 0.5 and shares["product"] == 0.5 and shares["intent"] == 0.25
    assert "field" not in shares and "json_valid" not in shares
    rubric_shares = failure_shares(reply_example_scores([GOOD_REPLY, BAD_REPLY], [KETTLE, KETTLE]))
    assert rubric_shares["no_blame"] == 0.5 and rubric_shares["names_customer"] == 0.5
    worst = worst_examples(
        [0.5, 0.0, 1.0, 0.0], ["a", "b", "c", "d"], ["oa", "ob", "oc", "od"], ["ra", "rb", "rc", "rd"], k=2
    )
    assert [w["index"] for w in worst] == [1, 3] and worst[0]["output"] == "ob"


# ---- judges ---------------------------------------------------------------------------------

def test_parse_verdict_reads_letters_and_rejects_junk():
    for text, verdict in [("A", "A"), ("b.", "B"), ("(B)", "B"), ("**A**", "A"), ("Reply B", "B"),
                          ("Answer: A", "A"), ("The answer is B.", "B"), ("B) it names the order", "B")]:
        assert parse_verdict(text) == verdict, text
    for junk in ["", None, 42, "zzz", "A or B", "Reply A is worse than reply B", "A refund is due",
                 "Thanks, Lumen & Loom support"]:
        assert parse_verdict(junk) is None, junk


def test_rubric_verdict():
    assert rubric_verdict(GOOD_REPLY, BAD_REPLY, KETTLE) == "A"
    assert rubric_verdict(BAD_REPLY, GOOD_REPLY, KETTLE) == "B"
    assert rubric_verdict(GOOD_REPLY, GOOD_REPLY, KETTLE) == "tie"


@pytest.fixture(scope="module")
def tokenizer():
    texts = [KETTLE["message"], PARCEL["message"], LAMP["message"], GOOD_REPLY, BAD_REPLY, "Reply A B",
             triage_target(KETTLE), triage_target(PARCEL)] * 20
    return train_tokenizer(texts, vocab_size=400)


@pytest.fixture(scope="module")
def model(tokenizer):
    return build_model(tokenizer, seed=0)


def test_model_judge_gives_probabilities_and_cancels_position(model, tokenizer):
    tickets, first, second = [KETTLE, LAMP], [GOOD_REPLY, "Hi Tom, sorry."], [BAD_REPLY, "No."]
    from helpers.judges import judge_messages

    p = verdict_probabilities(model, tokenizer, [judge_messages(t, a, b) for t, a, b in zip(tickets, first, second)])
    assert p.shape == (2,) and ((0 < p) & (p < 1)).all()
    judged = judge_pairs(model, tokenizer, tickets, first, second)
    assert judged["p_first_as_a"] == pytest.approx(p)
    assert judged["p_first"] == pytest.approx((judged["p_first_as_a"] + judged["p_first_as_b"]) / 2)
    assert len(judged["says_a"]) == 4
    # the same pair asked in the swapped order: the roles of the two probabilities swap too
    swapped = judge_pairs(model, tokenizer, tickets, second, first)
    assert swapped["p_first_as_a"] == pytest.approx(1 - judged["p_first_as_b"], abs=1e-5)
    summary = judge_agreement(judged, [True, True], n_resamples=50)
    assert 0 <= summary["agreement"] <= 1 and summary["agreement_ci_low"] <= summary["agreement"]
    with pytest.raises(ValueError, match="pair up"):
        judge_pairs(model, tokenizer, tickets, first, second[:1])


def test_answer_nll_counts_the_answer_tokens(model, tokenizer):
    conversations = [triage_messages(KETTLE["message"], KETTLE), reply_messages(LAMP, "Hi Tom, sorry.")]
    rows = answer_nll(model, tokenizer, conversations)
    assert rows.shape == (2, 2) and (rows[:, 0] > 0).all()
    answer_tokens = len(tokenizer(triage_target(KETTLE), add_special_tokens=False)["input_ids"]) + 1  # + end of turn
    assert rows[0, 1] == answer_tokens
    assert ppl_statistic(rows) > 1


def test_load_for_evaluation_puts_an_adapter_on_its_base(tmp_path, model, tokenizer):
    from peft import LoraConfig, PeftModel, get_peft_model

    base_dir = tmp_path / "base"
    model.save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)
    adapter = get_peft_model(build_model(tokenizer, seed=0), LoraConfig(r=2, target_modules=["q_proj"]))
    adapter.save_pretrained(tmp_path / "adapter")
    loaded, loaded_tokenizer = load_for_evaluation(tmp_path / "adapter", base=base_dir)
    assert isinstance(loaded, PeftModel) and len(loaded_tokenizer) == len(tokenizer)
    plain, _ = load_for_evaluation(base_dir)
    assert not isinstance(plain, PeftModel)
    with pytest.raises(FileNotFoundError, match="No model"):
        load_for_evaluation(tmp_path / "missing")
    data = tmp_path / "tickets.jsonl"
    data.write_text(
        "".join(json.dumps({**r, "ticket_id": f"T{i}"}) + "\n" for i, r in enumerate([KETTLE, PARCEL, LAMP]))
    )
    scores = evaluate_on_file(base_dir, data, n_resamples=20)
    assert scores["json_valid_ci_low"] <= scores["json_valid"] <= scores["json_valid_ci_high"]
    assert scores["answer_ppl"] > 1
