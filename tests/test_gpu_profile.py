"""The gpu profile's code path on an offline stand-in of its Hub model (`helpers.offline_models`):
Qwen2.5-0.5B-Instruct's architecture, chat template (no `{% generation %}` markers), special tokens
and vocabulary layout, small and randomly initialised. Every notebook's training path trains a few
steps, saves and reloads (`scripts/exercise_gpu_profile.py`), and the answer-only loss and the kit's
answer scoring find the answer in a Hub template."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from trl.chat_template_utils import qwen2_5_chat_template

from helpers.data import triage_conversations
from helpers.evaluation import assistant_tokens
from helpers.forgetting import chat_rows, text_rows
from helpers.offline_models import QWEN2_5_CHAT_TEMPLATE, qwen_style_tokenizer
from helpers.runtime import REPO_ROOT
from helpers.training import loss_mask

PATHS = ("sft_full", "lora", "dora", "ia3", "prompt_tuning", "prefix_tuning", "reward_model", "grpo", "dpo",
         "dpo_lora", "kto", "replay")
TICKET = {"id": 1, "message": "Hi, order LL-482913 arrived with a cracked lid. Jo", "intent": "damaged_item",
          "product": "kettle", "order_id": "LL-482913", "urgency": "medium", "sentiment": "negative"}
ANSWER = json.dumps({"intent": "damaged_item"})


@pytest.fixture(scope="module")
def tokenizer():
    texts = (REPO_ROOT / "data" / "general" / "corpus_train.txt").read_text(encoding="utf-8").split("\n\n")[:500]
    return qwen_style_tokenizer(texts, learned_tokens=2000)


@pytest.fixture(scope="module")
def conversation():
    chat = triage_conversations([TICKET])[0]
    return chat[:-1] + [{"role": "assistant", "content": ANSWER}]


def test_stand_in_tokenizer_has_qwens_layout(tokenizer):
    assert len(tokenizer) == 151665  # 151,643 regular tokens and 22 special ones, as Qwen2.5's
    assert tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [151643, 151644, 151645]
    assert (
        tokenizer.bos_token is None
        and tokenizer.eos_token == "<|im_end|>"
        and tokenizer.pad_token == "<|endoftext|>"
    )


def test_chat_template_is_the_one_trl_knows():
    """TRL patches this exact template with generation markers: that is why `assistant_only_loss=True`
    trains on the gpu profile's model unchanged."""
    assert QWEN2_5_CHAT_TEMPLATE == qwen2_5_chat_template
    assert "{% generation %}" not in QWEN2_5_CHAT_TEMPLATE


def test_loss_mask_and_answer_scoring_find_the_answer_in_a_hub_template(tokenizer, conversation):
    trained = "".join(text for text, is_trained in loss_mask(tokenizer, conversation) if is_trained)
    assert trained.strip().startswith(ANSWER) and trained.strip().endswith("<|im_end|>")  # the stop token is trained
    scored = assistant_tokens(tokenizer, conversation)
    answer = tokenizer.decode([t for t, m in zip(scored["input_ids"], scored["assistant_masks"]) if m])
    assert answer.startswith(ANSWER) and "<|im_start|>" not in answer


def test_replay_rows_keep_their_labels_without_a_bos_token(tokenizer, conversation):
    rows = chat_rows([conversation], tokenizer)
    assert sum(label != -100 for label in rows[0]["labels"]) >= len(tokenizer(ANSWER)["input_ids"])
    documents = text_rows(["The river town of Pell has a bridge."], tokenizer)
    assert None not in documents[0]["input_ids"] and documents[0]["input_ids"][-1] == tokenizer.eos_token_id


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("gpu_profile") / "report.json"
    result = subprocess.run([sys.executable, "scripts/exercise_gpu_profile.py", "--size", "small", "--out", str(out)],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.exists(), (result.stdout + result.stderr)[-4000:]
    return json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS)
def test_every_training_path_runs_saves_and_reloads(report, path):
    assert report[path]["ran"], report[path].get("error")


@pytest.mark.slow
def test_weights_train_in_full_precision_and_the_merged_adapter_matches(report):
    """The stand-in is saved in bf16, as Hub models are; the kit trains full-precision weights (the
    trainer's flag chooses the compute precision), and a merged LoRA gives the adapter's outputs."""
    assert report["setup"]["tokenizer_length"] == 151665
    assert report["sft_full"]["dtype_trained"] == "torch.float32"
    assert report["lora"]["merge_max_abs_diff"] < 1e-3
