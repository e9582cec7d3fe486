"""Benchmark the kit on this machine: pre-training throughput (bf16 autocast against fp32 where the
processor has native bf16), and each notebook's wall time.

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
    """Tokens per second of the kit's pre-training path (the shipped base's tokenizer and design, the
    document stream, the Trainer, no evaluation), median of runs, in the precision the kit picks for
    this machine and, where that is bf16 autocast, in fp32 too: their ratio is measured in one run."""
    from transformers import DataCollatorForLanguageModeling, Trainer

    from helpers.modeling import SHIPPED_BASE, build_model, count_parameters, load_model_and_tokenizer
    from helpers.pretraining import StreamedBlocks, pretraining_arguments
    from synth.stream import document_stream

    _, tokenizer = load_model_and_tokenizer(SHIPPED_BASE)
    blocks = StreamedBlocks(lambda: document_stream(seed=0), tokenizer, block_size)
    precisions = {"bf16": True, "fp32": False}
    rates: dict[str, list[float]] = {}
    for repeat in range(repeats):
        for name, bf16 in precisions.items():  # alternated, so drift in the machine's load favours neither
            with tempfile.TemporaryDirectory() as out:
                args = pretraining_arguments(out, steps, batch_size=batch_size, eval_steps=steps)
                if args.bf16 != bf16 and bf16:
                    continue  # this machine has no native bf16: fp32 only
                args.bf16 = bf16
                args.eval_strategy, args.save_strategy, args.disable_tqdm = "no", "no", True
                model = build_model(tokenizer, seed=repeat)
                trainer = Trainer(model=model, args=args, train_dataset=blocks,
                                  data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False))
                start = time.perf_counter()
                trainer.train()
                rates.setdefault(name, []).append(steps * batch_size * block_size / (time.perf_counter() - start))
    medians = {name: statistics.median(runs) for name, runs in rates.items()}
    report = {"parameters": count_parameters(model), "tokens_per_second_median": medians,
              "tokens_per_second_runs": rates}
    if len(medians) == 2:
        report["bf16_over_fp32"] = medians["bf16"] / medians["fp32"]
    return report


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
    for name, rate in report["pretraining"]["tokens_per_second_median"].items():
        print(f"pre-training, {name}: {rate:,.0f} tokens/s in steps of {options.batch_size}x{options.block_size}")
    if "bf16_over_fp32" in report["pretraining"]:
        print(f"bf16 autocast over fp32: {report['pretraining']['bf16_over_fp32']:.2f}x")
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
