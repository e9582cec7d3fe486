"""Cleaning a raw ticket export: every row is kept, fixed or dropped, and every fix or drop is counted.

    clean, report = clean_tickets(raw_records, test_records, max_tokens=384, tokenizer=tokenizer)
    report.to_frame()          # one row per step: what it dropped or changed, with an example
    leakage_report({"train": train, "validation": validation, "test": test})

The steps, in order (a row leaves at the first step that drops it):

    html -> blank_message -> missing_label -> label_spelling / unknown_label -> order_id_format /
    invalid_order_id -> email, phone, card_number -> exact_duplicate -> near_duplicate -> too_long
    (the whole chat example over max_tokens) -> test_leak
"""

from __future__ import annotations

import html
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TYPE_CHECKING

from helpers.data import KIT_FIELDS, LABEL_FIELDS, DataError, normalize_order_id, to_chat, token_lengths
from helpers.pii import PII_KINDS, scrub_pii
from helpers.tasks import normalize_label
from helpers.text import NEAR_DUPLICATE_THRESHOLD, jaccard, normalize_text, shingles

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

DROP_REASONS = ("blank_message", "missing_label", "unknown_label", "invalid_order_id",
                "exact_duplicate", "near_duplicate", "too_long", "test_leak")
CHANGE_REASONS = ("html", "label_spelling", "order_id_format", *PII_KINDS)
CHARS_PER_TOKEN = 4  # the rough rule for English text when no tokenizer is given
TEMPLATE_ALLOWANCE = 12  # without a tokenizer: tokens allowed for the chat template's role markers (3 x 4)
PIPELINE_ORDER = ("html", "blank_message", "missing_label", "label_spelling", "unknown_label",
                  "order_id_format", "invalid_order_id", *PII_KINDS, "exact_duplicate",
                  "near_duplicate", "too_long", "test_leak")
MAX_EXAMPLES = 3
EXAMPLE_CHARS = 160

# HTML remnants: comments, tags (a letter right after "<" or "</", so "<3" and "a < b" stay) and
# entities (&amp; &#39; &#x27;). Block tags become a space, inline tags vanish.
HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
HTML_BLOCK_TAG_RE = re.compile(r"</?(?:br|p|div|li|ul|ol|tr|td|th|table|h[1-6]|hr|blockquote)\b[^<>]*>",
                               re.IGNORECASE)
HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
HTML_ENTITY_RE = re.compile(r"&(?:#\d{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def strip_html(text: str) -> str:
    """Text without HTML tags, comments and entities (decoded); unchanged if it has none."""
    new = HTML_COMMENT_RE.sub(" ", text)
    new = HTML_BLOCK_TAG_RE.sub(" ", new)
    new = HTML_TAG_RE.sub("", new)
    new = HTML_ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), new)
    if new == text:
        return text
    new = re.sub(r"[ \t\u00a0]+", " ", new.replace("\u00a0", " "))
    return "\n".join(line.strip() for line in new.split("\n")).strip()


class NearDuplicateIndex:
    """Texts added so far, searchable for an exact or near duplicate of a new text.

    Exact: the same `normalize_text` key. Near: Jaccard similarity of word-trigram shingles at or
    above `threshold`. Prefix filtering keeps it fast: with the shingles of every set in one global
    order (rarest first, from `frequencies`), two sets with Jaccard >= t must share one of their
    first `n - ceil(t * n) + 1` shingles, so only those are indexed and probed, and only the
    candidates found are compared in full.
    """

    def __init__(self, threshold: float = NEAR_DUPLICATE_THRESHOLD,
                 frequencies: Mapping[str, int] | None = None) -> None:
        self.threshold = threshold
        self._frequencies = frequencies or {}
        self._exact: dict[str, str] = {}
        self._sets: list[tuple[str, frozenset[str]]] = []
        self._postings: dict[str, list[int]] = defaultdict(list)

    def _prefix(self, items: frozenset[str]) -> list[str]:
        ordered = sorted(items, key=lambda s: (self._frequencies.get(s, 0), s))
        keep = len(items) - math.ceil(self.threshold * len(items) - 1e-9) + 1
        return ordered[:max(keep, 1)]

    def add(self, key: str, text: str) -> None:
        """Remember `text` under `key` (a ticket id)."""
        self._exact.setdefault(normalize_text(text), key)
        items = shingles(text)
        for token in self._prefix(items):
            self._postings[token].append(len(self._sets))
        self._sets.append((key, items))

    def find_exact(self, text: str) -> str | None:
        """Key of an added text with the same normalised form, or None."""
        return self._exact.get(normalize_text(text))

    def find_near(self, text: str) -> tuple[str, float] | None:
        """(key, similarity) of the most similar added text at or above the threshold, or None."""
        items = shingles(text)
        candidates = {i for token in self._prefix(items) for i in self._postings.get(token, ())}
        best = None
        for i in sorted(candidates):
            key, other = self._sets[i]
            if not self.threshold * len(items) <= len(other) * (1 + 1e-9) or \
                    not self.threshold * len(other) <= len(items) * (1 + 1e-9):
                continue  # sizes too different to reach the threshold
            similarity = jaccard(items, other)
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (key, similarity)
        return best


def shingle_frequencies(texts: Iterable[str]) -> Counter:
    """In how many texts each shingle occurs: the order that makes `NearDuplicateIndex` fast."""
    return Counter(token for text in texts for token in shingles(text))


@dataclass
class CleaningReport:
    """What `clean_tickets` did: rows in and out, rows dropped and changed per reason, a few
    examples per reason as (ticket_id, before, after), and the dropped and changed ticket ids per
    reason.

    Examples never show personal data: their text is scrubbed, and for the personal-data steps
    `before` is withheld (None).
    """

    rows_in: int
    rows_out: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    changed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANGE_REASONS, 0))
    examples: dict[str, list[tuple[str, str | None, str | None]]] = field(default_factory=dict)
    dropped_ids: dict[str, list[str]] = field(default_factory=lambda: {r: [] for r in DROP_REASONS})
    changed_ids: dict[str, list[str]] = field(default_factory=lambda: {r: [] for r in CHANGE_REASONS})
    length_rule: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def _example(self, reason: str, ticket_id: str, before: str | None, after: str | None) -> None:
        samples = self.examples.setdefault(reason, [])
        if len(samples) < MAX_EXAMPLES:
            samples.append((ticket_id, _display(before), _display(after)))

    def drop(self, record: Mapping[str, Any], reason: str, why: str) -> None:
        """Count one dropped row, remember its id and maybe keep it as an example."""
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        self.dropped_ids.setdefault(reason, []).append(record["ticket_id"])
        self._example(reason, record["ticket_id"], record.get("message"), f"dropped: {why}")

    def change(self, record: Mapping[str, Any], reason: str, before: str | None, after: str | None) -> None:
        """Count one changed row and maybe keep it as an example."""
        self.changed[reason] = self.changed.get(reason, 0) + 1
        self.changed_ids.setdefault(reason, []).append(record["ticket_id"])
        self._example(reason, record["ticket_id"], before, after)

    def check(self) -> None:
        """Every row in is either out or dropped with exactly one reason."""
        if self.rows_in != self.rows_out + sum(self.dropped.values()):
            raise AssertionError(f"rows_in {self.rows_in} != rows_out {self.rows_out} + dropped "
                                 f"{sum(self.dropped.values())}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        return asdict(self)

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per step: action, rows, first example. The pipeline's steps
        come first in pipeline order, then any other reason counted in `dropped` or `changed`
        (added with `drop`/`change` by a caller), so no reason is left out."""
        import pandas as pd

        others = [r for r in [*self.dropped, *self.changed] if r not in PIPELINE_ORDER]
        rows = []
        for reason in [*PIPELINE_ORDER, *dict.fromkeys(others)]:
            if reason in self.dropped or (reason in DROP_REASONS and reason not in self.changed):
                action, count = "dropped", self.dropped.get(reason, 0)
            else:
                action, count = "changed", self.changed.get(reason, 0)
            example = (self.examples.get(reason) or [(None, None, None)])[0]
            rows.append({"step": reason, "action": action, "rows": count, "example_ticket": example[0],
                         "before": example[1], "after": example[2]})
        return pd.DataFrame(rows)


def _display(text: str | None) -> str | None:
    """Example text as shown in a report: personal data scrubbed, cut to `EXAMPLE_CHARS`."""
    if text is None:
        return None
    text = scrub_pii(text)[0]
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1] + "…"


# ----------------------------------------------------------------------------- the steps
# Each step takes the rows still in and returns those it keeps, counting what it drops or changes.

def _strip_html_step(rows: list[dict], report: CleaningReport) -> list[dict]:
    for row in rows:
        if isinstance(row["message"], str):
            cleaned = strip_html(row["message"])
            if cleaned != row["message"]:
                report.change(row, "html", row["message"], cleaned)
                row["message"] = cleaned
    return rows


def _drop_blank(rows: list[dict], report: CleaningReport) -> list[dict]:
    kept = []
    for row in rows:
        if row["message"] is None or not row["message"].strip():
            report.drop(row, "blank_message", "no text in the message")
        else:
            kept.append(row)
    return kept


def _drop_missing_labels(rows: list[dict], report: CleaningReport) -> list[dict]:
    kept = []
    for row in rows:
        missing = [f for f in LABEL_FIELDS if row.get(f) is None or not str(row[f]).strip()]
        if missing:
            report.drop(row, "missing_label", f"no {', '.join(missing)}")
        else:
            kept.append(row)
    return kept


def _normalize_labels(rows: list[dict], report: CleaningReport) -> list[dict]:
    kept = []
    for row in rows:
        canonical = {f: normalize_label(f, row[f]) for f in LABEL_FIELDS}
        unknown = [f"{f}={row[f]!r}" for f in LABEL_FIELDS if canonical[f] is None]
        if unknown:
            report.drop(row, "unknown_label", f"unknown label {', '.join(unknown)}")
            continue
        fixed = [f for f in LABEL_FIELDS if row[f] != canonical[f]]
        if fixed:
            report.change(row, "label_spelling", "; ".join(f"{f}={row[f]!r}" for f in fixed),
                          "; ".join(f"{f}={canonical[f]!r}" for f in fixed))
            row.update(canonical)
        kept.append(row)
    return kept


def _normalize_order_ids(rows: list[dict], report: CleaningReport) -> list[dict]:
    kept = []
    for row in rows:
        before = row.get("order_id")
        try:
            after = normalize_order_id(before)
        except ValueError as err:
            report.drop(row, "invalid_order_id", str(err))
            continue
        if after is not None and before != after:
            report.change(row, "order_id_format", str(before), after)
        row["order_id"] = after
        kept.append(row)
    return kept


def _scrub(rows: list[dict], report: CleaningReport) -> list[dict]:
    for row in rows:
        scrubbed, found = scrub_pii(row["message"])
        for kind in PII_KINDS:
            if found[kind]:
                report.change(row, kind, None, scrubbed)
        row["message"] = scrubbed
    return rows


def _drop_duplicates(rows: list[dict], report: CleaningReport, frequencies: Counter) -> list[dict]:
    """Exact duplicates first (same normalised text), then near duplicates of an earlier kept row."""
    seen: dict[str, str] = {}
    unique = []
    for row in rows:
        key = normalize_text(row["message"])
        if key in seen:
            report.drop(row, "exact_duplicate", f"same text as {seen[key]}")
        else:
            seen[key] = row["ticket_id"]
            unique.append(row)
    index, kept = NearDuplicateIndex(frequencies=frequencies), []
    for row in unique:
        match = index.find_near(row["message"])
        if match:
            report.drop(row, "near_duplicate", f"{match[1]:.2f} similar to {match[0]}")
        else:
            index.add(row["ticket_id"], row["message"])
            kept.append(row)
    return kept


def estimate_chat_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """Tokens of a chat example without a tokenizer: ceil(characters of all its messages / 4) plus
    `TEMPLATE_ALLOWANCE` for the template's role markers."""
    return math.ceil(sum(len(m["content"]) for m in messages) / CHARS_PER_TOKEN) + TEMPLATE_ALLOWANCE


def length_rule(tokenizer: PreTrainedTokenizerBase) -> str:
    """How `clean_tickets` measures an example against `max_tokens`, in words."""
    if tokenizer is None:
        return (f"tokens of the whole chat example (system prompt + message + JSON answer) estimated as "
                f"ceil(characters / {CHARS_PER_TOKEN}) + {TEMPLATE_ALLOWANCE} for the chat template: "
                "no tokenizer given")
    name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
    if getattr(tokenizer, "chat_template", None):
        return (f"tokens counted with the tokenizer {name}: the whole chat example (system prompt + "
                "message + JSON answer, chat template applied), what one training example costs")
    return f"tokens counted with the tokenizer {name}: the message only (the tokenizer has no chat template)"


def _drop_too_long(rows: list[dict], report: CleaningReport, max_tokens: int,
                   tokenizer: PreTrainedTokenizerBase) -> list[dict]:
    """Drop rows whose whole chat example (system prompt + message + JSON answer) is over `max_tokens`."""
    chats = to_chat(rows)
    if tokenizer is None:
        counts = [estimate_chat_tokens(chat["messages"]) for chat in chats]
    else:
        counts = token_lengths(chats, tokenizer)
    kept = []
    for row, count in zip(rows, counts):
        if count > max_tokens:
            report.drop(row, "too_long", f"{count} tokens as a chat example > max_tokens {max_tokens}")
        else:
            kept.append(row)
    return kept


def _drop_test_leaks(rows: list[dict], report: CleaningReport, test_index: NearDuplicateIndex) -> list[dict]:
    kept = []
    for row in rows:
        exact = test_index.find_exact(row["message"])
        near = None if exact else test_index.find_near(row["message"])
        if exact or near:
            report.drop(row, "test_leak", f"matches test ticket {exact or near[0]}")
        else:
            kept.append(row)
    return kept


def _start(records: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Copies holding only the kit's fields; a message that is not text is an error, not a defect."""
    rows = []
    for number, record in enumerate(records, start=1):
        row = {f: record.get(f) for f in KIT_FIELDS}
        row["ticket_id"] = str(row["ticket_id"]) if row["ticket_id"] is not None else f"row{number:05d}"
        if row["message"] is not None and not isinstance(row["message"], str):
            raise DataError("<records>", number, f"field 'message' of ticket {row['ticket_id']!r} should "
                            f"be a string, got {type(row['message']).__name__}", "record")
        rows.append(row)
    return rows


def clean_tickets(records: Sequence[Mapping[str, Any]], test_records: Sequence[Mapping[str, Any]] = (),
                  max_tokens: int = 384,
                  tokenizer: PreTrainedTokenizerBase = None) -> tuple[list[dict[str, Any]], CleaningReport]:
    """Clean raw ticket records for training; return the kept records and a `CleaningReport`.

    Steps in order: strip HTML; drop blank messages, missing labels, unknown labels and invalid
    order ids; fix label spellings and order-id formats; scrub e-mails, phones and card numbers;
    drop exact duplicates, near duplicates, rows whose whole chat example (system prompt + message +
    JSON answer, the cost of one training example) is over `max_tokens` (counted with `tokenizer`
    and its chat template, or estimated without one as characters / 4 plus `TEMPLATE_ALLOWANCE`;
    `report.length_rule` says which) and rows that duplicate or nearly duplicate a
    message of `test_records`. Kept records hold only the kit's fields (`KIT_FIELDS`); other
    columns (such as a customer e-mail column) are left out.
    """
    started = time.perf_counter()
    report = CleaningReport(rows_in=len(records))
    report.length_rule = length_rule(tokenizer)
    extra = sorted({k for r in records for k in r} - set(KIT_FIELDS))
    if extra:
        report.notes.append(f"columns left out of the cleaned records: {extra}")
    rows = _start(records)
    for step in (_strip_html_step, _drop_blank, _drop_missing_labels, _normalize_labels,
                 _normalize_order_ids, _scrub):
        rows = step(rows, report)
    test_messages = [r["message"] for r in test_records]
    frequencies = shingle_frequencies([r["message"] for r in rows] + test_messages)
    rows = _drop_duplicates(rows, report, frequencies)
    rows = _drop_too_long(rows, report, max_tokens, tokenizer)
    test_index = NearDuplicateIndex(frequencies=frequencies)
    for record in test_records:
        test_index.add(str(record.get("ticket_id")), record["message"])
    rows = _drop_test_leaks(rows, report, test_index)
    report.rows_out = len(rows)
    report.seconds = round(time.perf_counter() - started, 3)
    report.check()
    return rows, report


def leakage_report(splits: Mapping[str, Sequence[Mapping[str, Any] | str]]) -> dict[str, dict[str, int]]:
    """For every pair of splits ("train vs test", ...): how many records of the second are an exact
    duplicate (`exact`) or, otherwise, a near duplicate (`near`) of some record of the first."""
    texts = {name: [r if isinstance(r, str) else r["message"] for r in records]
             for name, records in splits.items()}
    frequencies = shingle_frequencies(t for values in texts.values() for t in values)
    names, result = list(texts), {}
    for i, first in enumerate(names):
        index = NearDuplicateIndex(frequencies=frequencies)
        for number, text in enumerate(texts[first]):
            index.add(str(number), text)
        for second in names[i + 1:]:
            exact = sum(index.find_exact(t) is not None for t in texts[second])
            near = sum(index.find_exact(t) is None and index.find_near(t) is not None for t in texts[second])
            result[f"{first} vs {second}"] = {"exact": exact, "near": near}
    return result
