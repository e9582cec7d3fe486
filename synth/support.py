"""The support desk of the course's fictional shop: tickets, a messy export, replies and preferences.

Everything comes from one `random.Random(seed)`, so the same seed writes byte-identical files:

    from synth.support import write_support_data
    write_support_data(Path("data/support"))

Tickets are composed from phrase banks (openings, problem statements per intent and product,
details, urgency and tone cues, closings, sign-offs) in four registers (polite, terse, angry,
chatty), then checked so that every label can be read off the text: the product is named (or no
product is), urgency and sentiment have matching cue words and no contradicting ones, and the order
id's digits appear. A shingle index keeps every ticket below `MAX_SIMILARITY` to every other one.
Replies are composed the same way and judged by `helpers.rubric.score_reply`.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from synth.export import (EXPORT_COLUMNS, LUHN_REFERENCES, RAW_CLEAN_ROWS, build_raw_export)
from synth.replies import _ticket_record, logged_reply, preference_pair
from synth.tickets import (ShingleIndex, balanced_intents, generate_tickets)

SIZES = {"triage_test": 300, "raw_clean": RAW_CLEAN_ROWS, "luhn_references": LUHN_REFERENCES, "replies": 800,
         "preferences_train": 600, "preferences_test": 150}


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """One JSON object per line, UTF-8, keys in the records' order, newline at the end."""
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row[c] for c in columns])


def _triage_test_tickets(rng: random.Random, index: ShingleIndex, used_orders: set[str]) -> list[dict[str, Any]]:
    return generate_tickets(SIZES["triage_test"], rng, index, used_orders, id_start=900001,
                            intents=balanced_intents(SIZES["triage_test"], rng))


def corpus_tickets(n: int, seed: int = 1234) -> list[dict[str, Any]]:
    """`n` tickets for the general pre-training corpus (a real base model has read plenty of
    customer e-mail). None is near a triage test message of the support data made with the same
    `seed`, so pre-training leaks nothing of the test set."""
    index, used_orders = ShingleIndex(), set()
    _triage_test_tickets(random.Random(seed), index, used_orders)
    return generate_tickets(n, random.Random(seed + 7), index, used_orders, id_start=1)


def write_support_data(out_dir: Path, seed: int = 1234) -> dict[str, Path]:
    """Generate the whole support desk from `seed` and write it under `out_dir`.

    Writes triage_test.jsonl, raw_export.csv, raw_export_defects.json, replies.jsonl,
    preferences_train.jsonl, preferences_test.jsonl and reply_prompts_test.jsonl; the same seed
    gives byte-identical files. Returns each file's path by its stem.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    index = ShingleIndex()  # shared, so no ticket in any file is near another in any file
    used_orders: set[str] = set()
    test = _triage_test_tickets(rng, index, used_orders)
    export_rows, defects = build_raw_export(rng, index, used_orders, test)
    reply_tickets = generate_tickets(SIZES["replies"], rng, index, used_orders, id_start=200001)
    replies = [logged_reply(rng, t) for t in reply_tickets]
    pairs = {}
    for split, start in (("preferences_train", 300001), ("preferences_test", 400001)):
        tickets = generate_tickets(SIZES[split], rng, index, used_orders, id_start=start)
        pairs[split] = [preference_pair(rng, t) for t in tickets]

    paths = {name: out_dir / f"{name}.jsonl" for name in (
        "triage_test", "replies", "preferences_train", "preferences_test", "reply_prompts_test")}
    paths["raw_export"] = out_dir / "raw_export.csv"
    paths["raw_export_defects"] = out_dir / "raw_export_defects.json"
    write_jsonl(paths["triage_test"], [_ticket_record(t) for t in test])
    _write_csv(paths["raw_export"], export_rows, EXPORT_COLUMNS)
    paths["raw_export_defects"].write_text(json.dumps(defects, indent=1, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    write_jsonl(paths["replies"], replies)
    write_jsonl(paths["preferences_train"], pairs["preferences_train"])
    write_jsonl(paths["preferences_test"], pairs["preferences_test"])
    write_jsonl(paths["reply_prompts_test"], [_ticket_record(p) for p in pairs["preferences_test"]])
    return dict(sorted(paths.items()))
