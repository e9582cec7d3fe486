"""Scoring triage answers: is the output JSON, does it follow the schema, which fields are right;
and scoring the answers of any task of your own (`score_task`).

The metric names are the kit's shared vocabulary (`json_valid`, `schema_valid`, `field_accuracy`,
`exact_match`, `<field>_accuracy`), all fractions in 0..1, so every notebook reports alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from helpers.tasks import LABEL_VALUES, ORDER_ID_PATTERN, TRIAGE_FIELDS


def parse_triage(text: str) -> dict[str, Any] | None:
    """The JSON object a model answered, or None when its output is not one JSON object."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text.strip())
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def follows_schema(answer: Mapping[str, Any] | None) -> bool:
    """True when `answer` has exactly the triage keys, each label one of its allowed values and
    the order id null or shaped like `LL-123456`."""
    if answer is None or set(answer) != set(TRIAGE_FIELDS):
        return False
    order_id = answer["order_id"]
    if order_id is not None and not (isinstance(order_id, str) and ORDER_ID_PATTERN.match(order_id)):
        return False
    return all(answer[field] in allowed for field, allowed in LABEL_VALUES.items())


def triage_rows(outputs: Sequence[str], references: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per example: the raw output, the parsed answer, validity and each field's verdict."""
    if len(outputs) != len(references):
        raise ValueError(f"{len(outputs)} outputs for {len(references)} references: they must pair up")
    rows = []
    for output, reference in zip(outputs, references):
        answer = parse_triage(output)
        correct = {f: answer is not None and f in answer and answer[f] == reference[f] for f in TRIAGE_FIELDS}
        rows.append({"message": reference.get("message"), "output": output, "answer": answer,
                     "json_valid": answer is not None, "schema_valid": follows_schema(answer),
                     "correct": correct, "exact_match": all(correct.values())})
    return rows


def triage_example_scores(outputs: Sequence[str], references: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """One 0/1 (or fraction) per ticket for every triage metric: `json_valid`, `schema_valid`,
    `exact_match`, `<field>_accuracy` and `field_accuracy` (the share of the five fields right): the
    source of `score_triage`, of every interval and of the error analysis."""
    rows = triage_rows(outputs, references)
    if not rows:
        raise ValueError("no examples to score")
    scores = {key: np.array([float(r[key]) for r in rows]) for key in ("json_valid", "schema_valid", "exact_match")}
    for field in TRIAGE_FIELDS:
        scores[f"{field}_accuracy"] = np.array([float(r["correct"][field]) for r in rows])
    scores["field_accuracy"] = np.mean([scores[f"{f}_accuracy"] for f in TRIAGE_FIELDS], axis=0)
    return scores


def score_triage(outputs: Sequence[str], references: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Triage metrics over a test set: `json_valid`, `schema_valid`, `field_accuracy` (the mean of
    the five fields' accuracies), `exact_match` (all five right) and each `<field>_accuracy`: the
    means of `triage_example_scores`.

    An output that is not JSON counts as wrong on every field, so the scores are comparable
    between a model that always answers and one that often does not.
    """
    return {key: float(values.mean()) for key, values in triage_example_scores(outputs, references).items()}


TASK_SCORINGS = ("exact", "json_fields")


def score_task(outputs: Sequence[str], references: Sequence[str], scoring: str = "exact") -> dict[str, float]:
    """Held-out scores of a task's answers against the reference answers.

    `"exact"`: `exact_match`, the share of answers equal to the reference (spaces at the ends aside).
    `"json_fields"`: for JSON-object answers, `json_valid`, `field_accuracy` (the share of the
    reference's keys answered with the same value, 0 for an answer that is not a JSON object) and
    `exact_match` (every key right). Any other string is the path of an `evaluate` metric module
    (a folder or a .py file), whose `compute(predictions=..., references=...)` result is returned.
    """
    if len(outputs) != len(references):
        raise ValueError(f"{len(outputs)} outputs for {len(references)} references: they must pair up")
    if not outputs:
        raise ValueError("no answers to score")
    if scoring == "exact":
        return {"exact_match": sum(o.strip() == r.strip() for o, r in zip(outputs, references)) / len(outputs)}
    if scoring == "json_fields":
        rows = []
        for output, reference in zip(outputs, references):
            truth = parse_triage(reference)  # any one JSON object, not only triage's
            if truth is None:
                raise ValueError(f"scoring 'json_fields' needs JSON-object answers; a reference is {reference[:80]!r}")
            answer = parse_triage(output)
            right = [answer is not None and answer.get(key) == value for key, value in truth.items()]
            rows.append((answer is not None, sum(right) / max(1, len(right)), all(right)))
        n = len(rows)
        return {"json_valid": sum(r[0] for r in rows) / n, "field_accuracy": sum(r[1] for r in rows) / n,
                "exact_match": sum(r[2] for r in rows) / n}
    import evaluate  # a metric module of your own

    try:
        metric = evaluate.load(scoring)
    except Exception as error:  # noqa: BLE001
        raise ValueError(f"scoring must be one of {TASK_SCORINGS} or the path of an evaluate metric module; "
                         f"{scoring!r} could not be loaded ({type(error).__name__}: {error})") from None
    result = metric.compute(predictions=list(outputs), references=list(references))
    return {key: float(value) for key, value in result.items() if isinstance(value, (int, float))}
