"""Mean accuracy over the five triage fields, and each field's accuracy (an answer that is not JSON is wrong everywhere)."""

import datasets
import evaluate

from helpers.metrics import score_triage
from helpers.metric_modules._references import triage_references

_DESCRIPTION = """Mean accuracy over the five triage fields, and each field's accuracy (an answer that is not JSON is wrong everywhere).

Predictions are a model's raw triage outputs; references are the labels, each a JSON object as a string
(`helpers.tasks.triage_target`). The number is `helpers.metrics.score_triage`'s, in 0..1.
"""


class FieldAccuracy(evaluate.Metric):
    """`field_accuracy` of triage answers, as `helpers.metrics.score_triage` computes it."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}))

    def _compute(self, predictions, references):
        scores = score_triage(predictions, triage_references(references))
        return {key: value for key, value in scores.items() if key.endswith("_accuracy")}
