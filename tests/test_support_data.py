"""The generated support desk under data/support: reproducible, valid, readable, consistent."""

import csv
import json
import random
import re
from collections import Counter
from datetime import datetime

import pytest

from helpers.rubric import RUBRIC_ITEMS, score_reply
from helpers.runtime import DATA_DIR
from helpers.tasks import INTENTS, LABEL_VALUES, ORDER_ID_PATTERN, normalize_label
from helpers.text import jaccard, normalize_text, shingles
from synth.export import DEFECTS, EXPORT_COLUMNS, card_number, label_variants, luhn_valid, reference_number
from synth.replies import HABITS
from synth.support import write_support_data
from synth.tickets import MAX_SIMILARITY, NEAR_COPY_SIMILARITY, TICKET_FIELDS, labels_readable

SUPPORT = DATA_DIR / "support"
LABEL_FIELDS = ("intent", "product", "urgency", "sentiment")
TICKET_FILES = ("triage_test", "replies", "preferences_train", "preferences_test", "reply_prompts_test")
HTML = re.compile(r"<[a-z/][^>]*>|&(?:amp|nbsp|#39);", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}(?!\d)")
PHONE = re.compile(r"(?:\+\d{1,2} ?)?(?:\(\d{3}\) ?|\d{2,5}[ -])\d{3,4}[ -]?\d{3,4}(?!\d)")


def read_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (SUPPORT / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def export() -> tuple[dict[str, dict], dict]:
    with (SUPPORT / "raw_export.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == EXPORT_COLUMNS
        rows = {row["ticket_id"]: row for row in reader}
    record = json.loads((SUPPORT / "raw_export_defects.json").read_text(encoding="utf-8"))
    return rows, record


def defect_of(record: dict) -> dict[str, str]:
    return {tid: defect for defect in DEFECTS for tid in record["row_ids"][defect]}


# ----------------------------------------------------------------------------- reproducibility

def test_regenerating_reproduces_the_committed_files(tmp_path):
    paths = write_support_data(tmp_path / "again")
    assert len(paths) == 7
    for name, path in paths.items():
        assert path.read_bytes() == (SUPPORT / path.name).read_bytes(), f"{path.name} differs"
    other = write_support_data(tmp_path / "other", seed=7)
    assert other["triage_test"].read_bytes() != paths["triage_test"].read_bytes()


# ----------------------------------------------------------------------------- tickets

@pytest.mark.parametrize("name", TICKET_FILES)
def test_ticket_labels_are_valid_and_readable_from_the_message(name):
    records = read_jsonl(name)
    for r in records:
        assert list(r)[:len(TICKET_FIELDS)] == list(TICKET_FIELDS)
        for field in LABEL_FIELDS:
            assert r[field] in LABEL_VALUES[field], (r["ticket_id"], field)
        if r["order_id"] is not None:
            assert ORDER_ID_PATTERN.match(r["order_id"])
            assert r["order_id"][3:] in r["message"]
        else:
            assert not re.search(r"\d{6}", r["message"])
        assert r["customer_name"] is None or len(r["customer_name"].split()) == 2
        assert 10 <= len(r["message"].split()) <= 70 and len(r["message"]) < 450
        assert labels_readable(r["message"], r), r["message"]
    assert 0.6 <= sum(r["order_id"] is not None for r in records) / len(records) <= 0.8
    assert 0.6 <= sum(r["customer_name"] is not None for r in records) / len(records) <= 0.8


def test_file_sizes_and_the_balanced_test_set():
    sizes = {name: len(read_jsonl(name)) for name in TICKET_FILES}
    assert sizes == {"triage_test": 300, "replies": 800, "preferences_train": 600,
                     "preferences_test": 150, "reply_prompts_test": 150}
    assert Counter(r["intent"] for r in read_jsonl("triage_test")) == {i: 30 for i in INTENTS}
    prompts = read_jsonl("reply_prompts_test")
    assert prompts == [{k: p[k] for k in TICKET_FIELDS} for p in read_jsonl("preferences_test")]


def test_messages_are_varied():
    messages = [r["message"] for r in read_jsonl("triage_test")]
    openings = Counter(" ".join(normalize_text(m).split()[:3]) for m in messages)
    assert openings.most_common(1)[0][1] <= 15  # no stock opening
    for intent in INTENTS:
        these = [r["message"] for r in read_jsonl("triage_test") if r["intent"] == intent]
        assert len({" ".join(normalize_text(m).split()[:4]) for m in these}) >= 20


def clean_tickets(export) -> dict[str, str]:
    """ticket id -> message of every generated ticket that is no planted copy or defect."""
    rows, record = export
    planted = defect_of(record)
    messages = {tid: row["message"] for tid, row in rows.items() if tid not in planted}
    for name in ("triage_test", "replies", "preferences_train", "preferences_test"):
        messages.update({r["ticket_id"]: r["message"] for r in read_jsonl(name)})
    return messages


def test_no_two_tickets_in_any_file_are_near_duplicates(export):
    messages = clean_tickets(export)
    assert len(messages) == 1500 + 300 + 800 + 600 + 150
    parts = {tid: shingles(m) for tid, m in messages.items()}
    postings: dict[str, list[str]] = {}
    for tid, sh in parts.items():
        for s in sh:
            postings.setdefault(s, []).append(tid)
    worst = 0.0
    for tid, sh in parts.items():
        others = {o for s in sh for o in postings[s] if o > tid}
        if others:
            worst = max(worst, max(jaccard(sh, parts[o]) for o in others))
    assert worst < MAX_SIMILARITY
    assert len({normalize_text(m) for m in messages.values()}) == len(messages)


# ----------------------------------------------------------------------------- replies and pairs

def test_reply_demonstrations_carry_their_rubric_score():
    replies = read_jsonl("replies")
    for r in replies:
        assert r["rubric_score"] == score_reply(r["reply"], r).score
        words = len(r["reply"].split())
        assert words >= 25 and (words <= 60 or not score_reply(r["reply"], r).items["concise"])
    for item, rate in HABITS.items():  # the desk's habits, at their rates: what preference tuning must undo
        passed = [score_reply(r["reply"], r).items.get(item) for r in replies]
        applicable = [p for p in passed if p is not None]
        assert abs(1 - sum(applicable) / len(applicable) - rate) < 0.06, item
    assert all(
        score_reply(r["reply"], r).items.get(i) is not False
        for r in replies
        for i in RUBRIC_ITEMS
        if i not in HABITS
    )


@pytest.mark.parametrize("name", ["preferences_train", "preferences_test"])
def test_chosen_follows_the_rubric_and_rejected_breaks_what_it_says(name):
    for p in read_jsonl(name):
        assert score_reply(p["chosen"], p).score == 1.0
        assert 25 <= len(p["chosen"].split()) <= 60
        rejected = score_reply(p["rejected"], p)
        assert rejected.score < 1.0
        assert p["broken"] == rejected.failed and 1 <= len(p["broken"]) <= 2
        assert set(p["broken"]) <= set(RUBRIC_ITEMS)


def test_preference_splits_and_other_files_share_no_ticket():
    ids = [r["ticket_id"] for name in ("triage_test", "replies", "preferences_train", "preferences_test")
           for r in read_jsonl(name)]
    assert len(ids) == len(set(ids))
    broken = Counter(item for p in read_jsonl("preferences_train") for item in p["broken"])
    assert set(broken) == set(RUBRIC_ITEMS)  # every item is broken somewhere


# ----------------------------------------------------------------------------- the raw export

def test_planted_counts_add_up(export):
    rows, record = export
    planted = defect_of(record)
    assert list(record["planted"]) == list(DEFECTS)
    assert record["planted"] == {d: len(record["row_ids"][d]) for d in DEFECTS}
    assert len(planted) == sum(record["planted"].values())  # one defect per row
    assert record["rows"] == len(rows) == record["clean_base_rows"] + len(planted)
    assert set(planted) <= set(rows)
    assert len(record["luhn_failing_reference_rows"]) == 30
    assert not set(record["luhn_failing_reference_rows"]) & set(planted)


def test_rows_are_in_time_order_with_mixed_order_id_formats(export):
    rows, _ = export
    times = [datetime.fromisoformat(r["created_at"]) for r in rows.values()]
    assert times == sorted(times)
    assert all(re.fullmatch(r"#\d{6}|\d{6}|LL-\d{6}|ll \d{6}|", r["order_id"]) for r in rows.values())
    assert {r["order_id"][:1] for r in rows.values()} >= {"#", "L", "l", ""}
    assert sum(bool(r["customer_email"]) for r in rows.values()) / len(rows) > 0.8


def test_each_defect_is_where_the_record_says(export):
    rows, record = export

    def where(test) -> set[str]:
        return {tid for tid, row in rows.items() if test(row)}

    def listed(defect: str) -> set[str]:
        return set(record["row_ids"][defect])

    assert where(lambda r: not r["message"].strip()) == listed("blank_message")
    assert where(lambda r: any(r[f] == "" for f in LABEL_FIELDS)) == listed("missing_label")
    assert where(lambda r: len(r["message"]) > 1000) == listed("too_long")
    assert all(3000 <= len(rows[t]["message"]) <= 6000 for t in listed("too_long"))
    assert where(lambda r: HTML.search(r["message"])) == listed("html")
    assert where(lambda r: EMAIL.search(r["message"])) == listed("email")
    cards = where(lambda r: any(luhn_valid(m) for m in SIXTEEN_DIGITS.findall(r["message"])))
    assert cards == listed("card_number")
    references = where(lambda r: SIXTEEN_DIGITS.search(r["message"]) and r["ticket_id"] not in cards)
    assert references == set(record["luhn_failing_reference_rows"])
    assert where(lambda r: PHONE.search(SIXTEEN_DIGITS.sub("", r["message"]))) == listed("phone")
    misspelt = where(lambda r: any(r[f] and r[f] not in LABEL_VALUES[f] for f in LABEL_FIELDS))
    assert misspelt == listed("label_spelling")
    for tid in misspelt:  # every variant spelling means the label the message shows
        row = rows[tid]
        labels = {f: normalize_label(f, row[f]) for f in LABEL_FIELDS}
        labels["order_id"] = f"LL-{row['order_id'][-6:]}" if row["order_id"] else None
        assert labels_readable(row["message"], labels), (row["message"], labels)


def test_copies_are_exact_or_near_copies_of_their_source(export):
    rows, record = export
    test = {r["ticket_id"]: r for r in read_jsonl("triage_test")}
    assert set(record["copy_of"]) == (set(record["row_ids"]["exact_duplicate"])
                                      | set(record["row_ids"]["near_duplicate"])
                                      | set(record["row_ids"]["test_leak"]))
    kinds = Counter()
    for tid, source_id in record["copy_of"].items():
        copy = rows[tid]
        source = rows.get(source_id) or test[source_id]
        for field in LABEL_FIELDS:
            assert copy[field] == source[field]
        if tid in record["row_ids"]["exact_duplicate"]:
            assert copy["message"] == source["message"] and copy["created_at"] > source["created_at"]
            assert source_id not in record["copy_of"] and source_id not in defect_of(record)
        elif tid in record["row_ids"]["near_duplicate"]:
            assert normalize_text(copy["message"]) != normalize_text(source["message"])
            assert jaccard(shingles(copy["message"]), shingles(source["message"])) >= NEAR_COPY_SIMILARITY
            assert copy["created_at"] > source["created_at"]
        else:
            exact = copy["message"] == source["message"]
            kinds["exact" if exact else "near"] += 1
            similarity = jaccard(shingles(copy["message"]), shingles(source["message"]))
            assert exact or similarity >= NEAR_COPY_SIMILARITY
    assert kinds["exact"] > 10 and kinds["near"] > 10
    exact_messages = Counter(r["message"] for r in rows.values())
    assert sum(n - 1 for m, n in exact_messages.items() if n > 1 and m.strip()) == 60


# ----------------------------------------------------------------------------- labels and numbers

@pytest.mark.parametrize("field, spelling, canonical", [
    ("intent", "Refund Request", "refund_request"), ("intent", "refund-request", "refund_request"),
    ("intent", "REFUND", "refund_request"), ("product", "Desk Lamp", "desk_lamp"),
    ("urgency", "urgent", "high"), ("sentiment", "Neg", "negative"), ("product", "N/A", "none"),
])
def test_alias_spellings_normalise_to_the_right_label(field, spelling, canonical):
    assert normalize_label(field, spelling) == canonical
    assert spelling in label_variants(field, canonical)


def test_every_generated_variant_normalises_back():
    for field, values in LABEL_VALUES.items():
        for value in values:
            variants = label_variants(field, value)
            assert variants, (field, value)
            assert all(normalize_label(field, v) == value and v != value for v in variants)


def test_card_numbers_pass_luhn_and_reference_numbers_do_not():
    assert luhn_valid("4111 1111 1111 1111") and luhn_valid("4111-1111-1111-1111")
    assert not luhn_valid("4111 1111 1111 1112")
    rng = random.Random(0)
    cards = [card_number(rng) for _ in range(300)]
    assert all(luhn_valid(c) and len(c) == 16 for c in cards)
    assert len(set(cards)) > 250  # not only the well-known test numbers
    assert not any(luhn_valid(reference_number(rng)) for _ in range(300))
