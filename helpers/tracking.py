"""Every training run's logs in a local, offline tracker: TensorBoard event files under
`runs/tracking/<project>/<run>`, written by transformers' own `TensorBoardCallback` (`report_to`).

    config = sft_config(run.out_dir / "checkpoints" / "lora_r8")  # project 03_lora_and_peft, run lora_r8
    train(sft_trainer(model, tokenizer, data, config))            # its loss: runs/tracking/03_lora_and_peft/lora_r8
    read_scalars("03_lora_and_peft", "lora_r8")["train/loss"]     # [(step, loss), ...], read back by TensorBoard
    python kit.py dashboard                                       # TensorBoard on http://127.0.0.1:6006

The project is the notebook's folder under the runs folder (`runs/<notebook>/...`) and the run the
output folder's name; pass `run_name=` (and `project=`) to any of the kit's config factories to name
them yourself. Training through `helpers.training.train` (or `helpers.pretraining.pretrain`) files the
logs there; a bare `trainer.train()` leaves them where transformers puts them, in
`<output_dir>/runs/<time>_<host>/`. `KIT_TRACKER=none` in the environment turns tracking off everywhere.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers.runtime import runs_dir

TRACKER_VARIABLE = "KIT_TRACKER"  # "tensorboard" (the default) or "none"
EVENT_FILES = "events.out.tfevents.*"


def tracker() -> str:
    """The tracker training runs report to: `tensorboard` (the default) or `none`, set by `$KIT_TRACKER`."""
    name = os.environ.get(TRACKER_VARIABLE, "").strip().lower() or "tensorboard"
    if name in ("none", "off", "0", "false", "no"):
        return "none"
    if name != "tensorboard":
        raise ValueError(f"{TRACKER_VARIABLE}={name!r}: use 'tensorboard' or 'none'")
    return name


def tracking_dir() -> Path:
    """The folder all tracked runs are kept in: `tracking/` in the runs folder."""
    return runs_dir() / "tracking"


def tracker_settings(output_dir: str | Path, run_name: str | None = None,
                     project: str | None = None) -> dict[str, Any]:
    """The `TrainingArguments` fields that file a run in the tracker: `report_to`, and the `project` and
    `run_name` it goes under. By default the project is the first folder of `output_dir` below the runs
    folder (the notebook's stem, for `runs/<notebook>/...`; the parent folder's name elsewhere) and the
    run is the name of `output_dir`."""
    output = Path(output_dir).resolve()
    if project is None:
        below = output.relative_to(runs_dir()).parts if output.is_relative_to(runs_dir()) else ()
        project = below[0] if below else output.parent.name or "default"
    report_to = [] if tracker() == "none" else ["tensorboard"]
    return {"report_to": report_to, "project": project, "run_name": run_name or output.name}


def log_dir(args: Any) -> Path:
    """Where a run trained with `args` (any `TrainingArguments`) keeps its event files."""
    return tracking_dir() / args.project / (args.run_name or Path(args.output_dir).name)


def direct_logs(trainer: Any, fresh: bool = True) -> None:
    """Point the trainer's TensorBoard callback (there when the config reports to it) at `log_dir`:
    transformers' own default is a folder named by the clock inside the output folder. A `fresh` run
    replaces what an earlier run of the same name left there; a resumed one adds to it. Setting
    `TENSORBOARD_LOGGING_DIR` in the environment still overrides this."""
    from transformers.integrations import TensorBoardCallback

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback) and callback.logging_dir is None:
            path = log_dir(trainer.args)
            if fresh:
                for old in path.glob(EVENT_FILES):
                    old.unlink(missing_ok=True)  # another process of the same run may be first
            callback.logging_dir = str(path)


def tracked_runs(project: str) -> list[str]:
    """The names of the runs filed under `project`, sorted."""
    folder = tracking_dir() / project
    return sorted(p.name for p in folder.iterdir() if any(p.glob(EVENT_FILES))) if folder.is_dir() else []


def read_scalars(project: str, run: str) -> dict[str, list[tuple[int, float]]]:
    """Every number a tracked run logged, read back with TensorBoard's own reader: tag (`train/loss`,
    `eval/loss`, `train/rewards/margins`, ...) -> (step, value) pairs in the order they were logged."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path = tracking_dir() / project / run
    if not any(path.glob(EVENT_FILES)):
        raise FileNotFoundError(f"no tracked run {run!r} in project {project!r}: no event files in {path}")
    events = EventAccumulator(str(path), size_guidance={"scalars": 0})  # 0: keep every point
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def dashboard(project: str | None = None, port: int = 6006) -> int:
    """Serve TensorBoard on the loopback address (http://127.0.0.1:`port`) over every tracked run, or
    over one project's runs; returns its exit status when stopped."""
    logdir = tracking_dir() / project if project else tracking_dir()
    logdir.mkdir(parents=True, exist_ok=True)
    print(f"TensorBoard over {logdir} on http://127.0.0.1:{port} (Ctrl+C stops it)", flush=True)
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
               "--port", str(port)]
    try:
        return subprocess.run(command).returncode
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m helpers.tracking [PROJECT] [--port N]` (`python kit.py dashboard`): the dashboard."""
    parser = argparse.ArgumentParser(description="Open the training dashboard (TensorBoard) on 127.0.0.1.")
    parser.add_argument("project", nargs="?", help="one project (a notebook's stem); all of them by default")
    parser.add_argument("--port", type=int, default=6006)
    options = parser.parse_args(argv)
    return dashboard(options.project, options.port)


if __name__ == "__main__":
    sys.exit(main())
