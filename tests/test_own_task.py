"""Notebooks 02 and 03 on a task of the reader's own, unlike triage: invoice fields extracted as JSON from
one line of text, made here on the fly as a prompt/completion file. Fine-tuning must give a real held-out
gain over the base model, scored by the notebooks' `json_fields` scoring."""

import json
import random

import pytest

from helpers.notebooks import execute_notebook

pytestmark = pytest.mark.notebook

VENDORS = ("Acme Supplies", "Northwind Traders", "Blue Harbor Foods", "Kestrel Print", "Maple & Stone",
           "Orbit Office", "Greenfield Farms", "Silver Lake Labs", "Copper Kettle Cafe", "Redwood Logistics")
CURRENCIES = ("EUR", "USD", "GBP", "CHF")
PHRASINGS = ("Invoice {invoice} from {vendor}: total {total} {currency}, due in 30 days.",
             "{vendor} billed us {total} {currency} on invoice {invoice}.",
             "Please pay {currency} {total} for {invoice} ({vendor}).",
             "Re: {invoice}. Amount due to {vendor} is {total} {currency}.")


def invoice_rows(n: int, seed: int = 0) -> list[dict]:
    """Rows of a made-up extraction task: one line about an invoice, and its fields as a JSON object."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        fields = {"invoice": f"INV-{rng.randint(10000, 99999)}", "vendor": rng.choice(VENDORS),
                  "total": f"{rng.randint(10, 9999)}.{rng.randint(0, 99):02d}", "currency": rng.choice(CURRENCIES)}
        rows.append({"text": rng.choice(PHRASINGS).format(**fields), "fields": fields})
    return rows


def run_on_invoices(tmp_path_factory, stem: str, **parameters) -> dict:
    """Run notebook `stem` on a fresh invoice task file in a folder of its own; return its results."""
    folder = tmp_path_factory.mktemp(stem)
    data = folder / "invoices.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in invoice_rows(320)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNS_DIR", str(folder / "runs"))
        execute_notebook(stem, progress=False, parameters={
            "PROFILE": "cpu", "DATA_FILE": str(data), "PROMPT_COLUMN": "text", "COMPLETION_COLUMN": "fields",
            "SYSTEM_PROMPT": "Extract the invoice's fields as JSON.", "SCORING": "json_fields", **parameters})
    return json.loads((folder / "runs" / stem / "results.json").read_text())


def test_fine_tuning_learns_the_readers_task(tmp_path_factory):
    metrics = run_on_invoices(tmp_path_factory, "02_supervised_fine_tuning", REPLIES_FILE=None, MAX_STEPS=150,
                              SWEEP_STEPS=4)["metrics"]
    base, sft = metrics["base"], metrics["sft"]
    assert base["json_valid"] <= 0.2 and base["field_accuracy"] <= 0.2  # the base has never seen this task
    assert sft["json_valid"] >= 0.9
    assert sft["field_accuracy"] >= base["field_accuracy"] + 0.4  # measured 0.64 against 0.0 (150 steps, 2-core Xeon)
    assert sft["answer_loss"] < 0.2 * base["answer_loss"]


def test_every_peft_method_is_scored_on_the_readers_task(tmp_path_factory):
    metrics = run_on_invoices(tmp_path_factory, "03_lora_and_peft", SWEEP_STEPS=30)["metrics"]
    for name in ("base", "full", "lora_r8", "dora", "ia3", "prompt_tuning", "prefix_tuning"):
        assert {"json_valid", "field_accuracy", "exact_match", "answer_loss"} <= set(metrics[name]), name
    # measured after 30 steps: full fine-tuning JSON valid 0.84, field accuracy 0.27; the base 0 and 0
    base, full = metrics["base"], metrics["full"]
    assert full["json_valid"] >= base["json_valid"] + 0.5 and full["field_accuracy"] >= base["field_accuracy"] + 0.1
    assert full["answer_loss"] < 0.2 * base["answer_loss"]
