"""Notebook 07 measures forgetting: full fine-tuning must lose a clear share of the base model's
general probes, the lower learning rate and replay must each halve that loss while keeping 90% of full
fine-tuning's held-out field accuracy, LoRA
must forget less than full fine-tuning (at the end and at a comparable task loss), the course's earlier
models must be checked, and the over-steps curves must be recorded."""

import json

import pytest

from helpers.runtime import runs_dir

pytestmark = pytest.mark.notebook

STEM = "07_forgetting"
TRAINED = ("full", "lora_r2", "lora_r8", "lower_lr", "replay", "early_stop")
EARLIER = ("sft", "rl", "dpo")
KEYS = (
    "probe_accuracy",
    "general_ppl",
    "probe_accuracy_lost",
    "task_gain",
    "answer_loss",
    "json_valid",
    "field_accuracy",
)


def test_every_model_is_measured(metrics):
    for name in ("base", *TRAINED, *EARLIER):
        for key in KEYS:
            assert key in metrics[name], f"{name} lacks {key}"
        assert 0 <= metrics[name]["probe_accuracy"] <= 1 and 0 <= metrics[name]["probe_accuracy_lost"] <= 1
        assert metrics[name]["general_ppl"] >= 1


def test_the_base_model_knows_its_world(metrics):
    base = metrics["base"]
    assert base["probe_accuracy"] > 0.5 and base["general_ppl"] < 5
    assert base["answer_loss"] > 5  # it has never seen a triage answer or a house-style reply


def test_full_fine_tuning_learns_and_forgets(metrics):
    full, base = metrics["full"], metrics["base"]
    assert full["task_gain"] > 0.5 * base["answer_loss"]
    # On the shipped base, 50 steps at 2e-3 lose a clear, partial share of what it knew (measured on a 2-core
    # Xeon: 26% of the probes, general perplexity x2.3), not everything, and answer in JSON (field accuracy 0.51).
    assert 0.08 < full["probe_accuracy_lost"] < 0.9
    assert full["general_ppl"] > 1.8 * base["general_ppl"]


def test_the_lower_learning_rate_and_replay_meet_the_target(results, metrics):
    # measured: probes lost 3% (lower rate) and 9% (replay) against 26%; field accuracy 1.05x and 0.95x full's
    full = metrics["full"]
    assert full["json_valid"] >= 0.9  # full fine-tuning has learned the format, so field accuracy means something
    for name in ("lower_lr", "replay"):
        m = metrics[name]
        assert m["probe_accuracy_lost"] <= 0.5 * full["probe_accuracy_lost"], name
        assert m["field_accuracy"] >= 0.85 * full["field_accuracy"], name  # the target's 0.9, less 100 tickets' noise
    assert results["details"]["target_met"]
    best = results["details"]["best_mitigation"]
    assert results["details"]["mitigations"][best]["meets_target"]


def test_lora_forgets_less_than_full_fine_tuning(results, metrics):
    full = metrics["full"]
    for name in ("lora_r2", "lora_r8"):
        # After the same steps LoRA has also learned less, so its probes are compared at a comparable task
        # loss below; at the end its general perplexity is lower (measured 2.8 and 2.1 against 3.6).
        assert metrics[name]["general_ppl"] < 0.9 * full["general_ppl"], name
        assert metrics[name]["probe_accuracy_lost"] < full["probe_accuracy_lost"], name
        assert metrics[name]["task_gain"] > 0.3 * full["task_gain"], name  # it did learn the task
        assert metrics[name]["trainable_fraction"] < 0.1
    comparable = results["details"]["comparable_task_loss"]
    assert comparable["full_answer_loss"] <= comparable["lora_answer_loss"]
    # measured on the probe subset: 0.95 against 0.82
    assert comparable["lora_probe_accuracy"] > comparable["full_probe_accuracy"] + 0.04


def test_replay_mixes_general_text_and_keeps_more_than_full(results, metrics):
    mix = results["details"]["replay_mix"]
    assert mix["share_of_rows"] == pytest.approx(0.15, abs=0.01)
    assert 0.05 < mix["share_of_trained_tokens"] < 0.95  # general rows are in the loss, not only in the data
    # measured: 9% of the probes lost against 26%, perplexity 2.1 against 3.6
    assert metrics["replay"]["probe_accuracy_lost"] < 0.75 * metrics["full"]["probe_accuracy_lost"]
    assert metrics["replay"]["general_ppl"] < 0.75 * metrics["full"]["general_ppl"]
    assert metrics["replay"]["task_gain"] > 0.8 * metrics["full"]["task_gain"]


def test_early_stopping_ran_with_evaluations(metrics, results):
    steps = json.loads((runs_dir() / STEM / "manifest.json").read_text())["hyperparameters"]["steps"]
    assert 0 < metrics["early_stop"]["steps_trained"] <= steps
    assert metrics["full"]["steps_trained"] == steps
    assert metrics["early_stop"]["task_gain"] > 0.5 * metrics["full"]["task_gain"]


def test_the_course_models_forgot(metrics):
    for name in EARLIER:
        # measured: 22% of the probes lost, general perplexity x2.4-2.6
        assert metrics[name]["probe_accuracy_lost"] > 0.1, name
        assert metrics[name]["general_ppl"] > 1.8 * metrics["base"]["general_ppl"], name
        assert metrics[name]["task_gain"] > 0, name


def test_curves_are_recorded(results, metrics):
    curves = results["details"]["curves"]
    for name in ("full", "lora_r8"):
        curve = curves[name]
        assert curve["step"][0] == 0 and len(curve["step"]) >= 4
        assert curve["step"] == sorted(curve["step"]) and curve["step"][-1] == metrics[name]["steps_trained"]
        assert len(curve["probe_accuracy"]) == len(curve["answer_loss"]) == len(curve["step"])
        assert curve["probe_accuracy"][0] > 0.5  # the base model, before the first step
        assert curve["answer_loss"][-1] < 0.7 * curve["answer_loss"][0]
    # full fine-tuning's probes dip (measured 1.0 -> 0.70) and LoRA's never fall as low (measured 0.98)
    assert min(curves["full"]["probe_accuracy"]) < curves["full"]["probe_accuracy"][0] - 0.1
    assert min(curves["lora_r8"]["probe_accuracy"]) > min(curves["full"]["probe_accuracy"]) + 0.06


def test_saved_files(results):
    out = runs_dir() / STEM
    for plot in ("learning_vs_forgetting.png", "forgetting_over_steps.png"):
        assert (out / plot).stat().st_size > 10_000
    assert (out / "lm_eval_tasks" / "kit_probes.yaml").exists()
    assert results["details"]["lm_eval"].startswith("skipped")  # not a requirement of the kit
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["hyperparameters"]["replay_share"] == 0.15


def test_every_variant_lands_in_the_tracker(tracked):
    tracked("full", "lower_lr", "replay", "early_stop", "lora_r8")
