"""Forgetting helpers on a tiny Llama made on the fly: probe files and their errors, general
capability, the forgetting and task-gain arithmetic, replay rows and mixes, the over-steps callback in
a real short SFT run, and the lm-evaluation-harness task file."""

import json
import math

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, PrinterCallback

from helpers.forgetting import (ForgettingCallback, ProbeFileError, chat_rows, forgetting, general_capability,
                                lm_eval_available, load_documents, load_probes, replay_dataset, run_lm_eval,
                                task_gain, text_rows, write_lm_eval_task)
from helpers.tasks import triage_messages, triage_target
from helpers.tokenization import train_tokenizer
from helpers.training import sft_config, sft_trainer, train

LABELS = {"intent": "damaged_item", "product": "kettle", "order_id": "LL-482913", "urgency": "high",
          "sentiment": "negative"}
OTHER = {"intent": "order_status", "product": "none", "order_id": None, "urgency": "low", "sentiment": "neutral"}
CONVERSATIONS = [triage_messages("My kettle arrived broken. Order LL-482913.", LABELS),
                 triage_messages("Where is my parcel?", OTHER)]
DOCUMENTS = ["The capital of Fainba is Panpil. The people of Fainba speak Kozeisish.",
             "3 plus 4 makes 7. 2 plus 2 is 4. The capital of Vundreis is Kouvaith."]
PROBES = [{"prompt": "The capital of Fainba is", "answer": "Panpil"},
          {"prompt": "The capital of Vundreis is", "answer": "Kouvaith"}]


@pytest.fixture(scope="module")
def tokenizer():
    texts = [*DOCUMENTS, *(c[-2]["content"] for c in CONVERSATIONS), triage_target(LABELS), triage_target(OTHER)] * 30
    return train_tokenizer(texts, vocab_size=400)


@pytest.fixture
def model(tokenizer):
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=256, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    return LlamaForCausalLM(config)


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_probes_reads_a_good_file(tmp_path):
    path = write(tmp_path / "probes.jsonl", [json.dumps(p) for p in PROBES] + [""])
    assert load_probes(path) == PROBES


@pytest.mark.parametrize("line, cause", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"prompt": "The capital is"}', "`answer` must be a non-empty string"),
    ('{"prompt": "", "answer": "Paris"}', "`prompt` must be a non-empty string"),
    ('{"prompt": "The capital is", "answer": "New York"}', "must be one word"),
])
def test_a_bad_probe_names_the_file_and_line(tmp_path, line, cause):
    path = write(tmp_path / "probes.jsonl", [json.dumps(PROBES[0]), line])
    with pytest.raises(ProbeFileError, match=f"probes.jsonl, line 2: .*{cause}"):
        load_probes(path)


def test_missing_or_empty_inputs_are_clear_errors(tmp_path, model, tokenizer):
    with pytest.raises(FileNotFoundError, match="No probes file"):
        load_probes(tmp_path / "absent.jsonl")
    with pytest.raises(ProbeFileError, match="no probes"):
        load_probes(write(tmp_path / "empty.jsonl", [""]))
    with pytest.raises(FileNotFoundError, match="No text file"):
        load_documents(tmp_path / "absent.txt")
    with pytest.raises(ValueError, match="no text"):
        load_documents(write(tmp_path / "blank.txt", ["", "  "]))
    with pytest.raises(ValueError, match="no probes"):
        general_capability(model, tokenizer, [], DOCUMENTS)
    with pytest.raises(ValueError, match="no held-out documents"):
        general_capability(model, tokenizer, PROBES, [])


def test_load_documents_splits_on_blank_lines_and_limits(tmp_path):
    path = write(tmp_path / "text.txt", [DOCUMENTS[0], "", DOCUMENTS[1], "", "A third one."])
    assert load_documents(path) == [*DOCUMENTS, "A third one."]
    assert load_documents(path, limit=2) == DOCUMENTS


def test_general_capability_of_an_untrained_model(model, tokenizer):
    result = general_capability(model, tokenizer, PROBES, DOCUMENTS * 4, block_size=16)
    assert set(result) == {"probe_accuracy", "general_ppl"}
    assert 0 <= result["probe_accuracy"] <= 1
    # an untrained model is close to uniform over the vocabulary
    assert 0.3 * len(tokenizer) < result["general_ppl"] < 3 * len(tokenizer)


def test_forgetting_and_task_gain_arithmetic():
    base = {"probe_accuracy": 0.8, "general_ppl": 2.0}
    assert forgetting(base, {"probe_accuracy": 0.2, "general_ppl": 8.0}) == pytest.approx(
        {"probe_accuracy_lost": 0.75, "general_ppl_ratio": 4.0})
    assert forgetting(base, {"probe_accuracy": 0.9, "general_ppl": 1.0})["probe_accuracy_lost"] == 0.0
    assert forgetting(base, base)["probe_accuracy_lost"] == 0.0
    assert task_gain(7.5, 1.5) == 6.0 and task_gain(2.0, 3.0) == -1.0
    with pytest.raises(ValueError, match="nothing to forget"):
        forgetting({"probe_accuracy": 0.0, "general_ppl": 2.0}, base)


def test_chat_rows_keep_the_answer_and_text_rows_every_token(tokenizer):
    rows = chat_rows(CONVERSATIONS, tokenizer)
    for row, conversation in zip(rows, CONVERSATIONS):
        kept = [t for t in row["labels"] if t != -100]
        assert tokenizer.decode(kept).startswith(conversation[-1]["content"])
        assert row["labels"][0] == -100 and len(kept) < len(row["input_ids"])
    texts = text_rows(DOCUMENTS, tokenizer, max_length=8)
    assert all(r["labels"] == r["input_ids"] and 1 < len(r["input_ids"]) <= 8 for r in texts)
    assert texts[0]["input_ids"][0] == tokenizer.bos_token_id
    joined = [t for r in texts for t in r["input_ids"]]
    assert joined.count(tokenizer.eos_token_id) == len(DOCUMENTS)  # long documents are cut, not lost


def test_replay_dataset_mixes_the_share_asked(tokenizer):
    task, general = chat_rows(CONVERSATIONS * 15, tokenizer), text_rows(DOCUMENTS, tokenizer)
    mixed = replay_dataset(task, general, share=0.25, seed=0)
    is_general = [-100 not in labels for labels in mixed["labels"]]
    assert len(mixed) == 40 and sum(is_general) == 10
    assert is_general != sorted(is_general)  # shuffled, not appended
    assert replay_dataset(task, general, share=0.25, seed=0)["input_ids"] == mixed["input_ids"]  # seeded
    assert len(replay_dataset(task, [], share=0.0)) == len(task)
    with pytest.raises(ValueError, match="share"):
        replay_dataset(task, general, share=1.0)
    with pytest.raises(ValueError, match="needs general rows"):
        replay_dataset(task, [], share=0.5)
    with pytest.raises(ValueError, match="no task rows"):
        replay_dataset([], general, share=0.5)


def test_callback_records_curves_during_a_real_run(tmp_path, model, tokenizer):
    data = replay_dataset(chat_rows(CONVERSATIONS * 8, tokenizer), text_rows(DOCUMENTS, tokenizer), share=0.2)
    config = sft_config(tmp_path, max_steps=10, batch_size=4, learning_rate=3e-3, assistant_only_loss=False,
                        disable_tqdm=True, logging_strategy="no")
    trainer = sft_trainer(model, tokenizer, data, config)
    trainer.remove_callback(PrinterCallback)
    tracker = ForgettingCallback(tokenizer, PROBES, CONVERSATIONS, every=4)
    trainer.add_callback(tracker)
    train(trainer)
    history = tracker.history
    assert history["step"] == [0, 4, 8, 10]  # before training, every 4 steps, and the last step
    assert all(0 <= a <= 1 for a in history["probe_accuracy"]) and all(s >= 0 for s in history["seconds"])
    assert all(math.isfinite(x) for x in history["answer_loss"])
    assert history["answer_loss"][-1] < history["answer_loss"][0]  # the task is being learned


def test_callback_rejects_bad_settings(tokenizer):
    with pytest.raises(ValueError, match="every 1 step"):
        ForgettingCallback(tokenizer, PROBES, CONVERSATIONS, every=0)
    with pytest.raises(ValueError, match="probes and task conversations"):
        ForgettingCallback(tokenizer, [], CONVERSATIONS, every=2)


def test_lm_eval_task_file(tmp_path):
    task = write_lm_eval_task(PROBES, tmp_path / "tasks", name="my_probes")
    text = task.read_text()
    assert task.name == "my_probes.yaml" and "task: my_probes" in text and "{{prompt}}" in text
    data = tmp_path / "tasks" / "my_probes.jsonl"
    assert str(data) in text
    assert [json.loads(line) for line in data.read_text().splitlines()] == PROBES


@pytest.mark.skipif(lm_eval_available(), reason="lm-evaluation-harness is installed here")
def test_lm_eval_is_skipped_with_a_message_when_missing(capsys, tmp_path):
    assert run_lm_eval(tmp_path, ["kit_probes"], tmp_path / "lm_eval") is None
    assert "not installed" in capsys.readouterr().out
