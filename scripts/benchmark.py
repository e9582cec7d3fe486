"""Benchmark the kit on this machine: pre-training throughput, and each notebook's wall time.

    python scripts/benchmark.py                 # throughput, then every notebook
    python scripts/benchmark.py --skip-notebooks
    python scripts/benchmark.py --steps 40 --repeats 3

Numbers depend on the machine and on whatever else it is doing: run it on an idle machine, and
compare results only from the same run. Results go to runs/benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported


def pretraining_throughput(steps: int, batch_size: int, block_size: int, repeats: int) -> dict[str, float]:
    """Tokens per second of the notebook-00 pre-training path (Trainer, no evaluation), median of runs."""
    from transformers import DataCollatorForLanguageModeling, Trainer

    from helpers.modeling import build_model, count_parameters
    from helpers.pretraining import pack_documents, pretraining_arguments, split_documents
    from helpers.runtime import DATA_DIR
    from helpers.tokenization import train_tokenizer

    documents = split_documents((DATA_DIR / "general" / "corpus_train.txt").read_text(encoding="utf-8"))
    tokenizer = train_tokenizer(documents)
    blocks = pack_documents(documents, tokenizer, block_size)
    rates = []
    for repeat in range(repeats):
        model = build_model(tokenizer, seed=repeat)
        with tempfile.TemporaryDirectory() as out:
            args = pretraining_arguments(out, steps, batch_size=batch_size, eval_steps=steps)
            args.eval_strategy, args.save_strategy, args.disable_tqdm = "no", "no", True
            trainer = Trainer(model=model, args=args, train_dataset=blocks,
                              data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False))
            start = time.perf_counter()
            trainer.train()
            rates.append(steps * batch_size * block_size / (time.perf_counter() - start))
    return {"parameters": count_parameters(model), "tokens_per_second_median": statistics.median(rates),
            "tokens_per_second_runs": rates, "seconds_per_step": batch_size * block_size / statistics.median(rates)}


def notebook_times() -> dict[str, float]:
    """Wall time of each notebook executed headless with papermill, in course order, in a fresh runs folder."""
    from helpers.notebooks import course_notebooks, execute_notebook

    with tempfile.TemporaryDirectory() as runs:
        os.environ["RUNS_DIR"] = runs
        return {stem: round(execute_notebook(stem, {"PROFILE": "cpu"}, progress=False), 1)
                for stem in course_notebooks()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--block-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-notebooks", action="store_true")
    options = parser.parse_args()

    from helpers.results import library_versions
    from helpers.runtime import runs_dir

    report = {"cpu_count": os.cpu_count(), "libraries": library_versions(),
              "pretraining": pretraining_throughput(options.steps, options.batch_size, options.block_size,
                                                    options.repeats)}
    print(f"pre-training: {report['pretraining']['tokens_per_second_median']:,.0f} tokens/s "
          f"({report['pretraining']['seconds_per_step']:.3f} s per step of {options.batch_size}x{options.block_size})")
    if not options.skip_notebooks:
        report["notebook_seconds"] = notebook_times()
        for stem, seconds in report["notebook_seconds"].items():
            print(f"{stem}: {seconds:.0f} s")
    out = runs_dir() / "benchmark.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
