"""Notebook 00 teaches pre-training with a short live run beside the shipped base: the live run must
learn (loss down, perplexity past the baselines' start), and the shipped base must be far ahead of it,
most of all in copying from its context, which a few minutes of training do not reach."""

import json
import math

import pytest

from helpers.runtime import runs_dir

pytestmark = pytest.mark.notebook

STEM = "00_foundation_model"


def test_baselines_are_ordered(metrics):
    assert metrics["bigram"]["general_ppl"] < metrics["unigram"]["general_ppl"] < metrics["untrained"]["general_ppl"]


def test_the_live_run_learns(results, metrics):
    # Cross-entropy starts near log(vocabulary) (about 8 nats); a few minutes take held-out loss far below.
    heldout = [row["heldout_loss"] for row in results["details"]["live_log"]]
    assert len(heldout) >= 3 and heldout[-1] < heldout[0] < math.log(metrics["untrained"]["general_ppl"])
    assert metrics["live"]["general_ppl"] < 0.1 * metrics["untrained"]["general_ppl"]
    assert metrics["live"]["tokens_per_second"] > 0 and metrics["live"]["tokens"] >= 100_000


def test_the_shipped_base_is_far_ahead(metrics):
    base, live = metrics["base"], metrics["live"]
    assert (
        base["general_ppl"] < 0.6 * metrics["bigram"]["general_ppl"]
        and base["general_ppl"] < 0.8 * live["general_ppl"]
    )
    assert base["probe_accuracy"] >= 0.9
    assert base["order_id_copied"] >= 0.95 and base["first_name_read"] >= 0.9
    # The phase change: minutes of pre-training copy next to nothing, the shipped run almost everything.
    assert live["order_id_copied"] <= 0.3 and base["tokens"] >= 20 * live["tokens"]


def test_the_shipped_log_is_shown(results):
    log = results["details"]["shipped_log"]
    assert log[0]["order_id_copied"] < 0.2 and log[-1]["order_id_copied"] >= 0.95
    assert (runs_dir() / STEM / "pretraining.png").stat().st_size > 20_000


def test_manifest_records_the_run(results):
    manifest = json.loads((runs_dir() / STEM / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["hyperparameters"]["live_steps"] > 0
    assert manifest["libraries"]["transformers"] != "missing" and manifest["base_model"].endswith("loom-base-4m")
    assert any(path.endswith("probes.jsonl") for path in manifest["data"])
    assert manifest["wall_seconds"] > 0


def test_the_live_run_lands_in_the_tracker(tracked):
    live = tracked("live")["live"]
    assert len(live["train/loss"]) > 1 and len(live["eval/loss"]) >= 3  # every logging step, every evaluation
