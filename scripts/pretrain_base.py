"""Pre-train the kit's shipped foundation model on the endless document stream, and write it as a
folder that loads like any Hub model, with its training log and model card.

    python kit.py pretrain                        # the shipped run: resumes from its last checkpoint
    python kit.py pretrain --steps 20 --out DIR   # a short run elsewhere
    python kit.py pretrain --init-from DIR ...    # continue a saved model on today's stream

A continued model keeps its tokenizer and goes on counting steps, tokens and time from the end of its
earlier training log, so its card and log tell the whole history.

Checkpoints go to `--checkpoints` (default `runs/pretrain_base/`): stop at any time, and the same
command resumes where it stopped and ends where an uninterrupted run ends.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import time
from pathlib import Path

from helpers.runtime import configure_cpu_threads

configure_cpu_threads()  # before torch is imported

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from helpers.evaluation import heldout_perplexity, ngram_perplexities, probe_accuracy  # noqa: E402
from helpers.model_card import read_card, write_model_card  # noqa: E402
from helpers.modeling import SHIPPED_BASE, build_model, count_parameters, save_model  # noqa: E402
from helpers.pretraining import (StreamedBlocks, TrainingLog, corpus_token_stream, pack_documents,  # noqa: E402
                                 pretrain, pretraining_arguments, read_training_log, split_documents)
from helpers.runtime import DATA_DIR, REPO_ROOT, precision_flags, set_seed  # noqa: E402
from synth.stream import HELDOUT_FILES, document_stream, reading_probes  # noqa: E402
from helpers.tokenization import train_tokenizer  # noqa: E402

TOKENIZER_SEED = 10_000  # the tokenizer learns its merges from other documents than training reads first
TOKENIZER_DOCUMENTS = 20_000


def load_probes(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def evaluation_probes(n_tickets: int = 200) -> dict:
    """Probe functions for the training log: world facts, and reading order ids and names back."""
    probes = load_probes(DATA_DIR / "general" / "probes.jsonl")
    tickets = load_probes(DATA_DIR / "support" / "triage_test.jsonl")[:n_tickets]
    reading = reading_probes(tickets)
    return {
        "probe_accuracy": lambda m, t: probe_accuracy(m, t, probes, progress=False)[0],
        "order_id_copied": lambda m, t: probe_accuracy(m, t, reading["order_id"], progress=False)[0],
        "first_name_read": lambda m, t: probe_accuracy(m, t, reading["first_name"], progress=False)[0],
    }


def tokenizer_for(checkpoints: Path, vocab_size: int):
    """The run's tokenizer: the one saved with its checkpoints, or trained now and saved there."""
    saved = checkpoints / "tokenizer"
    if saved.exists():
        return AutoTokenizer.from_pretrained(saved)
    documents = list(itertools.islice(document_stream(TOKENIZER_SEED), TOKENIZER_DOCUMENTS))
    tokenizer = train_tokenizer(documents, vocab_size=vocab_size)
    tokenizer.save_pretrained(saved)
    return tokenizer


def earlier_phase(card: Path) -> str:
    """The training bullet of an earlier model's card: its steps, optimizer, precision and seed."""
    text = card.read_text(encoding="utf-8")
    start = text.index(" steps of ", text.index("## Training"))
    start = text.rindex("\n- ", 0, start) + 3
    return text[start:text.index("\n- ", start)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=SHIPPED_BASE, help="where the finished model goes")
    parser.add_argument("--checkpoints", type=Path, default=REPO_ROOT / "runs" / "pretrain_base")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--warmup-steps", type=int, default=200)
    parser.add_argument("--eval-steps", type=int, default=250)
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--size", default="cpu", help="a size of helpers.modeling.MODEL_SIZES")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init-from", type=Path, default=None,
                        help="a saved model to continue (its tokenizer and training log are kept)")
    options = parser.parse_args(argv)

    set_seed(options.seed)
    options.checkpoints.mkdir(parents=True, exist_ok=True)
    # the earlier log and card are kept with the checkpoints: --out may overwrite --init-from
    earlier_path, earlier_card = options.checkpoints / "earlier_log.jsonl", options.checkpoints / "earlier_card.md"
    if options.init_from and not earlier_path.exists():
        shutil.copy(options.init_from / "training_log.jsonl", earlier_path)
        shutil.copy(options.init_from / "README.md", earlier_card)
    earlier = read_training_log(earlier_path) if options.init_from else []
    if options.init_from:
        tokenizer = AutoTokenizer.from_pretrained(options.init_from)
        model = AutoModelForCausalLM.from_pretrained(options.init_from)
    else:
        tokenizer = tokenizer_for(options.checkpoints, options.vocab_size)
        model = build_model(tokenizer, size=options.size, seed=options.seed)
    heldout_docs = split_documents((DATA_DIR / "general" / "corpus_heldout.txt").read_text(encoding="utf-8"))
    train = StreamedBlocks(lambda: document_stream(options.seed), tokenizer, options.block_size)
    heldout = pack_documents(heldout_docs, tokenizer, options.block_size)
    args = pretraining_arguments(options.checkpoints, options.steps, options.learning_rate, options.batch_size,
                                 options.seed, eval_steps=options.eval_steps, warmup_steps=options.warmup_steps,
                                 run_name=options.out.name, project="pretrain_base")
    tokens_per_step = options.batch_size * options.block_size
    log_path = options.checkpoints / "training_log.jsonl"
    log = TrainingLog(log_path, tokens_per_step, evaluation_probes(), earlier=earlier[-1] if earlier else None)
    print(f"{count_parameters(model):,} parameters, {len(tokenizer)} tokens in the vocabulary, "
          f"{options.steps} steps of {tokens_per_step:,} tokens, precision {precision_flags()}", flush=True)
    start = time.time()
    pretrain(model, tokenizer, train, heldout, args, callbacks=[log])
    print(f"trained in {time.time() - start:.0f} s", flush=True)

    rows = earlier + read_training_log(log_path)
    save_model(model, tokenizer, options.out)
    (options.out / "training_log.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    sample = list(itertools.islice(document_stream(options.seed), 20_000))
    baselines = ngram_perplexities(corpus_token_stream(sample, tokenizer),
                                   corpus_token_stream(heldout_docs, tokenizer), len(tokenizer))
    final = {**rows[-1], "heldout_perplexity": heldout_perplexity(model, tokenizer, heldout_docs, options.block_size),
             "bigram_perplexity": baselines["bigram"], "unigram_perplexity": baselines["unigram"]}
    precision = "bf16 autocast" if precision_flags()["bf16"] else "fp16" if precision_flags()["fp16"] else "fp32"
    earlier_precision = read_card(earlier_card.parent, earlier_card.name)["precision"] if earlier else precision
    if earlier_precision != precision:
        precision = f"{earlier_precision}, then {precision}"
    settings = {**vars(options), "precision": precision, "threads": torch.get_num_threads(),
                "earlier_steps": earlier[-1]["step"] if earlier else 0,
                "earlier_phase": earlier_phase(earlier_card) if earlier else ""}
    write_model_card(options.out, count_parameters(model), final, rows, settings,
                     [DATA_DIR / "general" / "corpus_heldout.txt", DATA_DIR / "general" / "probes.jsonl",
                      *(DATA_DIR / "support" / name for name in HELDOUT_FILES)])
    print(json.dumps(final, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
