"""What the kit's `evaluate` modules share: their inputs (strings), decoding their references (JSON
objects as strings), and triage scoring. Each module keeps its own `evaluate.Metric` subclass, as
`evaluate.load` instantiates the class a module file defines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def json_references(references: Sequence[str], what: str) -> list[dict[str, Any]]:
    """Each reference decoded from JSON, with a clear error naming the first bad one."""
    decoded = []
    for number, reference in enumerate(references):
        try:
            value = json.loads(reference)
        except (TypeError, json.JSONDecodeError) as error:
            raise ValueError(f"reference {number} is not a JSON object of {what}: {reference!r} ({error})") from None
        if not isinstance(value, dict):
            raise ValueError(f"reference {number} is not a JSON object of {what}: {reference!r}")
        decoded.append(value)
    return decoded


def decode_triage_references(references: Sequence[str]) -> list[dict[str, Any]]:
    """Triage labels from JSON strings (`helpers.tasks.triage_target`), every field present."""
    from helpers.tasks import TRIAGE_FIELDS

    labels = json_references(references, "triage labels")
    for number, value in enumerate(labels):
        missing = [f for f in TRIAGE_FIELDS if f not in value]
        if missing:
            raise ValueError(f"reference {number} lacks the triage field(s) {missing}")
    return labels


def string_pair_info(description: str) -> Any:
    """The `evaluate.MetricInfo` of a kit metric: string predictions scored against string references."""
    import datasets
    import evaluate

    return evaluate.MetricInfo(
        description=description, citation="", inputs_description=description,
        features=datasets.Features({"predictions": datasets.Value("string"),
                                    "references": datasets.Value("string")}))


def triage_scores(predictions: Sequence[str], references: Sequence[str], names: Sequence[str]) -> dict[str, float]:
    """The scores `names` of `helpers.metrics.score_triage` for raw outputs against JSON-string labels."""
    from helpers.metrics import score_triage

    scores = score_triage(predictions, decode_triage_references(references))
    return {name: scores[name] for name in names}
