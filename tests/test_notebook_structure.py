"""Every notebook follows the kit's conventions (checked on the committed files, without running them):
the course's numbered lessons, and the notebooks beside them (the playground)."""

import json
import re

import pytest

from helpers.notebooks import course_notebooks
from helpers.runtime import NOTEBOOKS_DIR

COURSE = course_notebooks()
NOTEBOOKS = sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb"))
BADGE = re.compile(r"colab\.research\.google\.com/github/[^/]+/[^/]+/blob/main/(notebooks/[^)\s]+\.ipynb)")


def load(stem: str) -> dict:
    return json.loads((NOTEBOOKS_DIR / f"{stem}.ipynb").read_text(encoding="utf-8"))


def test_the_course_starts_at_00():
    assert COURSE[:2] == ["00_foundation_model", "01_data_preparation"]
    assert "playground" in NOTEBOOKS and "playground" not in COURSE


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_exactly_one_parameters_cell(stem):
    cells = load(stem)["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and tagged[0]["cell_type"] == "code"


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_outputs_are_stripped(stem):
    for cell in load(stem)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_badge_points_at_this_file(stem):
    first = "".join(load(stem)["cells"][0]["source"])
    assert first.startswith("# ")
    match = BADGE.search(first)
    assert match and match.group(1) == f"notebooks/{stem}.ipynb"


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_kernelspec_and_colab_only_install(stem):
    doc = load(stem)
    assert doc["metadata"]["kernelspec"]["name"] == "python3"
    setup = "".join(doc["cells"][1]["source"])
    assert 'if "google.colab" in sys.modules:' in setup and "grep -v '^torch==' " in setup
    assert "--no-deps -e .." in setup  # the package's declared torch pin must not replace Colab's CUDA build
    installs = [c for c in doc["cells"] if "pip install" in "".join(c["source"])]
    assert installs == [doc["cells"][1]]


@pytest.mark.parametrize("stem", COURSE)  # the lessons measure; the playground only shows answers
def test_notebook_writes_results(stem):
    source = "".join("".join(c["source"]) for c in load(stem)["cells"])
    assert f'Run(notebook="{stem}"' in source and "run.finish()" in source
