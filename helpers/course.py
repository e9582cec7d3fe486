"""Run the whole course headless and write one report of every notebook's results.

    python -m helpers.course                 # every notebook, in order, then runs/REPORT.md
    python -m helpers.course --only 00 01    # some notebooks
    python -m helpers.course --report-only   # rebuild the report from existing results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from helpers.notebooks import course_notebooks, executed_dir, execute_notebook
from helpers.runtime import runs_dir


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
    lines = ["# Course report", "", "Each notebook's measured results (`runs/<notebook>/results.json`).", ""]
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
    parser.add_argument("--report-only", action="store_true", help="only rebuild the report")
    options = parser.parse_args(argv)
    stems = course_notebooks()
    if options.only:
        stems = [s for s in stems if any(s.startswith(prefix) for prefix in options.only)]
    wall_times: dict[str, float] = {}
    if not options.report_only:
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
