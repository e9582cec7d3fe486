"""Shared fixtures: every test session writes its runs to a fresh folder, and the notebooks that the
collected tests check are executed with papermill once per session, in the background from the start."""

from __future__ import annotations

import json
import math
import os
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

# Set before any helper or notebook kernel starts: kernels inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Unit tests first: they run while the notebooks execute in the background. The slow ones (minutes
    of both cores) last, once the notebooks are done, so that no notebook shares its cores with them."""
    def phase(item: pytest.Item) -> int:
        return 2 if item.get_closest_marker("slow") else 1 if item.get_closest_marker("notebook") else 0

    items.sort(key=phase)


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


@pytest.fixture(scope="session", autouse=True)
def notebook_runs(session_runs_dir, request) -> dict[str, Future]:
    """As the session starts, begin executing (in the `cpu` profile) every notebook that a collected test
    checks, in the lanes of `helpers.course.PLAN`, in the background: the unit tests run meanwhile.
    Each notebook's future ends with its wall time, or its error. With KIT_TEST_REUSE_RUNS=1 (and
    KIT_TEST_RUNS_DIR), a notebook whose results are already there is not run again: to re-check
    assertions quickly."""
    from helpers.course import run_in_lanes

    stems = sorted({item.module.STEM for item in request.session.items
                    if item.get_closest_marker("notebook") and hasattr(item.module, "STEM")})
    if os.environ.get("KIT_TEST_REUSE_RUNS") == "1":
        stems = [s for s in stems if not (session_runs_dir / s / "results.json").exists()]
    futures: dict[str, Future] = {stem: Future() for stem in stems}

    def record(stem: str, outcome: float | Exception) -> None:
        if isinstance(outcome, Exception):
            futures[stem].set_exception(outcome)
        else:
            futures[stem].set_result(outcome)

    def run() -> None:
        try:
            run_in_lanes(stems, profile="cpu", on_done=record)
        except Exception:  # each notebook's own outcome is already recorded
            pass
        finally:
            for stem, future in futures.items():
                if not future.done():
                    future.set_exception(RuntimeError(f"{stem} was not run"))

    if stems:
        threading.Thread(target=run, daemon=True).start()
    return futures


@pytest.fixture(scope="session")
def run_notebook(notebook_runs, session_runs_dir):
    """`run_notebook(stem)` waits for `notebooks/<stem>.ipynb` to have run this session and returns
    its parsed results.json; it fails with the end of the notebook's log if the notebook failed."""

    def run(stem: str) -> dict:
        if stem in notebook_runs and notebook_runs[stem].exception():
            pytest.fail(str(notebook_runs[stem].exception()), pytrace=False)
        return json.loads((session_runs_dir / stem / "results.json").read_text())

    return run


@pytest.fixture(scope="module")
def results(run_notebook, request) -> dict:
    """The results.json of the notebook whose tests ask for it (the test module's `STEM`)."""
    return run_notebook(request.module.STEM)


@pytest.fixture(scope="module")
def metrics(results) -> dict:
    """The `metrics` part of the notebook's results: variant -> metric -> value."""
    return results["metrics"]


@pytest.fixture(scope="module")
def tracked(results, request):
    """`tracked(*runs)` checks that each named training run of the test module's notebook (`STEM`)
    landed in the local tracker with a finite loss logged, read back with TensorBoard's own reader, and
    returns run -> tag -> (step, value) pairs. Skips when tracking is off (KIT_TRACKER=none)."""
    from helpers.tracking import read_scalars, tracked_runs, tracker

    def check(*runs: str) -> dict[str, dict[str, list[tuple[int, float]]]]:
        if tracker() == "none":
            pytest.skip("tracking is off (KIT_TRACKER=none)")
        stem = request.module.STEM
        missing = sorted(set(runs) - set(tracked_runs(stem)))
        assert not missing, f"runs of {stem} not in the tracker: {missing} (found {tracked_runs(stem)})"
        scalars = {run: read_scalars(stem, run) for run in runs}
        for run, tags in scalars.items():
            losses = [v for tag, points in tags.items() if tag.endswith("loss") for _, v in points]
            assert losses and all(math.isfinite(v) for v in losses), f"{stem}/{run} logged no loss: {sorted(tags)}"
        return scalars

    return check
