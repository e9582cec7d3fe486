"""Run every notebook's training path on an offline stand-in of the gpu profile's Hub model.

    python scripts/exercise_gpu_profile.py --size small              # a CPU, seconds per path (the test suite)
    python scripts/exercise_gpu_profile.py --size full --precision fp16   # a GPU, as a Colab T4 gets it
    python scripts/exercise_gpu_profile.py --size full --precision bf16   # a GPU, as an A100 gets it

The stand-in (`helpers.offline_models`) has Qwen2.5-0.5B-Instruct's architecture, chat template and
vocabulary, with random weights: each path trains a few steps, saves, reloads and scores, and the
report (JSON) says for each whether it ran, its seconds per step, and its peak memory. The scores of
a random model mean nothing; what this finds is an API, a template or a shape that breaks.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.runtime import configure_cpu_threads  # noqa: E402

configure_cpu_threads()

import torch  # noqa: E402
from peft import PeftModel  # noqa: E402
from transformers import AutoModelForCausalLM, PrinterCallback  # noqa: E402
from trl import DPOTrainer, GRPOTrainer, KTOTrainer, RewardTrainer  # noqa: E402

from helpers.data import (load_preference_pairs, load_records, load_splits, preference_dataset,  # noqa: E402
                          reply_demonstrations, triage_conversations)
from helpers.evaluation import answer_loss, evaluate_replies, evaluate_triage  # noqa: E402
from helpers.forgetting import (chat_rows, general_capability, load_documents, load_probes,  # noqa: E402
                                replay_dataset, text_rows)
from helpers.modeling import load_model_and_tokenizer, save_model  # noqa: E402
from helpers.notebooks import ensure_processed_data  # noqa: E402
from helpers.offline_models import build_stand_in  # noqa: E402
from helpers.peft_methods import (ia3_config, lora_config, merged_matches_adapter,  # noqa: E402
                                  prefix_tuning_config, prompt_tuning_config)
from helpers.preference import dpo_config, kto_config, unpaired_dataset  # noqa: E402
from helpers.rlhf import grpo_config, grpo_dataset, load_reward_model, reward_config, rubric_reward  # noqa: E402
from helpers.runtime import REPO_ROOT, PeakMemory, runs_dir  # noqa: E402
from helpers.training import chat_dataset, sft_config, sft_trainer, show_loss_mask  # noqa: E402

DATA = REPO_ROOT / "data"
PRECISIONS = {"auto": {}, "fp16": {"fp16": True, "bf16": False}, "bf16": {"bf16": True, "fp16": False},
              "fp32": {"fp16": False, "bf16": False}}


class Exercise:
    """The stand-in, the data and the settings every path shares, and the report they fill in."""

    def __init__(self, model_dir: Path, out_dir: Path, steps: int, batch_size: int, precision: str) -> None:
        self.model_dir, self.out_dir, self.steps, self.batch_size = model_dir, out_dir, steps, batch_size
        self.flags = PRECISIONS[precision]
        splits = load_splits(ensure_processed_data())
        replies, _ = reply_demonstrations(DATA / "support" / "replies.jsonl")
        self.train_chats = triage_conversations(list(splits["train"])[:64]) + replies[:32]
        self.val_chats = triage_conversations(list(splits["validation"])[:8])
        self.test_tickets = list(splits["test"])[:8]
        self.pairs = load_preference_pairs(DATA / "support" / "preferences_train.jsonl")[:32]
        self.reply_tickets = load_records(DATA / "support" / "reply_prompts_test.jsonl")[:4]
        self.report: dict[str, dict] = {}

    def model(self, path: Path | None = None) -> torch.nn.Module:
        """A fresh copy of a saved model in full precision: the trainer's flag decides the compute precision."""
        return AutoModelForCausalLM.from_pretrained(path or self.model_dir, dtype=torch.float32)

    def path(self, name: str, run) -> None:
        """Run one path, recording whether it ran, its time and its peak memory, or its error."""
        print(f"--- {name}", flush=True)
        start = time.perf_counter()
        try:
            with PeakMemory() as memory:
                facts = run() or {}
            self.report[name] = {"ran": True, "seconds": round(time.perf_counter() - start, 2),
                                 "peak_memory_mb": round(memory.peak_mb), **facts}
        except Exception as error:  # the report says what broke; the other paths still run
            traceback.print_exc()
            self.report[name] = {"ran": False, "error": f"{type(error).__name__}: {error}"[:2000]}
        print(json.dumps(self.report[name]), flush=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def sft_paths(ex: Exercise, tokenizer) -> None:
    """Notebooks 02 and 03: full fine-tuning with the loss on answers only, then each PEFT method."""
    def full() -> dict:
        print(show_loss_mask(tokenizer, ex.train_chats[0])[-300:])
        config = sft_config(ex.out_dir / "sft", max_steps=ex.steps, batch_size=ex.batch_size, learning_rate=2e-5,
                            **ex.flags)
        trainer = sft_trainer(ex.model(), tokenizer, chat_dataset(ex.train_chats), config)
        trainer.remove_callback(PrinterCallback)
        start = time.perf_counter()
        trainer.train()
        per_step = (time.perf_counter() - start) / ex.steps
        saved = save_model(trainer.model, tokenizer, ex.out_dir / "sft_model")
        reloaded, reloaded_tokenizer = load_model_and_tokenizer(saved)
        scores, _ = evaluate_triage(
            reloaded.to(trainer.model.device), reloaded_tokenizer, ex.test_tickets, progress=False
        )
        return {
            "seconds_per_step": round(per_step, 3),
            "answer_loss": answer_loss(reloaded, reloaded_tokenizer, ex.val_chats),
            "json_valid": scores["json_valid"],
            "dtype_trained": str(trainer.model.dtype),
        }
    ex.path("sft_full", full)

    methods = {"lora": lora_config(8), "dora": lora_config(8, use_dora=True), "ia3": ia3_config(),
               "prompt_tuning": prompt_tuning_config(), "prefix_tuning": prefix_tuning_config()}
    for name, peft_config in methods.items():
        def adapter(name=name, peft_config=peft_config) -> dict:
            config = sft_config(ex.out_dir / name, max_steps=ex.steps, batch_size=ex.batch_size, learning_rate=1e-4,
                                **ex.flags)
            trainer = sft_trainer(ex.model(), tokenizer, chat_dataset(ex.train_chats), config, peft_config=peft_config)
            trainer.remove_callback(PrinterCallback)
            trainer.train()
            trainer.model.save_pretrained(ex.out_dir / "adapters" / name)
            reloaded = PeftModel.from_pretrained(ex.model(), ex.out_dir / "adapters" / name)
            facts = {"answer_loss": answer_loss(reloaded.to(trainer.model.device), tokenizer, ex.val_chats)}
            if name == "lora":
                facts["merge_max_abs_diff"] = merged_matches_adapter(reloaded, tokenizer, ex.val_chats[:4], atol=1e-2)
            return facts
        ex.path(name, adapter)


def qlora_path(ex: Exercise, tokenizer) -> None:
    """Notebook 03's QLoRA: 4-bit NF4 weights under a LoRA adapter; CUDA and bitsandbytes only."""
    import importlib.util

    if not (torch.cuda.is_available() and importlib.util.find_spec("bitsandbytes")):
        ex.report["qlora"] = {"ran": False, "skipped": "needs a CUDA GPU and bitsandbytes"}
        return

    def run() -> dict:
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        compute = torch.bfloat16 if ex.flags.get("bf16") else torch.float16
        quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                          bnb_4bit_compute_dtype=compute)
        model = AutoModelForCausalLM.from_pretrained(ex.model_dir, quantization_config=quantization,
                                                     device_map={"": 0}, dtype=compute)
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        config = sft_config(
            ex.out_dir / "qlora", max_steps=ex.steps, batch_size=ex.batch_size, learning_rate=1e-4, **ex.flags
        )
        trainer = sft_trainer(model, tokenizer, chat_dataset(ex.train_chats), config, peft_config=lora_config(8))
        trainer.train()
        trainer.model.save_pretrained(ex.out_dir / "adapters" / "qlora")
        return {}
    ex.path("qlora", run)


def alignment_paths(ex: Exercise, tokenizer, sft_dir: Path) -> None:
    """Notebooks 04 and 05: a reward model, GRPO against it and the rubric, DPO, DPO with LoRA, KTO."""
    def reward() -> dict:
        model = load_reward_model(sft_dir, tokenizer)
        config = reward_config(ex.out_dir / "rm", max_steps=ex.steps, batch_size=ex.batch_size, learning_rate=1e-5,
                               max_length=1024, **ex.flags)
        trainer = RewardTrainer(model=model, args=config, train_dataset=preference_dataset(ex.pairs),
                                processing_class=tokenizer)
        trainer.train()
        save_model(trainer.model, tokenizer, ex.out_dir / "reward_model")
        load_reward_model(ex.out_dir / "reward_model", tokenizer)
        return {"pairs_kept": len(trainer.train_dataset)}
    ex.path("reward_model", reward)

    def grpo() -> dict:
        config = grpo_config(ex.out_dir / "grpo", beta=0.05, learning_rate=3e-5, max_steps=ex.steps, prompts_per_step=2,
                             num_generations=4, max_completion_length=48, **ex.flags)
        trainer = GRPOTrainer(model=ex.model(sft_dir), reward_funcs=rubric_reward, args=config,
                              train_dataset=grpo_dataset(ex.reply_tickets), processing_class=tokenizer,
                              peft_config=lora_config(16))  # as notebook 04's policy
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        saved = save_model(trainer.model.merge_and_unload(), tokenizer, ex.out_dir / "grpo_model")
        scores, _ = evaluate_replies(
            ex.model(saved).to(trainer.model.device), tokenizer, ex.reply_tickets, progress=False
        )
        return {"rubric_score": scores["rubric_score"]}
    ex.path("grpo", grpo)

    pairs = preference_dataset(ex.pairs)
    for name, peft_config in (("dpo", None), ("dpo_lora", lora_config(8))):
        def dpo(peft_config=peft_config, name=name) -> dict:
            config = dpo_config(ex.out_dir / name, beta=0.1, learning_rate=1e-6, max_steps=ex.steps,
                                batch_size=ex.batch_size, max_length=1024, **ex.flags)
            trainer = DPOTrainer(model=ex.model(sft_dir), ref_model=None if peft_config else ex.model(sft_dir),
                                 args=config, train_dataset=pairs, processing_class=tokenizer, peft_config=peft_config)
            trainer.remove_callback(PrinterCallback)
            trainer.train()
            trainer.model.save_pretrained(ex.out_dir / f"{name}_model")
            return {}
        ex.path(name, dpo)

    def kto() -> dict:
        config = kto_config(ex.out_dir / "kto", beta=0.1, learning_rate=1e-6, max_steps=ex.steps,
                            batch_size=ex.batch_size, max_length=1024, **ex.flags)
        trainer = KTOTrainer(model=ex.model(sft_dir), ref_model=ex.model(sft_dir), args=config,
                             train_dataset=unpaired_dataset(ex.pairs), processing_class=tokenizer)
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        trainer.model.save_pretrained(ex.out_dir / "kto_model")
        return {}
    ex.path("kto", kto)


def forgetting_path(ex: Exercise, tokenizer) -> None:
    """Notebook 07: fine-tuning with replayed general text, then general ability (probes, perplexity)."""
    def replay() -> dict:
        documents = load_documents(DATA / "general" / "corpus_heldout.txt", limit=16)
        data = replay_dataset(chat_rows(ex.train_chats, tokenizer), text_rows(documents, tokenizer), share=0.3)
        config = sft_config(ex.out_dir / "replay", max_steps=ex.steps, batch_size=ex.batch_size, learning_rate=2e-5,
                            assistant_only_loss=False, **ex.flags)  # the rows carry their labels
        trainer = sft_trainer(ex.model(), tokenizer, data, config)
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        probes = load_probes(DATA / "general" / "probes.jsonl")[:8]
        return {"rows": len(data),
                **general_capability(trainer.model, tokenizer, probes, documents[:4])}
    ex.path("replay", replay)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=("small", "full"), default="small")
    parser.add_argument(
        "--precision",
        choices=tuple(PRECISIONS),
        default="auto",
        help="the trainer's mixed precision: auto (the kit's choice for this machine), fp16 (a T4), bf16",
    )
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument(
        "--out", type=Path, default=None, help="the report (JSON); default runs/gpu_profile/<size>.json"
    )
    args = parser.parse_args(argv)

    work = runs_dir() / "gpu_profile" / f"{args.size}_{args.precision}"
    shutil.rmtree(work, ignore_errors=True)
    texts = load_documents(DATA / "general" / "corpus_train.txt", limit=4000)
    model_dir = build_stand_in(work / "stand_in", texts, size=args.size)
    ex = Exercise(model_dir, work, args.steps, args.batch_size, args.precision)
    _, tokenizer = load_model_and_tokenizer(model_dir)
    ex.report["setup"] = {"size": args.size, "precision": args.precision, "device": _device_name(),
                          "parameters": AutoModelForCausalLM.from_pretrained(model_dir).num_parameters(),
                          "tokenizer_length": len(tokenizer)}
    sft_paths(ex, tokenizer)
    qlora_path(ex, tokenizer)
    sft_dir = ex.out_dir / "sft_model"
    if sft_dir.exists():
        alignment_paths(ex, tokenizer, sft_dir)
    forgetting_path(ex, tokenizer)
    out = args.out or runs_dir() / "gpu_profile" / f"{args.size}_{args.precision}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(ex.report, indent=1))
    failed = [name for name, facts in ex.report.items() if facts.get("ran") is False and "skipped" not in facts]
    print(f"report: {out}; failed: {failed or 'none'}")
    return 1 if failed else 0


def _device_name() -> str:
    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


if __name__ == "__main__":
    sys.exit(main())
