"""The kit's metrics as `evaluate` modules, one file per metric, each an `evaluate.Metric` subclass
that reuses the kit's own scoring (`helpers.metrics.score_triage`, `helpers.evaluation.reply_scores`).

Load one from its file, as `evaluate` loads any local module (the Hub's metrics need a network):

    import evaluate
    from helpers.metric_modules import metric_path
    field_accuracy = evaluate.load(metric_path("field_accuracy"))

Triage metrics take the model's raw outputs as `predictions` and the labels as `references`
(each a JSON object as a string, as `helpers.tasks.triage_target` writes it); the rubric takes the
replies as `predictions` and the tickets as JSON strings as `references`.
"""

from __future__ import annotations

from pathlib import Path

METRIC_MODULES_DIR = Path(__file__).resolve().parent
TRIAGE_METRICS = ("json_validity", "schema_validity", "field_accuracy", "triage_exact_match")
REPLY_METRICS = ("rubric_score",)


def metric_path(name: str) -> str:
    """The file of the kit's metric module `name` (one of `TRIAGE_METRICS` or `REPLY_METRICS`)."""
    if name not in TRIAGE_METRICS + REPLY_METRICS:
        raise KeyError(f"Unknown metric module {name!r}: the kit has {list(TRIAGE_METRICS + REPLY_METRICS)}")
    return str(METRIC_MODULES_DIR / f"{name}.py")
