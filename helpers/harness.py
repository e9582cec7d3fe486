"""One evaluation harness for every model and baseline: loading any model or adapter, the kit's
metrics through `evaluate`, per-example answer perplexity, error analysis (confusion matrices, failure
shares, worst examples) and a whole evaluation of your own model on your own file. Its intervals are
`helpers.intervals`; its model judge is `helpers.judges`.

    suite = triage_metric_suite()                    # evaluate.combine of the kit's local modules
    suite.compute(predictions=outputs, references=[triage_target(r) for r in records])
    per_example = triage_example_scores(outputs, records)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TYPE_CHECKING

import numpy as np
import torch

from helpers.evaluation import answer_token_logprobs
from helpers.intervals import ppl_statistic, with_intervals
from helpers.metrics import triage_example_scores, triage_rows
from helpers.tasks import LABEL_VALUES, triage_target

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

CONFUSION_FIELDS = ("intent", "product", "urgency", "sentiment")
NO_ANSWER = "(no answer)"  # the output was not a JSON object with this field
OTHER_LABEL = "(other)"    # a value outside the field's allowed labels


# ---- models ---------------------------------------------------------------------------------

def load_for_evaluation(path_or_id: str | Path, base: str | Path | None = None,
                        trust_remote_code: bool = False) -> tuple[Any, Any]:
    """Load a model and tokenizer for evaluation: a full model folder or Hub id, or a PEFT adapter
    folder (it has `adapter_config.json`) put on `base` (default: the base the adapter names) with
    `PeftModel.from_pretrained`. The model is put in eval mode on the GPU when there is one."""
    from transformers import AutoModelForCausalLM

    from helpers.modeling import load_model_and_tokenizer

    path = Path(str(path_or_id))
    if (path / "adapter_config.json").exists():
        from peft import PeftModel

        base = base or json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
        if not base:
            raise ValueError(f"{path} is a PEFT adapter that names no base model: pass `base`")
        _, tokenizer = load_model_and_tokenizer(base, trust_remote_code=trust_remote_code)
        base_model = AutoModelForCausalLM.from_pretrained(str(base), dtype="auto", trust_remote_code=trust_remote_code)
        model = PeftModel.from_pretrained(base_model, str(path))
    else:
        if not path.exists() and (path.is_absolute() or str(path_or_id).startswith(".")):
            raise FileNotFoundError(f"No model at {path}")
        model, tokenizer = load_model_and_tokenizer(path_or_id, trust_remote_code=trust_remote_code)
    model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
    return model, tokenizer


# ---- the kit's metrics through `evaluate` ---------------------------------------------------

def load_kit_metric(name: str) -> Any:
    """One of the kit's metric modules (`helpers.metric_modules`), loaded from its file by `evaluate.load`."""
    import evaluate

    from helpers.metric_modules import metric_path

    return evaluate.load(metric_path(name))


def triage_metric_suite() -> Any:
    """JSON validity, schema validity, field accuracies and exact match in one `evaluate.combine`."""
    import evaluate

    from helpers.metric_modules import TRIAGE_METRICS

    return evaluate.combine([load_kit_metric(name) for name in TRIAGE_METRICS])


def triage_references(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Labelled tickets as the string references the triage metric modules take."""
    return [triage_target(r) for r in records]


def ticket_references(tickets: Sequence[Mapping[str, Any]]) -> list[str]:
    """Tickets as the string references the rubric module takes."""
    keys = ("message", "intent", "product", "order_id", "customer_name")
    return [json.dumps({k: t.get(k) for k in keys}) for t in tickets]


# ---- per-example scores ---------------------------------------------------------------------

@torch.no_grad()
def answer_nll(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
               conversations: Sequence[Sequence[Mapping[str, str]]], batch_size: int = 16) -> np.ndarray:
    """Per conversation: the negative log-likelihood of the assistant's answer (summed over its tokens,
    end-of-turn included) and its number of tokens, as an (n, 2) array. `answer_ppl` of a set is
    exp(sum of the first column / sum of the second): `ppl_statistic`."""
    rows = answer_token_logprobs(model, tokenizer, conversations, batch_size=batch_size)
    return np.array([[-logprob, n] for logprob, n in rows], dtype=float)


# ---- error analysis -------------------------------------------------------------------------

def predicted_labels(outputs: Sequence[str], records: Sequence[Mapping[str, Any]], field: str) -> list[str]:
    """What each output says for `field`: its label, `NO_ANSWER` when the output is not a JSON object
    with that key, or `OTHER_LABEL` for a value outside the allowed labels."""
    if field not in LABEL_VALUES:
        raise KeyError(f"{field!r} has no fixed labels; choose one of {sorted(LABEL_VALUES)}")
    labels = []
    for row in triage_rows(outputs, records):
        answer = row["answer"]
        if answer is None or field not in answer:
            labels.append(NO_ANSWER)
        else:
            labels.append(answer[field] if answer[field] in LABEL_VALUES[field] else OTHER_LABEL)
    return labels


def confusion_matrix(outputs: Sequence[str], records: Sequence[Mapping[str, Any]], field: str) -> Any:
    """Counts of (true label, predicted label) for one triage field, as a pandas DataFrame: rows the
    true labels, columns the allowed labels plus `OTHER_LABEL` and `NO_ANSWER`."""
    import pandas as pd

    predicted = predicted_labels(outputs, records, field)
    rows, columns = list(LABEL_VALUES[field]), [*LABEL_VALUES[field], OTHER_LABEL, NO_ANSWER]
    table = pd.DataFrame(0, index=pd.Index(rows, name=f"true {field}"),
                         columns=pd.Index(columns, name=f"predicted {field}"))
    for record, label in zip(records, predicted):
        table.loc[record[field], label] += 1
    return table


def failure_shares(per_example: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Where a model fails: for each per-field accuracy (`<field>_accuracy`) or rubric item
    (`rubric_<item>`), the share of examples it gets wrong (of those where it applies)."""
    shares = {}
    for name, values in per_example.items():
        if name in ("field_accuracy", "rubric_score"):
            continue
        if name.endswith("_accuracy") or name.startswith("rubric_"):
            label = name.removesuffix("_accuracy").removeprefix("rubric_")
            shares[label] = float(1 - np.nanmean(values))
    return shares


def worst_examples(scores: Sequence[float], inputs: Sequence[Any], outputs: Sequence[str],
                   references: Sequence[Any], k: int = 5) -> list[dict[str, Any]]:
    """The `k` examples with the lowest score (ties keep the test-set order), with input, output and reference."""
    order = sorted(range(len(scores)), key=lambda i: (scores[i], i))[:k]
    return [{"index": i, "score": float(scores[i]), "input": inputs[i], "output": outputs[i],
             "reference": references[i]} for i in order]


# ---- your own model on your own file --------------------------------------------------------

def evaluate_on_file(model_path: str | Path, data_file: str | Path, columns: Mapping[str, str] | str | None = None,
                     base: str | Path | None = None, limit: int | None = None, n_resamples: int = 1000,
                     seed: int = 0) -> dict[str, float]:
    """Triage scores, with bootstrap intervals, of any model folder, adapter folder or Hub id on a
    labelled file (JSONL, CSV or Parquet; `columns` maps the kit's fields to yours, as in
    `helpers.data.load_records`): greedy answers to the kit's triage prompt, plus `answer_ppl`."""
    from helpers.data import load_records, parse_column_mapping, triage_conversations
    from helpers.evaluation import evaluate_triage

    records = load_records(data_file, parse_column_mapping(columns))[:limit]
    model, tokenizer = load_for_evaluation(model_path, base=base)
    _, outputs = evaluate_triage(model, tokenizer, records, progress=False)
    per_example = triage_example_scores(outputs, records)
    per_example["answer_ppl"] = answer_nll(model, tokenizer, triage_conversations(records))
    return with_intervals(per_example, n_resamples=n_resamples, seed=seed, statistics={"answer_ppl": ppl_statistic})
