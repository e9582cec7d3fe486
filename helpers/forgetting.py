"""Catastrophic forgetting: how much general capability a fine-tuned model keeps, measured against
its base model, and the pieces of the usual mitigations.

    probes = load_probes("data/general/probes.jsonl")
    documents = load_documents("data/general/corpus_heldout.txt")
    before = general_capability(base, tokenizer, probes, documents)
    after = general_capability(tuned, tokenizer, probes, documents)
    forgetting(before, after)  # {"probe_accuracy_lost": ..., "general_ppl_ratio": ...}

General capability is two numbers: the share of cloze probes the model completes (what it knows)
and its perplexity on held-out general text (how well it still models language). Replay mixes
general text into the fine-tuning data, tokenised so that the loss covers every one of its tokens;
`ForgettingCallback` measures both sides (task loss and probes) every few steps while training runs.
"""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TYPE_CHECKING

from datasets import Dataset
from transformers import TrainerCallback

from helpers.evaluation import answer_loss, assistant_tokens, heldout_perplexity, probe_accuracy
from helpers.pretraining import split_documents, wrap_document

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class ProbeFileError(ValueError):
    """A problem in a probes file, located: the file, the line (1-based) and the cause."""


def load_probes(path: str | Path) -> list[dict[str, str]]:
    """Cloze probes from a JSONL file, one `{"prompt": ..., "answer": ...}` object per line (other
    keys are kept). The answer is judged by the first word of the model's greedy continuation, so
    it must be one word. Raises `ProbeFileError` naming the file and line of any bad row."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No probes file at {path}")
    probes: list[dict[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ProbeFileError(f"{path}, line {number}: not valid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise ProbeFileError(f"{path}, line {number}: expected a JSON object, got {type(row).__name__}")
        for key in ("prompt", "answer"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise ProbeFileError(f"{path}, line {number}: `{key}` must be a non-empty string")
        if len(row["answer"].split()) != 1:
            raise ProbeFileError(f"{path}, line {number}: the answer {row['answer']!r} must be one word "
                                 "(probes are scored on the first word of the continuation)")
        probes.append(row)
    if not probes:
        raise ProbeFileError(f"{path}: no probes in the file")
    return probes


def load_documents(path: str | Path, limit: int | None = None) -> list[str]:
    """The documents of a plain-text file (separated by blank lines), the first `limit` of them if
    given: held-out text for `general_capability`, or general text to replay."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No text file at {path}")
    documents = split_documents(path.read_text(encoding="utf-8"))
    if not documents:
        raise ValueError(f"{path}: no text in the file")
    return documents[:limit] if limit else documents


def general_capability(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, probes: Sequence[Mapping[str, str]],
                       documents: Sequence[str], block_size: int = 128, batch_size: int = 32) -> dict[str, float]:
    """What a model knows and how well it models general text: `probe_accuracy` (greedy cloze
    probes, `helpers.evaluation.probe_accuracy`) and `general_ppl` (perplexity on held-out
    documents packed into `block_size` blocks, `helpers.evaluation.heldout_perplexity`)."""
    if not probes:
        raise ValueError("no probes to score")
    if not documents:
        raise ValueError("no held-out documents for the perplexity")
    accuracy, _ = probe_accuracy(model, tokenizer, probes, batch_size=batch_size, progress=False)
    ppl = heldout_perplexity(model, tokenizer, documents, block_size=block_size, batch_size=batch_size)
    return {"probe_accuracy": accuracy, "general_ppl": ppl}


def forgetting(base: Mapping[str, float], model: Mapping[str, float]) -> dict[str, float]:
    """How much of the base model's general capability a model lost: `probe_accuracy_lost`, the
    share of the base's probe accuracy that is gone (0: none, 1: all of it; a model that answers
    more probes than its base counts 0), and `general_ppl_ratio`, its general perplexity over the
    base's (1: unchanged)."""
    if base["probe_accuracy"] <= 0:
        raise ValueError("the base model answers no probe: there is nothing to forget; use probes it knows")
    lost = (base["probe_accuracy"] - model["probe_accuracy"]) / base["probe_accuracy"]
    return {"probe_accuracy_lost": min(1.0, max(0.0, lost)),
            "general_ppl_ratio": model["general_ppl"] / base["general_ppl"]}


def task_gain(base_answer_loss: float, model_answer_loss: float) -> float:
    """What fine-tuning taught, in loss: the base model's held-out answer loss minus the model's
    (nats per answer token; positive when the model learned the task)."""
    return base_answer_loss - model_answer_loss


def chat_rows(conversations: Sequence[Sequence[Mapping[str, str]]],
              tokenizer: PreTrainedTokenizerBase) -> list[dict[str, list[int]]]:
    """Chats tokenised with the chat template, with `labels` that keep the assistant's answers (and
    their end-of-turn tokens) and mask the rest with -100: what `assistant_only_loss=True` trains, in
    the pre-tokenised form `SFTTrainer` takes as it is."""
    rows = []
    for conversation in conversations:
        encoded = assistant_tokens(tokenizer, conversation)
        ids = encoded["input_ids"]
        rows.append({"input_ids": ids, "labels": [t if m else -100 for t, m in zip(ids, encoded["assistant_masks"])]})
    return rows


def text_rows(documents: Sequence[str], tokenizer: PreTrainedTokenizerBase,
              max_length: int = 256) -> list[dict[str, list[int]]]:
    """Plain documents as pre-tokenised rows for replay: `<|bos|>` text `<|eos|>`, exactly as the base
    model read them in pre-training (no chat template), with the loss on every token; a document
    longer than `max_length` tokens is cut into several rows."""
    rows = []
    for ids in tokenizer(list(documents), add_special_tokens=False)["input_ids"]:
        stream = wrap_document(ids, tokenizer)
        for start in range(0, len(stream), max_length):
            piece = stream[start:start + max_length]
            if len(piece) > 1:
                rows.append({"input_ids": piece, "labels": list(piece)})
    return rows


def replay_dataset(task_rows: Sequence[Mapping[str, list[int]]], general_rows: Sequence[Mapping[str, list[int]]],
                   share: float, seed: int = 0) -> Dataset:
    """The task rows with general rows mixed in, so that `share` of the result is general text (0:
    the task alone); general rows are drawn at random (seeded), repeated if there are too few, and
    the mix is shuffled. Both kinds carry their `labels`: pass `assistant_only_loss=False` to the
    config, since the labels already say which tokens are trained."""
    if not 0 <= share < 1:
        raise ValueError(f"the replay share must be in [0, 1), not {share}")
    if not task_rows:
        raise ValueError("no task rows to train on")
    n_general = round(len(task_rows) * share / (1 - share))
    if n_general and not general_rows:
        raise ValueError("a replay share above 0 needs general rows")
    rng = random.Random(seed)
    general = [general_rows[rng.randrange(len(general_rows))] for _ in range(n_general)]
    mixed = [dict(row) for row in (*task_rows, *general)]
    rng.shuffle(mixed)
    return Dataset.from_list(mixed)


class ForgettingCallback(TrainerCallback):
    """Measures learning and forgetting while a `Trainer` runs: every `every` steps (and before the
    first), the held-out task answer loss on `task_conversations` and the accuracy on `probes` (use a
    fixed subset: it runs many times). The curves are in `history`: `step`, `answer_loss`,
    `probe_accuracy`, `seconds` (the time the measurements took, kept out of training time)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, probes: Sequence[Mapping[str, str]],
                 task_conversations: Sequence[Sequence[Mapping[str, str]]], every: int) -> None:
        if every < 1:
            raise ValueError(f"measure every 1 step or more, not {every}")
        if not probes or not task_conversations:
            raise ValueError("the callback needs probes and task conversations to measure")
        self.tokenizer, self.probes, self.task, self.every = tokenizer, list(probes), list(task_conversations), every
        self.history: dict[str, list[float]] = {"step": [], "answer_loss": [], "probe_accuracy": [], "seconds": []}

    def measure(self, model: PreTrainedModel, step: int) -> None:
        """Record the task answer loss and the probe accuracy of `model` at `step`."""
        start = time.perf_counter()
        was_training = model.training
        accuracy, _ = probe_accuracy(model, self.tokenizer, self.probes, progress=False)
        loss = answer_loss(model, self.tokenizer, self.task)
        model.train(was_training)
        for key, value in (("step", step), ("answer_loss", loss), ("probe_accuracy", accuracy),
                           ("seconds", time.perf_counter() - start)):
            self.history[key].append(value)

    def on_train_begin(self, args, state, control, model: PreTrainedModel=None, **kwargs):
        if model is not None and not self.history["step"]:
            self.measure(model, 0)

    def on_step_end(self, args, state, control, model: PreTrainedModel=None, **kwargs):
        if model is not None and state.global_step % self.every == 0:
            self.measure(model, state.global_step)

    def on_train_end(self, args, state, control, model: PreTrainedModel=None, **kwargs):
        if model is not None and self.history["step"][-1:] != [state.global_step]:
            self.measure(model, state.global_step)


# lm-evaluation-harness: the kit's probes as a local task, for a standard evaluation tool.
LM_EVAL_TASK = """task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{{{{prompt}}}}"
doc_to_target: " {{{{answer}}}}"
generation_kwargs:
  until: ["\\n", "."]
  max_gen_toks: 6
  do_sample: false
filter_list:
  - name: first_word
    filter:
      - function: regex
        regex_pattern: "^\\\\s*([\\\\w'-]+)"
      - function: take_first
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: true
"""


def write_lm_eval_task(probes: Sequence[Mapping[str, str]], out_dir: str | Path, name: str = "kit_probes") -> Path:
    """Write the probes as a local lm-evaluation-harness task (`<name>.yaml` and `<name>.jsonl` in
    `out_dir`); run it with `lm_eval --include_path <out_dir> --tasks <name>`. Returns the YAML path."""
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    data = out_dir / f"{name}.jsonl"
    data.write_text("".join(json.dumps({"prompt": p["prompt"], "answer": p["answer"]}) + "\n" for p in probes))
    task = out_dir / f"{name}.yaml"
    task.write_text(LM_EVAL_TASK.format(name=name, data=data))
    return task


def lm_eval_available() -> bool:
    """Whether lm-evaluation-harness (`pip install lm-eval`) is installed."""
    return importlib.util.find_spec("lm_eval") is not None


def run_lm_eval(model_path: str | Path, tasks: Sequence[str], output_dir: str | Path,
                include_path: str | Path | None = None, device: str = "cpu", limit: int | None = None,
                timeout: int = 1800) -> dict[str, Any] | None:
    """Run lm-evaluation-harness on a saved model (`--model hf`) for `tasks` (standard benchmarks,
    which need the Hub, or local tasks found under `include_path`), writing under `output_dir`;
    returns its parsed results, or None, with a printed reason, when `lm_eval` is not installed."""
    if not lm_eval_available():
        print("lm-evaluation-harness is not installed (pip install lm-eval): skipping the standard evaluation.")
        return None
    out = Path(output_dir).resolve()
    command = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={model_path}",
               "--tasks", ",".join(tasks), "--device", device, "--output_path", str(out)]
    if include_path:
        command += ["--include_path", str(include_path)]
    if limit:
        command += ["--limit", str(limit)]
    subprocess.run(command, check=True, timeout=timeout)
    files = sorted(out.rglob("results*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text()) if files else None
