"""The general corpus and its probes: reproducible, and every probed fact is stated in training text."""

import json
import subprocess
import sys

from helpers.runtime import DATA_DIR, REPO_ROOT
from synth.world import write_general_data

GENERAL = DATA_DIR / "general"


def test_regenerating_reproduces_the_committed_files(tmp_path):
    for name, path in write_general_data(tmp_path).items():
        assert path.read_bytes() == (GENERAL / path.name).read_bytes(), f"{name} differs from data/general"


def test_generate_data_script_writes_everything(tmp_path):
    out = subprocess.run([sys.executable, "scripts/generate_data.py", "--out", str(tmp_path)],
                         cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    for folder in ("general", "support"):
        for committed in (DATA_DIR / folder).iterdir():
            assert (tmp_path / folder / committed.name).read_bytes() == committed.read_bytes()
    assert "wrote" in out


def test_every_probe_is_stated_in_the_training_corpus_but_held_out_text_is_new():
    train = (GENERAL / "corpus_train.txt").read_text(encoding="utf-8")
    heldout = (GENERAL / "corpus_heldout.txt").read_text(encoding="utf-8").split("\n\n")
    probes = [json.loads(line) for line in (GENERAL / "probes.jsonl").read_text().splitlines()]
    assert len(probes) >= 150 and len({p["id"] for p in probes}) == len(probes)
    for probe in probes:
        assert f"{probe['prompt']} {probe['answer']}." in train, probe
    train_docs = set(train.split("\n\n"))
    assert heldout and not [doc for doc in heldout if doc.strip() and doc in train_docs]
