"""Triage scoring, the fine-tuning config, the loss mask, memory tracking and a short real SFT run."""

import json

import pytest

from helpers.evaluation import answer_loss, assistant_tokens
from helpers.metrics import follows_schema, parse_triage, score_triage, triage_rows
from helpers.modeling import build_model
from helpers.runtime import PeakMemory
from helpers.tasks import triage_messages, triage_target
from helpers.tokenization import END_OF_TURN, train_tokenizer
from helpers.training import (chat_dataset, loss_mask, sft_config, sft_trainer, show_loss_mask, train,
                              training_history)

LABELS = {"intent": "damaged_item", "product": "kettle", "order_id": "LL-482913", "urgency": "high",
          "sentiment": "negative"}
OTHER = {"intent": "order_status", "product": "none", "order_id": None, "urgency": "low", "sentiment": "neutral"}


def test_parse_triage_accepts_one_json_object_only():
    assert parse_triage(' {"a": 1} ') == {"a": 1}
    for text in ["", "not json", "[1, 2]", '{"a": 1} trailing', '"string"', None]:
        assert parse_triage(text) is None


def test_schema_checks_keys_labels_and_order_id():
    assert follows_schema(LABELS) and follows_schema(OTHER)
    assert not follows_schema(None)
    assert not follows_schema({**LABELS, "extra": 1})
    assert not follows_schema({k: v for k, v in LABELS.items() if k != "urgency"})
    assert not follows_schema({**LABELS, "product": "toaster"})
    assert not follows_schema({**LABELS, "order_id": "482913"})


def test_scores_on_a_known_mix():
    references = [LABELS, OTHER, LABELS, OTHER]
    outputs = [triage_target(LABELS),                        # all right
               json.dumps({**OTHER, "urgency": "high"}),     # 4 of 5 fields
               "I think it is damaged",                      # not JSON: wrong everywhere
               json.dumps({**OTHER, "product": "toaster"})]  # JSON, not schema; 4 of 5 fields
    scores = score_triage(outputs, references)
    assert scores["json_valid"] == 0.75 and scores["schema_valid"] == 0.5
    assert scores["exact_match"] == 0.25
    assert scores["field_accuracy"] == pytest.approx((5 + 4 + 0 + 4) / 20)
    assert scores["urgency_accuracy"] == 0.5 and scores["product_accuracy"] == 0.5
    assert triage_rows(outputs, references)[2]["answer"] is None


def test_scoring_rejects_mismatched_or_empty_inputs():
    with pytest.raises(ValueError, match="pair up"):
        score_triage(["{}"], [LABELS, OTHER])
    with pytest.raises(ValueError, match="no examples"):
        score_triage([], [])


@pytest.fixture(scope="module")
def tokenizer():
    texts = ["My kettle arrived broken. Order LL-482913.", "Where is my parcel?", triage_target(LABELS),
             triage_target(OTHER)] * 30
    return train_tokenizer(texts, vocab_size=400)


HUB_STYLE_TEMPLATE = ("{% for m in messages %}<|user|>{{ m['role'] }}: {{ m['content'] }}<|end|>\n{% endfor %}"
                      "{% if add_generation_prompt %}<|user|>assistant: {% endif %}")  # no {% generation %} markers


def test_answer_tokens_without_generation_markers_follow_the_prompt(tokenizer):
    messages = triage_messages("My kettle arrived broken", LABELS)
    marked = assistant_tokens(tokenizer, messages)
    trained = tokenizer.decode([i for i, m in zip(marked["input_ids"], marked["assistant_masks"]) if m])
    assert trained == triage_target(LABELS) + END_OF_TURN  # the kit's template marks the answer itself
    hub = train_tokenizer(  # the same kind of tokenizer with a Hub-style template
        ["My kettle arrived broken. Order LL-482913.", triage_target(LABELS)] * 30, vocab_size=400)
    hub.chat_template = HUB_STYLE_TEMPLATE
    found = assistant_tokens(hub, messages)
    answer = hub.decode([i for i, m in zip(found["input_ids"], found["assistant_masks"]) if m])
    assert answer.startswith(triage_target(LABELS)) and sum(found["assistant_masks"]) < len(found["input_ids"])
    model = build_model(hub)
    assert answer_loss(model, hub, [messages]) > 0  # scored on the answer, not on nothing


def test_loss_mask_covers_the_answer_only(tokenizer):
    messages = triage_messages("My kettle arrived broken", LABELS)
    mask = loss_mask(tokenizer, messages)
    trained = "".join(text for text, on in mask if on)
    assert trained == triage_target(LABELS) + END_OF_TURN
    shown = show_loss_mask(tokenizer, messages)
    assert f"⟦{triage_target(LABELS)}{END_OF_TURN}⟧" in shown and "tokens are trained on" in shown


def test_config_defaults_run_anywhere(tmp_path):
    config = sft_config(tmp_path, max_steps=10)
    assert config.assistant_only_loss and not config.activation_checkpointing
    assert config.learning_rate == 1e-3 and config.eval_strategy == "no"
    with_eval = sft_config(tmp_path, max_steps=10, eval_every=5, learning_rate=3e-4)
    assert with_eval.load_best_model_at_end and with_eval.eval_steps == 5 and with_eval.learning_rate == 3e-4


def test_early_stopping_without_evaluations_is_a_clear_error(tmp_path, tokenizer):
    data = chat_dataset([triage_messages("Where is my parcel?", OTHER)] * 4)
    with pytest.raises(ValueError, match="eval_every"):
        sft_trainer(build_model(tokenizer), tokenizer, data, sft_config(tmp_path, max_steps=2),
                    early_stopping_patience=2)


def test_chat_dataset_rejects_nothing():
    with pytest.raises(ValueError, match="no conversations"):
        chat_dataset([])


def test_short_sft_run_lowers_the_loss_and_keeps_the_best_checkpoint(tmp_path, tokenizer):
    conversations = [triage_messages("My kettle arrived broken. Order LL-482913.", LABELS),
                     triage_messages("Where is my parcel?", OTHER)] * 8
    data = chat_dataset(conversations)
    config = sft_config(tmp_path, max_steps=16, batch_size=4, eval_every=8, learning_rate=3e-3,
                        logging_steps=1)
    trainer = sft_trainer(build_model(tokenizer), tokenizer, data, config, eval_dataset=data,
                          early_stopping_patience=3)
    stats = train(trainer)
    history = training_history(trainer)
    assert history["loss"][-1] < history["loss"][0] / 2
    assert history["eval_step"] == [8, 16] and history["eval_loss"][1] < history["eval_loss"][0]
    assert trainer.state.best_model_checkpoint.endswith("checkpoint-16")
    assert stats["train_seconds"] > 0 and stats["train_memory_mb"] >= 0


def _fresh_block(megabytes: int):
    """Memory the process did not have before, written to so that it is resident: an anonymous
    mapping (an allocator could hand back freed memory that is still resident)."""
    import mmap

    block = mmap.mmap(-1, megabytes * 2**20)
    block.write(b"\1" * len(block))
    return block


def test_peak_memory_sees_a_short_allocation():
    with PeakMemory() as memory:
        _fresh_block(64).close()  # gone before any sampler could look
    assert memory.added_mb > 32 and memory.peak_mb >= memory.start_mb


def test_peak_memory_samples_where_the_kernel_mark_cannot_be_reset(monkeypatch):
    import time

    import helpers.runtime

    monkeypatch.setattr(helpers.runtime, "_reset_peak_rss", lambda: False)
    with PeakMemory(interval=0.01) as memory:
        block = _fresh_block(64)
        deadline = time.monotonic() + 10  # the sampler may be slow to run on a busy machine
        while memory.added_mb <= 32 and time.monotonic() < deadline:
            time.sleep(0.01)
        block.close()
    assert memory._thread is not None and memory.added_mb > 32
