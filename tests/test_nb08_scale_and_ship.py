"""Notebook 08 takes the fine-tuning from a notebook to a job and a served model: the same job on two
processes learns what it learns on one, the memory estimate holds against measurement, the merged
adapter is the adapter, and the served model answers as the model does in-process."""

import pytest

pytestmark = pytest.mark.notebook

STEM = "08_scale_and_ship"


def test_two_processes_learn_what_one_process_learns(results, metrics):
    ddp = metrics["ddp"]
    assert ddp["processes"] == 2 and ddp["steps"] == 20
    # the same examples at every step; only the order of floating-point sums differs (measured: 1e-7)
    assert ddp["max_relative_loss_gap"] < 1e-3
    curves = results["details"]["loss_curves"]
    assert curves["two_processes"][-1] < 0.8 * curves["two_processes"][0]  # and it learned something
    assert results["details"]["launched_models_saved"] == 1  # one model, written by the main process


def test_both_jobs_landed_in_the_tracker(tracked):
    runs = tracked("one_process", "two_processes")
    assert len(runs["two_processes"]["train/loss"]) == 20  # the main process logs, once per step


def test_memory_estimate_is_within_15_percent_of_the_measured_peak(metrics):
    ratios = {name: m["ratio"] for name, m in metrics.items() if name.startswith("memory_")}
    assert len(ratios) == 3
    for name, ratio in ratios.items():
        assert 0.85 <= ratio <= 1.15, (name, ratio)
    assert metrics["memory_b16_s512"]["measured_gb"] > 1.5 * metrics["memory_b8_s256"]["measured_gb"]


def test_gpu_table_says_what_fits_where(results):
    table = {(row["model"], row["method"]): row for row in results["details"]["gpu_fit_table"]}
    assert table[("SmolLM2-135M", "full")]["T4 (16 GB)"] == "fits"
    assert table[("Qwen2.5-7B", "full")]["H100 (80 GB)"] == "-"
    assert table[("Qwen2.5-7B", "qlora")]["H100 (80 GB)"] == "fits"


def test_the_export_is_the_adapter_merged_with_its_card(results, metrics):
    assert metrics["export"]["merge_max_abs_diff"] < 1e-3
    files = set(results["details"]["export_files"])
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md"} <= files
    assert "chat_template.jinja" in files or "tokenizer_config.json" in files


def test_the_server_answers_as_the_model_does_in_process(results, metrics):
    served = metrics["served"]
    assert served["tickets"] >= 20
    assert served["agreement_with_in_process"] >= 0.95
    assert served["json_valid"] >= 0.9
    assert served["still_serving_after_bad_requests"] == 1.0
    statuses = results["details"]["bad_requests"]
    assert len(statuses) == 4 and set(statuses.values()) == {400}, statuses  # each refused, with its reason
