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


def test_fine_tuned_model_answers_in_the_schema(metrics):
    sft = metrics["sft"]
    assert sft["json_valid"] >= 0.95 and sft["schema_valid"] >= 0.9
    # In the cpu budget the tiny model learns the answer format and which labels are common; reading
    # the ticket itself takes more steps (the gpu profile has them). Valid labels drawn at random score
    # about 0.2 per field, the most common label of each field about 0.3.
    assert sft["field_accuracy"] >= metrics["base"]["field_accuracy"] + 0.2
    assert sft["answer_loss"] < 0.25 * metrics["base"]["answer_loss"]


def test_saved_model_reproduces_the_reported_scores(metrics):
    model, tokenizer = load_model_and_tokenizer(runs_dir() / STEM / "model")
    test = [json.loads(line) for line in (processed_data_dir() / "test.jsonl").open()][:60]
    scores, _ = evaluate_triage(model, tokenizer, test, progress=False)
    assert scores["json_valid"] >= 0.9
    assert abs(scores["field_accuracy"] - metrics["sft"]["field_accuracy"]) < 0.15


def test_both_loss_masks_learn_and_are_compared(metrics):
    for variant in ("answer_only", "all_tokens"):
        assert metrics[variant]["answer_loss"] < 0.6 * metrics["base"]["answer_loss"]


def test_learning_rate_sweep_has_its_best_in_the_middle(metrics):
    rates = sorted(float(name[3:]) for name in metrics if name.startswith("lr_"))
    losses = [metrics[f"lr_{rate:g}"]["answer_loss"] for rate in rates]
    assert len(rates) == 3 and losses[1] < 0.8 * losses[0] and losses[1] < 0.8 * losses[2]


def test_overfitting_curve_turns_and_early_stopping_keeps_the_low_point(metrics):
    curve = metrics["overfit_curve"]
    assert curve["last_train_loss"] < 0.1 * curve["first_train_loss"]
    assert curve["best_step"] < curve["last_step"]
    assert curve["last_eval_loss"] > 1.1 * curve["best_eval_loss"]
    assert metrics["overfit"]["answer_loss"] < curve["last_eval_loss"]  # the best checkpoint was kept


def test_more_data_helps_and_label_noise_is_measured(metrics):
    assert metrics["data_50"]["answer_loss"] > metrics["data_200"]["answer_loss"] > metrics["data_all"]["answer_loss"]
    # 40% wrong labels, in a few dozen steps of a model that does not yet read the ticket, cost little: the
    # measured difference has ranged from -5% to +2% of the clean run's answer loss, the noise between runs.
    # Both runs must have learned the answer format, and the noisy run must stay close to the clean one.
    noisy, clean = metrics["noisy_labels"]["answer_loss"], metrics["answer_only"]["answer_loss"]
    assert noisy < 0.6 * metrics["base"]["answer_loss"]
    assert abs(noisy / clean - 1) < 0.1


def test_manifest_and_plots(results):
    out = runs_dir() / STEM
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["hyperparameters"]["max_steps"] > 0 and manifest["seed"] == 0
    for plot in ("sft_loss.png", "learning_rate.png", "overfitting.png", "data_size.png"):
        assert (out / plot).stat().st_size > 10_000
