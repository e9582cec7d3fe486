"""Notebook 02 on a task of the reader's own, unlike triage: invoice fields extracted as JSON from one
line of text, made here on the fly as a prompt/completion file. Fine-tuning must give a real held-out
gain over the base model, scored by the notebook's `json_fields` scoring."""

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


@pytest.fixture(scope="module")
def task_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own_task")
    data = folder / "invoices.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in invoice_rows(320)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNS_DIR", str(folder / "runs"))
        execute_notebook("02_supervised_fine_tuning", progress=False, parameters={
            "PROFILE": "cpu", "DATA_FILE": str(data), "PROMPT_COLUMN": "text", "COMPLETION_COLUMN": "fields",
            "SYSTEM_PROMPT": "Extract the invoice's fields as JSON.", "SCORING": "json_fields",
            "REPLIES_FILE": None, "MAX_STEPS": 150, "SWEEP_STEPS": 4})
    return json.loads((folder / "runs" / "02_supervised_fine_tuning" / "results.json").read_text())


def test_fine_tuning_learns_the_readers_task(task_results):
    base, sft = task_results["metrics"]["base"], task_results["metrics"]["sft"]
    assert base["json_valid"] <= 0.2 and base["field_accuracy"] <= 0.2  # the base has never seen this task
    assert sft["json_valid"] >= 0.9
    assert sft["field_accuracy"] >= base["field_accuracy"] + 0.4  # measured 0.64 against 0.0 (150 steps, 2-core Xeon)
    assert sft["answer_loss"] < 0.2 * base["answer_loss"]
