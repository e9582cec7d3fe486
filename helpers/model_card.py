"""Model cards: a model folder's README.md, with the Hub's YAML metadata, written from what a run
measured, and read back (the tests check a shipped model against its card)."""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from helpers.results import file_fingerprint, library_versions

WEIGHTS_FILE = "model.safetensors"


def sha256(path: str | Path) -> str:
    """The SHA-256 of a file, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_card(folder: str | Path, name: str = "README.md") -> dict[str, Any]:
    """The YAML metadata at the top of `folder/README.md` (or another card file `name`)."""
    text = (Path(folder) / name).read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError(f"{Path(folder) / name} does not start with a YAML block")
    return yaml.safe_load(text.split("---\n")[1])


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _phases(final: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    steps = int(final["step"]) - settings.get("earlier_steps", 0)
    phase = (f"{steps:,} steps of {settings['batch_size']} x {settings['block_size']} tokens, AdamW at "
             f"{settings['learning_rate']:g} with {settings['warmup_steps']} warm-up steps and cosine decay to a "
             f"tenth, weight decay 0.01, {settings['precision'].split(', then ')[-1]}, seed {settings['seed']}.")
    if not settings.get("earlier_steps"):
        return f"- {int(final['tokens']):,} tokens: {phase}"
    return (f"- {int(final['tokens']):,} tokens in two phases, as real base models are trained:\n"
            f"  - first, from scratch: {' '.join(settings['earlier_phase'].split())}\n"
            f"  - then, continued on today's stream: {phase}")


def _continue_command(settings: Mapping[str, Any]) -> str:
    if not settings.get("earlier_steps"):
        return ""
    return (f" (one phase on today's stream), or continue a model as the second phase did: `python kit.py "
            f"pretrain --init-from DIR --steps {settings['steps']} --learning-rate {settings['learning_rate']:g} "
            f"--warmup-steps {settings['warmup_steps']} --seed {settings['seed']}`")


def write_model_card(folder: str | Path, parameters: int, final: Mapping[str, float], log: Sequence[Mapping[str, Any]],
                     settings: Mapping[str, Any], data_files: Sequence[str | Path]) -> Path:
    """Write `folder/README.md`: metadata (license, tokens, steps, hardware, wall time, held-out
    perplexity, probe and copy accuracy, data and weights fingerprints), the training log at each
    evaluation, intended use and limits."""
    folder = Path(folder)
    metadata = {
        "license": "mit",
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "language": ["en"],
        "tags": ["llama", "tiny", "synthetic-data", "education"],
        "parameters": parameters,
        "tokens": int(final["tokens"]),
        "steps": int(final["step"]),
        "wall_seconds": float(final["seconds"]),
        "hardware": f"{platform.machine()} CPU ({settings['threads']} threads)",
        "precision": settings["precision"],
        "heldout_perplexity": round(final["heldout_perplexity"], 3),
        "bigram_perplexity": round(final["bigram_perplexity"], 3),
        "probe_accuracy": round(final["probe_accuracy"], 3),
        "order_id_copied": round(final["order_id_copied"], 3),
        "first_name_read": round(final["first_name_read"], 3),
        "data_fingerprint": {Path(p).name: file_fingerprint(p) for p in data_files},
        "weights_sha256": sha256(folder / WEIGHTS_FILE),
        "libraries": library_versions(),
    }
    body = f"""# {folder.name}

The course kit's foundation model: a {parameters / 1e6:.1f}M-parameter Llama-style causal language model,
pre-trained from scratch on the kit's own seeded document stream (`synth/stream.py`). Every
notebook fine-tunes it by default, loaded like any Hub model:

```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("models/{folder.name}")
tokenizer = AutoTokenizer.from_pretrained("models/{folder.name}")
```

## Training

- Data: an endless stream of fresh documents, about 60% support e-mail (a customer's message, often
  with a header naming the sender, and the start of an answer that reads back the name, the product,
  the order id and the problem, acknowledges the customer's tone and urgency, and often ends with the
  desk's footer: the product and priority codes the ticket was filed under) and 40% text about
  the kit's small fictional world (encyclopedia entries, questions, records, sums, stories, letters).
  No held-out support message and no label JSON is ever in the stream.
{_phases(final, settings)}
- {final["seconds"] / 60:.0f} minutes on {metadata["hardware"]} in all.
  Reproduce with `python kit.py pretrain`{_continue_command(settings)}.

## Results

Held-out perplexity on the world's held-out text: {final["heldout_perplexity"]:.2f} (bigram model
{final["bigram_perplexity"]:.2f}, unigram {final["unigram_perplexity"]:.1f}). On held-out tickets, in
the stream's e-mail format: order ids copied exactly {final["order_id_copied"]:.0%}, the sender's first
name read back {final["first_name_read"]:.0%}. Cloze probes of the world's facts and sums answered:
{final["probe_accuracy"]:.0%}.

Copying from the context appears abruptly, as induction heads form (the log of each evaluation):

{_table(log, ["step", "tokens", "heldout_loss", "probe_accuracy", "order_id_copied", "first_name_read"])}

## Intended use and limits

For teaching and testing fine-tuning on a laptop: it knows the kit's fictional world and the language
of a shop's support e-mail, and nothing else. It is a base model, not an assistant: it follows no
instructions until fine-tuned (notebook 02). Its facts are fictional by design; do not use it for
anything but learning and tests.

License: MIT, as the kit.
"""
    path = folder / "README.md"
    path.write_text("---\n" + yaml.safe_dump(metadata, sort_keys=False) + "---\n\n" + body, encoding="utf-8")
    return path


def write_fine_tuned_card(folder: str | Path, base_model: str, task: str, metrics: Mapping[str, float],
                          training: Mapping[str, Any], data_files: Sequence[str | Path], limits: Sequence[str]) -> Path:
    """Write `folder/README.md` for a fine-tuned model from a run's own results: Hub metadata (base
    model, license, held-out metrics, training settings, data and weights fingerprints), what it does,
    how to load and serve it, and its known limits."""
    folder = Path(folder)
    metadata = {
        "license": "mit", "library_name": "transformers", "pipeline_tag": "text-generation", "language": ["en"],
        "base_model": str(base_model), "tags": ["fine-tuned", "trl", "sft", "education"],
        "metrics": {name: round(float(value), 4) for name, value in metrics.items()},
        "training": dict(training),
        "data_fingerprint": {Path(p).name: file_fingerprint(p) for p in data_files},
        "weights_sha256": sha256(folder / WEIGHTS_FILE),
        "libraries": library_versions(),
    }
    rows = [{"metric": name, "held-out value": float(value)} for name, value in metrics.items()]
    body = f"""# {folder.name}

{task}

Fine-tuned from `{base_model}` with TRL's `SFTTrainer` (settings in the metadata above). Load it like
any Hub model, or serve it with an OpenAI-compatible API:

```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("{folder.name}")
tokenizer = AutoTokenizer.from_pretrained("{folder.name}")
```

```bash
transformers serve {folder.name} --host 127.0.0.1 --port 8000
```

## Held-out results

{_table(rows, ["metric", "held-out value"])}

## Limits

""" + "\n".join(f"- {limit}" for limit in limits) + "\n\nLicense: MIT, as the kit.\n"
    path = folder / "README.md"
    path.write_text("---\n" + yaml.safe_dump(metadata, sort_keys=False) + "---\n\n" + body, encoding="utf-8")
    return path
