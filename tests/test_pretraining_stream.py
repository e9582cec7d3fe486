"""The pre-training stream and job: the stream repeats with its seed, never holds a held-out message or a
label, and packs into full blocks; a stopped run resumes and ends exactly where an uninterrupted run ends."""

import itertools
import json
import random

import pytest
import torch
from transformers import TrainerCallback

from helpers.modeling import build_model, count_parameters
from helpers.pretraining import (StreamedBlocks, TrainingLog, pack_documents, pretrain, pretraining_arguments,
                                 read_training_log)
from helpers.runtime import DATA_DIR
from synth.stream import TONE_LINES, URGENCY_LINES, document_stream, heldout_messages, reading_probes, support_thread
from synth.tickets import MAX_SIMILARITY, ShingleIndex
from helpers.tokenization import train_tokenizer
from helpers.tracking import TRACKER_VARIABLE, read_scalars

N_DOCUMENTS = 12_000  # about ten batches of e-mail


@pytest.fixture(scope="module")
def documents():
    return list(itertools.islice(document_stream(seed=0), N_DOCUMENTS))


@pytest.fixture(scope="module")
def tokenizer(documents):
    return train_tokenizer(documents[:2000], vocab_size=600)


def test_the_same_seed_gives_the_same_documents(documents):
    assert list(itertools.islice(document_stream(seed=0), 500)) == documents[:500]
    assert list(itertools.islice(document_stream(seed=1), 500)) != documents[:500]


def test_the_stream_mixes_support_mail_and_the_world(documents):
    mail = [d for d in documents if "order" in d.lower() or "\n\n" in d]
    assert 0.45 < len(mail) / len(documents) < 0.8
    assert any(d.startswith("The capital of") or "capital" in d for d in documents)
    assert any("Your order is LL-" in d for d in documents)


def test_no_heldout_message_and_no_label_json_is_in_the_stream(documents):
    heldout = heldout_messages(DATA_DIR / "support")
    assert len(heldout) > 500
    index = ShingleIndex(threshold=MAX_SIMILARITY)
    for message in heldout:
        index.add(message)
    text = "\n".join(documents)
    assert not [m for m in heldout if m in text]
    assert not [d for d in documents if index.too_close(d.split("\n\n")[0].split("\n")[-1])]
    assert '"intent"' not in text and '"sentiment"' not in text


def test_answers_acknowledge_only_the_tone_and_urgency_the_message_shows():
    tickets = [json.loads(line) for line in (DATA_DIR / "support" / "triage_test.jsonl").open()][:400]
    rng, acknowledged = random.Random(0), {"urgency": 0, "sentiment": 0}
    for ticket in tickets:
        answer = support_thread(ticket, rng).split("\n\n")[-1]
        for field, lines in (("urgency", URGENCY_LINES), ("sentiment", TONE_LINES)):
            others = [line for label, group in lines.items() if label != ticket[field] for line in group]
            assert not [line for line in others if line in answer], (ticket[field], answer)
            acknowledged[field] += any(line in answer for line in lines.get(ticket[field], ()))
    assert acknowledged["urgency"] > 0.5 * len(tickets) and acknowledged["sentiment"] > 0.3 * len(tickets)


def test_the_desks_footer_quotes_the_tickets_own_codes():
    tickets = [json.loads(line) for line in (DATA_DIR / "support" / "triage_test.jsonl").open()][:400]
    rng, footers = random.Random(0), 0
    for ticket in tickets:
        _, _, answer = support_thread(ticket, rng).partition("\n\n")
        if "\n" in answer:
            footer = answer.split("\n")[-1]
            assert f'"{ticket["product"]}"' in footer and f'"{ticket["urgency"]}"' in footer, (ticket, footer)
            footers += 1
    assert 0.3 * len(tickets) < footers < 0.6 * len(tickets)


def test_reading_probes_ask_for_what_the_message_or_header_gives():
    tickets = [json.loads(line) for line in (DATA_DIR / "support" / "triage_test.jsonl").open()][:100]
    probes = reading_probes(tickets)
    assert len(probes["order_id"]) > 50 and len(probes["first_name"]) > 50
    for probe in probes["order_id"]:
        assert probe["prompt"].endswith("Your order is LL-") and len(probe["answer"]) == 6
        assert probe["answer"] in probe["prompt"]  # copied, never guessed
    for probe in probes["first_name"]:
        assert probe["answer"] in probe["prompt"].split("\n")[0]


def test_streamed_blocks_are_full_and_repeat(documents, tokenizer):
    blocks = StreamedBlocks(lambda: document_stream(seed=0), tokenizer, block_size=64)
    first = list(itertools.islice(iter(blocks), 20))
    assert all(len(b["input_ids"]) == 64 for b in first)
    assert first == list(itertools.islice(iter(blocks), 20))
    assert first[0]["input_ids"][0] == tokenizer.bos_token_id


class StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def test_a_stopped_run_resumes_and_ends_where_an_uninterrupted_run_ends_and_no_later(tmp_path, documents, tokenizer,
                                                                                   monkeypatch):
    monkeypatch.delenv(TRACKER_VARIABLE, raising=False)  # the tracker on, whatever the caller's environment says
    heldout = pack_documents(documents[-200:], tokenizer, 64)

    def run(out, callbacks=()):
        model = build_model(tokenizer, seed=0)
        args = pretraining_arguments(out, max_steps=6, batch_size=4, eval_steps=3, save_steps=3)
        blocks = StreamedBlocks(lambda: document_stream(seed=0), tokenizer, block_size=64)
        log = TrainingLog(out / "log.jsonl", 4 * 64, {"one": lambda m, t: 1.0})
        pretrain(model, tokenizer, blocks, heldout, args, callbacks=[log, *callbacks])
        return model

    whole = run(tmp_path / "whole")
    stopped = run(tmp_path / "resumed", [StopAt(3)])
    assert (tmp_path / "resumed" / "checkpoint-3").exists() and not (tmp_path / "resumed" / "checkpoint-6").exists()
    assert not all(torch.equal(a, b) for a, b in zip(whole.parameters(), stopped.parameters()))
    resumed = run(tmp_path / "resumed")
    for a, b in zip(whole.parameters(), resumed.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    rows = read_training_log(tmp_path / "resumed" / "log.jsonl")
    assert [r["step"] for r in rows] == [3, 6] and rows[-1]["tokens"] == 6 * 4 * 64 and rows[-1]["one"] == 1.0
    assert count_parameters(resumed) == count_parameters(whole)
    finished = run(tmp_path / "resumed")  # a finished run only loads its last checkpoint
    for a, b in zip(whole.parameters(), finished.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert [r["step"] for r in read_training_log(tmp_path / "resumed" / "log.jsonl")] == [3, 6]
    tracked = read_scalars(tmp_path.name, "resumed")  # the resumed run added to its logs; the finished one, nothing
    assert [s for s, _ in tracked["eval/loss"]] == [3, 6] and [s for s, _ in tracked["train/loss"]] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]


def test_a_continued_model_counts_on_from_its_earlier_log(tmp_path):
    log = TrainingLog(tmp_path / "log.jsonl", 100, {}, earlier={"step": 50, "tokens": 5000, "seconds": 60.0})
    state = type("State", (), {"global_step": 10, "log_history": [{"loss": 2.0}]})()
    model = torch.nn.Linear(1, 1)
    log.on_evaluate(None, state, None, metrics={"eval_loss": 1.5}, model=model)
    row = read_training_log(tmp_path / "log.jsonl")[0]
    assert (row["step"], row["tokens"], row["heldout_loss"]) == (60, 6000, 1.5) and row["seconds"] >= 60.0
