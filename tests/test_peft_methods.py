"""PEFT configurations, trainable shares, adapter sizes and the merge check, on a tiny Llama made on
the fly."""

import pytest
import torch
from peft import PeftModel, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

from helpers.evaluation import answer_loss
from helpers.modeling import count_parameters
from helpers.peft_methods import (adapter_size_mb, ia3_config, lora_config,
                                  merged_matches_adapter, prefix_tuning_config, prompt_tuning_config,
                                  trainable_fraction)
from helpers.tasks import triage_messages, triage_target
from helpers.tokenization import train_tokenizer
from helpers.training import chat_dataset, sft_config, sft_trainer, train

LABELS = {"intent": "damaged_item", "product": "kettle", "order_id": "LL-482913", "urgency": "high",
          "sentiment": "negative"}
OTHER = {"intent": "order_status", "product": "none", "order_id": None, "urgency": "low", "sentiment": "neutral"}
CONVERSATIONS = [triage_messages("My kettle arrived broken. Order LL-482913.", LABELS),
                 triage_messages("Where is my parcel?", OTHER)]
HIDDEN, INTERMEDIATE, LAYERS = 32, 64, 2


@pytest.fixture(scope="module")
def tokenizer():
    texts = ["My kettle arrived broken. Order LL-482913.", "Where is my parcel?", triage_target(LABELS),
             triage_target(OTHER)] * 30
    return train_tokenizer(texts, vocab_size=400)


@pytest.fixture
def model(tokenizer):
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=HIDDEN, intermediate_size=INTERMEDIATE,
                         num_hidden_layers=LAYERS, num_attention_heads=2, max_position_embeddings=256,
                         tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    return LlamaForCausalLM(config)


def test_lora_targets_map_to_llama_modules():
    assert set(lora_config(4, targets="attention").target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert set(lora_config(4, targets="mlp").target_modules) == {"gate_proj", "up_proj", "down_proj"}
    assert len(lora_config(4).target_modules) == 7
    assert set(lora_config(4, targets=["q_proj"]).target_modules) == {"q_proj"}
    config = lora_config(8, dropout=0.1, use_dora=True)
    assert (
        config.r == 8
        and config.lora_alpha == 16
        and lora_config(32).lora_alpha == 16
        and config.lora_dropout == 0.1
        and config.use_dora
    )
    assert lora_config(8, alpha=8).lora_alpha == 8
    with pytest.raises(ValueError, match="Unknown targets"):
        lora_config(8, targets="everything")
    with pytest.raises(ValueError, match="at least 1"):
        lora_config(0)
    with pytest.raises(ValueError, match="tokenizer_name_or_path"):
        prompt_tuning_config(8, init_text="Triage this ticket")


def test_lora_trains_exactly_rank_times_in_plus_out_per_weight(model):
    # Every projection here is HIDDEN x HIDDEN (attention) or HIDDEN <-> INTERMEDIATE (MLP).
    peft_model = get_peft_model(model, lora_config(4))
    per_layer = 4 * (4 * (HIDDEN + HIDDEN) + 3 * (HIDDEN + INTERMEDIATE))
    assert count_parameters(peft_model, trainable_only=True) == LAYERS * per_layer


def test_trainable_shares_are_ordered(tokenizer):
    fractions = {}
    for name, config in [("prompt", prompt_tuning_config(4)), ("ia3", ia3_config()),
                         ("lora_r2", lora_config(2)), ("lora_r8", lora_config(8))]:
        fractions[name] = trainable_fraction(get_peft_model(_fresh(tokenizer), config))
    assert 0 < fractions["prompt"] < fractions["ia3"] < fractions["lora_r2"] < fractions["lora_r8"] < 1
    assert trainable_fraction(_fresh(tokenizer)) == 1.0


def _fresh(tokenizer):
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=HIDDEN,
                                        intermediate_size=INTERMEDIATE, num_hidden_layers=LAYERS,
                                        num_attention_heads=2, tie_word_embeddings=True,
                                        pad_token_id=tokenizer.pad_token_id))


def _perturb_lora(peft_model):
    # LoRA starts with B = 0 (no change to the model); give it a change to merge.
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.2)


def test_merged_model_computes_what_base_plus_adapter_computes(model, tokenizer):
    base_loss = answer_loss(model, tokenizer, CONVERSATIONS)
    peft_model = get_peft_model(model, lora_config(4))
    _perturb_lora(peft_model)
    assert abs(answer_loss(peft_model, tokenizer, CONVERSATIONS) - base_loss) > 1e-3  # the adapter matters
    difference = merged_matches_adapter(peft_model, tokenizer, CONVERSATIONS, atol=1e-4)
    assert 0 <= difference < 1e-4
    assert any("lora_A" in n for n, _ in peft_model.named_parameters())  # the original is left as it was
    with pytest.raises(ValueError, match="differ"):
        merged_matches_adapter(peft_model, tokenizer, CONVERSATIONS, atol=-1.0)


def test_saved_adapter_is_small_and_loads_back(model, tokenizer, tmp_path):
    model.save_pretrained(tmp_path / "full")
    peft_model = get_peft_model(model, lora_config(2, targets="attention"))
    _perturb_lora(peft_model)
    peft_model.save_pretrained(tmp_path / "adapter")
    assert adapter_size_mb(tmp_path / "adapter") < 0.2 * adapter_size_mb(tmp_path / "full")
    loaded = PeftModel.from_pretrained(_fresh(tokenizer), tmp_path / "adapter")
    assert answer_loss(loaded, tokenizer, CONVERSATIONS) == pytest.approx(
        answer_loss(peft_model, tokenizer, CONVERSATIONS), rel=1e-5)
    with pytest.raises(FileNotFoundError, match="No weight files"):
        adapter_size_mb(tmp_path)


def test_real_token_logits_line_up_with_the_input(model, tokenizer):
    plain = answer_loss(model, tokenizer, CONVERSATIONS[:1])
    assert answer_loss(model, tokenizer, CONVERSATIONS[:1]) == pytest.approx(plain, rel=1e-6)
    prompted = get_peft_model(model, prompt_tuning_config(4))
    encoded = tokenizer.apply_chat_template(CONVERSATIONS[0], tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True, return_tensors="pt")
    labels = torch.where(encoded["assistant_masks"] == 1, encoded["input_ids"], -100)
    with torch.no_grad():  # peft pads the labels over the virtual tokens itself
        expected = prompted(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"],
                            labels=labels).loss.item()
    assert answer_loss(prompted, tokenizer, CONVERSATIONS[:1]) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("method", ["lora", "dora", "ia3", "prompt_tuning", "prefix_tuning"])
def test_each_method_trains_its_adapter_and_leaves_the_base_frozen(method, model, tokenizer, tmp_path):
    configs = {"lora": lora_config(4), "dora": lora_config(4, use_dora=True), "ia3": ia3_config(),
               "prompt_tuning": prompt_tuning_config(4), "prefix_tuning": prefix_tuning_config(4)}
    base_before = {n: p.detach().clone() for n, p in model.named_parameters()}
    config = sft_config(tmp_path, max_steps=4, batch_size=2, learning_rate=3e-2, disable_tqdm=True)
    trainer = sft_trainer(model, tokenizer, chat_dataset(CONVERSATIONS * 4), config, peft_config=configs[method])
    adapter_before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    train(trainer)
    assert isinstance(trainer.model, PeftModel) and adapter_before
    changed = [n for n, p in trainer.model.named_parameters() if n in adapter_before
               and not torch.equal(p, adapter_before[n])]
    assert changed, "no adapter weight moved"
    checked = 0
    for name, parameter in trainer.model.get_base_model().named_parameters():
        plain = name.replace("base_layer.", "")
        if plain in base_before and not parameter.requires_grad:
            assert torch.equal(parameter, base_before[plain]), f"{name} changed"
            checked += 1
    assert checked == len(base_before)  # every base weight is frozen and unchanged
    assert answer_loss(trainer.model, tokenizer, CONVERSATIONS) > 0
