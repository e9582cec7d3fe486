"""Notebook 00 pre-trains the kit's base model: it must really beat the baselines and know its world."""

import json
import math

import pytest

from helpers.modeling import load_model_and_tokenizer
from helpers.notebooks import base_model_dir
from helpers.runtime import runs_dir

pytestmark = pytest.mark.notebook

STEM = "00_foundation_model"


@pytest.fixture(scope="module")
def results(run_notebook):
    return run_notebook(STEM)


def test_perplexity_far_below_count_baselines(results):
    m = results["metrics"]
    assert m["base"]["general_ppl"] < 0.6 * m["bigram"]["general_ppl"]
    assert m["bigram"]["general_ppl"] < m["unigram"]["general_ppl"] < m["untrained"]["general_ppl"]


def test_base_model_knows_its_world(results):
    base = results["metrics"]["base"]
    # An untrained or broken run answers almost none (a guess among dozens of names); the course's
    # budget reaches about two thirds of the facts, and the margin absorbs run-to-run noise.
    assert base["fact_probe_accuracy"] >= 0.55
    assert base["arithmetic_probe_accuracy"] >= 0.4


def test_training_loss_fell(results):
    # Cross-entropy starts near log(untrained perplexity), about 7 nats; pre-training must take it
    # far below that, and the held-out loss must keep falling after the first evaluation.
    start = math.log(results["metrics"]["untrained"]["general_ppl"])
    heldout = [loss for _, loss in results["details"]["loss_curves"]["heldout"]]
    train = [loss for _, loss in results["details"]["loss_curves"]["train"]]
    assert len(heldout) >= 3 and heldout[-1] < heldout[0] and heldout[-1] < 0.2 * start
    assert train[-1] < 0.3 * train[0]


def test_saved_model_loads_like_a_hub_model_and_stops_at_end_of_turn(results):
    model, tokenizer = load_model_and_tokenizer(base_model_dir())
    assert (base_model_dir() / "model.safetensors").exists()
    end = tokenizer.convert_tokens_to_ids("<|end|>")
    assert end in model.generation_config.eos_token_id
    assert "{% generation %}" in tokenizer.chat_template
    assert results["metrics"]["base"]["parameters"] == sum(p.numel() for p in model.parameters())


def test_manifest_records_the_run(results):
    manifest = json.loads((runs_dir() / "00_foundation_model" / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["hyperparameters"]["max_steps"] > 0
    assert manifest["libraries"]["transformers"] != "missing"
    assert any(path.endswith("corpus_train.txt") for path in manifest["data"])
    assert manifest["wall_seconds"] > 0
