"""Share of answers that follow the triage schema: exactly its keys, allowed labels, an order id or null."""

import evaluate

from helpers.metric_modules._references import string_pair_info, triage_scores

_DESCRIPTION = """Share of answers that follow the triage schema: exactly its keys, allowed labels, an order id or null.

Predictions are a model's raw triage outputs; references are the labels, each a JSON object as a string
(`helpers.tasks.triage_target`). The number is `helpers.metrics.score_triage`'s, in 0..1.
"""


class SchemaValidity(evaluate.Metric):
    """`schema_valid` of triage answers, as `helpers.metrics.score_triage` computes it."""

    def _info(self):
        return string_pair_info(_DESCRIPTION)

    def _compute(self, predictions, references):
        return triage_scores(predictions, references, ("schema_valid",))
