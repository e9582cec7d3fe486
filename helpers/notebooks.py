"""Running the course notebooks headless with papermill, and building a notebook's missing
prerequisites (the processed data, a fine-tuned checkpoint) by running the notebook that makes them.

    python -m helpers.notebooks 04_rlhf --profile cpu   # execute one notebook headless

A notebook runs under a lock of its own (`runs/.locks/<stem>.lock`): a notebook in another process that
needs what it makes waits for it instead of building it a second time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from helpers.runtime import NOTEBOOKS_DIR, PROFILES, runs_dir


def course_notebooks() -> list[str]:
    """The course's notebook stems in teaching order (`00_...`, `01_...`, ...)."""
    return sorted(p.stem for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def executed_dir() -> Path:
    """Where executed copies of the notebooks (with their outputs) are kept: `runs/executed/`."""
    return runs_dir() / "executed"


def execute_notebook(stem: str, parameters: dict[str, Any] | None = None, progress: bool = True) -> float:
    """Execute `notebooks/<stem>.ipynb` top to bottom in a fresh kernel, save the executed copy
    under `runs/executed/`, and return the wall time in seconds. Raises if a cell fails. It runs
    under the notebook's lock, so that another process that needs what it makes waits for it."""
    with notebook_lock(stem):
        return _execute(stem, parameters, progress)


def _execute(stem: str, parameters: dict[str, Any] | None, progress: bool) -> float:
    import papermill

    source = NOTEBOOKS_DIR / f"{stem}.ipynb"
    if not source.exists():
        raise FileNotFoundError(f"No notebook {source}; the course has {course_notebooks()}")
    executed_dir().mkdir(parents=True, exist_ok=True)
    start = time.time()
    papermill.execute_notebook(str(source), str(executed_dir() / source.name), parameters=parameters or {},
                               kernel_name="python3", cwd=str(NOTEBOOKS_DIR), progress_bar=progress)
    return time.time() - start


def notebook_lock(stem: str) -> FileLock:
    """The lock held while `notebooks/<stem>.ipynb` runs, shared by every process on this runs folder."""
    folder = runs_dir() / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(folder / f"{stem}.lock")


def ensure_built(path: Path, producer: str, what: str, minutes: str) -> Path:
    """Return `path`; if it does not exist yet, build it first by running the producing notebook,
    visibly (a message and papermill's progress bar), so that any notebook can be opened first.
    If another process is running that notebook already, wait for it instead."""
    if path.exists():
        return path
    lock = notebook_lock(producer)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"{what} not found at {path}: notebooks/{producer}.ipynb is running in another process. "
              "Waiting for it to finish ...", flush=True)
        start = time.time()
        lock.acquire()
        print(f"... done after {time.time() - start:.0f} s.", flush=True)
    try:
        if not path.exists():
            print(f"{what} not found at {path}.\nBuilding it now by running notebooks/{producer}.ipynb "
                  f"(about {minutes} on a laptop CPU); later runs reuse it.", flush=True)
            seconds = _execute(producer, None, progress=True)
            if not path.exists():
                raise RuntimeError(f"notebooks/{producer}.ipynb ran but did not produce {path}.")
            print(f"Built {what} in {seconds:.0f} s.")
    finally:
        lock.release()
    return path


def processed_data_dir() -> Path:
    """Where notebook 01 saves the cleaned train/validation/test splits."""
    return runs_dir() / "01_data_preparation" / "data"


def ensure_processed_data() -> Path:
    """The cleaned support-ticket splits, prepared by notebook 01 if they are not there yet."""
    ensure_built(processed_data_dir() / "test.jsonl", "01_data_preparation", "The processed support data",
                 "1 minute")
    return processed_data_dir()


# What later notebooks reuse from earlier ones: name -> (producing notebook, path in its run folder,
# what it is, roughly how long the producer takes on a laptop CPU).
CHECKPOINTS: dict[str, tuple[str, str, str, str]] = {
    "sft": ("02_supervised_fine_tuning", "model", "The supervised fine-tuned model", "5 minutes"),
    "lora_r8": ("03_lora_and_peft", "adapters/lora_r8", "The rank-8 LoRA adapter", "4 minutes"),
    "reward_model": ("04_rlhf", "reward_model", "The reward model", "4 minutes"),
    "rl": ("04_rlhf", "model", "The RL-tuned policy", "4 minutes"),
    "dpo": ("05_dpo", "model", "The DPO-tuned model", "4 minutes"),
}


def checkpoint_dir(name: str) -> Path:
    """Where the checkpoint `name` (a key of `CHECKPOINTS`) is saved by the notebook that makes it."""
    if name not in CHECKPOINTS:
        raise KeyError(f"Unknown checkpoint {name!r}: the course makes {sorted(CHECKPOINTS)}")
    producer, relative, _, _ = CHECKPOINTS[name]
    return runs_dir() / producer / relative


def ensure_checkpoint(name: str) -> Path:
    """The folder of checkpoint `name` (`sft`, `lora_r8`, `reward_model`, `rl`, `dpo`), made by running
    its notebook first if it is not there yet (a model folder counts once its config is saved)."""
    folder = checkpoint_dir(name)
    producer, _, what, minutes = CHECKPOINTS[name]
    marker = "adapter_config.json" if name == "lora_r8" else "config.json"
    ensure_built(folder / marker, producer, what, minutes)
    return folder


def main(argv: list[str] | None = None) -> int:
    """Execute one notebook headless (its prerequisites are built if missing) and print its wall time."""
    parser = argparse.ArgumentParser(description="Execute one course notebook headless with papermill.")
    parser.add_argument("stem", help="the notebook, e.g. 04_rlhf", choices=course_notebooks())
    parser.add_argument("--profile", default="auto", choices=("auto", *PROFILES))
    options = parser.parse_args(argv)
    seconds = execute_notebook(options.stem, parameters={"PROFILE": options.profile}, progress=False)
    print(f"{options.stem}: {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
