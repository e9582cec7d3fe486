"""Decoding the string references the kit's `evaluate` modules take (JSON objects as strings)."""

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


def triage_references(references: Sequence[str]) -> list[dict[str, Any]]:
    """Triage labels from JSON strings (`helpers.tasks.triage_target`), every field present."""
    from helpers.tasks import TRIAGE_FIELDS

    labels = json_references(references, "triage labels")
    for number, value in enumerate(labels):
        missing = [f for f in TRIAGE_FIELDS if f not in value]
        if missing:
            raise ValueError(f"reference {number} lacks the triage field(s) {missing}")
    return labels
