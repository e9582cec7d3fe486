"""The local tracker: every config factory files its run under the notebook's project and the run's
name, a short real run on the shipped base lands its loss in TensorBoard's event files (read back
with TensorBoard's own reader), one switch turns it off, and the dashboard stays on the loopback."""

import math

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

import helpers.tracking as tracking
from helpers.modeling import SHIPPED_BASE
from helpers.preference import dpo_config, kto_config
from helpers.pretraining import pretraining_arguments
from helpers.rlhf import grpo_config, reward_config
from helpers.tasks import triage_messages
from helpers.tracking import read_scalars, tracked_runs, tracker_settings, tracking_dir
from helpers.training import chat_dataset, sft_config, sft_trainer, train

LABELS = {"intent": "damaged_item", "product": "kettle", "order_id": "LL-482913", "urgency": "high",
          "sentiment": "negative"}


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A runs folder of this test's own, with the tracker on (whatever the caller's environment says)."""
    monkeypatch.setenv("RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv(tracking.TRACKER_VARIABLE, raising=False)
    return tmp_path / "runs"


def test_project_is_the_notebook_and_run_the_output_folder(runs, tmp_path):
    settings = tracker_settings(runs / "03_lora_and_peft" / "checkpoints" / "lora_r8")
    assert settings == {"report_to": ["tensorboard"], "project": "03_lora_and_peft", "run_name": "lora_r8"}
    assert tracker_settings(runs / "02_sft" / "checkpoints", run_name="sft")["run_name"] == "sft"
    outside = tracker_settings(tmp_path / "mine" / "out")  # not under the runs folder: the parent folder
    assert (outside["project"], outside["run_name"]) == ("mine", "out")
    assert tracker_settings(tmp_path / "x", project="p")["project"] == "p"
    assert tracking_dir() == runs.resolve() / "tracking"


@pytest.mark.parametrize("factory", [sft_config, dpo_config, kto_config, grpo_config, reward_config,
                                     lambda out, **kw: pretraining_arguments(out, 10, **kw)])
def test_every_config_factory_reports_to_the_tracker(runs, factory):
    config = factory(runs / "05_dpo" / "checkpoints" / "beta_0.1")
    assert (config.report_to, config.project, config.run_name) == (["tensorboard"], "05_dpo", "beta_0.1")
    assert factory(runs / "05_dpo" / "checkpoints", run_name="dpo").run_name == "dpo"


def test_one_switch_turns_tracking_off(runs, monkeypatch):
    monkeypatch.setenv(tracking.TRACKER_VARIABLE, "none")
    assert sft_config(runs / "02_sft" / "checkpoints" / "sft").report_to == []
    monkeypatch.setenv(tracking.TRACKER_VARIABLE, "wandb")
    with pytest.raises(ValueError, match="KIT_TRACKER"):
        tracker_settings(runs / "x")


def test_a_short_run_lands_its_loss_in_the_tracker(runs):
    tokenizer = AutoTokenizer.from_pretrained(SHIPPED_BASE)
    data = chat_dataset([triage_messages("My kettle arrived broken. Order LL-482913.", LABELS)] * 8)

    def short_run():
        config = sft_config(runs / "02_sft" / "experiments" / "tiny", max_steps=4, batch_size=2, logging_steps=1,
                            disable_tqdm=True)
        train(sft_trainer(AutoModelForCausalLM.from_pretrained(SHIPPED_BASE), tokenizer, data, config))

    short_run()
    assert tracked_runs("02_sft") == ["tiny"]
    loss = read_scalars("02_sft", "tiny")["train/loss"]
    assert [step for step, _ in loss] == [1, 2, 3, 4] and all(math.isfinite(v) for _, v in loss)
    short_run()  # run again under the same name: it replaces the first run's logs
    assert [step for step, _ in read_scalars("02_sft", "tiny")["train/loss"]] == [1, 2, 3, 4]
    assert not list((runs / "02_sft" / "experiments" / "tiny").glob("runs"))  # not transformers' default folder


def test_reading_a_missing_run_names_where_it_looked(runs):
    with pytest.raises(FileNotFoundError, match="no tracked run 'nope' in project '00_x'"):
        read_scalars("00_x", "nope")
    assert tracked_runs("00_x") == []


def test_dashboard_serves_on_the_loopback_only(runs, monkeypatch):
    commands = []
    monkeypatch.setattr(tracking.subprocess, "run",
                        lambda command: commands.append(command) or type("Done", (), {"returncode": 0}))
    assert tracking.main(["05_dpo", "--port", "7000"]) == 0
    command = commands[0]
    assert command[command.index("--host") + 1] == "127.0.0.1" and command[command.index("--port") + 1] == "7000"
    assert command[command.index("--logdir") + 1] == str(runs.resolve() / "tracking" / "05_dpo")
