"""Preference pairs as TRL datasets, and replies judged by the rubric: scores, win rates, seeded
sampling and the KL between two models, on a tiny model made on the fly."""

import json

import pytest

from helpers.data import DataError, load_preference_pairs, preference_dataset
from helpers.evaluation import evaluate_replies, kl_to_reference, reply_scores, win_rate
from helpers.generation import chat_generate
from helpers.modeling import build_model
from helpers.rubric import RUBRIC_ITEMS
from helpers.tasks import reply_messages
from helpers.tokenization import train_tokenizer

TICKET = {"customer_name": "Priya Shah", "message": "My kettle arrived broken.", "intent": "damaged_item",
          "product": "kettle", "order_id": "LL-482913"}
GOOD = ("Dear Priya,\nI'm sorry your kettle arrived damaged. I have arranged a replacement for order "
        "LL-482913.\nBest wishes, Noor")
BAD = "Hello,\nYou should have checked the box. We guarantee a new kettle by tomorrow."


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_kit_pairs_use_the_reply_prompt_and_keep_their_row(tmp_path):
    path = write_jsonl(tmp_path / "pairs.jsonl", [{**TICKET, "chosen": GOOD, "rejected": BAD}])
    [pair] = load_preference_pairs(path)
    assert pair["prompt"] == reply_messages(TICKET)
    assert pair["chosen"] == [{"role": "assistant", "content": GOOD}]
    assert pair["row"]["order_id"] == "LL-482913"


def test_anyones_pairs_take_strings_or_messages(tmp_path):
    rows = [{"prompt": "Say hi", "chosen": "Hi!", "rejected": "Go away."},
            {"prompt": [{"role": "user", "content": "Say hi"}], "chosen": "Hello!",
             "rejected": [{"role": "assistant", "content": "No."}]}]
    pairs = load_preference_pairs(write_jsonl(tmp_path / "pairs.jsonl", rows))
    dataset = preference_dataset(pairs)
    assert dataset.column_names == ["prompt", "chosen", "rejected"] and len(dataset) == 2
    assert dataset[1]["rejected"] == [{"role": "assistant", "content": "No."}]


@pytest.mark.parametrize("row, cause", [
    ({"chosen": "a", "rejected": "b"}, "needs a 'prompt'"),
    ({"prompt": "q", "chosen": "", "rejected": "b"}, "non-empty"),
    ({"prompt": "q", "chosen": "a"}, "non-empty"),
    ({"prompt": "q", "chosen": [{"role": "assistant"}], "rejected": "b"}, "non-empty"),
    ({"prompt": "q", "chosen": "same", "rejected": "same"}, "nothing to prefer"),
])
def test_bad_pairs_name_the_file_and_line(tmp_path, row, cause):
    path = write_jsonl(tmp_path / "pairs.jsonl", [{"prompt": "q", "chosen": "a", "rejected": "b"}, row])
    with pytest.raises(DataError, match=f"pairs.jsonl, line 2: .*{cause}"):
        load_preference_pairs(path)


def test_an_empty_pairs_file_is_an_error(tmp_path):
    with pytest.raises(DataError, match="pairs.jsonl: the file is empty"):
        load_preference_pairs(write_jsonl(tmp_path / "pairs.jsonl", []))


def test_reply_scores_average_the_rubric_and_report_each_item():
    scores = reply_scores([GOOD, BAD], [TICKET, TICKET])
    assert scores["rubric_score"] == pytest.approx(0.5 * (1.0 + 1 / 7))  # BAD is only concise
    assert {f"rubric_{item}" for item in RUBRIC_ITEMS} <= set(scores)
    assert scores["rubric_no_blame"] == 0.5 and scores["rubric_names_customer"] == 0.5
    with pytest.raises(ValueError, match="2 replies for 1 tickets"):
        reply_scores([GOOD, BAD], [TICKET])


def test_win_rate_counts_ties_as_half():
    assert win_rate([GOOD, BAD, GOOD], [BAD, GOOD, GOOD], [TICKET] * 3) == pytest.approx(1.5 / 3)
    with pytest.raises(ValueError):
        win_rate([GOOD], [BAD, BAD], [TICKET, TICKET])


@pytest.fixture(scope="module")
def tiny():
    tokenizer = train_tokenizer([GOOD, BAD, TICKET["message"]] * 40, vocab_size=300)
    return build_model(tokenizer, seed=0), build_model(tokenizer, seed=1), tokenizer


def test_sampling_is_seeded_and_greedy_is_deterministic(tiny):
    model, _, tokenizer = tiny
    conversations = [reply_messages(TICKET)] * 3
    first = chat_generate(model, tokenizer, conversations, max_new_tokens=8, temperature=1.0, seed=3, progress=False)
    again = chat_generate(model, tokenizer, conversations, max_new_tokens=8, temperature=1.0, seed=3, progress=False)
    other = chat_generate(model, tokenizer, conversations, max_new_tokens=8, temperature=1.0, seed=4, progress=False)
    assert first == again and first != other
    greedy = chat_generate(model, tokenizer, conversations, max_new_tokens=8, progress=False)
    assert len(set(greedy)) == 1


def test_kl_is_zero_to_itself_and_positive_to_another_model(tiny):
    model, other, tokenizer = tiny
    scores, replies = evaluate_replies(model, tokenizer, [TICKET] * 4, progress=False)
    assert 0 <= scores["rubric_score"] <= 1 and len(replies) == 4
    assert kl_to_reference(model, model, tokenizer, [TICKET] * 4, replies) == pytest.approx(0, abs=1e-5)
    assert kl_to_reference(model, other, tokenizer, [TICKET] * 4, replies) > 0
