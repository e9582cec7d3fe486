"""Running the course in lanes: the plan covers every notebook once, a subset keeps the plan's order,
each lane gets its share of the cores, a failure stops what has not started, and a notebook that
needs what another process is making waits for it instead of making it twice."""

import subprocess
import sys
import time

import pytest

import helpers.course as course
import helpers.notebooks as notebooks
from helpers.course import PLAN, planned_stages, run_in_lanes
from helpers.notebooks import course_notebooks, ensure_built, notebook_lock


def test_the_plan_runs_every_notebook_exactly_once():
    planned = [stem for stage in PLAN for lane in stage for stem in lane]
    assert sorted(planned) == course_notebooks()


def test_a_subset_keeps_the_plan_and_unplanned_notebooks_run_last():
    assert planned_stages(["05_dpo", "08_extra", "00_foundation_model", "04_rlhf"]) == [
        [["04_rlhf", "00_foundation_model"], ["05_dpo"]], [["08_extra"]]]
    assert planned_stages([]) == []


def test_lanes_share_the_cores_and_a_failure_stops_what_has_not_started(monkeypatch):
    started, outcomes = [], {}

    def fake_run(stem, profile, threads, log):
        started.append((stem, threads))
        time.sleep(0.05)
        return RuntimeError(f"{stem} failed") if stem == "03_lora_and_peft" else 1.0

    monkeypatch.setattr(course, "_run_in_process", fake_run)
    monkeypatch.setattr(course.os, "cpu_count", lambda: 2)
    with pytest.raises(RuntimeError, match="03_lora_and_peft failed"):
        run_in_lanes(course_notebooks(), on_done=outcomes.__setitem__)
    threads = dict(started)
    assert threads["02_supervised_fine_tuning"] == 2 and threads["03_lora_and_peft"] == threads["04_rlhf"] == 1
    assert "05_dpo" not in threads and "06_evaluation" not in threads  # after the failure in their lane
    assert set(outcomes) == set(course_notebooks())  # every notebook is reported, run or not
    assert isinstance(outcomes["06_evaluation"], RuntimeError) and outcomes["02_supervised_fine_tuning"] == 1.0


def test_a_missing_prerequisite_being_made_elsewhere_is_awaited_not_rebuilt(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RUNS_DIR", str(tmp_path))
    target = tmp_path / "made.txt"
    lock_file = notebook_lock("02_supervised_fine_tuning").lock_file
    maker = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, filelock, pathlib\n"
        f"with filelock.FileLock({lock_file!r}):\n"
        "    print('locked', flush=True); time.sleep(5)  # long enough for a busy machine to start waiting\n"
        f"    pathlib.Path({str(target)!r}).write_text('made')\n")], stdout=subprocess.PIPE, text=True)
    assert maker.stdout.readline().strip() == "locked"
    monkeypatch.setattr(notebooks, "_execute", lambda *a, **k: pytest.fail("built a second time"))
    assert ensure_built(target, "02_supervised_fine_tuning", "The thing", "1 minute") == target
    maker.wait()
    assert target.read_text() == "made" and "running in another process" in capsys.readouterr().out


def test_a_missing_prerequisite_nobody_is_making_is_built(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNS_DIR", str(tmp_path))
    target = tmp_path / "made.txt"
    built = []

    def fake_execute(stem, parameters, progress):
        built.append(stem)
        target.write_text("made")
        return 0.0

    monkeypatch.setattr(notebooks, "_execute", fake_execute)
    ensure_built(target, "01_data_preparation", "The thing", "1 minute")
    ensure_built(target, "01_data_preparation", "The thing", "1 minute")  # there now: not built again
    assert built == ["01_data_preparation"]
