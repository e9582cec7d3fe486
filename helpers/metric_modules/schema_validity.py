"""Share of answers that follow the triage schema: exactly its keys, allowed labels, an order id or null."""

import datasets
import evaluate

from helpers.metrics import score_triage
from helpers.metric_modules._references import triage_references

_DESCRIPTION = """Share of answers that follow the triage schema: exactly its keys, allowed labels, an order id or null.

Predictions are a model's raw triage outputs; references are the labels, each a JSON object as a string
(`helpers.tasks.triage_target`). The number is `helpers.metrics.score_triage`'s, in 0..1.
"""


class SchemaValidity(evaluate.Metric):
    """`schema_valid` of triage answers, as `helpers.metrics.score_triage` computes it."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}))

    def _compute(self, predictions, references):
        scores = score_triage(predictions, triage_references(references))
        return {"schema_valid": scores["schema_valid"]}
