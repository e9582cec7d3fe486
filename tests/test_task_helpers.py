"""A task of your own: prompt/completion files of any format become chats, split for training and
held-out testing, and scored by exact match, by JSON field, or by an `evaluate` metric module."""

import json

import pandas as pd
import pytest

from helpers.data import load_task, split_conversations
from helpers.metrics import score_task


def test_every_format_gives_the_same_chats(tmp_path):
    rows = [{"text": "Invoice INV-1 from Acme", "fields": {"invoice": "INV-1", "vendor": "Acme"}},
            {"text": "Invoice INV-2 from Orbit", "fields": {"invoice": "INV-2", "vendor": "Orbit"}}]
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "t.json").write_text(json.dumps(rows), encoding="utf-8")
    flat = pd.DataFrame({"text": [r["text"] for r in rows], "fields": [json.dumps(r["fields"]) for r in rows]})
    flat.to_csv(tmp_path / "t.csv", index=False)
    flat.to_parquet(tmp_path / "t.parquet")
    chats = [load_task(tmp_path / f"t{suffix}", "text", "fields", system_prompt="Extract the fields.")
             for suffix in (".jsonl", ".json", ".csv", ".parquet")]
    assert all(c == chats[0] for c in chats)
    assert chats[0][1] == [{"role": "system", "content": "Extract the fields."},
                           {"role": "user", "content": "Invoice INV-2 from Orbit"},
                           {"role": "assistant", "content": '{"invoice": "INV-2", "vendor": "Orbit"}'}]
    assert load_task(rows, "text", "fields")[0][0]["role"] == "user"  # no system prompt: none added


def test_split_holds_out_validation_and_test_and_loses_nothing():
    chats = [[{"role": "user", "content": str(i)}, {"role": "assistant", "content": str(i)}] for i in range(50)]
    split = split_conversations(chats, held_out_fraction=0.2, seed=1)
    assert [len(split[k]) for k in ("train", "validation", "test")] == [40, 5, 5]
    assert sorted(c[0]["content"] for part in split.values() for c in part) == sorted(str(i) for i in range(50))
    assert split == split_conversations(chats, held_out_fraction=0.2, seed=1)
    with pytest.raises(ValueError, match="at least 3"):
        split_conversations(chats[:2])


def test_scoring_exact_and_by_json_field():
    assert score_task([" 4", "5"], ["4", "6"]) == {"exact_match": 0.5}
    references = ['{"a": 1, "b": "x"}', '{"a": 2, "b": "y"}']
    scores = score_task(['{"a": 1, "b": "x"}', '{"a": 2, "b": "z"}'], references, "json_fields")
    assert scores == {"json_valid": 1.0, "field_accuracy": 0.75, "exact_match": 0.5}
    assert score_task(["not json", "[1]"], references, "json_fields")["field_accuracy"] == 0.0


def test_scoring_with_a_metric_module_of_your_own(tmp_path):
    module = tmp_path / "first_letter.py"
    module.write_text('''import datasets
import evaluate


class FirstLetter(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(description="same first letter", citation="", inputs_description="",
                                   features=datasets.Features({"predictions": datasets.Value("string"),
                                                               "references": datasets.Value("string")}))

    def _compute(self, predictions, references):
        return {"first_letter": sum(p[:1] == r[:1] for p, r in zip(predictions, references)) / len(predictions)}
''')
    assert score_task(["apple", "pear"], ["avocado", "plum"], str(module)) == {"first_letter": 1.0}


def test_bad_scoring_requests_say_what_is_wrong():
    with pytest.raises(ValueError, match="one of .*exact.*json_fields"):
        score_task(["a"], ["a"], "no_such_scoring")
    with pytest.raises(ValueError, match="needs JSON-object answers"):
        score_task(["a"], ["plain text"], "json_fields")
    with pytest.raises(ValueError, match="pair up"):
        score_task(["a"], ["a", "b"])
