"""The course report: every notebook's table, intervals beside their metric, the headline
evaluation table and forgetting plot first, and notebooks that have not run marked as such."""

import json

from helpers.course import results_table, write_report


def test_intervals_are_shown_beside_their_metric_and_not_as_columns():
    results = {"metrics": {"sft": {"field_accuracy": 0.5, "field_accuracy_ci_low": 0.4,
                                   "field_accuracy_ci_high": 0.6, "train_seconds": 12.0},
                           "base": {"train_seconds": 3.0}}}
    header, _, sft, base = results_table(results)
    assert header == "| variant | field_accuracy | train_seconds |"
    assert sft == "| sft | 0.500 [0.400, 0.600] | 12 |" and base == "| base |  | 3 |"
    assert len(results_table(results, ["field_accuracy"])) == 3  # base has none of the columns


def test_report_puts_the_headlines_first(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DIR", str(tmp_path))
    for stem, metrics in {"06_evaluation": {"sft": {"field_accuracy": 0.4, "field_accuracy_ci_low": 0.3,
                                                   "field_accuracy_ci_high": 0.5}},
                          "07_forgetting": {"full": {"probe_accuracy": 0.1, "task_gain": 5.0}}}.items():
        (tmp_path / stem).mkdir()
        (tmp_path / stem / "results.json").write_text(json.dumps({"profile": "cpu", "metrics": metrics}))
        (tmp_path / stem / "manifest.json").write_text(json.dumps({"wall_seconds": 60}))
    (tmp_path / "07_forgetting" / "learning_vs_forgetting.png").write_bytes(b"png")
    text = write_report().read_text()
    headline = text.index("Every model and baseline on held-out data")
    assert headline < text.index("Learning against forgetting") < text.index("## 00_foundation_model")
    assert "| sft |  | 0.400 [0.300, 0.500] |" in text
    assert "![learning_vs_forgetting](07_forgetting/learning_vs_forgetting.png)" in text
    assert "_not run yet_" in text.split("## 00_foundation_model")[1]
