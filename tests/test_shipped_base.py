"""The shipped foundation model: its files are the ones its card describes, it loads like a Hub model, and
on this machine it knows its world, reads names and copies order ids from held-out tickets."""

import itertools
import json

import pytest

from helpers.evaluation import heldout_perplexity, ngram_perplexities, probe_accuracy
from helpers.model_card import WEIGHTS_FILE, read_card, sha256
from helpers.modeling import SHIPPED_BASE, load_model_and_tokenizer
from helpers.pretraining import corpus_token_stream, read_training_log, split_documents
from helpers.runtime import DATA_DIR
from synth.stream import document_stream, reading_probes
from helpers.tokenization import END_OF_TURN


@pytest.fixture(scope="module")
def base():
    return load_model_and_tokenizer(SHIPPED_BASE)


@pytest.fixture(scope="module")
def card():
    return read_card(SHIPPED_BASE)


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_files_match_the_card_and_fit_in_the_repository(card):
    assert sha256(SHIPPED_BASE / WEIGHTS_FILE) == card["weights_sha256"]
    assert sum(p.stat().st_size for p in SHIPPED_BASE.iterdir()) < 25 * 2**20
    for name in ("config.json", "generation_config.json", "tokenizer.json", "training_log.jsonl", "README.md"):
        assert (SHIPPED_BASE / name).exists(), name
    assert card["license"] == "mit" and card["tokens"] >= 10_000_000


def test_loads_like_a_hub_model_and_stops_at_the_end_of_a_turn(base, card):
    model, tokenizer = base
    assert tokenizer.convert_tokens_to_ids(END_OF_TURN) in model.generation_config.eos_token_id
    assert "{% generation %}" in tokenizer.chat_template
    assert sum(p.numel() for p in model.parameters()) == card["parameters"]


def test_knows_its_world(base):
    probes = read_jsonl(DATA_DIR / "general" / "probes.jsonl")
    accuracy, _ = probe_accuracy(*base, probes, progress=False)
    assert accuracy >= 0.90


def test_copies_order_ids_and_reads_names_from_heldout_tickets(base):
    reading = reading_probes(read_jsonl(DATA_DIR / "support" / "triage_test.jsonl"))
    assert probe_accuracy(*base, reading["order_id"], progress=False)[0] >= 0.95
    assert probe_accuracy(*base, reading["first_name"], progress=False)[0] >= 0.90


def test_heldout_perplexity_is_well_under_the_bigram_model(base):
    model, tokenizer = base
    heldout = split_documents((DATA_DIR / "general" / "corpus_heldout.txt").read_text(encoding="utf-8"))
    sample = list(itertools.islice(document_stream(seed=0), 5000))
    bigram = ngram_perplexities(corpus_token_stream(sample, tokenizer), corpus_token_stream(heldout, tokenizer),
                                len(tokenizer))["bigram"]
    assert heldout_perplexity(model, tokenizer, heldout, 256) < 0.6 * bigram


def test_the_training_log_shows_copying_appear(card):
    log = read_training_log(SHIPPED_BASE / "training_log.jsonl")
    assert log[0]["order_id_copied"] < 0.2 <= 0.95 <= log[-1]["order_id_copied"]
    assert log[-1]["step"] == card["steps"] and log[-1]["heldout_loss"] < log[0]["heldout_loss"]
