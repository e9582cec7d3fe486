"""Notebook 01 cleans the raw export: it must find exactly the planted defects, split without leakage,
keep every example within the token budget, and save splits that later notebooks can load."""

import json

import pytest
from transformers import AutoTokenizer

from helpers.data import load_splits, token_lengths
from helpers.notebooks import processed_data_dir
from helpers.pii import scrub_pii
from helpers.runtime import DATA_DIR, runs_dir
from helpers.tasks import INTENTS, TRIAGE_FIELDS

pytestmark = pytest.mark.notebook

STEM = "01_data_preparation"
VALIDATION_FRACTION = 0.1  # the notebook's default
PLANTED = json.loads((DATA_DIR / "support" / "raw_export_defects.json").read_text())


@pytest.fixture(scope="module")
def manifest(results):
    return json.loads((runs_dir() / STEM / "manifest.json").read_text())


@pytest.fixture(scope="module")
def splits(results):
    return load_splits(processed_data_dir())


def test_every_planted_defect_is_found_with_its_reason(results):
    report = results["details"]["cleaning_report"]
    assert results["details"]["planted_defects"] == PLANTED["planted"]
    for reason, count in PLANTED["planted"].items():
        counts = report["dropped"] if reason in report["dropped"] else report["changed"]
        ids = report["dropped_ids"] if reason in report["dropped_ids"] else report["changed_ids"]
        assert counts[reason] == count, reason
        assert set(ids[reason]) == set(PLANTED["row_ids"][reason]), reason
    assert results["details"]["luhn_failing_references_scrubbed"] == 0


def test_no_row_is_lost_silently(results):
    report, cleaning = results["details"]["cleaning_report"], results["metrics"]["cleaning"]
    assert report["rows_in"] == PLANTED["rows"] == cleaning["rows_in"]
    assert report["rows_in"] == report["rows_out"] + sum(report["dropped"].values())
    assert cleaning["rows_out"] == report["rows_out"]
    assert cleaning["kept_fraction"] == pytest.approx(report["rows_out"] / report["rows_in"])
    for reason, count in report["dropped"].items():
        assert len(report["dropped_ids"][reason]) == count, reason


def test_no_leakage_between_splits_or_into_the_test_set(results):
    assert results["metrics"]["splits"]["leaked_pairs"] == 0
    leakage = results["details"]["leakage"]
    assert set(leakage) == {"train vs validation", "train vs test", "validation vs test"}
    assert all(pair == {"exact": 0, "near": 0} for pair in leakage.values())


def test_split_sizes_are_plausible(results, splits):
    sizes = results["metrics"]["splits"]
    train, validation = sizes["train_rows"], sizes["validation_rows"]
    assert train > 1500 and sizes["test_rows"] == 300
    assert validation / (train + validation) == pytest.approx(VALIDATION_FRACTION, abs=0.005)
    assert train + validation == results["metrics"]["cleaning"]["rows_out"]
    assert {name: len(rows) for name, rows in splits.items()} == {
        "train": train, "validation": validation, "test": sizes["test_rows"]}


def test_split_is_stratified_by_intent(splits):
    for intent in INTENTS:
        train = sum(label == intent for label in splits["train"]["intent"])
        validation = sum(label == intent for label in splits["validation"]["intent"])
        assert validation > 0, intent
        assert validation / (train + validation) == pytest.approx(VALIDATION_FRACTION, abs=0.02), intent


def test_every_example_fits_the_token_budget(results, manifest, splits):
    lengths = results["metrics"]["lengths"]
    assert lengths["p95_tokens"] <= lengths["max_tokens"]
    assert lengths["over_budget_fraction"] == 0
    assert lengths["max_tokens"] <= lengths["context_window"]
    tokenizer = AutoTokenizer.from_pretrained(manifest["base_model"])  # measure the saved files again
    for name in ("train", "validation"):
        assert max(token_lengths(splits[name], tokenizer)) <= lengths["max_tokens"], name


def test_saved_splits_are_chats_ending_with_the_json_answer(splits):
    for path in (processed_data_dir() / f"{name}.jsonl" for name in ("train", "validation", "test")):
        assert path.exists(), path
    for name, rows in splits.items():
        for row in rows:
            messages = row["messages"]
            assert [m["role"] for m in messages] == ["system", "user", "assistant"], name
            assert messages[1]["content"] == row["message"]
            answer = json.loads(messages[-1]["content"])
            assert list(answer) == list(TRIAGE_FIELDS)
            assert answer == {field: row[field] for field in TRIAGE_FIELDS}, row["ticket_id"]


def test_saved_training_data_has_no_personal_data_or_html(splits):
    for name in ("train", "validation"):
        for message in splits[name]["message"]:
            assert sum(scrub_pii(message)[1].values()) == 0, message
            assert "<br" not in message and "&#39;" not in message and "<p>" not in message, message


def test_manifest_records_seed_libraries_data_and_time(manifest):
    assert manifest["seed"] == 0 and manifest["hyperparameters"]["max_tokens"] == 384
    assert manifest["libraries"]["transformers"] != "missing" and manifest["libraries"]["datasets"] != "missing"
    assert {"data/support/raw_export.csv", "data/support/triage_test.jsonl"} <= set(manifest["data"])
    assert all(len(fingerprint) == 16 for fingerprint in manifest["data"].values())
    assert manifest["wall_seconds"] > 0
