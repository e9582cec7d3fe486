"""RLHF helpers on a tiny Llama made on the fly: reward-function checks (with bad functions), the
rubric as a reward, the reward model's scores, configs with CPU-safe defaults, and a few real
RewardTrainer and GRPOTrainer steps."""

import math

import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
from trl import GRPOTrainer, RewardTrainer

from helpers.data import preference_dataset
from helpers.modeling import chat_generation_config, save_model
from helpers.rlhf import (ReplyJudgeCallback, accuracy_by_item, check_reward_function, grpo_config, grpo_dataset,
                          grpo_history, judge_policy, load_reward_model, pair_lengths, pair_rewards,
                          reward_config, reward_model_function, reward_scores, rubric_reward)
from helpers.runtime import precision_flags
from helpers.tasks import reply_messages
from helpers.tokenization import train_tokenizer
from helpers.tracking import tracker_settings

TICKET = {"message": "My kettle arrived broken.", "intent": "damaged_item", "product": "kettle",
          "order_id": "LL-482913", "customer_name": "Priya Shah"}
OTHER = {"message": "Where is my parcel?", "intent": "order_status", "product": "none", "order_id": None,
         "customer_name": None}
GOOD = "Hi Priya, I'm sorry your kettle arrived broken. I have arranged a replacement for order LL-482913."
BAD = "Hi Priya, you should have read the instructions. I guarantee a new kettle within 24 hours."
PAIRS = [{"prompt": reply_messages(t), "chosen": [{"role": "assistant", "content": GOOD}],
          "rejected": [{"role": "assistant", "content": BAD}], "row": {**t, "broken": ["no_blame"]}}
         for t in (TICKET, OTHER)] * 4
PROMPTS = [p["prompt"] for p in PAIRS[:2]]
COMPLETIONS = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": BAD}]]
COLUMNS = {k: [t.get(k) for t in (TICKET, OTHER)] for k in ("intent", "product", "order_id", "customer_name")}


@pytest.fixture(scope="module")
def tokenizer():
    texts = [GOOD, BAD, TICKET["message"], OTHER["message"], "Customer: Order: Message: none unknown"] * 30
    return train_tokenizer(texts, vocab_size=400)


@pytest.fixture(scope="module")
def model_dir(tokenizer, tmp_path_factory):
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=512, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    model = LlamaForCausalLM(config)
    model.generation_config = chat_generation_config(tokenizer)
    return save_model(model, tokenizer, tmp_path_factory.mktemp("tiny") / "model")


# --- reward-function checks -------------------------------------------------------------------

def test_check_accepts_one_finite_float_per_completion():
    def constant(prompts, completions, **kwargs):
        return [1, 0.5]
    assert check_reward_function(constant, PROMPTS, COMPLETIONS) == [1.0, 0.5]
    assert check_reward_function(lambda prompts, completions, **k: torch.tensor([0.1, 0.2]), PROMPTS,
                                 COMPLETIONS) == pytest.approx([0.1, 0.2])


@pytest.mark.parametrize("returned, message", [
    ([1.0], "returned 1 rewards for 2 completions"),
    ([1.0, 2.0, 3.0], "returned 3 rewards"),
    ([1.0, float("nan")], "must be finite"),
    ([float("inf"), 1.0], "must be finite"),
    ([1.0, None], "returned None for completion 1"),
    (["good", 1.0], "must be numbers"),
    ([True, 1.0], "must be numbers"),
    ("1.0, 2.0", "must return a list of floats"),
    (0.5, "must return a list of floats"),
])
def test_check_refuses_bad_reward_functions(returned, message):
    def bad(prompts, completions, **kwargs):
        return returned
    with pytest.raises(ValueError, match=message) as error:
        check_reward_function(bad, PROMPTS, COMPLETIONS)
    assert "'bad'" in str(error.value)  # the error names the function


def test_check_reports_a_function_that_crashes_or_a_bad_sample():
    def needs_a_column(prompts, completions, answer, **kwargs):
        return [1.0] * len(completions)
    with pytest.raises(ValueError, match="failed on sample completions: TypeError"):
        check_reward_function(needs_a_column, PROMPTS, COMPLETIONS)
    with pytest.raises(ValueError, match="one prompt per completion"):
        check_reward_function(lambda **k: [1.0], PROMPTS[:1], COMPLETIONS)
    with pytest.raises(ValueError, match="not callable"):
        check_reward_function("reward", PROMPTS, COMPLETIONS)


def test_rubric_reward_scores_good_above_bad_and_passes_the_check():
    rewards = rubric_reward(PROMPTS, [COMPLETIONS[0], COMPLETIONS[0]], **COLUMNS)
    assert rewards[0] == 1.0  # every item applies to the first ticket, and the reply passes them all
    bad = rubric_reward(PROMPTS[:1], [BAD], **{k: v[:1] for k, v in COLUMNS.items()})  # plain text works too
    assert bad[0] < rewards[0]
    assert check_reward_function(rubric_reward, PROMPTS, COMPLETIONS, **COLUMNS)[0] == 1.0
    with pytest.raises(ValueError):  # columns of the wrong length: a clear error, not a silent zip
        check_reward_function(rubric_reward, PROMPTS, COMPLETIONS, **{k: v[:1] for k, v in COLUMNS.items()})


def test_grpo_dataset_holds_prompts_and_ticket_fields():
    data = grpo_dataset([TICKET, OTHER])
    assert data.column_names == ["prompt", "intent", "product", "order_id", "customer_name"]
    assert data[0]["prompt"][-1]["role"] == "user" and data[1]["order_id"] is None
    with pytest.raises(ValueError, match="no tickets"):
        grpo_dataset([])


def test_accuracy_by_item_counts_each_broken_item():
    pairs = [{"row": {"broken": ["no_blame"]}}, {"row": {"broken": ["no_blame", "concise"]}}, {"row": {}}]
    assert accuracy_by_item(pairs, [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]) == {"concise": 0.0, "no_blame": 0.5}


# --- configs ----------------------------------------------------------------------------------

def test_configs_run_on_cpu_with_small_model_defaults(tmp_path):
    config = grpo_config(tmp_path, beta=0.1, prompts_per_step=2, num_generations=3)
    assert config.per_device_train_batch_size == 6 and config.num_generations == 3 and config.beta == 0.1
    assert config.bf16 == precision_flags()["bf16"] and not config.activation_checkpointing
    assert config.report_to == tracker_settings(tmp_path)["report_to"]  # the local tracker only
    assert config.learning_rate > 1e-5 and config.top_k == 0
    rm = reward_config(tmp_path, max_length=300)
    assert rm.max_length == 300 and rm.bf16 == precision_flags()["bf16"] and rm.learning_rate >= 1e-4
    with pytest.raises(ValueError, match="cannot be negative"):
        grpo_config(tmp_path, beta=-0.1)
    with pytest.raises(ValueError, match="at least 2"):
        grpo_config(tmp_path, num_generations=1)


# --- models -----------------------------------------------------------------------------------

def test_reward_model_scores_and_trains(model_dir, tokenizer, tmp_path):
    reward_model = load_reward_model(model_dir, tokenizer)
    assert reward_model.config.num_labels == 1 and reward_model.config.pad_token_id == tokenizer.pad_token_id
    lengths = pair_lengths(tokenizer, PAIRS)
    assert len(lengths) == len(PAIRS) and min(lengths) > 10
    # a conversation scores the same alone and padded in a batch with a longer one
    conversations = [reply_messages(OTHER, "Sorry."), reply_messages(TICKET, GOOD)]
    alone = reward_scores(reward_model, tokenizer, conversations[:1])
    batched = reward_scores(reward_model, tokenizer, conversations)
    assert batched[0] == pytest.approx(alone[0], abs=1e-4)
    # the function form gives the same numbers for conversational prompts and completions
    as_function = reward_model_function(reward_model, tokenizer)
    assert check_reward_function(as_function, [reply_messages(OTHER)], [[{"role": "assistant", "content": "Sorry."}]]) \
        == pytest.approx(alone, abs=1e-4)

    config = reward_config(tmp_path, learning_rate=3e-3, max_steps=12, batch_size=4, max_length=max(lengths),
                           disable_tqdm=True)
    trainer = RewardTrainer(model=reward_model, args=config, train_dataset=preference_dataset(PAIRS),
                            processing_class=tokenizer)
    assert len(trainer.train_dataset) == len(PAIRS)  # none dropped at the measured max_length
    trainer.train()
    chosen, rejected = pair_rewards(trainer.model, tokenizer, PAIRS[:2])
    assert all(c > r for c, r in zip(chosen, rejected))


def test_a_short_grpo_run_logs_rewards_and_kl_and_the_judge_measures(model_dir, tokenizer, tmp_path):
    policy = LlamaForCausalLM.from_pretrained(model_dir)
    reference = LlamaForCausalLM.from_pretrained(model_dir)
    reward_model = load_reward_model(model_dir, tokenizer)
    judge = ReplyJudgeCallback(tokenizer, [TICKET, OTHER], reward_model, reference, every=2)
    config = grpo_config(tmp_path, beta=0.1, learning_rate=1e-3, max_steps=2, prompts_per_step=2, num_generations=2,
                         max_completion_length=8, disable_tqdm=True)
    trainer = GRPOTrainer(model=policy, reward_funcs=reward_model_function(reward_model, tokenizer), args=config,
                          train_dataset=grpo_dataset([TICKET, OTHER] * 2), processing_class=tokenizer,
                          callbacks=[judge])
    trainer.train()
    history = grpo_history(trainer)
    assert history["step"] == [1, 2] and all(math.isfinite(r) for r in history["reward"])
    assert all(math.isfinite(k) and k >= -1e-6 for k in history["kl"])
    assert [row["step"] for row in judge.history] == [0, 2]
    # The policy starts as the reference; during training it computes under the trainer's bf16 autocast
    # where the processor has it, the reference in fp32: a rounding of a few thousandths of a nat.
    assert judge.history[0]["kl"] == pytest.approx(0.0, abs=1e-2 if precision_flags()["bf16"] else 1e-4)
    assert all(0 <= row["rubric_score_ci_low"] <= row["rubric_score"] <= row["rubric_score_ci_high"] <= 1
               for row in judge.history)
    with pytest.raises(ValueError, match="positive"):
        ReplyJudgeCallback(tokenizer, [TICKET], reward_model, reference, every=0)


def test_judge_policy_measures_every_model_the_same_way(model_dir, tokenizer):
    policy = AutoModelForCausalLM.from_pretrained(model_dir)
    tickets = [TICKET, OTHER]
    baseline, replies = judge_policy(policy, tokenizer, tickets, reference=policy)
    assert baseline["kl"] == 0.0 and baseline["win_rate"] == baseline["win_rate_greedy"] == 0.5
    assert [len(replies[kind]) for kind in ("sampled", "greedy")] == [2, 2]
    assert 0 <= baseline["rubric_score"] <= 1 and "reward" not in baseline and "field_accuracy" not in baseline
    reward_model = load_reward_model(model_dir, tokenizer)
    triage = [{**TICKET, "urgency": "high", "sentiment": "negative"}]
    result, again = judge_policy(policy, tokenizer, tickets, policy, replies, reward_model, triage_records=triage)
    assert again == replies  # seeded sampling and greedy decoding: the same replies for the same model
    assert result["win_rate"] == result["win_rate_greedy"] == 0.5 and abs(result["kl"]) < 1e-6  # against itself
    assert {"reward", "rubric_score_greedy", "field_accuracy", "json_valid"} <= set(result)
    sampled_only, _ = judge_policy(policy, tokenizer, tickets, policy, {"sampled": replies["sampled"]})
    assert "win_rate_greedy" not in sampled_only  # no greedy replies of the baseline to compare with
