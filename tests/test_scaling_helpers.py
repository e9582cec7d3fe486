"""Helpers of notebook 08: jobs read from config files, the memory estimate, the server wrapper and
the fine-tuned model card; bad input fails with a clear error."""

import json

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM

from helpers.jobs import load_job, run_job
from helpers.memory import (PUBLISHED_CONFIGS, estimate_training_memory, fits, lora_parameter_count,
                            parameter_count)
from helpers.model_card import read_card, write_fine_tuned_card
from helpers.modeling import SHIPPED_BASE
from helpers.offline_models import QWEN2_5_0_5B, SMALL
from helpers.peft_methods import lora_config
from helpers.serving import model_server, request_problem


def test_parameter_count_matches_real_models():
    kit = AutoModelForCausalLM.from_pretrained(SHIPPED_BASE)
    assert parameter_count(kit.config) == kit.num_parameters()
    qwen = Qwen2ForCausalLM(Qwen2Config(**{**QWEN2_5_0_5B, **SMALL}))  # attention biases, grouped-query heads
    assert parameter_count(qwen.config) == qwen.num_parameters()
    assert parameter_count(PUBLISHED_CONFIGS["Qwen2.5-0.5B"]) == 494_032_768  # the published count


def test_lora_count_matches_peft():
    from peft import get_peft_model

    kit = AutoModelForCausalLM.from_pretrained(SHIPPED_BASE)
    adapted = get_peft_model(kit, lora_config(8))
    trainable = sum(p.numel() for p in adapted.parameters() if p.requires_grad)
    assert lora_parameter_count(AutoConfig.from_pretrained(SHIPPED_BASE), 8) == trainable


def test_estimate_adds_up_and_orders_the_methods():
    config = PUBLISHED_CONFIGS["Qwen2.5-1.5B"]
    full, lora, qlora = (estimate_training_memory(config, m, "bf16") for m in ("full", "lora", "qlora"))
    for estimate in (full, lora, qlora):
        parts = estimate["weights"] + estimate["gradients"] + estimate["optimizer"] + estimate["activations"]
        assert estimate["total"] == pytest.approx(parts)
    assert full["total"] > lora["total"] > qlora["total"]
    double = estimate_training_memory(config, "lora", "bf16", batch_size=16)
    assert double["activations"] == pytest.approx(2 * lora["activations"])
    assert fits(qlora, 80) and not fits(full, 16)


@pytest.mark.parametrize("kwargs", [dict(method="dpo"), dict(precision="int8"), dict(batch_size=0)])
def test_estimate_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        estimate_training_memory(PUBLISHED_CONFIGS["SmolLM2-135M"], **kwargs)


def test_job_file_errors_are_clear(tmp_path):
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"output_dir": "x", "stpes": 10}))
    with pytest.raises(ValueError, match="unknown settings \\['stpes'\\]"):
        load_job(path)
    path.write_text(json.dumps({"output_dir": "x", "method": "qlora"}))
    with pytest.raises(ValueError, match="method must be one of"):
        load_job(path)
    path.write_text(json.dumps({"output_dir": "x"}))
    with pytest.raises(ValueError, match="steps must be at least 1"):
        load_job(path, steps=0)


def test_batch_must_split_over_the_processes(tmp_path, monkeypatch):
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"output_dir": str(tmp_path / "out"), "batch_size": 8}))
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(ValueError, match="does not split evenly over 3 processes"):
        run_job(load_job(path))


def test_server_needs_a_model_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model to serve"):
        with model_server(tmp_path):
            pass


def test_requests_the_server_refuses_say_why():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(SHIPPED_BASE)
    chat = [{"role": "user", "content": "Where is my order?"}]
    assert request_problem({"messages": chat, "max_tokens": 50}, tokenizer, context=512) is None
    assert "messages must be" in request_problem({"messages": "hi"}, tokenizer, 512)
    assert "messages must be" in request_problem({"messages": [{"role": "user"}]}, tokenizer, 512)
    assert "max_tokens must be" in request_problem({"messages": chat, "max_tokens": -1}, tokenizer, 512)
    long = [{"role": "user", "content": "late " * 600}]
    assert "exceeds the model's context of 512 tokens" in request_problem({"messages": long}, tokenizer, 512)
    assert request_problem([chat], tokenizer, 512) == "the body must be a JSON object"


def test_fine_tuned_card_carries_the_measured_results(tmp_path):
    model = AutoModelForCausalLM.from_pretrained(SHIPPED_BASE, dtype=torch.float32)
    model.save_pretrained(tmp_path)
    data = tmp_path / "train.jsonl"
    data.write_text('{"message": "hi"}\n')
    write_fine_tuned_card(tmp_path, base_model="models/loom-base-4m", task="Triage.",
                          metrics={"field_accuracy": 0.58123}, training={"method": "LoRA"},
                          data_files=[data], limits=["Synthetic data only."])
    card = read_card(tmp_path)
    assert card["base_model"] == "models/loom-base-4m" and card["metrics"]["field_accuracy"] == 0.5812
    assert "train.jsonl" in card["data_fingerprint"] and len(card["weights_sha256"]) == 64
    assert "Synthetic data only." in (tmp_path / "README.md").read_text()
