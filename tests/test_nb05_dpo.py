"""Notebook 05 aligns the SFT model with DPO on the house-style pairs: the main DPO model (DPO with an
SFT term on the chosen replies) must raise the rubric score of the deployed (greedy) replies by the
course's 0.10, beat the SFT model head to head and keep triage, the logged margins must grow, the
held-out pairs must be ranked, and the beta sweep, plain DPO, the KTO variant and DPO with LoRA must
each have learned something. Every model is judged on the same
held-out prompts, notebook 04's RL policy included."""

import json

import pytest

from helpers.rubric import RUBRIC_ITEMS
from helpers.runtime import runs_dir

pytestmark = pytest.mark.notebook

STEM = "05_dpo"
MODELS = ("sft", "rl", "dpo_plain", "dpo", "dpo_beta0.5", "kto", "dpo_lora")
TRAINED = ("dpo_plain", "dpo", "dpo_beta0.5", "kto", "dpo_lora")


def test_every_model_was_judged_the_same_way(results, metrics):
    in_full = MODELS if results["profile"] == "gpu" else ("sft", "rl", "dpo")  # greedy and triage too
    for name in MODELS:
        m = metrics[name]
        extra = ("rubric_score_greedy", "win_rate_greedy", "json_valid", "field_accuracy") if name in in_full else ()
        for key in ("rubric_score", "win_rate", "kl", *extra, *(f"rubric_{item}" for item in RUBRIC_ITEMS)):
            assert key in m, f"{name} lacks {key}"
            if key != "kl":
                assert 0 <= m[key] <= 1, f"{name}.{key} = {m[key]}"
    assert metrics["sft"]["kl"] == 0 and metrics["sft"]["win_rate"] == 0.5
    for name in TRAINED:
        assert metrics[name]["train_seconds"] > 0
        assert metrics[name]["kl"] > 0.01, f"{name} did not move from the SFT model"


def test_dpo_raises_the_rubric_score_over_sft(metrics):
    # Measured on a 2-core Xeon: greedy replies 0.751 -> 0.950, sampled 0.709 -> 0.774; the greedy replies
    # beat the SFT model's on 92% of the tickets, the sampled ones on 65%.
    sft, dpo = metrics["sft"], metrics["dpo"]
    assert dpo["rubric_score_greedy"] >= sft["rubric_score_greedy"] + 0.10  # the course's target
    assert dpo["rubric_score"] >= sft["rubric_score"] + 0.03
    assert dpo["win_rate_greedy"] >= 0.60  # the course's target, on the deployed replies
    assert dpo["win_rate"] >= 0.55  # the sampled replies win too, by less


def test_dpo_undoes_the_habits_the_demonstrations_taught(metrics):
    # Measured on sampled replies, on a 2-core Xeon and on a 2-core EPYC: order id 0.13 -> 0.35 and 0.20 -> 0.34
    # (71 tickets have one: a ticket is 0.014), acknowledgement 0.29 -> 0.60 and 0.31 -> 0.61.
    sft, dpo = metrics["sft"], metrics["dpo"]
    assert dpo["rubric_cites_order_id"] >= sft["rubric_cites_order_id"] + 0.07
    assert dpo["rubric_acknowledges_problem"] >= sft["rubric_acknowledges_problem"] + 0.15


def test_the_target_is_reported_as_measured(results, metrics):
    targets = results["details"]["targets"]
    gain = metrics["dpo"]["rubric_score_greedy"] - metrics["sft"]["rubric_score_greedy"]
    assert targets["rubric_gain_over_sft"] == pytest.approx(gain)
    assert targets["reached"] == (gain >= 0.10 and metrics["dpo"]["win_rate_greedy"] >= 0.60
                                  and targets["triage_retained"] >= 0.95)


def test_dpo_keeps_triage(metrics):
    sft, dpo = metrics["sft"], metrics["dpo"]
    assert dpo["json_valid"] >= 0.95 * sft["json_valid"]
    assert dpo["field_accuracy"] >= 0.95 * sft["field_accuracy"]  # the course's target (measured 0.99)


def test_margins_grow_and_generalise(results, metrics):
    for name in TRAINED:
        m = metrics[name]
        assert m["reward_margin"] > m["first_reward_margin"], name
    dpo = metrics["dpo"]
    assert dpo["reward_margin"] > 0.5 and dpo["reward_accuracy"] > 0.7
    assert dpo["eval_reward_accuracy"] > 0.7 and dpo["eval_reward_margin"] > 0  # held-out pairs are ranked too


def test_the_sft_term_keeps_the_chosen_replies_likely(metrics):
    plain, dpo = metrics["dpo_plain"], metrics["dpo"]
    assert plain["sft_weight"] == 0 and dpo["sft_weight"] > 0
    assert dpo["chosen_reward"] > plain["chosen_reward"]
    assert dpo["kl"] < plain["kl"]  # (whether plain DPO's replies also score lower varies from run to run)


def test_beta_scales_the_implicit_rewards(metrics):
    # The implicit reward is beta * log-ratio: five times the beta, a much larger logged margin. (The KL to
    # SFT barely differs between beta 0.1 and 0.5 here, where the SFT term holds both runs near the chosen
    # replies, so no KL ordering is asserted.)
    low, high = metrics["dpo"], metrics["dpo_beta0.5"]
    assert high["beta"] == 5 * low["beta"]
    assert high["reward_margin"] > 1.5 * low["reward_margin"]
    assert high["eval_reward_margin"] > 1.5 * low["eval_reward_margin"]


def test_the_variant_and_lora_learned_something(metrics):
    # both learned the preference: held-out good replies get the higher implicit reward
    assert metrics["kto"]["eval_reward_margin"] > 0.1
    assert metrics["dpo_lora"]["eval_reward_accuracy"] > 0.7 and metrics["dpo_lora"]["eval_reward_margin"] > 0.1
    assert 0 < metrics["dpo_lora"]["trainable_fraction"] < 0.1


def test_saved_files(results):
    out = runs_dir() / STEM
    assert (out / "model" / "model.safetensors").exists() and (out / "model" / "tokenizer.json").exists()
    for plot in ("rewards_dpo_plain.png", "rewards_dpo.png", "beta_sweep.png", "rewards_kto.png", "comparison.png"):
        assert (out / plot).stat().st_size > 10_000, plot
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["hyperparameters"]["steps"] > 0 and manifest["seed"] == 0
    assert results["details"]["targets"]["triage_retained"] > 0


def test_every_preference_run_lands_in_the_tracker(tracked):
    runs = tracked("dpo", "dpo_plain", "kto", "dpo_lora")
    assert runs["dpo"]["train/rewards/margins"] and runs["kto"]["train/rewards/margins"]
