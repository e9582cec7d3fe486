"""Run the whole course headless and write one report of every notebook's results.

    python -m helpers.course                 # every notebook, in order, then runs/REPORT.md
    python -m helpers.course --only 00 01    # some notebooks
    python -m helpers.course --parallel      # in two lanes side by side (see PLAN); the test suite does this
    python -m helpers.course --report-only   # rebuild the report from existing results
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from helpers.notebooks import course_notebooks, executed_dir, execute_notebook
from helpers.runtime import REPO_ROOT, runs_dir

# How `--parallel` (and the test suite) runs the course: stage after stage, the lanes of a stage side by
# side, each lane's notebooks in order, each notebook in a process with an equal share of the CPU cores.
# 02 needs 01's data and most later notebooks need 02's model, so 01-02 run first, alone, with every core.
# Then two lanes of one core each on a 2-core machine: on these small models two single-threaded processes
# get through about 1.5x the work of one process with two threads. 00 needs nothing but the shipped base.
# The lanes are balanced by measured times; a notebook that needs a checkpoint the other lane is still
# making waits for it (see `helpers.notebooks.ensure_built`).
PLAN: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("01_data_preparation", "02_supervised_fine_tuning"),),
    (
        ("04_rlhf", "07_forgetting", "00_foundation_model", "08_scale_and_ship"),
        ("03_lora_and_peft", "05_dpo", "06_evaluation"),
    ),
)


def planned_stages(stems: list[str]) -> list[list[list[str]]]:
    """`PLAN` restricted to `stems` (empty lanes and stages dropped); notebooks that `PLAN` does not
    name run last, one after another."""
    planned = {stem for stage in PLAN for lane in stage for stem in lane}
    stages = [[[s for s in lane if s in stems] for lane in stage] for stage in PLAN]
    stages.append([[s for s in stems if s not in planned]])
    return [[lane for lane in stage if lane] for stage in stages if any(stage)]


def run_in_lanes(stems: list[str], profile: str = "auto", log_dir: Path | None = None,
                 on_done: Callable[[str, float | Exception], None] | None = None) -> dict[str, float]:
    """Execute `stems` as `planned_stages` says, each notebook in its own process with
    `cpu_count // lanes` threads and its output in `log_dir/<stem>.log` (default `runs/logs`).
    `on_done(stem, seconds or error)` is called as each notebook ends. After a failure no further
    notebook starts; the first error is raised once the running ones have ended."""
    log_dir = log_dir or runs_dir() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    wall_times: dict[str, float] = {}
    failures: list[Exception] = []

    def run_lane(lane: list[str], threads: int) -> None:
        for stem in lane:
            if failures:
                outcome: float | Exception = RuntimeError(f"{stem} not run: an earlier notebook failed")
            else:
                outcome = _run_in_process(stem, profile, threads, log_dir / f"{stem}.log")
            if isinstance(outcome, Exception):
                failures.append(outcome)
            else:
                wall_times[stem] = outcome
            if on_done:
                on_done(stem, outcome)

    for stage in planned_stages(stems):
        threads = max(1, (os.cpu_count() or 1) // len(stage))
        workers = [threading.Thread(target=run_lane, args=(lane, threads), daemon=True) for lane in stage]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    if failures:
        raise failures[0]
    return wall_times


def _run_in_process(stem: str, profile: str, threads: int, log: Path) -> float | Exception:
    """Execute one notebook with `python -m helpers.notebooks` limited to `threads` CPU threads."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    start = time.time()
    with log.open("w") as out:
        code = subprocess.call([sys.executable, "-m", "helpers.notebooks", stem, "--profile", profile],
                               cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if code:
        tail = "".join(log.read_text().splitlines(keepends=True)[-40:])
        return RuntimeError(f"notebooks/{stem}.ipynb failed (exit {code}); the end of {log}:\n{tail}")
    return time.time() - start


def _format(value: float) -> str:
    if float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    return f"{value:.3g}" if abs(value) >= 1 else f"{value:.3f}"


def _cell(values: dict, name: str) -> str:
    """One metric, with its confidence interval when the notebook measured one."""
    if name not in values:
        return ""
    low, high = values.get(f"{name}_ci_low"), values.get(f"{name}_ci_high")
    interval = f" [{_format(low)}, {_format(high)}]" if low is not None and high is not None else ""
    return _format(values[name]) + interval


def results_table(results: dict, columns: list[str] | None = None) -> list[str]:
    """A Markdown table of one notebook's metrics: one row per variant, one column per metric
    (`columns`, or every metric), a metric's `_ci_low`/`_ci_high` shown beside it in brackets."""
    metrics = results.get("metrics", {})
    if columns is None:
        columns = sorted({name for values in metrics.values() for name in values
                          if not name.endswith(("_ci_low", "_ci_high"))})
    lines = ["| variant | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for variant, values in metrics.items():
        if any(c in values for c in columns):
            lines.append(f"| {variant} | " + " | ".join(_cell(values, c) for c in columns) + " |")
    return lines


# What the report shows first: (notebook, heading, columns of its table, its figure).
HEADLINES = (
    ("06_evaluation", "Every model and baseline on held-out data, with 95% bootstrap intervals",
     ["json_valid", "field_accuracy", "exact_match", "rubric_score"], "scores.png"),
    ("07_forgetting", "Learning against forgetting",
     ["task_gain", "probe_accuracy", "probe_accuracy_lost", "general_ppl"], "learning_vs_forgetting.png"),
)


def headline_section() -> list[str]:
    """The evaluation table and the forgetting plot, for the notebooks that have run."""
    lines: list[str] = []
    for stem, heading, columns, figure in HEADLINES:
        results_path = runs_dir() / stem / "results.json"
        if not results_path.exists():
            continue
        lines += [f"## {heading}", "", *results_table(json.loads(results_path.read_text()), columns), ""]
        if (runs_dir() / stem / figure).exists():
            lines += [f"![{Path(figure).stem}]({stem}/{figure})", ""]
    return lines


def write_report(wall_times: dict[str, float] | None = None) -> Path:
    """Write `runs/REPORT.md`: the headline tables and plots (`HEADLINES`), then for each notebook its
    profile, wall time, metrics table and figures."""
    out = runs_dir() / "REPORT.md"
    lines = ["# Course report", "", "Each notebook's measured results (`runs/<notebook>/results.json`); every training "
             "run's curves are in `runs/tracking/`, shown by `python kit.py dashboard`.", ""]
    lines += headline_section()
    for stem in course_notebooks():
        results_path = runs_dir() / stem / "results.json"
        lines.append(f"## {stem}")
        if not results_path.exists():
            lines += ["", "_not run yet_", ""]
            continue
        results = json.loads(results_path.read_text())
        manifest_path = runs_dir() / stem / "manifest.json"
        seconds = (wall_times or {}).get(stem) or json.loads(manifest_path.read_text()).get("wall_seconds", 0)
        lines += ["", f"profile `{results['profile']}`, {seconds:.0f} s; executed copy: "
                      f"`{(executed_dir() / stem).with_suffix('.ipynb').relative_to(runs_dir())}`", ""]
        lines += results_table(results)
        lines += [""] + [f"![{png.stem}]({png.relative_to(runs_dir()).as_posix()})"
                         for png in sorted((runs_dir() / stem).glob("*.png"))] + [""]
    out.write_text("\n".join(lines) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    """Execute the chosen notebooks in order (stopping at the first failure), then write the report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="notebook numbers or stems to run (default: all)")
    parser.add_argument("--parallel", action="store_true", help="run in lanes side by side (see PLAN)")
    parser.add_argument("--report-only", action="store_true", help="only rebuild the report")
    options = parser.parse_args(argv)
    stems = course_notebooks()
    if options.only:
        stems = [s for s in stems if any(s.startswith(prefix) for prefix in options.only)]
    wall_times: dict[str, float] = {}
    if options.parallel and not options.report_only:
        print(f"Running in lanes; each notebook's output goes to {runs_dir() / 'logs'}", flush=True)
        wall_times = run_in_lanes(stems, on_done=lambda stem, outcome: print(
            f"{stem}: {outcome:.0f} s" if isinstance(outcome, float) else f"{stem}: FAILED", flush=True))
    elif not options.report_only:
        for stem in stems:
            print(f"\n=== {stem} ===", flush=True)
            wall_times[stem] = execute_notebook(stem)
            print(f"{stem}: {wall_times[stem]:.0f} s", flush=True)
    report = write_report(wall_times)
    print("\n" + report.read_text())
    print(f"Report: {report}\nExecuted notebooks: {executed_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
