"""Loading, cleaning, splitting, chat formatting and saving ticket data."""

import json
import random
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from helpers.cleaning import (DROP_REASONS, PIPELINE_ORDER, NearDuplicateIndex, clean_tickets,
                              estimate_chat_tokens, leakage_report, shingle_frequencies, strip_html)
from helpers.data import (KIT_FIELDS, load_records, load_splits, normalize_order_id, parse_column_mapping,
                          save_splits, stratified_split, to_chat, token_lengths)
from helpers.runtime import DATA_DIR
from helpers.tasks import INTENTS, TRIAGE_SYSTEM
from helpers.text import NEAR_DUPLICATE_THRESHOLD, jaccard, shingles

SUPPORT = DATA_DIR / "support"
LABELS = {"intent": "damaged_item", "product": "kettle", "urgency": "high", "sentiment": "negative"}
WORDS = ("kettle lamp order parcel refund broken arrived late charge twice account login colour size "
         "return box courier weekend invoice address lid handle cable switch blade motor strap").split()


def ticket(i: int, message: str, **fields) -> dict:
    return {"ticket_id": f"T{i:03d}", "customer_name": "Ana", "message": message, **LABELS,
            "order_id": None, **fields}


def random_message(rng: random.Random, n: int = 18) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


# ----------------------------------------------------------------------------- loading

@pytest.fixture()
def sample():
    return [ticket(1, "My kettle leaks, see order #482913.", order_id="LL-482913"),
            ticket(2, 'The lamp is "dim"\nand flickers, é ü', customer_name=None),
            ticket(3, "Where is my parcel?", intent="order_status", product="none", urgency="low",
                   sentiment="neutral", order_id="LL-000123")]


def write_all_formats(records, folder: Path) -> dict[str, Path]:
    frame = pd.DataFrame(records)
    paths = {"jsonl": folder / "t.jsonl", "csv": folder / "t.csv", "parquet": folder / "t.parquet",
             "json": folder / "t.json", "datasets": folder / "t_dataset"}
    paths["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    paths["json"].write_text(json.dumps(records), encoding="utf-8")
    frame.to_csv(paths["csv"], index=False)
    frame.to_parquet(paths["parquet"], index=False)
    import datasets

    datasets.Dataset.from_pandas(frame).save_to_disk(str(paths["datasets"]))
    return paths


def test_every_format_loads_the_same_records(tmp_path, sample):
    paths = write_all_formats(sample, tmp_path)
    for kind, path in paths.items():
        assert load_records(path) == sample, kind


def test_in_memory_sources(sample):
    assert load_records(pd.DataFrame(sample)) == sample
    assert load_records(sample) == sample


def test_column_mapping_brings_any_names_to_the_kit_schema(tmp_path, sample):
    names = {"message": "body", "intent": "category", "ticket_id": "id", "order_id": "order"}
    theirs = [{names.get(k, k): v for k, v in r.items()} for r in sample]
    for kind, path in write_all_formats(theirs, tmp_path).items():
        assert load_records(path, columns=names) == sample, kind


def test_strict_loading_canonicalises_labels_and_order_ids(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(ticket(1, "hi", intent="Refund", urgency="URGENT", order_id="#482913")) + "\n")
    (record,) = load_records(path)
    assert (record["intent"], record["urgency"], record["order_id"]) == ("refund_request", "high", "LL-482913")
    (raw,) = load_records(path, strict=False)  # lenient: left for clean_tickets to fix and count
    assert (raw["intent"], raw["order_id"]) == ("Refund", "#482913")


def test_unlabeled_data_and_generated_ids(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,extra\nhello,1\nworld,2\n")
    records = load_records(path, columns={"message": "text"}, labeled=False)
    assert [r["ticket_id"] for r in records] == ["row00001", "row00002"]
    assert records[0]["extra"] == "1" and records[0]["intent"] is None


@pytest.mark.parametrize("raw, canonical", [("LL-482913", "LL-482913"), ("#482913", "LL-482913"),
                                            ("482913", "LL-482913"), ("ll 482913", "LL-482913"),
                                            ("LL482913", "LL-482913"), (482913, "LL-482913"),
                                            ("", None), (None, None)])
def test_normalize_order_id(raw, canonical):
    assert normalize_order_id(raw) == canonical


# ----------------------------------------------------------------------------- cleaning steps

def clean(records, test=(), **kwargs):
    rows, report = clean_tickets(records, test, **kwargs)
    assert report.rows_in == report.rows_out + sum(report.dropped.values())
    return rows, report


def only(counts: dict, **expected) -> None:
    assert {k: v for k, v in counts.items() if v} == expected


def test_html_is_stripped_and_counted():
    assert strip_html("<p>Hi&nbsp;<b>there</b> &amp; thanks</p><br/>Bye") == "Hi there & thanks Bye"
    assert strip_html("I <3 it, a < b > c, AT&T") == "I <3 it, a < b > c, AT&T"
    rows, report = clean([ticket(1, "<div>My kettle &quot;leaks&quot;</div>"), ticket(2, "Fine as is")])
    assert rows[0]["message"] == 'My kettle "leaks"' and rows[1]["message"] == "Fine as is"
    only(report.changed, html=1)
    assert report.examples["html"][0] == ("T001", "<div>My kettle &quot;leaks&quot;</div>", 'My kettle "leaks"')


def test_blank_messages_are_dropped():
    rows, report = clean([ticket(1, "hello there"), ticket(2, ""), ticket(3, "  \n\t "), ticket(4, None),
                          ticket(5, "<p> </p>")])
    assert [r["ticket_id"] for r in rows] == ["T001"]
    only(report.dropped, blank_message=4)
    assert report.dropped_ids["blank_message"] == ["T002", "T003", "T004", "T005"]


def test_missing_labels_are_dropped_but_a_null_order_id_is_fine():
    rows, report = clean([ticket(1, "a b c d", intent=None), ticket(2, "e f g h", sentiment=" "),
                          ticket(3, "i j k l", order_id=None)])
    assert [r["ticket_id"] for r in rows] == ["T003"]
    only(report.dropped, missing_label=2)


def test_label_spellings_are_normalised_and_unknown_labels_dropped():
    rows, report = clean([ticket(1, "a b c d", intent="Damaged Item", product="Lamp"),
                          ticket(2, "e f g h", urgency="URGENT"),
                          ticket(3, "i j k l", intent="complaint"),
                          ticket(4, "m n o p")])
    assert [(r["intent"], r["product"], r["urgency"]) for r in rows] == [
        ("damaged_item", "desk_lamp", "high"), ("damaged_item", "kettle", "high"), ("damaged_item", "kettle", "high")]
    only(report.changed, label_spelling=2)
    only(report.dropped, unknown_label=1)


def test_order_ids_are_normalised_and_invalid_ones_dropped():
    rows, report = clean([ticket(1, "a b c d", order_id="#482913"), ticket(2, "e f g h", order_id="ll 000001"),
                          ticket(3, "i j k l", order_id="LL-123456"), ticket(4, "m n o p", order_id="12345")])
    assert [r["order_id"] for r in rows] == ["LL-482913", "LL-000001", "LL-123456"]
    only(report.changed, order_id_format=2)
    only(report.dropped, invalid_order_id=1)


def test_pii_is_scrubbed_once_per_row_and_kind():
    rows, report = clean([ticket(1, "mail a@b.com or c@d.org, card 4111 1111 1111 1111"),
                          ticket(2, "ring 020 7946 0958"), ticket(3, "ref 4821 9931 0042 7765 for LL-482913")])
    assert rows[0]["message"] == "mail [EMAIL] or [EMAIL], card [CARD]"
    assert rows[2]["message"] == "ref 4821 9931 0042 7765 for LL-482913"
    only(report.changed, email=1, card_number=1, phone=1)
    assert report.examples["email"][0][1] is None  # the original is never shown
    assert "@" not in json.dumps(report.to_dict())


def test_exact_and_near_duplicates_are_dropped_keeping_the_first():
    base = "the kettle I ordered last week arrived with a cracked lid and the handle is loose too"
    rows, report = clean([ticket(1, base), ticket(2, base.upper() + "!!"),
                          ticket(3, base + " please help"), ticket(4, "a completely different message about lamps")])
    assert [r["ticket_id"] for r in rows] == ["T001", "T004"]
    only(report.dropped, exact_duplicate=1, near_duplicate=1)
    assert "T001" in report.examples["near_duplicate"][0][2]


def test_too_long_measures_the_whole_chat_example_with_the_tokenizer_or_an_estimate(tokenizer, caplog):
    records = [ticket(1, "word " * 100), ticket(2, "short message here")]
    estimates = [estimate_chat_tokens(chat["messages"]) for chat in to_chat(records)]
    assert estimates[1] > len("short message here") / 4 + 20  # system prompt and answer count too
    rows, report = clean(records, max_tokens=estimates[1])
    assert [r["ticket_id"] for r in rows] == ["T002"]
    only(report.dropped, too_long=1)
    assert "characters / 4" in report.length_rule and "whole chat example" in report.length_rule
    assert f"{estimates[0]} tokens" in report.examples["too_long"][0][2]

    lengths = token_lengths(to_chat(records), tokenizer)  # the chat template applied
    message_only = len(tokenizer("short message here", add_special_tokens=False)["input_ids"])
    assert lengths[1] > message_only
    rows, report = clean(records, max_tokens=lengths[1], tokenizer=tokenizer)
    assert [r["ticket_id"] for r in rows] == ["T002"]
    only(report.dropped, too_long=1)
    assert f"{lengths[0]} tokens" in report.examples["too_long"][0][2]
    assert report.length_rule.startswith("tokens counted with") and "whole chat example" in report.length_rule
    rows, report = clean(records, max_tokens=lengths[1] - 1, tokenizer=tokenizer)
    only(report.dropped, too_long=2)  # the short message fits alone, not as a whole example


def test_counting_long_texts_does_not_warn(tokenizer, capsys):
    from transformers.utils import logging as hf_logging

    limit = tokenizer.model_max_length
    tokenizer.model_max_length = 20
    tokenizer.deprecation_warnings.pop("sequence-length-is-longer-than-the-specified-maximum", None)
    hf_logging.enable_propagation()
    try:
        _, report = clean([ticket(1, "kettle broken " * 50)], max_tokens=10_000, tokenizer=tokenizer)
        assert report.rows_out == 1 and tokenizer.model_max_length == 20
        assert "longer than the specified maximum" not in capsys.readouterr().err
        assert not tokenizer.deprecation_warnings.get("sequence-length-is-longer-than-the-specified-maximum")
    finally:
        tokenizer.model_max_length = limit
        hf_logging.disable_propagation()


def test_test_leaks_are_dropped():
    test = [ticket(900, "my blender makes a grinding noise when I start it on the highest speed setting"),
            ticket(901, "the courier left my backpack at the wrong address and nobody will tell me where it is")]
    rows, report = clean([ticket(1, "My blender makes a grinding noise when I start it on the highest speed setting."),
                          ticket(2, "the courier left my backpack at the wrong address and nobody will tell me "
                                    "where it is now"),
                          ticket(3, "the blender is fine but the lid does not fit")], test)
    assert [r["ticket_id"] for r in rows] == ["T003"]
    only(report.dropped, test_leak=2)
    assert report.dropped_ids["test_leak"] == ["T001", "T002"]


def test_cleaned_records_hold_only_kit_fields_and_report_is_complete():
    raw = [dict(ticket(1, "hello there friend"), customer_email="a@b.com", created_at="2024-01-01")]
    rows, report = clean(raw)
    assert list(rows[0]) == list(KIT_FIELDS)
    assert any("customer_email" in note for note in report.notes)
    assert set(report.dropped) == set(DROP_REASONS)
    frame = report.to_frame()
    assert list(frame.columns) == ["step", "action", "rows", "example_ticket", "before", "after"]
    assert list(frame["step"]) == list(PIPELINE_ORDER)
    json.dumps(report.to_dict())


def test_report_frame_shows_every_reason_counted():
    rows, report = clean([ticket(1, "hello there friend"), ticket(2, "another message entirely")])
    report.drop(rows[1], "over_budget", "a reason added by a caller")
    report.change(rows[0], "translated", "hola", "hello")
    frame = report.to_frame().set_index("step")
    assert list(frame.index) == [*PIPELINE_ORDER, "over_budget", "translated"]
    assert frame.loc["over_budget", "action"] == "dropped" and frame.loc["over_budget", "rows"] == 1
    assert frame.loc["translated", "action"] == "changed" and frame.loc["translated", "example_ticket"] == "T001"
    assert frame["rows"].sum() == sum(report.dropped.values()) + sum(report.changed.values())


@pytest.mark.parametrize("value, expected", [
    (None, None), ("None", None), ("", None), ({"message": "body"}, {"message": "body"}),
    ('{"message": "body", "intent": "category"}', {"message": "body", "intent": "category"})])
def test_parse_column_mapping_takes_a_dict_or_json_text(value, expected):
    assert parse_column_mapping(value) == expected


@pytest.mark.parametrize("value, match", [("{message: body}", "not valid JSON"), ('["body"]', "should map"),
                                          ('{"message": 3}', "should be column names")])
def test_parse_column_mapping_explains_bad_text(value, match):
    with pytest.raises(ValueError, match=match):
        parse_column_mapping(value)


def test_near_duplicate_index_agrees_with_brute_force():
    rng = random.Random(0)
    texts = [random_message(rng, rng.randint(3, 25)) for _ in range(150)]
    texts += [t + " " + rng.choice(WORDS) for t in texts[:60]]  # plenty of near pairs
    index = NearDuplicateIndex(frequencies=shingle_frequencies(texts))
    for i, text in enumerate(texts):
        found = index.find_near(text)
        best = max((jaccard(shingles(text), shingles(texts[j])) for j in range(i)), default=0.0)
        assert (found is not None) == (best >= NEAR_DUPLICATE_THRESHOLD), text
        index.add(str(i), text)


def test_cleaning_a_few_thousand_rows():
    # Runs the indexed de-duplication at the scale of a real export (about a second; the time is
    # in report.seconds, and deliberately not asserted).
    rng = random.Random(1)
    records = [ticket(i, random_message(rng, rng.randint(8, 40))) for i in range(3000)]
    records += [dict(r, ticket_id=f"D{i}", message=r["message"] + " thanks") for i, r in enumerate(records[:100])]
    rows, report = clean(records)
    assert report.dropped["near_duplicate"] >= 100 and report.rows_out <= 3000


# ----------------------------------------------------------------------------- splits, leakage, chat, saving

def labelled(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [ticket(i, random_message(rng), intent=INTENTS[i % 7 if i % 3 else 0]) for i in range(n)]


def test_stratified_split_keeps_proportions_and_is_deterministic():
    records = labelled(400)
    splits = stratified_split(records, validation_fraction=0.2, seed=3)
    assert len(splits["validation"]) == 80 and len(splits["train"]) == 320
    total, val = Counter(r["intent"] for r in records), Counter(r["intent"] for r in splits["validation"])
    for intent, count in total.items():
        assert abs(val[intent] - 0.2 * count) <= 1
    assert splits == stratified_split(records, validation_fraction=0.2, seed=3)
    assert splits != stratified_split(records, validation_fraction=0.2, seed=4)
    ids = [r["ticket_id"] for s in splits.values() for r in s]
    assert sorted(ids) == sorted(r["ticket_id"] for r in records)
    with pytest.raises(ValueError):
        stratified_split(records, validation_fraction=1.5)


def test_leakage_report_finds_planted_leaks_and_none_after_cleaning():
    records = labelled(120)
    test = [dict(r, ticket_id=f"X{i}") for i, r in enumerate(labelled(20, seed=9))]
    train = records[:100] + [dict(test[0], ticket_id="L1"),
                             dict(test[1], ticket_id="L2", message=test[1]["message"] + " " + "thanks")]
    validation = records[100:] + [dict(records[5], ticket_id="L3")]
    report = leakage_report({"train": train, "validation": validation, "test": test})
    assert report["train vs test"] == {"exact": 1, "near": 1}
    assert report["train vs validation"] == {"exact": 1, "near": 0}
    assert report["validation vs test"] == {"exact": 0, "near": 0}
    cleaned, _ = clean_tickets(train + validation, test)
    splits = stratified_split(cleaned, 0.15, seed=0)
    after = leakage_report({**splits, "test": test})
    assert all(v == {"exact": 0, "near": 0} for v in after.values()), after


def test_to_chat_adds_messages():
    (record,) = to_chat([ticket(1, "My kettle leaks", order_id="LL-482913")])
    system, user, assistant = record["messages"]
    assert system == {"role": "system", "content": TRIAGE_SYSTEM}
    assert user == {"role": "user", "content": "My kettle leaks"}
    assert json.loads(assistant["content"]) == {**LABELS, "order_id": "LL-482913"}
    assert len(to_chat([ticket(1, "x")], with_answer=False)[0]["messages"]) == 2
    with pytest.raises(ValueError, match="clean it first"):
        to_chat([ticket(1, "x", intent=None)])


@pytest.fixture(scope="module")
def tokenizer():
    from helpers.tokenization import train_tokenizer

    rng = random.Random(0)
    return train_tokenizer([random_message(rng, 30) for _ in range(200)], vocab_size=400)


def test_token_lengths_with_and_without_chat_template(tokenizer):
    records = to_chat([ticket(1, "kettle broken"), ticket(2, "kettle broken " * 20)])
    with_template = token_lengths(records, tokenizer)
    assert with_template[1] > with_template[0] > len(tokenizer("kettle broken")["input_ids"])
    template, tokenizer.chat_template = tokenizer.chat_template, None
    try:
        assert token_lengths(records, tokenizer)[0] == len(
            tokenizer("kettle broken", add_special_tokens=False)["input_ids"]
        )
    finally:
        tokenizer.chat_template = template


def test_save_and_load_splits_round_trip(tmp_path):
    records = labelled(30)
    records[0]["order_id"] = "LL-482913"
    splits = {**stratified_split(records, 0.2, seed=0), "test": labelled(5, seed=7)}
    paths = save_splits(splits, tmp_path / "processed")
    assert sorted(p.name for p in paths.values()) == ["test.jsonl", "train.jsonl", "validation.jsonl"]
    loaded = load_splits(tmp_path / "processed")
    assert list(loaded) == ["train", "validation", "test"]
    for name, records_in in splits.items():
        rows = loaded[name].to_list()
        assert [{k: r[k] for k in KIT_FIELDS} for r in rows] == records_in
        assert rows[0]["messages"] == to_chat([records_in[0]])[0]["messages"]
    assert str(loaded["test"].features["order_id"].dtype) == "string"  # all null, still a string column


# ----------------------------------------------------------------------------- the course's raw export

# Clean messages of the export are under 300 characters: with the system prompt, the answer and the
# template allowance, under ~150 estimated tokens per chat example; the planted over-long ones are
# pastes of 3000-6000 characters (~800+). 256 tokens sits well between them.
REAL_MAX_TOKENS = 256


@pytest.fixture(scope="module")
def real_export():
    raw = load_records(SUPPORT / "raw_export.csv", strict=False)
    test = load_records(SUPPORT / "triage_test.jsonl")
    planted = json.loads((SUPPORT / "raw_export_defects.json").read_text())
    cleaned, report = clean_tickets(raw, test, max_tokens=REAL_MAX_TOKENS)
    return raw, test, planted, cleaned, report


def test_cleaning_the_raw_export_finds_every_planted_defect(real_export):
    raw, test, planted, cleaned, report = real_export
    found = {**report.dropped, **report.changed}
    assert {k: found.get(k) for k in planted["planted"]} == planted["planted"]
    assert report.rows_in == planted["rows"] and report.rows_out == len(cleaned)
    assert report.dropped["unknown_label"] == report.dropped["invalid_order_id"] == 0


def test_cleaning_the_raw_export_touches_exactly_the_planted_rows(real_export):
    _, _, planted, _, report = real_export
    touched = {**report.dropped_ids, **report.changed_ids}
    for defect, ids in planted["row_ids"].items():
        assert sorted(touched[defect]) == sorted(ids), defect


def test_cleaned_export_keeps_reference_numbers_and_has_no_leaks(real_export):
    raw, test, planted, cleaned, _ = real_export
    before = {r["ticket_id"]: r["message"] for r in raw}
    after = {r["ticket_id"]: r["message"] for r in cleaned}
    for ticket_id in planted["luhn_failing_reference_rows"]:
        assert after[ticket_id] == before[ticket_id]
    assert all(r["order_id"] is None or re.fullmatch(r"LL-\d{6}", r["order_id"]) for r in cleaned)
    assert leakage_report({"clean": cleaned, "test": test}) == {"clean vs test": {"exact": 0, "near": 0}}
    splits = stratified_split(cleaned, 0.1, seed=0)
    assert all(v == {"exact": 0, "near": 0} for v in leakage_report({**splits, "test": test}).values())


def test_three_way_split_and_triage_conversations():
    from helpers.data import three_way_split, triage_conversations

    records = [{"message": f"ticket {i}", "intent": INTENTS[i % 2], "product": "kettle", "order_id": None,
                "urgency": "low", "sentiment": "neutral"} for i in range(40)]
    splits = three_way_split(records, held_out_fraction=0.2, seed=0)
    assert [len(splits[n]) for n in ("train", "validation", "test")] == [32, 4, 4]
    chats = triage_conversations(splits["test"])
    assert chats[0][0] == {"role": "system", "content": TRIAGE_SYSTEM}
    assert chats[0][-1]["role"] == "assistant" and '"product": "kettle"' in chats[0][-1]["content"]


def test_fine_tuning_data_from_a_folder_a_ticket_file_or_a_task(tmp_path):
    from helpers.data import load_fine_tuning_data

    records = labelled(40)
    save_splits(stratified_split(records, 0.2, seed=0), tmp_path / "processed")
    splits, task = load_fine_tuning_data(tmp_path / "processed")
    assert task is None and [len(splits[n]) for n in ("train", "validation")] == [32, 8]
    (tmp_path / "tickets.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    splits, task = load_fine_tuning_data(data_file=tmp_path / "tickets.jsonl", seed=1)
    assert task is None and [len(splits[n]) for n in ("train", "validation", "test")] == [32, 4, 4]
    rows = [{"question": f"{i} + 1?", "answer": str(i + 1)} for i in range(10)]
    (tmp_path / "sums.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    splits, task = load_fine_tuning_data(data_file=tmp_path / "sums.jsonl", prompt_column="question",
                                         completion_column="answer", system_prompt="Add.")
    assert splits == {"train": [], "validation": [], "test": []}
    assert [len(task[n]) for n in ("train", "validation", "test")] == [8, 1, 1]
    assert task["test"][0][0] == {"role": "system", "content": "Add."}
    with pytest.raises(ValueError, match="data_file"):
        load_fine_tuning_data(prompt_column="question")
    with pytest.raises(ValueError, match="no data"):
        load_fine_tuning_data()


def test_reply_demonstrations_keep_every_reply_and_name_a_row_without_one(tmp_path):
    from helpers.data import DataError, reply_demonstrations

    train, validation = reply_demonstrations(SUPPORT / "replies.jsonl")
    rows = [json.loads(line) for line in (SUPPORT / "replies.jsonl").read_text().splitlines()]
    assert len(train) + len(validation) == len(rows) and len(validation) == len(rows) // 10
    assert validation[0][-1] == {"role": "assistant", "content": rows[0]["reply"]}
    assert any(r["rubric_score"] < 1 for r in rows)  # the flawed ones are kept, not filtered

    path = tmp_path / "replies.jsonl"
    path.write_text(json.dumps({**ticket(1, "kettle broke"), "reply": "Dear Ana, ..."}) + "\n"
                    + json.dumps(ticket(2, "lid is missing")) + "\n")
    with pytest.raises(DataError, match=r"replies.jsonl, line 2: .*reply"):
        reply_demonstrations(path)
