"""Notebook 03 compares PEFT methods with full fine-tuning at the same steps: every method must learn,
LoRA must get most of full fine-tuning's gain with a few percent of the weights, each sweep must show
its effect, and the merged model must compute what base + adapter computed."""

import json

import pytest

from helpers.runtime import runs_dir
from helpers.tasks import TRIAGE_FIELDS

pytestmark = pytest.mark.notebook

STEM = "03_lora_and_peft"
PEFT_METHODS = ("lora_r8", "lora_r32", "lora_attention", "lora_r8_lr_full", "dora", "ia3", "prompt_tuning",
                "prefix_tuning")


def test_every_method_ran_and_was_measured(results, metrics):
    assert "prefix_tuning_error" not in results["details"]
    for name in ("full", *PEFT_METHODS):
        m = metrics[name]
        for key in ("answer_loss", "json_valid", "field_accuracy", "trainable_fraction", "train_seconds",
                    "train_memory_mb", "adapter_mb"):
            assert key in m, f"{name} lacks {key}"
        assert 0 <= m["json_valid"] <= 1 and 0 <= m["field_accuracy"] <= 1 and m["train_seconds"] > 0
    assert results["details"]["qlora"].startswith("skipped")  # no GPU in the cpu profile


def test_every_method_learns_from_the_base(metrics):
    base = metrics["base"]["answer_loss"]
    assert base > 6  # the base model has never seen a triage answer
    assert metrics["full"]["answer_loss"] < 0.5 * base
    for name in PEFT_METHODS:
        assert metrics[name]["answer_loss"] < 0.9 * base, name


def test_lora_gets_most_of_full_fine_tuning_with_few_weights(metrics):
    base, full, lora = (metrics[v]["answer_loss"] for v in ("base", "full", "lora_r8"))
    assert 0.01 < metrics["lora_r8"]["trainable_fraction"] <= 0.05
    assert metrics["full"]["trainable_fraction"] == 1.0
    assert (base - lora) / (base - full) > 0.85  # measured 0.98 of the way from the base model
    assert metrics["dora"]["answer_loss"] == pytest.approx(lora, abs=0.4)
    # On held-out tickets after the same 50 steps (measured on a 2-core Xeon): full fine-tuning 0.67, LoRA 0.58
    # (88%), DoRA 0.59, each with every answer valid JSON.
    for name in ("lora_r8", "dora"):
        assert metrics[name]["json_valid"] >= 0.8, name
        assert metrics[name]["field_accuracy"] >= 0.75 * metrics["full"]["field_accuracy"], name


def test_the_field_where_lora_trails_is_named_and_explained(results, metrics):
    fields = [f"{field}_accuracy" for field in TRIAGE_FIELDS]
    for name in ("full", "full_frozen_embeddings", "lora_r8", "lora_r32", "dora"):
        assert set(fields) <= set(metrics[name]), name
    gap = results["details"]["lora_largest_gap"]
    for name in ("full", "full_frozen_embeddings", "lora_r8", "lora_r32"):
        assert gap[name] == metrics[name][f"{gap['field']}_accuracy"], name
    # measured on 60 tickets: product, 73% with full fine-tuning, 83% with its embeddings frozen, 23% with
    # LoRA at rank 8 and 20% at rank 32: the free update of the linear layers, not the embeddings, is the edge
    assert gap["full"] > gap["lora_r8"] + 0.1
    assert gap["full_frozen_embeddings"] > gap["lora_r8"] + 0.2
    assert gap["lora_r32"] < gap["full_frozen_embeddings"] - 0.2  # a higher rank alone does not close it
    assert gap["cause"] == "low-rank update"
    assert metrics["lora_r8"]["order_id_accuracy"] >= 0.9  # what LoRA does learn: copying (measured 1.0)
    assert 0.7 < metrics["full_frozen_embeddings"]["trainable_fraction"] < 0.9  # the embeddings are 22%


def test_trainable_shares_are_ordered(metrics):
    share = {name: m["trainable_fraction"] for name, m in metrics.items() if "trainable_fraction" in m}
    assert (0 < share["prompt_tuning"] < share["ia3"] < share["lora_attention"] < share["lora_r8"]
            < share["lora_r32"] < 1)
    assert share["lora_attention"] < share["lora_r8"] < share["dora"]
    assert metrics["lora_r32"]["trainable_params"] == 4 * metrics["lora_r8"]["trainable_params"]  # linear in the rank


def test_sweeps_show_their_effects(metrics):
    lora = metrics["lora_r8"]["answer_loss"]
    assert lora < 0.95 * metrics["lora_r8_lr_full"]["answer_loss"]  # LoRA wants a higher learning rate
    assert lora < 0.95 * metrics["lora_attention"]["answer_loss"]  # adapting every linear layer helps
    worst_lora = max(metrics[v]["answer_loss"] for v in ("lora_r8", "dora"))
    best_other = min(metrics[v]["answer_loss"] for v in ("ia3", "prompt_tuning", "prefix_tuning"))
    assert worst_lora < best_other - 0.5  # few weights and few steps: the tiny methods learn slowly
    # the same sweeps on held-out answers: measured 0.58 against 0.0 for both
    for name in ("lora_r8_lr_full", "lora_attention"):
        assert metrics["lora_r8"]["field_accuracy"] >= metrics[name]["field_accuracy"] + 0.3, name


def test_adapters_are_small_and_the_merge_is_exact(metrics):
    full_mb = metrics["full"]["adapter_mb"]
    assert metrics["lora_r8"]["adapter_mb"] < 0.1 * full_mb
    assert metrics["prompt_tuning"]["adapter_mb"] < 0.01 * full_mb
    merged = metrics["merged"]
    assert merged["merge_max_abs_diff"] < 1e-4
    # The trained adapter is scored under the trainer's bf16 autocast where the processor has it, the merged
    # and reloaded models in fp32: they agree to the rounding of bf16 (measured 9e-5 relative).
    assert merged["answer_loss"] == pytest.approx(metrics["lora_r8"]["answer_loss"], rel=1e-3)
    assert merged["reloaded_answer_loss"] == pytest.approx(metrics["lora_r8"]["answer_loss"], rel=1e-3)
    assert merged["model_mb"] == pytest.approx(full_mb, rel=0.01)


def test_full_fine_tuning_reproduces_notebook_02(results, metrics):
    # With the same seed and settings the losses agree; with other settings the notebook says so.
    details = results["details"]
    assert set(details["notebook_02"]) >= {"experiment_answer_loss", "sft_json_valid", "sft_field_accuracy"}
    assert details["notebook_02_same_settings"]  # the kit's defaults
    assert metrics["full"]["answer_loss"] == pytest.approx(details["notebook_02"]["experiment_answer_loss"], abs=0.02)


def test_saved_files(results):
    out = runs_dir() / STEM
    assert (out / "methods.png").stat().st_size > 10_000
    assert (out / "adapters" / "lora_r8" / "adapter_config.json").exists()
    assert (out / "merged" / "model.safetensors").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["hyperparameters"]["sweep_steps"] > 0 and manifest["seed"] == 0


def test_every_method_lands_in_the_tracker(tracked):
    tracked("full", "lora_r8", "dora", "ia3", "prompt_tuning")
