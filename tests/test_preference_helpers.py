"""DPO and KTO configs, unpaired data from pairs, and the implicit-reward curves, with short real
DPO and KTO runs on a tiny Llama made on the fly."""

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from trl import DPOTrainer, KTOTrainer

from helpers.data import preference_dataset
from helpers.preference import dpo_config, kto_config, reward_curves, unpaired_dataset
from helpers.runtime import precision_flags
from helpers.tasks import reply_messages
from helpers.tokenization import train_tokenizer
from helpers.tracking import tracker_settings

TICKETS = [{"customer_name": "Priya Shah", "order_id": "LL-482913", "message": "My kettle arrived broken."},
           {"customer_name": "Tom Berg", "order_id": None, "message": "Where is my parcel?"}]
CHOSEN = ["Hi Priya, I'm sorry your kettle arrived broken. I have arranged a replacement for order LL-482913.",
          "Hi Tom, sorry for the wait. You will receive a fresh tracking link by email."]
REJECTED = ["Your kettle is fine, you must have dropped it.",
            "We guarantee it arrives by tomorrow, 100%."]


def make_pairs(repeat: int = 4) -> list[dict]:
    pairs = []
    for ticket, chosen, rejected in zip(TICKETS, CHOSEN, REJECTED):
        prompt = reply_messages(ticket)
        pairs.append({"prompt": prompt, "chosen": [{"role": "assistant", "content": chosen}],
                      "rejected": [{"role": "assistant", "content": rejected}], "row": ticket})
    return pairs * repeat


@pytest.fixture(scope="module")
def tokenizer():
    texts = [t["message"] for t in TICKETS] + CHOSEN + REJECTED
    return train_tokenizer(texts * 30, vocab_size=400)


def tiny_model(tokenizer, path):
    """A tiny Llama saved to `path` and loaded back, so that its config names a folder (as a Hub model's does)."""
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=256, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(path)
    return LlamaForCausalLM.from_pretrained(path)


def test_configs_run_anywhere(tmp_path):
    config = dpo_config(tmp_path, max_steps=20)
    assert config.beta == 0.1 and not config.activation_checkpointing and config.bf16 == precision_flags()["bf16"]
    assert config.learning_rate == 5e-4 and config.eval_strategy == "no"
    assert config.report_to == tracker_settings(tmp_path)["report_to"]  # the local tracker only
    assert config.logging_steps == 2 and config.max_length == 256
    tuned = dpo_config(tmp_path, beta=0.5, max_steps=20, eval_every=10, loss_type=["sigmoid", "sft"])
    assert tuned.beta == 0.5 and tuned.eval_steps == 10 and tuned.loss_type == ["sigmoid", "sft"]
    kto = kto_config(tmp_path, max_steps=20, desirable_weight=2.0)
    assert kto.desirable_weight == 2.0 and kto.undesirable_weight == 1.0 and not kto.activation_checkpointing


@pytest.mark.parametrize("kwargs, message", [
    ({"beta": 0.0}, "beta"), ({"beta": -1.0}, "beta"), ({"max_steps": 0}, "max_steps"),
    ({"batch_size": 0}, "batch_size"), ({"learning_rate": 0.0}, "learning_rate"),
])
def test_configs_reject_bad_settings(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        dpo_config(tmp_path, **kwargs)
    with pytest.raises(ValueError, match=message):
        kto_config(tmp_path, **kwargs)


def test_kto_needs_a_batch(tmp_path):
    with pytest.raises(ValueError, match="batch_size must be at least 2"):
        kto_config(tmp_path, batch_size=1)


def test_unpaired_dataset_keeps_every_reply_with_its_label():
    pairs = make_pairs(repeat=1)
    data = unpaired_dataset(pairs, seed=0)
    assert data.column_names == ["prompt", "completion", "label"] and len(data) == 4
    assert sorted(data["label"]) == [False, False, True, True]
    for row in data:
        source = next(p for p in pairs if p["prompt"] == row["prompt"])
        assert row["completion"] == (source["chosen"] if row["label"] else source["rejected"])
    assert unpaired_dataset(pairs, seed=0)["completion"] == data["completion"]  # the same seed, the same order


def test_unpaired_dataset_rejects_bad_pairs():
    with pytest.raises(ValueError, match="no preference pairs"):
        unpaired_dataset([])
    with pytest.raises(ValueError, match="pair 0 lacks"):
        unpaired_dataset([{"prompt": "hi", "chosen": "a"}])


def test_reward_curves_read_the_log_history():
    history = [{"loss": 0.69, "rewards/chosen": 0.0, "rewards/rejected": -0.1, "rewards/margins": 0.1,
                "rewards/accuracies": 0.5, "step": 2},
               {"eval_loss": 0.6, "eval_rewards/chosen": 0.1, "eval_rewards/rejected": -0.4,
                "eval_rewards/margins": 0.5, "eval_rewards/accuracies": 0.75, "step": 2},
               {"loss": 0.4, "rewards/chosen": 0.2, "rewards/rejected": -0.9, "rewards/margins": 1.1,
                "rewards/accuracies": 1.0, "step": 4},
               {"train_runtime": 3.0, "step": 4}]
    curves = reward_curves(history)
    assert curves == {"step": [2, 4], "chosen": [0.0, 0.2], "rejected": [-0.1, -0.9], "margins": [0.1, 1.1],
                      "accuracies": [0.5, 1.0]}
    assert reward_curves(history, prefix="eval_")["accuracies"] == [0.75]
    kto = reward_curves([{"rewards/chosen": 0.3, "rewards/rejected": -0.2, "rewards/margins": 0.5, "step": 1}])
    assert "accuracies" not in kto and kto["margins"] == [0.5]


def test_reward_curves_of_a_run_without_rewards_is_a_clear_error():
    with pytest.raises(ValueError, match="DPO or KTO"):
        reward_curves([{"loss": 1.0, "step": 1}])


def test_short_dpo_run_separates_chosen_from_rejected(tmp_path, tokenizer):
    model = tiny_model(tokenizer, tmp_path / "model")
    data = preference_dataset(make_pairs())
    config = dpo_config(tmp_path / "dpo", learning_rate=3e-3, max_steps=12, batch_size=4, logging_steps=2,
                        disable_tqdm=True)
    trainer = DPOTrainer(model=model, args=config, train_dataset=data, eval_dataset=data, processing_class=tokenizer)
    trainer.train()  # no ref_model: DPOTrainer reloads the reference from model.config._name_or_path
    curves = reward_curves(trainer.state.log_history)
    assert curves["step"] == list(range(2, 13, 2))
    assert curves["margins"][-1] > curves["margins"][0] and curves["margins"][-1] > 0
    assert curves["accuracies"][-1] == 1.0
    scores = trainer.evaluate()
    assert scores["eval_rewards/accuracies"] == 1.0 and scores["eval_rewards/margins"] > 0


def test_short_kto_run_learns_from_labels(tmp_path, tokenizer):
    model = tiny_model(tokenizer, tmp_path / "model")
    config = kto_config(tmp_path / "kto", learning_rate=3e-3, max_steps=12, batch_size=4, logging_steps=2,
                        disable_tqdm=True)
    trainer = KTOTrainer(model=model, args=config, train_dataset=unpaired_dataset(make_pairs()),
                         processing_class=tokenizer)
    trainer.train()
    curves = reward_curves(trainer.state.log_history)
    assert len(curves["step"]) == 6 and "accuracies" not in curves
    assert curves["margins"][-1] > curves["margins"][0]
