"""Notebook 02 fine-tunes the base model: the fine-tuned model must triage held-out tickets far
better than the base, and each small experiment must show its effect, measured."""

import json

import pytest

from helpers.evaluation import evaluate_triage
from helpers.modeling import load_model_and_tokenizer
from helpers.notebooks import processed_data_dir
from helpers.runtime import runs_dir

pytestmark = pytest.mark.notebook

STEM = "02_supervised_fine_tuning"


@pytest.fixture(scope="module")
def results(run_notebook):
    return run_notebook(STEM)


@pytest.fixture(scope="module")
def metrics(results):
    return results["metrics"]


def test_base_model_cannot_triage(metrics):
    assert metrics["base"]["json_valid"] <= 0.1
    assert metrics["base"]["field_accuracy"] <= 0.1


def test_fine_tuned_model_reads_the_ticket(metrics):
    sft = metrics["sft"]
    assert sft["json_valid"] >= 0.98 and sft["schema_valid"] >= 0.95
    assert sft["field_accuracy"] >= 0.85 and sft["order_id_accuracy"] >= 0.95 and sft["intent_accuracy"] >= 0.85
    assert sft["answer_loss"] < 0.1 * metrics["base"]["answer_loss"]


def test_fine_tuned_model_beats_the_baselines_by_a_clear_margin(metrics):
    # The label prior scores about 0.3 (no order id, each field's commonest label); BM25 retrieval about 0.55
    # (it copies a neighbour's labels, and so never the right order id).
    assert metrics["majority"]["field_accuracy"] < metrics["retrieval"]["field_accuracy"]
    assert metrics["sft"]["field_accuracy"] >= metrics["retrieval"]["field_accuracy"] + 0.2
    assert metrics["sft"]["exact_match"] >= metrics["retrieval"]["exact_match"] + 0.2


def test_saved_model_reproduces_the_reported_scores(metrics):
    model, tokenizer = load_model_and_tokenizer(runs_dir() / STEM / "model")
    test = [json.loads(line) for line in (processed_data_dir() / "test.jsonl").open()][:60]
    scores, _ = evaluate_triage(model, tokenizer, test, progress=False)
    assert scores["json_valid"] >= 0.9
    assert abs(scores["field_accuracy"] - metrics["sft"]["field_accuracy"]) < 0.15


def test_both_loss_masks_learn_and_are_compared(metrics):
    for variant in ("answer_only", "all_tokens"):
        assert metrics[variant]["answer_loss"] < 0.3 * metrics["base"]["answer_loss"]
        assert metrics[variant]["json_valid"] >= 0.9


def test_learning_rate_sweep_has_its_best_in_the_middle(metrics):
    rates = sorted(float(name[3:]) for name in metrics if name.startswith("lr_"))
    accuracy = [metrics[f"lr_{rate:g}"]["field_accuracy"] for rate in rates]
    assert len(rates) == 3 and accuracy[1] >= accuracy[0] + 0.15 and accuracy[1] >= accuracy[2] + 0.15


def test_overfitting_curve_turns_and_early_stopping_keeps_the_low_point(metrics):
    curve = metrics["overfit_curve"]
    assert curve["last_train_loss"] < 0.1 * curve["first_train_loss"]
    assert curve["best_step"] < curve["last_step"]
    assert curve["last_eval_loss"] > 1.1 * curve["best_eval_loss"]
    assert metrics["overfit"]["answer_loss"] < curve["last_eval_loss"]  # the best checkpoint was kept


def test_more_data_helps_and_wrong_labels_hurt(metrics):
    sizes = [metrics[f"data_{n}"]["field_accuracy"] for n in ("20", "100", "all")]
    assert sizes[0] + 0.05 <= sizes[1] and sizes[1] + 0.05 <= sizes[2]
    noisy, clean = metrics["noisy_labels"], metrics["answer_only"]
    assert noisy["json_valid"] >= 0.9  # the format is learned either way: what suffers is the labels
    assert noisy["field_accuracy"] <= clean["field_accuracy"] - 0.05


def test_manifest_and_plots(results):
    out = runs_dir() / STEM
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["hyperparameters"]["max_steps"] > 0 and manifest["seed"] == 0
    for plot in ("sft_loss.png", "learning_rate.png", "overfitting.png", "data_size.png"):
        assert (out / plot).stat().st_size > 10_000
