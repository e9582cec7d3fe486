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


def test_base_model_cannot_triage(metrics):
    assert metrics["base"]["json_valid"] <= 0.1
    assert metrics["base"]["field_accuracy"] <= 0.1


def test_fine_tuned_model_reads_the_ticket(metrics):
    sft = metrics["sft"]
    assert sft["json_valid"] >= 0.98 and sft["schema_valid"] >= 0.95
    # The shipped base reads back the order id, intent, product and urgency in its pre-training e-mail, and
    # its desk footer spells product and priority as the answer's codes. Measured on a 2-core Xeon: field
    # accuracy 0.93, intent 0.97, order id 1.0, product 1.0, urgency 1.0, tone 0.685 (320 steps).
    assert sft["field_accuracy"] >= 0.85
    assert sft["order_id_accuracy"] >= 0.95 and sft["intent_accuracy"] >= 0.85
    assert sft["product_accuracy"] >= 0.85 and sft["urgency_accuracy"] >= 0.85
    assert sft["answer_loss"] < 0.1 * metrics["base"]["answer_loss"]


def test_fine_tuned_model_beats_the_baselines(metrics):
    # The label prior scores about 0.31 (no order id, each field's commonest label); BM25 retrieval 0.55
    # (a neighbour's labels: the right intent, never the right order id).
    sft, retrieval = metrics["sft"], metrics["retrieval"]
    assert metrics["majority"]["field_accuracy"] + 0.1 < retrieval["field_accuracy"]
    assert sft["field_accuracy"] >= retrieval["field_accuracy"] + 0.25
    assert sft["order_id_accuracy"] >= retrieval["order_id_accuracy"] + 0.5


def test_saved_model_reproduces_the_reported_scores(metrics):
    model, tokenizer = load_model_and_tokenizer(runs_dir() / STEM / "model")
    test = [json.loads(line) for line in (processed_data_dir() / "test.jsonl").open()][:60]
    scores, _ = evaluate_triage(model, tokenizer, test, progress=False)
    assert scores["json_valid"] >= 0.9
    assert abs(scores["field_accuracy"] - metrics["sft"]["field_accuracy"]) < 0.15


def test_learning_rate_sweep_has_its_best_in_the_middle(metrics):
    rates = sorted(float(name[3:]) for name in metrics if name.startswith("lr_"))
    accuracy = [metrics[f"lr_{rate:g}"]["field_accuracy"] for rate in rates]
    assert len(rates) == 3 and accuracy[1] >= accuracy[0] + 0.15 and accuracy[1] >= accuracy[2] + 0.15
    assert metrics[f"lr_{rates[1]:g}"]["json_valid"] >= 0.9


def test_overfitting_curve_turns_and_early_stopping_keeps_the_low_point(metrics):
    curve = metrics["overfit_curve"]
    assert curve["last_train_loss"] < 0.1 * curve["first_train_loss"]
    assert curve["best_step"] < curve["last_step"]
    assert curve["last_eval_loss"] > 1.05 * curve["best_eval_loss"]  # measured 1.27x: lowest at step 15 of 30
    assert metrics["overfit"]["answer_loss"] < curve["last_eval_loss"]  # the best checkpoint was kept


def test_more_data_helps_and_wrong_labels_hurt(metrics):
    # In the same 50 steps, 20 distinct tickets are learned by heart: answer loss 0.164 against 0.088 for all
    # of them, field accuracy 0.53 against 0.68; with 40% wrong labels, 0.46 (measured on a 2-core Xeon).
    clean = metrics["data_all"]
    assert metrics["data_20"]["answer_loss"] > 1.3 * clean["answer_loss"]
    assert clean["field_accuracy"] >= metrics["data_20"]["field_accuracy"] + 0.08
    assert metrics["noisy_labels"]["field_accuracy"] <= clean["field_accuracy"] - 0.12
    for name in ("data_20", "data_all", "noisy_labels"):
        assert 0 < metrics[name]["field_accuracy"] <= 1 and metrics[name]["json_valid"] >= 0.75, name


def test_manifest_and_plots(results):
    out = runs_dir() / STEM
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["hyperparameters"]["max_steps"] > 0 and manifest["seed"] == 0
    for plot in ("sft_loss.png", "learning_rate.png", "overfitting.png", "data_size.png"):
        assert (out / plot).stat().st_size > 10_000


def test_every_run_lands_in_the_tracker(tracked):
    runs = tracked("sft", "overfit", "data_20", "noisy_labels")
    assert runs["sft"]["eval/loss"] and runs["overfit"]["eval/loss"]  # the validation curves too


def test_the_training_loop_written_by_hand_learns(metrics):
    loop = metrics["plain_loop"]
    assert loop["steps"] == 20
    assert loop["last_loss"] < 0.5 * loop["first_loss"]  # measured: 7.27 -> 1.53
