"""Measure the peak memory of a few training steps, to check `helpers.memory.estimate_training_memory`.

    python scripts/measure_memory.py models/loom-base-4m --batch-size 16 --sequence-length 512

Prints one JSON line: the measured `peak` and `added` GB (see `measure_training_memory`) and the
estimate for the same setting. On Linux, run it with `MALLOC_MMAP_THRESHOLD_=65536`: otherwise the C
library keeps freed large blocks for later and the process's resident memory grows from step to step
beyond what its tensors hold (notebook 08 does this for you).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.runtime import configure_cpu_threads  # noqa: E402

configure_cpu_threads()

import torch  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

from helpers.memory import estimate_training_memory, measure_training_memory  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a model folder or Hub id")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--sequence-length", type=int, default=512)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args(argv)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    if torch.cuda.is_available():
        model = model.cuda()
    measured = measure_training_memory(model, args.batch_size, args.sequence_length, steps=args.steps)
    estimate = estimate_training_memory(model.config, batch_size=args.batch_size, sequence_length=args.sequence_length)
    print(json.dumps({"batch_size": args.batch_size, "sequence_length": args.sequence_length,
                      "measured": measured, "estimate": estimate}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
