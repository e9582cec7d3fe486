"""Regenerate every committed file under data/ from the kit's seeded generators.

    python scripts/generate_data.py            # rewrite data/
    python scripts/generate_data.py --out DIR  # write elsewhere (the tests compare the two)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from helpers.runtime import DATA_DIR
from synth.support import write_support_data
from synth.world import write_general_data

SEED = 1234


def generate(out_dir: Path, seed: int = SEED) -> list[Path]:
    """Write the general corpus and probes to `out_dir/general`, the support desk to `out_dir/support`."""
    general = write_general_data(out_dir / "general", seed=seed)
    support = write_support_data(out_dir / "support", seed=seed)
    return sorted([*general.values(), *support.values()])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="folder to write into (default: data/)")
    parser.add_argument("--seed", type=int, default=SEED)
    options = parser.parse_args()
    for path in generate(options.out, options.seed):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
