"""Loading and validating ticket data, splitting it, and turning it into chat examples.

    records = load_records("my_tickets.csv", columns={"message": "body", "intent": "category"})
    splits = stratified_split(records, validation_fraction=0.1, seed=0)
    save_splits({**splits, "test": test_records}, "data/processed")

Every problem in a file is a `DataError` that names the file, the line (1-based; for a CSV the
physical line where the row starts) and the cause. `load_records(strict=True)` raises on the first
problem and returns canonical labels; `strict=False` lets through the defects that
`helpers.cleaning.clean_tickets` knows how to handle (blank messages, missing, misspelled or
unknown labels, odd order-id formats), so that they are dropped or fixed with a counted reason.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import warnings
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TYPE_CHECKING

from helpers.tasks import LABEL_VALUES, TRIAGE_FIELDS, normalize_label, reply_messages, triage_messages

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

LABEL_FIELDS = tuple(LABEL_VALUES)  # intent, product, urgency, sentiment
KIT_FIELDS = ("ticket_id", "customer_name", "message", *TRIAGE_FIELDS)
REQUIRED_FIELDS = ("message", *LABEL_FIELDS)
FILE_TYPES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
SPLIT_NAMES = ("train", "validation", "test")

# Order ids arrive as "LL-482913", "ll 482913", "#482913" or "482913"; all mean "LL-482913".
ORDER_ID_RE = re.compile(r"^\s*(?:#\s*|LL[\s\-_]*)?(\d{6})\s*$", re.IGNORECASE)
_MISSING = object()


class DataError(ValueError):
    """A problem with input data, located: `path`, `line` (1-based, or None) and `cause`."""

    def __init__(self, path: str | Path, line: int | None, cause: str, unit: str = "line") -> None:
        self.path, self.line, self.cause, self.unit = str(path), line, cause, unit
        where = f"{self.path}, {unit} {line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {cause}")


def normalize_order_id(value: Any) -> str | None:
    """Canonical "LL-NNNNNN" for any accepted spelling; None for a null/empty value.

    Raises ValueError for anything else (five digits, letters, a list, ...).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    match = ORDER_ID_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"invalid order id {value!r}: expected 'LL-' and 6 digits "
                         "(also accepted: 'LL482913', 'll 482913', '#482913', '482913')")
    return f"LL-{match.group(1)}"


# ----------------------------------------------------------------------------- reading files

def _short(value: Any, limit: int = 80) -> str:
    """`repr(value)`, cut to about `limit` characters: a huge cell must not flood an error message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise DataError(path, None, "this is a folder, not a file")
    if not path.exists():
        raise DataError(path, None, "no such file")
    return path.read_bytes()


def _decode(path: Path, encoding: str) -> str:
    """The file's text; a DataError naming the byte offset and line if it is not `encoding`, and the
    encoding a byte-order mark shows."""
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        hint = ("it starts with a UTF-16 byte-order mark: pass encoding='utf-16' or re-save it as UTF-8"
                if data.startswith((b"\xff\xfe", b"\xfe\xff")) else
                "re-save the file as UTF-8, or pass encoding='latin-1' (or the file's real encoding)")
        raise DataError(path, line, f"not valid {encoding}: byte 0x{data[err.start]:02x} at byte offset "
                        f"{err.start} ({err.reason}); {hint}") from None
    if not text.strip():
        raise DataError(path, None, "the file is empty (no records)")
    return text


def _parse_json(path: Path, text: str, number: int | None = None) -> Any:
    """`json.loads`, with a DataError for malformed or too deeply nested JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(path, number or err.lineno, f"malformed JSON: {err.msg} (column {err.colno})") from None
    except RecursionError:
        raise DataError(path, number, "the JSON is nested too deeply to read") from None


def _skipped_blank_lines(path: Path, numbers: list[int]) -> None:
    """Blank lines between records are skipped on purpose, and said: a count and where."""
    if numbers:
        shown = ", ".join(map(str, numbers[:5])) + (", ..." if len(numbers) > 5 else "")
        warnings.warn(f"{path}: skipped {len(numbers)} blank line(s) between records (line {shown})", stacklevel=3)


def _read_jsonl(path: Path, text: str) -> list[tuple[int, dict]]:
    rows, blank = [], []
    lines = text.rstrip().split("\n")  # blank lines at the very end are only the file's end
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            blank.append(number)
            continue
        record = _parse_json(path, line, number)
        if not isinstance(record, dict):
            raise DataError(path, number, f"expected a JSON object, got {type(record).__name__}")
        rows.append((number, record))
    if rows:
        _skipped_blank_lines(path, blank)
    return rows


def _read_json(path: Path, text: str) -> tuple[list[tuple[int, dict]], str]:
    """A JSON file: an array of objects (located by record number), one object, or JSON Lines."""
    start = text.lstrip()[:1]
    if start == "{" and "\n" in text.strip():  # one object over several lines, or JSON Lines
        try:
            return [(1, json.loads(text))], "line"
        except (json.JSONDecodeError, RecursionError):
            pass
    if start != "[":
        return _read_jsonl(path, text), "line"
    records = _parse_json(path, text)
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise DataError(path, number, f"expected a JSON object, got {type(record).__name__}", "record")
    return list(enumerate(records, start=1)), "record"


def _read_csv(path: Path, text: str) -> tuple[list[tuple[int, dict]], list[str]]:
    """Rows of a CSV with a header, each with the physical line where it starts (quoted fields
    may span lines). Uses the csv module rather than pandas for exactly these line numbers."""
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise DataError(path, line, "a NUL byte in the text: the file is binary or damaged")
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))  # a long message is a valid field
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows, header, end_of_previous, blank = [], None, 0, []
    try:
        for row in reader:
            start, end_of_previous = end_of_previous + 1, reader.line_num
            if not row:
                blank.append(start)
                continue
            if header is None:
                header = [name.strip() for name in row]
                repeated = sorted({name for name in header if header.count(name) > 1})
                if repeated:
                    raise DataError(path, start, f"the header repeats the column(s) {repeated}: rename them, "
                                    "or one column's values would be lost")
                continue
            if len(row) != len(header):
                raise DataError(path, start, f"the row has {len(row)} fields but the header has "
                                f"{len(header)} (an unquoted comma or quote?)")
            rows.append((start, dict(zip(header, row))))
    except csv.Error as err:  # located where the broken row starts (an unclosed quote runs to the end)
        raise DataError(path, end_of_previous + 1, f"malformed CSV in the row that starts here: {err}") from None
    if not rows:
        raise DataError(path, None, "the file has a header but no rows")
    _skipped_blank_lines(path, [n for n in blank if n <= rows[-1][0]])  # not the empty lines after the last row
    return rows, header


def _table_rows(table: Any) -> tuple[list[tuple[int, dict]], list[str]]:
    """Rows of a datasets.Dataset or pandas.DataFrame as plain Python values (null -> None)."""
    if hasattr(table, "to_list"):  # datasets.Dataset
        return list(enumerate(table.to_list(), start=1)), list(table.column_names)
    frame = table.astype(object).where(table.notna(), None)
    return list(enumerate(frame.to_dict("records"), start=1)), [str(c) for c in frame.columns]


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub's host answers within `timeout` seconds (without this check an offline
    `load_dataset` retries for about half a minute before failing)."""
    import socket
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _read_datasets(source: str | Path, split: str | None, from_hub: bool) -> Any:
    import datasets

    if from_hub and not datasets.config.HF_HUB_OFFLINE and not _hub_reachable():
        raise DataError(source, None, "not a local file or folder, and the Hugging Face Hub is "
                        "unreachable (no network). Check the path; for a Hub dataset you have "
                        "downloaded before, set HF_HUB_OFFLINE=1 before starting Python to use the cache")
    try:
        data = datasets.load_from_disk(str(source)) if not from_hub else datasets.load_dataset(
            str(source), split=split or "train")
    except Exception as err:  # noqa: BLE001 - any failure becomes one clear message
        hint = (" (no network? a Hub dataset needs to be online or already in the local cache; "
                "for a local file give a path that exists)") if from_hub else ""
        raise DataError(source, None, f"could not load the dataset: {type(err).__name__}: {err}{hint}") from None
    if isinstance(data, datasets.DatasetDict):
        name = split or ("train" if "train" in data else None)
        if name not in data:
            raise DataError(source, None, f"choose a split with split=...: it has {sorted(data)}")
        data = data[name]
    return data


def _read_source(source: Any, encoding: str, split: str | None
                 ) -> tuple[str, list[tuple[int, dict]], list[str] | None, str]:
    """(name, [(line, raw record)], column names or None for JSON, location unit)."""
    if not isinstance(source, (str, Path)):
        if isinstance(source, list):
            return "<records>", list(enumerate(source, start=1)), None, "record"
        rows, names = _table_rows(source)
        return f"<{type(source).__name__}>", rows, names, "row"
    path = Path(source)
    if path.is_dir():
        rows, names = _table_rows(_read_datasets(path, split, from_hub=False))
        return str(path), rows, names, "row"
    if not path.exists():
        if path.suffix or str(source).startswith((".", "/", "~")) or str(source).count("/") > 1:
            raise DataError(path, None, "no such file")
        rows, names = _table_rows(_read_datasets(str(source), split, from_hub=True))
        return str(source), rows, names, "row"
    kind = FILE_TYPES.get(path.suffix.lower())
    if kind is None:
        raise DataError(path, None, f"unsupported file type {path.suffix or '(none)'!r}: use one of "
                        f"{sorted(FILE_TYPES)}, a datasets folder (save_to_disk) or a Hub dataset id")
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:  # a damaged file can fail at any step: reading, naming the columns or decoding the rows
            table = pq.read_table(path)
            rows, names = table.to_pylist(), table.column_names
        except Exception as err:  # noqa: BLE001
            raise DataError(
                path, None, f"cannot read as Parquet: {type(err).__name__}: {_short(str(err), 200)}"
            ) from None
        if not rows:
            raise DataError(path, None, "the file is empty (no rows)")
        return str(path), list(enumerate(rows, start=1)), names, "row"
    text = _decode(path, encoding)
    if kind == "csv":
        rows, names = _read_csv(path, text)
        return str(path), rows, names, "line"
    rows, unit = _read_json(path, text)
    return str(path), rows, None, unit


# ----------------------------------------------------------------------------- validation

def parse_column_mapping(value: Mapping[str, str] | str | None) -> dict[str, str] | None:
    """A `columns=` mapping given as a dict or as JSON text (papermill's `-p COLUMNS '{...}'` passes
    text); None, "" or "None" mean no mapping. A ValueError says what is wrong with bad text."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "None", "null")):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"COLUMNS is not valid JSON ({err.msg} at column {err.colno}): {value!r}; "
                             'write it like \'{"message": "body", "intent": "category"}\'') from None
    if not isinstance(value, Mapping):
        raise ValueError(f"COLUMNS should map kit fields to your column names, like "
                         f'{{"message": "body"}}; got {type(value).__name__} {value!r}')
    bad = {k: v for k, v in value.items() if not isinstance(k, str) or not isinstance(v, str)}
    if bad:
        raise ValueError(f"COLUMNS keys and values should be column names (text); these are not: {bad}")
    return dict(value)


def _check_mapping(columns: Mapping[str, str] | str | None) -> dict[str, str]:
    columns = dict(parse_column_mapping(columns) or {})
    unknown = sorted(set(columns) - set(KIT_FIELDS))
    if unknown:
        raise ValueError(f"columns= maps unknown kit fields {unknown}; the kit's fields are {list(KIT_FIELDS)}")
    return columns


def _check_header(name: str, header: list[str], columns: dict[str, str], required: Sequence[str],
                  unit: str) -> None:
    """A mapped or required column absent from the file is an error before any row is read."""
    line = 1 if unit == "line" else None
    for kit, column in columns.items():
        if column not in header:
            raise DataError(name, line, f"column {column!r} (mapped to {kit!r} by columns=) is not in "
                            f"the file; its columns are {header}", unit)
    renamed = {kit for kit, column in columns.items()} | (set(header) - set(columns.values()))
    for field in required:
        if field not in renamed:
            raise DataError(name, line, f"missing column {field!r}; the file has {header}: map yours "
                            f"with columns={{{field!r}: '<your column>'}}", unit)


def _check_keys_seen(name: str, rows: list[tuple[int, dict]], columns: dict[str, str],
                     required: Sequence[str], unit: str) -> None:
    """JSON records have no header: a required field that no record has is a schema error."""
    present = {key for _, raw in rows if isinstance(raw, dict)
               for key, value in _rename(raw, columns).items() if value is not _MISSING}
    for field in required:
        if field not in present:
            raise DataError(name, rows[0][0], f"no record has the field {field!r} (fields seen: "
                            f"{sorted(present)}); map yours with columns={{{field!r}: '<your key>'}}", unit)


def _rename(raw: dict, columns: dict[str, str]) -> dict:
    sources = set(columns.values())
    record = {kit: raw.get(column, _MISSING) for kit, column in columns.items()}
    for key, value in raw.items():
        if key not in sources and key not in record:
            record[key] = value
    return record


def _check_types(record: dict, fail) -> None:
    """Kit fields must be strings (or null); order_id may be an int; ticket_id any scalar."""
    for field in ("message", "customer_name", *LABEL_FIELDS, "order_id"):
        value = record.get(field)
        if value is None or value is _MISSING or isinstance(value, str):
            continue
        if field == "order_id" and isinstance(value, int) and not isinstance(value, bool):
            continue
        fail(f"field {field!r} should be a string, got {type(value).__name__} {_short(value, 40)}")
    if isinstance(record.get("ticket_id"), (list, dict)):
        fail(f"field 'ticket_id' should be a string or number, got {type(record['ticket_id']).__name__}")


def _validate(record: dict, required: Sequence[str], fail) -> dict:
    """Strict checks for one record; returns it with canonical labels and order id."""
    for field in required:
        if record.get(field, _MISSING) is _MISSING:
            fail(f"missing field {field!r}")
        if record[field] is None or not str(record[field]).strip():
            fail(f"missing label: field {field!r} is empty" if field in LABEL_FIELDS
                 else f"field {field!r} is empty")
    for field in LABEL_FIELDS:
        if record.get(field) is not None:
            label = normalize_label(field, record[field])
            if label is None:
                fail(f"unknown label {_short(record[field])} for {field!r}: not one of "
                     f"{list(LABEL_VALUES[field])} nor an alias in helpers.tasks.LABEL_ALIASES")
            record[field] = label
    order_id = record.get("order_id")
    try:
        record["order_id"] = normalize_order_id(None if order_id is _MISSING else order_id)
    except ValueError as err:
        fail(str(err))
    return record


def _tidy(record: dict, number: int) -> dict:
    """Kit fields first, in order; empty strings in optional fields and labels become None."""
    out = {field: record.get(field) for field in KIT_FIELDS}
    for field in ("customer_name", "order_id", *LABEL_FIELDS):
        if isinstance(out[field], str) and not out[field].strip():
            out[field] = None
    out["ticket_id"] = str(out["ticket_id"]) if out["ticket_id"] is not None else f"row{number:05d}"
    out.update({k: v for k, v in record.items() if k not in out})
    return out


def load_records(source: str | Path | Any, columns: Mapping[str, str] | str | None = None, *,
                 strict: bool = True, labeled: bool = True, split: str | None = None,
                 encoding: str = "utf-8") -> list[dict[str, Any]]:
    """Read tickets from JSONL/JSON, CSV, Parquet, a `save_to_disk` folder, a Hub dataset id (online
    or cached), a DataFrame, a Dataset or a list of dicts, as records with the kit's field names.

    `columns` maps kit fields to your column names, e.g. `{"message": "body", "intent": "category"}`
    (a dict or its JSON text); other columns are kept as they are. `strict=True` raises a `DataError`
    (file, line, cause) on the first problem and returns canonical labels and "LL-NNNNNN" order ids;
    `strict=False` checks only
    structure and types, leaving known defects to `clean_tickets`. `labeled=False` makes the label
    columns optional (for data to predict on). A missing `ticket_id` becomes "row00001", ....
    """
    mapping = _check_mapping(columns)
    name, rows, header, unit = _read_source(source, encoding, split)
    if not rows:
        raise DataError(name, None, "there are no records")
    required = REQUIRED_FIELDS if labeled else ("message",)
    if header is not None:
        _check_header(name, header, mapping, required, unit)
    else:
        _check_keys_seen(name, rows, mapping, required, unit)
    records = []
    for number, raw in rows:
        def fail(cause: str, number: int = number) -> None:
            raise DataError(name, number, cause, unit)

        if not isinstance(raw, dict):
            fail(f"expected a record (dict), got {type(raw).__name__}")
        record = _rename(raw, mapping)
        _check_types(record, fail)
        if strict:
            record = _validate(record, required, fail)
        records.append(_tidy({k: v for k, v in record.items() if v is not _MISSING}, len(records) + 1))
    return records


# ----------------------------------------------------------------------------- splits and formats

def stratified_split(records: Sequence[Mapping[str, Any]], validation_fraction: float = 0.1,
                     seed: int = 0, by: str = "intent") -> dict[str, list[dict[str, Any]]]:
    """Split into `train` and `validation` so that each value of `by` keeps its share.

    Each class gives `fraction * class size` rows to validation (rounded down; the classes with the
    largest remainders give one more, so validation has exactly `round(fraction * len(records))`
    rows), chosen by a seeded shuffle: the same seed gives the same split. Both keep input order.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be between 0 and 1, got {validation_fraction}")
    groups: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        groups[str(record[by])].append(index)
    quotas = {label: len(idx) * validation_fraction for label, idx in groups.items()}
    counts = {label: int(quota) for label, quota in quotas.items()}
    leftover = round(len(records) * validation_fraction) - sum(counts.values())
    for label in sorted(quotas, key=lambda k: (counts[k] - quotas[k], k))[:leftover]:
        counts[label] += 1
    rng = random.Random(seed)
    chosen: set[int] = set()
    for label in sorted(groups):
        indices = list(groups[label])
        rng.shuffle(indices)
        chosen.update(indices[:counts[label]])
    return {"train": [dict(r) for i, r in enumerate(records) if i not in chosen],
            "validation": [dict(r) for i, r in enumerate(records) if i in chosen]}


def with_label_noise(records: Sequence[Mapping[str, Any]], share: float, seed: int = 0) -> list[dict[str, Any]]:
    """Copies of the records in which a `share` of them (chosen at random) have every label field
    replaced by a wrong value: what a careless labelling round does to a training set."""
    if not 0 <= share <= 1:
        raise ValueError(f"share must be between 0 and 1, not {share}")
    rng = random.Random(seed)
    noisy = [dict(r) for r in records]
    for record in rng.sample(noisy, round(share * len(noisy))):
        for field in LABEL_FIELDS:
            record[field] = rng.choice([v for v in LABEL_VALUES[field] if v != record[field]])
    return noisy


def to_chat(records: Sequence[Mapping[str, Any]], with_answer: bool = True) -> list[dict[str, Any]]:
    """Copies of the records with a `messages` field (system, user and, with `with_answer`, the
    assistant's JSON answer) built by `helpers.tasks.triage_messages`."""
    out = []
    for record in records:
        labels = {field: record.get(field) for field in TRIAGE_FIELDS} if with_answer else None
        if labels and any(labels[f] is None for f in LABEL_FIELDS):
            raise ValueError(f"ticket {record.get('ticket_id')!r} has no label for "
                             f"{[f for f in LABEL_FIELDS if labels[f] is None]}: clean it first")
        out.append({**record, "messages": triage_messages(record["message"], labels)})
    return out


@contextmanager
def counting_long_texts(tokenizer: PreTrainedTokenizerBase) -> Iterator[Any]:
    """Within this block the tokenizer does not warn "Token indices sequence length is longer than
    the specified maximum": counting long texts is the point (its `model_max_length` is lifted, and
    restored after)."""
    limit = getattr(tokenizer, "model_max_length", None)
    if limit is None:
        yield tokenizer
        return
    tokenizer.model_max_length = int(1e30)
    try:
        yield tokenizer
    finally:
        tokenizer.model_max_length = limit


def token_lengths(records: Sequence[Mapping[str, Any]], tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Token count of each record's whole chat (its chat template applied: system prompt, message
    and, if the record has labels or `messages` with one, the JSON answer) or, for a tokenizer
    without a chat template, of its message; compare with the model's context window. Long texts
    are counted without the tokenizer's "longer than the maximum" warning."""
    lengths = []
    with counting_long_texts(tokenizer):
        for record in records:
            if getattr(tokenizer, "chat_template", None):
                messages = record.get("messages") or to_chat([record])[0]["messages"]
                ids = tokenizer.apply_chat_template(messages, tokenize=True)
                ids = ids["input_ids"] if isinstance(ids, Mapping) or hasattr(ids, "keys") else ids
            else:
                ids = tokenizer(record["message"], add_special_tokens=False)["input_ids"]
            lengths.append(len(ids))
    return lengths


def save_splits(splits: Mapping[str, Sequence[Mapping[str, Any]]], out_dir: str | Path) -> dict[str, Path]:
    """Write each split to `<out_dir>/<name>.jsonl` (flat fields plus `messages`, UTF-8, one
    record per line); return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, records in splits.items():
        paths[name] = out_dir / f"{name}.jsonl"
        rows = [r if "messages" in r else to_chat([r])[0] for r in records]
        with paths[name].open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return paths


def load_splits(out_dir: str | Path) -> Any:
    """Read the splits written by `save_splits` as a `datasets.DatasetDict` (train, validation,
    test, in that order, then any others), with kit fields typed as strings even when all null."""
    import datasets

    out_dir = Path(out_dir)
    files = sorted(out_dir.glob("*.jsonl"), key=lambda p: (SPLIT_NAMES + (p.stem,)).index(p.stem))
    if not files:
        raise DataError(out_dir, None, "no <split>.jsonl files here: run save_splits first")
    result = datasets.DatasetDict()
    for path in files:
        rows = [record for _, record in _read_jsonl(path, _decode(path, "utf-8"))]
        dataset = datasets.Dataset.from_list(rows)
        for field in KIT_FIELDS:
            if field in dataset.column_names and dataset.features[field] != datasets.Value("string"):
                dataset = dataset.cast_column(field, datasets.Value("string"))
        result[path.stem] = dataset
    return result


def load_conversations(path: str | Path, messages_column: str = "messages") -> list[list[dict[str, str]]]:
    """Chat conversations from a JSONL file whose `messages_column` holds a list of
    `{"role", "content"}` messages ending with the assistant's answer: any task, ready for SFT."""
    path = Path(path)
    conversations = []
    rows, unit = _read_json(path, _decode(path, "utf-8"))
    for number, record in rows:
        messages = record.get(messages_column)
        if not isinstance(messages, list) or not messages:
            raise DataError(path, number, f"{messages_column!r} must be a non-empty list of messages", unit)
        for message in messages:
            if not (isinstance(message, dict) and isinstance(message.get("role"), str)
                    and isinstance(message.get("content"), str)):
                raise DataError(path, number, "each message needs a string 'role' and 'content'", unit)
        if messages[-1]["role"] != "assistant":
            raise DataError(path, number, "the last message must be the assistant's answer to learn", unit)
        conversations.append([{"role": m["role"], "content": m["content"]} for m in messages])
    if not conversations:
        raise DataError(path, None, "no conversations in this file")
    return conversations


def _as_text(value: Any) -> str | None:
    """A prompt or completion cell as text: strings as they are, a JSON object or list as compact JSON,
    numbers and booleans as written; None for a missing or empty cell."""
    if value is None or (isinstance(value, float) and value != value):  # NaN: an empty CSV/Parquet cell
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    text = value if isinstance(value, str) else json.dumps(value)
    return text if text.strip() else None


def load_task(source: str | Path | Any, prompt_column: str = "prompt", completion_column: str = "completion",
              system_prompt: str | None = None, encoding: str = "utf-8") -> list[list[dict[str, str]]]:
    """Chats for any text-in, text-out task from a prompt/completion file (JSONL, JSON, CSV, Parquet,
    a `datasets` folder, a DataFrame or a list of dicts), the format TRL trains on: each row becomes
    [system (with `system_prompt`), user: prompt, assistant: completion]. A completion that is a JSON
    object is kept as compact JSON text. A row without its prompt or its answer is a `DataError` that
    names the line: nothing is dropped silently."""
    name, rows, header, unit = _read_source(source, encoding, None)
    if not rows:
        raise DataError(name, None, "there are no records")
    columns = header if header is not None else sorted({k for _, raw in rows if isinstance(raw, dict) for k in raw})
    for role, column in (("prompt_column", prompt_column), ("completion_column", completion_column)):
        if column not in columns:
            raise DataError(name, 1 if unit == "line" else None, f"no column {column!r} ({role}); the file "
                            f"has {_short(columns, 200)}: pass {role}='<your column>'", unit)
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    conversations = []
    for number, raw in rows:
        if not isinstance(raw, dict):
            raise DataError(name, number, f"expected a record (dict), got {type(raw).__name__}", unit)
        prompt, completion = _as_text(raw.get(prompt_column)), _as_text(raw.get(completion_column))
        for column, text in ((prompt_column, prompt), (completion_column, completion)):
            if text is None:
                raise DataError(name, number, f"{column!r} is missing or empty", unit)
        conversations.append([*system, {"role": "user", "content": prompt},
                              {"role": "assistant", "content": completion}])
    return conversations


def split_conversations(conversations: Sequence[Sequence[Mapping[str, str]]], held_out_fraction: float = 0.2,
                        seed: int = 0) -> dict[str, list[list[dict[str, str]]]]:
    """Train, validation and test chats of one task, shuffled with `seed`: the held-out share is halved
    between validation and test (at least one chat each)."""
    if len(conversations) < 3:
        raise ValueError(f"{len(conversations)} conversations: at least 3 are needed for train, validation and test")
    shuffled = [list(c) for c in conversations]
    random.Random(seed).shuffle(shuffled)
    half = max(1, round(len(shuffled) * held_out_fraction / 2))
    return {"train": shuffled[2 * half:], "validation": shuffled[:half], "test": shuffled[half:2 * half]}


def three_way_split(records: Sequence[Mapping[str, Any]], held_out_fraction: float = 0.2,
                    seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Train, validation and test splits of one labelled file, stratified by intent: the held-out
    share is halved between validation and test."""
    halves = stratified_split(records, validation_fraction=held_out_fraction, seed=seed)
    held = stratified_split(halves["validation"], validation_fraction=0.5, seed=seed)
    return {"train": halves["train"], "validation": held["train"], "test": held["validation"]}


def load_fine_tuning_data(data_dir: str | Path | None = None, data_file: str | Path | None = None,
                          columns: Mapping[str, str] | str | None = None, messages_column: str | None = None,
                          prompt_column: str | None = None, completion_column: str = "completion",
                          system_prompt: str | None = None, seed: int = 0) -> tuple[dict[str, list], dict | None]:
    """The data to fine-tune on, as `(ticket_splits, task_splits)`, each with train, validation and
    test lists. Labelled tickets come from a folder of splits (`data_dir`, notebook 01's) or from your
    own file (`data_file`, its columns mapped by `columns`), split 80/10/10; `task_splits` is then None.
    Any other task, chats in a `messages_column` or prompt/completion rows, gives `task_splits` of chats
    and empty ticket splits."""
    if messages_column or prompt_column:
        if data_file is None:
            raise ValueError("your own task needs its file: pass data_file with messages_column or prompt_column")
        chats = (load_conversations(data_file, messages_column) if messages_column
                 else load_task(data_file, prompt_column, completion_column, system_prompt))
        return {name: [] for name in SPLIT_NAMES}, split_conversations(chats, seed=seed)
    if data_file is not None:
        return three_way_split(load_records(data_file, parse_column_mapping(columns)), seed=seed), None
    if data_dir is None:
        raise ValueError("no data: pass data_dir (a folder of train/validation/test.jsonl) or data_file")
    return {name: list(split) for name, split in load_splits(data_dir).items()}, None


def triage_conversations(records: Sequence[Mapping[str, Any]]) -> list[list[dict[str, str]]]:
    """The triage chat of each labelled record: system prompt, message and the JSON answer."""
    return [record["messages"] for record in to_chat(records)]


def reply_demonstrations(path: str | Path, validation_fraction: float = 0.1
                         ) -> tuple[list[list[dict[str, str]]], list[list[dict[str, str]]]]:
    """The reply demonstrations of a JSONL file (a ticket with its `reply`) as chats, split into
    training and validation (the first `validation_fraction` of the rows).

    Every demonstration is kept, the ones that break a rubric item too: they are the desk's logged
    replies, and SFT learns their flaws with them, which preference tuning then has to undo."""
    records = load_records(path)
    for number, record in enumerate(records, start=1):
        if not isinstance(record.get("reply"), str) or not record["reply"].strip():
            raise DataError(str(path), number, "a demonstration needs a non-empty 'reply'")
    cut = max(1, int(len(records) * validation_fraction))
    chats = [reply_messages(r, r["reply"]) for r in records]
    return chats[cut:], chats[:cut]


def _as_messages(value: Any, role: str) -> list[dict[str, str]] | None:
    """A prompt or an answer as chat messages: a string becomes one message with `role`."""
    if isinstance(value, str) and value.strip():
        return [{"role": role, "content": value}]
    if isinstance(value, list) and value and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in value):
        return [{"role": m["role"], "content": m["content"]} for m in value]
    return None


def load_preference_pairs(path: str | Path) -> list[dict[str, Any]]:
    """Preference pairs from a JSONL file, as conversational `prompt`, `chosen` and `rejected` messages.

    A row is either the kit's (a ticket with `message`, `chosen` and `rejected` replies: the prompt is
    the reply task's, `helpers.tasks.reply_messages`) or anyone's (`prompt`, `chosen`, `rejected`, each a
    string or a list of messages). Each pair keeps its source row under `row`, for judging replies.
    """
    path = Path(path)
    pairs = []
    rows, unit = _read_json(path, _decode(path, "utf-8"))
    for number, record in rows:
        if "prompt" in record:
            prompt = _as_messages(record["prompt"], "user")
        elif isinstance(record.get("message"), str):
            prompt = reply_messages(record)
        else:
            raise DataError(path, number, "a pair needs a 'prompt' (or a ticket 'message'), 'chosen' and "
                                          "'rejected'", unit)
        chosen, rejected = (_as_messages(record.get(key), "assistant") for key in ("chosen", "rejected"))
        if prompt is None or chosen is None or rejected is None:
            raise DataError(path, number, "'prompt', 'chosen' and 'rejected' must be non-empty strings "
                                          "or lists of {'role', 'content'} messages", unit)
        if chosen == rejected:
            raise DataError(path, number, "'chosen' and 'rejected' are the same answer: nothing to prefer", unit)
        pairs.append({"prompt": prompt, "chosen": chosen, "rejected": rejected, "row": record})
    if not pairs:
        raise DataError(path, None, "no preference pairs in this file")
    return pairs


def preference_dataset(pairs: Sequence[Mapping[str, Any]]) -> Any:
    """A `datasets.Dataset` with the `prompt`, `chosen` and `rejected` columns that TRL's
    `RewardTrainer`, `DPOTrainer` and `KTOTrainer` read (conversational format)."""
    import datasets

    if not pairs:
        raise ValueError("no preference pairs")
    return datasets.Dataset.from_list([{key: pair[key] for key in ("prompt", "chosen", "rejected")}
                                       for pair in pairs])
