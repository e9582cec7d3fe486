"""Shared fixtures: every test session writes its runs to a fresh folder, and a notebook is
executed with papermill at most once per session, whichever test asks for it first."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# Set before any helper or notebook kernel starts: kernels inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def session_runs_dir(tmp_path_factory) -> Path:
    """Point RUNS_DIR at a temporary folder, unless the caller chose one (to keep the outputs)."""
    if "KIT_TEST_RUNS_DIR" in os.environ:
        path = Path(os.environ["KIT_TEST_RUNS_DIR"]).resolve()
    else:
        path = tmp_path_factory.mktemp("runs")
    previous = os.environ.get("RUNS_DIR")
    os.environ["RUNS_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("RUNS_DIR", None)
    else:
        os.environ["RUNS_DIR"] = previous


_executed: dict[str, Path] = {}


@pytest.fixture(scope="session")
def run_notebook(session_runs_dir):
    """`run_notebook(stem)` executes `notebooks/<stem>.ipynb` (once per session) in the `cpu`
    profile and returns its parsed results.json. With KIT_TEST_REUSE_RUNS=1 (and KIT_TEST_RUNS_DIR),
    a notebook whose results are already there is not run again: to re-check assertions quickly."""
    from helpers.notebooks import execute_notebook

    reuse = os.environ.get("KIT_TEST_REUSE_RUNS") == "1"

    def run(stem: str) -> dict:
        if reuse and (session_runs_dir / stem / "results.json").exists():
            _executed.setdefault(stem, session_runs_dir / stem)
        if stem not in _executed:
            execute_notebook(stem, parameters={"PROFILE": "cpu"}, progress=False)
            _executed[stem] = session_runs_dir / stem
        return json.loads((_executed[stem] / "results.json").read_text())

    return run
