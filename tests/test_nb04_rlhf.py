"""Notebook 04 trains a reward model on preference pairs and aligns the SFT model with GRPO against it:
the reward model must rank held-out pairs right and see the flaws RL has to fix, GRPO with a KL penalty
must raise the reward model's score with a bounded KL, lift the held-out judge's score of the deployed
(greedy) replies by the course's 0.10, move the habits the SFT model copied, and keep triage; the run
without the penalty must drift far from the SFT model and gain reward while the held-out judge's score falls."""

import pytest

from helpers.notebooks import checkpoint_dir

pytestmark = pytest.mark.notebook

STEM = "04_rlhf"


def test_every_variant_was_measured(metrics):
    for name in ("sft", "grpo", "grpo_no_kl"):
        for key in ("rubric_score", "reward", "kl", "win_rate", "rubric_one_next_step", "rubric_acknowledges_problem"):
            assert key in metrics[name], f"{name} lacks {key}"
        assert 0 <= metrics[name]["rubric_score"] <= 1 and 0 <= metrics[name]["win_rate"] <= 1
    for name in ("sft", "grpo"):
        for key in ("rubric_score_greedy", "win_rate_greedy", "field_accuracy", "json_valid"):
            assert key in metrics[name], f"{name} lacks {key}"
    assert metrics["sft"]["kl"] == 0 and metrics["sft"]["win_rate"] == metrics["sft"]["win_rate_greedy"] == 0.5
    assert metrics["grpo"]["train_seconds"] > 0 and metrics["grpo_no_kl"]["train_seconds"] > 0


def test_reward_model_ranks_held_out_pairs(results, metrics):
    rm = metrics["reward_model"]
    assert rm["pairs_dropped"] == 0 and results["details"]["pairs_dropped"] == 0
    assert rm["accuracy"] >= 0.85  # chance is 0.5; the course's target of 0.92 is checked below
    assert rm["mean_chosen_reward"] > rm["mean_rejected_reward"] + 1.0
    # the flaws the SFT model's replies have, which RL must be steered away from
    assert rm["accuracy_one_next_step"] >= 0.85 and rm["accuracy_acknowledges_problem"] >= 0.8
    edited = results["details"]["edited_replies"]
    good = edited["the good reply"]
    assert sum(edited[k] < good for k in ("+ blame", "+ forbidden promise", "much longer", "no next step")) >= 3


def test_reward_model_reaches_the_target_accuracy(metrics):
    assert metrics["reward_model"]["accuracy"] >= 0.92  # measured 0.99 and 1.0 on the 150 held-out pairs


def test_grpo_with_kl_penalty_optimises_the_reward_with_bounded_kl(metrics):
    sft, rl, hack = metrics["sft"], metrics["grpo"], metrics["grpo_no_kl"]
    assert rl["reward"] > sft["reward"] + 0.5  # it optimised the reward model's score (measured +3.8 and +4.3)
    assert 0 < rl["kl"] < 10  # nats per reply: the penalty kept it near the SFT model (measured 3.8 and 5.3)
    assert rl["rubric_score"] > hack["rubric_score"] + 0.05


def test_grpo_lifts_the_held_out_judge(metrics):
    # Measured on a 2-core EPYC with the LoRA policy, seeds 0 and 1: greedy replies +0.21 and +0.17 (the
    # course's target is +0.10; a greedy reply flips whole habits at once, so its gain jumps from run to run),
    # sampled +0.05 and +0.05; the greedy replies beat the SFT model's on 91% and 90% of the tickets (sampled:
    # 60%). The notebook's verdict reports the target itself.
    sft, rl = metrics["sft"], metrics["grpo"]
    assert rl["rubric_score_greedy"] >= sft["rubric_score_greedy"] + 0.10
    assert rl["rubric_score"] >= sft["rubric_score"] + 0.02  # the sampled replies too, less (sampling noise stays)
    assert rl["win_rate_greedy"] >= 0.6


def test_grpo_undoes_the_habits_the_demonstrations_taught(metrics):
    # The SFT model copied the desk's habits; the reward model ranks the pairs that break them right, and GRPO
    # follows it. Measured on sampled replies with the LoRA policy on a 2-core EPYC: order id +0.23,
    # acknowledgement +0.07; with every weight trained, on a 2-core Xeon in two runs and the EPYC in one: order
    # id +0.25, +0.28 and +0.17, acknowledgement +0.15, +0.21 and +0.04 (one ticket in a hundred is 0.01, and
    # sampling noise on a hundred tickets is about 0.07): the order id moves in every run, the two together
    # by at least 0.2.
    sft, rl = metrics["sft"], metrics["grpo"]
    gains = {item: rl[f"rubric_{item}"] - sft[f"rubric_{item}"] for item in ("cites_order_id", "acknowledges_problem")}
    assert gains["cites_order_id"] >= 0.1
    assert gains["acknowledges_problem"] >= -0.05
    assert sum(gains.values()) >= 0.15
    assert rl["rubric_names_customer"] >= sft["rubric_names_customer"] - 0.05  # kept what it did well


def test_the_rubric_floor_is_reported_and_cleared(results, metrics):
    # An empty reply passes the items that ask for restraint (no blame, no forbidden promise): measured 0.31
    # on the held-out tickets, against 0.70 for the SFT model's sampled replies.
    floor = results["details"]["rubric_floor"]
    assert 0.2 < floor < 0.4
    assert metrics["sft"]["rubric_score"] > floor + 0.2


def test_triage_is_kept(metrics):
    sft, rl = metrics["sft"], metrics["grpo"]
    assert rl["field_accuracy"] >= 0.85 * sft["field_accuracy"]  # a policy that forgot triage falls far lower
    assert rl["json_valid"] >= 0.95 * sft["json_valid"]


def test_triage_is_retained_within_the_target(metrics):
    # The policy trains a LoRA adapter: on a 2-core EPYC it kept 100% of the SFT model's triage field accuracy
    # (seeds 0 and 1). Trained on every weight, the same run kept 95.8% and 97.8%, the drift landing on
    # sentiment, the field the SFT model reads least surely.
    assert metrics["grpo"]["field_accuracy"] >= 0.95 * metrics["sft"]["field_accuracy"]


def test_the_policy_trains_an_adapter_and_the_hacking_run_every_weight(metrics):
    assert 0.01 < metrics["grpo"]["trainable_fraction"] < 0.1  # LoRA r16 on every linear layer: 7% here
    assert metrics["grpo_no_kl"]["trainable_fraction"] == 1.0


def test_without_the_penalty_the_policy_drifts_and_the_judge_disagrees(metrics):
    sft, rl, hack = metrics["sft"], metrics["grpo"], metrics["grpo_no_kl"]
    assert hack["kl"] > 2 * rl["kl"]
    assert hack["reward"] > sft["reward"]  # the reward model likes it ...
    assert hack["rubric_score"] < sft["rubric_score"] - 0.05  # ... the held-out judge does not: reward hacking
    assert hack["win_rate"] < 0.4


def test_checkpoints_are_saved_where_later_notebooks_look(results):
    for name in ("reward_model", "rl"):
        folder = checkpoint_dir(name)
        assert (folder / "config.json").exists() and (folder / "model.safetensors").exists(), folder
        assert (folder / "tokenizer.json").exists() or (folder / "tokenizer_config.json").exists()
    assert not (checkpoint_dir("rl") / "adapter_config.json").exists()  # the adapter merged: a plain model


def test_every_training_run_lands_in_the_tracker(tracked):
    runs = tracked("reward_model", "grpo", "grpo_no_kl")
    assert runs["grpo"]["train/kl"] and runs["grpo"]["train/reward"]  # GRPO's own curves, step by step
