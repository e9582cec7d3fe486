"""Mean accuracy over the five triage fields, and each field's accuracy (an answer that is not JSON
is wrong everywhere)."""

import evaluate

from helpers.metric_modules._references import string_pair_info, triage_scores
from helpers.tasks import TRIAGE_FIELDS

_DESCRIPTION = """Mean accuracy over the five triage fields, and each field's accuracy (an answer
that is not JSON is wrong everywhere).

Predictions are a model's raw triage outputs; references are the labels, each a JSON object as a string
(`helpers.tasks.triage_target`). The number is `helpers.metrics.score_triage`'s, in 0..1.
"""


class FieldAccuracy(evaluate.Metric):
    """`field_accuracy` of triage answers, as `helpers.metrics.score_triage` computes it."""

    def _info(self):
        return string_pair_info(_DESCRIPTION)

    def _compute(self, predictions, references):
        names = ("field_accuracy", *(f"{field}_accuracy" for field in TRIAGE_FIELDS))
        return triage_scores(predictions, references, names)
