"""The house-style rubric score of replies, and each rubric item's pass rate."""

import evaluate

from helpers.evaluation import reply_scores
from helpers.metric_modules._references import json_references, string_pair_info

_DESCRIPTION = """The house-style rubric (`helpers.rubric`) on replies: `rubric_score`, the mean share of
applicable items passed, and `rubric_<item>`, each item's pass rate where it applies.

Predictions are replies; references are the tickets they answer, each a JSON object as a string with
`message`, `intent`, `product`, `order_id` and `customer_name`. The numbers are
`helpers.evaluation.reply_scores`'s, in 0..1.
"""


class RubricScore(evaluate.Metric):
    """The rule-based rubric judge as an `evaluate` metric."""

    def _info(self):
        return string_pair_info(_DESCRIPTION)

    def _compute(self, predictions, references):
        if not predictions:
            raise ValueError("no replies to score")
        return reply_scores(predictions, json_references(references, "a ticket"))
