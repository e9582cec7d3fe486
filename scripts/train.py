"""Fine-tune from a job config file: the same code as notebook 08's cell, on one process or many.

    python scripts/train.py configs/sft_full.json --steps 20
    accelerate launch --config_file configs/accelerate/cpu_ddp.yaml scripts/train.py configs/sft_full.json

Any job setting can be overridden on the command line (`--steps`, `--batch-size`, `--output-dir`, ...).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.runtime import configure_cpu_threads  # noqa: E402

configure_cpu_threads()

import torch  # noqa: E402

from helpers.jobs import Job, load_job, run_job  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path, help="a job config (JSON)")
    for field in dataclasses.fields(Job):
        kind = {"int": int, "float": float}.get(str(field.type), str)
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=kind, default=None)
    args = vars(parser.parse_args(argv))
    config = args.pop("config")
    summary = run_job(load_job(config, **{k: v for k, v in args.items() if v is not None}))
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()  # every process has finished, the main one has saved the model:
        torch.distributed.destroy_process_group()  # leave together, so that none is torn down mid-exit
    losses = summary["losses"]
    print(f"{summary['processes']} process(es): {len(losses)} steps in {summary['train_seconds']:.1f} s, "
          f"loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
