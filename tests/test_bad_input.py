"""Every kind of bad input gets a DataError naming the file, the line and the cause."""

import json
import random

import pytest

from helpers.data import DataError, load_conversations, load_preference_pairs, load_records, load_task

GOOD = {"ticket_id": "T1", "customer_name": "Ana", "message": "My kettle leaks.", "intent": "damaged_item",
        "product": "kettle", "order_id": "LL-482913", "urgency": "high", "sentiment": "negative"}
HEADER = "ticket_id,customer_name,message,intent,product,order_id,urgency,sentiment\n"
GOOD_CSV_ROW = 'T1,Ana,"My kettle leaks.",damaged_item,kettle,LL-482913,high,negative\n'


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def raises(path, line, *causes, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        load_records(path, **kwargs)
    message = str(info.value)
    assert str(path) in message, message
    if line is not None:
        assert info.value.line == line and f" {line}:" in message, message
    for cause in causes:
        assert cause in message, message
    return info.value


def test_malformed_json_names_line(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [GOOD, GOOD, '{"ticket_id": "T3", "message": "oops",', GOOD])
    raises(path, 3, "line 3", "malformed JSON")


def test_json_that_is_not_an_object(tmp_path):
    raises(write_jsonl(tmp_path / "t.jsonl", [GOOD, '["a", "list"]']), 2, "expected a JSON object")


def test_missing_field_names_line_and_field(tmp_path):
    row = {k: v for k, v in GOOD.items() if k != "urgency"}
    raises(write_jsonl(tmp_path / "t.jsonl", [GOOD, GOOD, row]), 3, "missing field 'urgency'")


def test_empty_required_field_in_csv(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + GOOD_CSV_ROW + 'T2,Bo,"Lamp broke",damaged_item,,,high,negative\n', encoding="utf-8")
    raises(path, 3, "line 3", "field 'product' is empty")


@pytest.mark.parametrize("value, kind", [(42, "int"), (["a", "b"], "list"), ({"x": 1}, "dict")])
def test_mistyped_message(tmp_path, value, kind):
    path = write_jsonl(tmp_path / "t.jsonl", [GOOD, dict(GOOD, message=value)])
    raises(path, 2, "field 'message' should be a string", kind)


def test_mistyped_field_is_an_error_even_when_lenient(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [dict(GOOD, intent=3)])
    raises(path, 1, "field 'intent' should be a string", strict=False)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "t.jsonl"
    path.write_text(content)
    raises(path, None, "the file is empty")


def test_json_array_with_no_records(tmp_path):
    path = tmp_path / "t.json"
    path.write_text("[]")
    raises(path, None, "no records")


def test_csv_with_only_a_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER)
    raises(path, None, "header but no rows")


def test_wrong_encoding_names_byte_offset_and_line(tmp_path):
    path = tmp_path / "t.csv"
    text = (
        HEADER
        + GOOD_CSV_ROW
        + 'T2,Zoë,"Le café moulu est trop fin",product_question,coffee_grinder,,low,neutral\n'
    )
    path.write_bytes(text.encode("latin-1"))
    error = raises(path, 3, "line 3", "not valid utf-8", "byte 0xeb", "byte offset")
    offset = text.encode("latin-1").index("ë".encode("latin-1"))
    assert f"byte offset {offset}" in str(error)
    records = load_records(path, encoding="latin-1")  # the fix the message suggests works
    assert records[1]["customer_name"] == "Zoë"


def test_unknown_label(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [GOOD, GOOD, GOOD, dict(GOOD, intent="complaint")])
    raises(path, 4, "unknown label 'complaint' for 'intent'", "LABEL_ALIASES")


def test_unknown_label_passes_when_lenient(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [dict(GOOD, intent="complaint")])
    assert load_records(path, strict=False)[0]["intent"] == "complaint"


@pytest.mark.parametrize("order_id", ["LL-48291", "AB-482913", "4829130", "order 5"])
def test_invalid_order_id(tmp_path, order_id):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + GOOD_CSV_ROW + f'T2,Bo,"Where is it?",order_status,none,{order_id},low,neutral\n')
    raises(path, 3, f"invalid order id {order_id!r}")


def test_csv_line_is_the_physical_line_of_the_row(tmp_path):
    path = tmp_path / "t.csv"
    multi_line = 'T2,Bo,"first line\nsecond line\nthird",order_status,none,,low,neutral\n'
    path.write_text(HEADER + GOOD_CSV_ROW + multi_line + 'T3,Cy,"Hi",nonsense,none,,low,neutral\n')
    raises(path, 6, "line 6", "unknown label 'nonsense'")


def test_csv_row_with_extra_fields(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + GOOD_CSV_ROW + "T2,Bo,Hi, there,order_status,none,,low,neutral\n")
    raises(path, 3, "the row has 9 fields but the header has 8")


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "tickets.xlsx"
    path.write_bytes(b"PK\x03\x04")
    raises(path, None, "unsupported file type '.xlsx'", ".jsonl")


def test_missing_file(tmp_path):
    raises(tmp_path / "nope.csv", None, "no such file")


def test_missing_column_in_mapping(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER.replace("message", "body") + GOOD_CSV_ROW)
    raises(path, 1, "line 1", "column 'text' (mapped to 'message' by columns=)", "'body'",
           columns={"message": "text"})


def test_required_column_absent_without_mapping(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER.replace("message", "body") + GOOD_CSV_ROW)
    raises(path, 1, "missing column 'message'", "columns={'message':")


def test_required_key_absent_from_every_jsonl_record(tmp_path):
    rows = [{("body" if k == "message" else k): v for k, v in GOOD.items()}] * 2
    raises(write_jsonl(tmp_path / "t.jsonl", rows), 1, "no record has the field 'message'", strict=False)


def test_mapped_key_absent_from_every_jsonl_record(tmp_path):
    raises(write_jsonl(tmp_path / "t.jsonl", [GOOD]), 1, "no record has the field 'message'",
           columns={"message": "body"})


def test_mapping_to_an_unknown_kit_field(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [GOOD])
    with pytest.raises(ValueError, match="unknown kit fields \\['mesage'\\]"):
        load_records(path, columns={"mesage": "body"})


def test_hub_id_offline_fails_clearly():
    with pytest.raises(DataError, match="someone/no-such-dataset"):
        load_records("someone/no-such-dataset")


def test_deeply_nested_json_is_a_data_error(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"message": ' + "[" * 100_000 + "]" * 100_000 + "}\n", encoding="utf-8")
    raises(path, 1, "nested too deeply")


def test_one_json_object_over_several_lines_is_one_record(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(GOOD, indent=2), encoding="utf-8")
    assert load_records(path)[0]["order_id"] == "LL-482913"


def test_a_repeated_csv_header_column_is_an_error_not_a_lost_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER.replace("sentiment", "message") + GOOD_CSV_ROW, encoding="utf-8")
    raises(path, 1, "repeats the column", "'message'")


def test_a_nul_byte_in_a_csv_names_its_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + GOOD_CSV_ROW + GOOD_CSV_ROW.replace("leaks", "le\x00aks"), encoding="utf-8")
    raises(path, 3, "NUL byte")


def test_an_unclosed_csv_quote_is_located_where_its_row_starts(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + GOOD_CSV_ROW + 'T2,Bo,"never closed,x,y\n' + GOOD_CSV_ROW * 5, encoding="utf-8")
    raises(path, 3, "malformed CSV in the row that starts here")


def test_a_long_csv_field_is_valid(tmp_path):
    path = tmp_path / "t.csv"
    long_message = "My kettle leaks. " * 12_000  # about 200 KiB, over the csv module's default limit
    path.write_text(HEADER + GOOD_CSV_ROW.replace("My kettle leaks.", long_message.strip()), encoding="utf-8")
    assert len(load_records(path)[0]["message"]) > 131_072


def test_a_utf16_file_is_named_as_utf16(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes((json.dumps(GOOD) + "\n").encode("utf-16"))
    raises(path, None, "UTF-16 byte-order mark", "encoding='utf-16'")
    assert load_records(path, encoding="utf-16")[0]["ticket_id"] == "T1"


def test_a_huge_unknown_label_is_shortened_in_the_message(tmp_path):
    error = raises(write_jsonl(tmp_path / "t.jsonl", [{**GOOD, "intent": "x" * 1_000_000}]), 1, "unknown label")
    assert len(str(error)) < 1_000


def test_a_column_mapping_as_json_text(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [{**{k: v for k, v in GOOD.items() if k != "message"}, "body": "Hi"}])
    assert load_records(path, columns='{"message": "body"}')[0]["message"] == "Hi"


@pytest.mark.parametrize("loader", [load_conversations, load_preference_pairs])
def test_chat_loaders_name_a_missing_path_or_a_folder(tmp_path, loader):
    for path, cause in ((tmp_path / "missing.jsonl", "no such file"), (tmp_path, "a folder, not a file")):
        with pytest.raises(DataError, match=cause):
            loader(path)


def test_chat_loaders_read_a_json_array_as_records_do(tmp_path):
    chat = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
    pair = {"prompt": "Hi", "chosen": "Hello", "rejected": "Go away"}
    (tmp_path / "chats.json").write_text(json.dumps([chat, chat]), encoding="utf-8")
    (tmp_path / "pairs.json").write_text(json.dumps([pair]), encoding="utf-8")
    assert len(load_conversations(tmp_path / "chats.json")) == 2
    assert len(load_preference_pairs(tmp_path / "pairs.json")) == 1
    (tmp_path / "bad.json").write_text(json.dumps([chat, {"messages": []}]), encoding="utf-8")
    with pytest.raises(DataError, match="record 2"):
        load_conversations(tmp_path / "bad.json")


def test_blank_lines_between_records_are_skipped_and_counted(tmp_path):
    (tmp_path / "t.jsonl").write_text(
        json.dumps(GOOD) + "\n\n" + json.dumps(GOOD) + "\n   \n" + json.dumps(GOOD) + "\n\n\n",
        encoding="utf-8",
    )
    (tmp_path / "t.csv").write_text(HEADER + GOOD_CSV_ROW + "\n" + GOOD_CSV_ROW + "\n\n", encoding="utf-8")
    for name, count, where in (("t.jsonl", 2, "line 2, 4"), ("t.csv", 1, "line 3")):
        with pytest.warns(UserWarning, match=rf"skipped {count} blank line\(s\) between records \({where}\)"):
            assert len(load_records(tmp_path / name)) == (3 if name == "t.jsonl" else 2)


def test_a_task_row_without_its_answer_names_its_line(tmp_path):
    path = write_jsonl(tmp_path / "task.jsonl", [{"prompt": "2+2?", "completion": "4"}, {"prompt": "3+3?"},
                                                 {"prompt": "1+1?", "completion": "2"}])
    with pytest.raises(DataError, match=r"line 2: 'completion' is missing or empty"):
        load_task(path)
    (tmp_path / "task.csv").write_text("prompt,completion\n2+2?,4\n3+3?,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 3: 'completion' is missing or empty"):
        load_task(tmp_path / "task.csv")


def test_a_task_file_without_the_named_column_lists_its_columns(tmp_path):
    (tmp_path / "task.csv").write_text("text,label\nGreat film,positive\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"no column 'prompt' \(prompt_column\); the file has \['text', 'label'\]"):
        load_task(tmp_path / "task.csv")
    assert load_task(tmp_path / "task.csv", "text", "label")[0][-1] == {"role": "assistant", "content": "positive"}


def mutations(text: str, rng) -> str:
    """`text` broken the ways files break: bytes cut, dropped, repeated or replaced, quotes and brackets,
    and nesting deeper than a parser recurses."""
    cut = rng.randrange(len(text))
    choice = rng.randrange(7)
    if choice == 0:
        return text[:cut]
    if choice == 1:
        return text[:cut] + text[cut + rng.randrange(1, 40):]
    if choice == 2:
        return text[:cut] + text[cut:cut + 30] * rng.randrange(2, 5) + text[cut:]
    if choice == 3:
        return text[:cut] + rng.choice(['"', "'", "{", "}", "[", "]", ",", "\n", "\x00", "\\", "\r"]) + text[cut:]
    if choice == 4:
        return text[:cut] + chr(rng.randrange(1, 0x2FFF)) + text[cut + 1:]
    if choice == 5:
        return text[:cut] + "[" * 50_000 + text[cut:]
    return text.replace(rng.choice([",", '"', ":", "\n"]), rng.choice(["", ";", "\n\n", '""']), rng.randrange(1, 4))


@pytest.mark.filterwarnings("ignore:.*blank line")  # broken files have blank lines; their count is tested above
@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_broken_files_give_a_data_error_and_nothing_else(tmp_path, suffix):
    records = [{**GOOD, "ticket_id": f"T{i}", "message": f"My kettle {i} leaks, \"badly\"."} for i in range(6)]
    if suffix == ".csv":
        text = HEADER + "".join(GOOD_CSV_ROW.replace("T1", f"T{i}") for i in range(6))
    elif suffix == ".json":
        text = json.dumps(records, indent=1)
    else:
        text = "".join(json.dumps(r) + "\n" for r in records)
    rng, path = random.Random(suffix), tmp_path / f"t{suffix}"
    as_task = lambda path: load_task(path, "message", "intent")  # noqa: E731 - any two columns make a task
    loaders = [load_records, as_task] + ([] if suffix == ".csv" else [load_conversations, load_preference_pairs])
    for _ in range(150):
        path.write_bytes(mutations(text, rng).encode("utf-8", "surrogatepass"))
        for loader in loaders:
            try:
                rows = loader(path)
            except DataError:
                continue
            assert rows, loader  # a file that loads gives records, never an empty list


def test_broken_parquet_files_and_dataset_folders_give_a_data_error_and_nothing_else(tmp_path):
    import datasets
    import pandas as pd

    records = [{**GOOD, "ticket_id": f"T{i}", "message": f"My kettle {i} leaks."} for i in range(6)]
    good = tmp_path / "good.parquet"
    pd.DataFrame(records).to_parquet(good)
    data, rng = good.read_bytes(), random.Random(7)
    as_task = lambda path: load_task(path, "message", "intent")  # noqa: E731
    broken = tmp_path / "broken.parquet"
    for _ in range(60):
        cut = rng.randrange(len(data))
        broken.write_bytes(rng.choice([data[:cut], data[:cut] + bytes([rng.randrange(256)]) + data[cut + 1:],
                                       data[:cut] + data[cut + rng.randrange(1, 64):]]))
        for loader in (load_records, as_task):
            try:
                assert loader(broken)
            except DataError:
                pass
    folder = tmp_path / "saved"
    datasets.Dataset.from_list(records).save_to_disk(str(folder))
    assert len(load_records(folder)) == 6
    for damage in ("state.json", "dataset_info.json", "data-00000-of-00001.arrow"):
        (folder / damage).write_bytes(b"{not what it was")
        for loader in (load_records, as_task):
            with pytest.raises(DataError, match="could not load the dataset"):
                loader(folder)
