"""Tokenizer, chat template, model, pre-training packing and evaluation helpers on tiny inputs."""

import math

import pytest
import torch

from helpers.evaluation import heldout_perplexity, ngram_perplexities, probe_accuracy
from helpers.generation import generate
from helpers.modeling import build_model, count_parameters, load_model_and_tokenizer, save_model, tiny_llama_config
from helpers.pretraining import pack_documents, split_documents
import helpers.runtime as runtime
from helpers.runtime import detect_profile, precision_flags, profile_sizes
from helpers.tasks import triage_messages
from helpers.tokenization import END_OF_TURN, train_tokenizer

TEXTS = ["The capital of Tarvel is Velora.", "Velora stands on the river Sil.",
         "Dear shop, my kettle arrived broken. Order 4821.", '{"name": "Velora", "kind": "city"}'] * 20
LABELS = {"intent": "damaged_item", "product": "kettle", "order_id": "LL-482913", "urgency": "high",
          "sentiment": "negative"}


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS, vocab_size=400)


@pytest.fixture(scope="module")
def model(tokenizer):
    return build_model(tokenizer, size="cpu", seed=0)


def test_tokenizer_round_trips_any_text(tokenizer):
    for text in ["The capital of Tarvel is Velora.", "ünïcödé ✓ and emoji 🚚", "{\"order_id\": null}"]:
        assert tokenizer.decode(tokenizer(text)["input_ids"]) == text


def test_special_tokens_are_distinct(tokenizer):
    ids = [tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id,
           tokenizer.convert_tokens_to_ids(END_OF_TURN)]
    assert len(set(ids)) == 4 and tokenizer.unk_token_id is None


def test_assistant_mask_covers_exactly_the_answer_and_its_end_of_turn(tokenizer):
    messages = triage_messages("My kettle arrived broken", LABELS)
    enc = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    masked = [i for i, m in zip(enc["input_ids"], enc["assistant_masks"]) if m]
    assert tokenizer.decode(masked) == messages[-1]["content"] + END_OF_TURN
    prompt = tokenizer.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|assistant|>\n")
    assert tokenizer.apply_chat_template(messages, tokenize=False).startswith(prompt)


def test_model_config_and_parameter_count(tokenizer, model):
    config = tiny_llama_config(tokenizer)
    assert config.vocab_size == len(tokenizer) and config.tie_word_embeddings
    assert count_parameters(model) == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match="Unknown model size"):
        tiny_llama_config(tokenizer, size="huge")


def test_save_and_load_round_trip(tmp_path, tokenizer, model):
    path = save_model(model, tokenizer, tmp_path / "model")
    assert (path / "model.safetensors").exists() and not (tmp_path / "model.tmp").exists()
    loaded, loaded_tokenizer = load_model_and_tokenizer(path)
    ids = torch.tensor([tokenizer("The capital of Tarvel")["input_ids"]])
    assert torch.equal(loaded(ids).logits, model(ids).logits)
    assert loaded_tokenizer.chat_template == tokenizer.chat_template
    assert tokenizer.convert_tokens_to_ids(END_OF_TURN) in loaded.generation_config.eos_token_id


def test_packing_wraps_documents_and_keeps_full_blocks(tokenizer):
    blocks = pack_documents(TEXTS, tokenizer, block_size=16)["input_ids"]
    assert all(len(b) == 16 for b in blocks) and blocks[0][0] == tokenizer.bos_token_id
    assert split_documents("a\n\n\n\nb\n\n  \n") == ["a", "b"]
    with pytest.raises(ValueError, match="fewer than one block"):
        pack_documents(["hi"], tokenizer, block_size=10_000)


def test_untrained_perplexity_is_near_vocabulary_size(tokenizer, model):
    ppl = heldout_perplexity(model, tokenizer, TEXTS, block_size=16)
    assert 0.3 * len(tokenizer) < ppl < 3 * len(tokenizer)


def test_ngram_baselines_learn_a_repetitive_stream():
    stream = [1, 2, 3, 4] * 50
    ppl = ngram_perplexities(stream, stream, vocab_size=10)
    assert ppl["bigram"] < 1.5 < ppl["unigram"] <= 10
    assert math.isfinite(ppl["bigram"])


def test_generation_is_batched_greedy_and_deterministic(tokenizer, model):
    prompts = ["The capital", "Dear shop, my kettle arrived"]
    first = generate(model, tokenizer, prompts, max_new_tokens=5, batch_size=1, progress=False)
    second = generate(model, tokenizer, prompts, max_new_tokens=5, batch_size=2, progress=False)
    assert first == second and len(first) == 2


def test_generation_batches_by_length_and_answers_in_the_given_order(tokenizer, model):
    prompts = ["Dear shop, my kettle arrived with a broken lid and", "The capital", "Once upon a time there"]
    one_by_one = [generate(model, tokenizer, [p], max_new_tokens=5, progress=False)[0] for p in prompts]
    assert generate(model, tokenizer, prompts, max_new_tokens=5, batch_size=2, progress=False) == one_by_one


def test_probe_accuracy_scores_first_word(tokenizer, model):
    accuracy, rows = probe_accuracy(model, tokenizer, [{"prompt": "The capital of Tarvel is", "answer": "Velora"}],
                                    progress=False)
    assert accuracy in (0.0, 1.0) and rows[0]["correct"] == (accuracy == 1.0)


def test_profile_detection():
    assert detect_profile("cpu") == "cpu"
    assert detect_profile("auto") == ("gpu" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="Unknown profile"):
        detect_profile("tpu")


def test_profile_sizes_take_the_chosen_value_or_the_profile_default():
    sizes = {"cpu": {"steps": 30, "tickets": 100}, "gpu": {"steps": 200, "tickets": 150}}
    size = profile_sizes("cpu", sizes, steps=None, tickets=12)
    assert (size.steps, size.tickets) == (30, 12)
    assert vars(profile_sizes("gpu", sizes)) == {"steps": 200, "tickets": 150}
    with pytest.raises(ValueError, match="unknown size settings"):
        profile_sizes("cpu", sizes, step=5)  # a typo is an error, not a silent default
    with pytest.raises(ValueError, match="no sizes for profile"):
        profile_sizes("tpu", sizes)


def test_precision_is_bf16_autocast_only_where_the_cpu_has_it(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("on a GPU the card decides")
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    assert precision_flags() == {"bf16": True, "fp16": False, "use_cpu": True}
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    assert precision_flags() == {"bf16": False, "fp16": False, "use_cpu": True}  # use_cpu: DDP over gloo
