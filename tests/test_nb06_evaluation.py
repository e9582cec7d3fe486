"""Notebook 06 scores every model and baseline with one harness: every variant must be present with
intervals around its estimates, the metric modules must agree with the kit's scoring, fine-tuning must
fix the format, retrieval must beat the label prior, and the error analysis and judge must be recorded."""

import json

import pytest

from helpers.runtime import runs_dir
from helpers.tasks import LABEL_VALUES

pytestmark = pytest.mark.notebook

STEM = "06_evaluation"
MODELS = ("base", "sft", "lora_r8", "rl", "dpo")
BASELINES = ("zero_shot", "few_shot", "retrieval")
CHEAP = ("majority", *BASELINES)
TUNED = ("sft", "lora_r8", "rl", "dpo")
TRIAGE = ("json_valid", "schema_valid", "field_accuracy", "exact_match", "intent_accuracy", "product_accuracy",
          "order_id_accuracy", "urgency_accuracy", "sentiment_accuracy")


def test_every_model_and_baseline_has_scores_with_intervals(metrics):
    for variant in (*MODELS, *BASELINES):
        m = metrics[variant]
        metric_names = [*TRIAGE, "rubric_score"] + (["answer_ppl", "reply_ppl"] if variant in MODELS else [])
        for name in metric_names:
            assert name in m, f"{variant} lacks {name}"
            low, high = m[f"{name}_ci_low"], m[f"{name}_ci_high"]
            assert low <= m[name] <= high, f"{variant}.{name}: {m[name]} outside [{low}, {high}]"
            if not name.endswith("_ppl"):
                assert 0 <= low and high <= 1
        assert m["n_triage"] >= 50


def test_intervals_have_sane_widths(metrics):
    # field accuracy is a mean of five 0/1 fields over a few hundred tickets: its 95% interval is a few
    # points wide, never zero (unless every ticket scores the same) and never most of the scale
    for variant in ("sft", "retrieval", "majority"):
        width = metrics[variant]["field_accuracy_ci_high"] - metrics[variant]["field_accuracy_ci_low"]
        assert 0.01 < width < 0.2, (variant, width)
    width = metrics["sft"]["rubric_score_ci_high"] - metrics["sft"]["rubric_score_ci_low"]
    assert 0.01 < width < 0.2


def test_zero_shot_is_the_base_model_as_prompted(results, metrics):
    assert {k: v for k, v in metrics["zero_shot"].items()} == metrics["base"]
    assert "equals base" in results["details"]["zero_shot"]


def test_metric_modules_agree_with_the_kit_helpers(results):
    assert results["details"]["metric_modules_agree"]
    assert results["details"]["metric_modules_max_abs_difference"] < 1e-9


def test_fine_tuning_fixes_the_format(metrics):
    assert metrics["base"]["json_valid"] < 0.2
    for variant in TUNED:
        # the tuned models put high probability on the reference answers; the base model does not
        assert metrics[variant]["answer_ppl"] < metrics["base"]["answer_ppl"] / 10, variant
    # notebook 03's rank-8 adapter, 50 steps on triage alone, answers in JSON too (measured 1.0)
    for variant in ("sft", "lora_r8", "rl", "dpo"):
        assert metrics[variant]["json_valid"] > metrics["base"]["json_valid"] + 0.5, variant
    assert metrics["sft"]["json_valid_ci_low"] > metrics["base"]["json_valid_ci_high"]


def test_retrieval_beats_the_label_prior(results, metrics):
    prior = metrics["majority"]["field_accuracy"]
    assert metrics["retrieval"]["json_valid"] == 1.0 and metrics["retrieval"]["schema_valid"] == 1.0
    assert metrics["retrieval"]["field_accuracy"] > prior + 0.08
    assert metrics["retrieval"]["field_accuracy_ci_low"] > metrics["majority"]["field_accuracy_ci_high"]
    majority = results["details"]["majority_answer"]
    assert majority["order_id"] is None and all(majority[f] in LABEL_VALUES[f] for f in LABEL_VALUES)


def test_when_not_to_fine_tune_is_measured(results):
    verdicts = {v["metric"]: v for v in results["details"]["when_not_to_fine_tune"]}
    for metric in ("json_valid", "field_accuracy", "rubric_score"):
        v = verdicts[metric]
        assert v["ci_low"] <= v["difference"] <= v["ci_high"]
        assert v["best cheap option"] in CHEAP and v["best fine-tuned"] in TUNED
        expected = "fine-tuning" if v["ci_low"] > 0 else "a baseline" if v["ci_high"] < 0 else "no clear winner"
        assert v["winner"] == expected


def test_fine_tuning_beats_every_baseline_on_held_out_triage(results, metrics):
    # Measured on a 2-core Xeon: SFT field accuracy 0.93, RL 0.93, DPO 0.92, against retrieval 0.55, the label
    # prior 0.31 and prompting 0; order id 0.985 against 0.26 for always null (the share of tickets without one)
    # and 0.175 for retrieval.
    best_baseline = max(metrics[v]["field_accuracy_ci_high"] for v in CHEAP)
    for variant in ("sft", "rl", "dpo"):
        assert metrics[variant]["field_accuracy_ci_low"] > best_baseline + 0.1, variant
        assert metrics[variant]["order_id_accuracy"] >= metrics["majority"]["order_id_accuracy"] + 0.5, variant
    verdicts = {v["metric"]: v for v in results["details"]["when_not_to_fine_tune"]}
    for metric in ("field_accuracy", "order_id_accuracy", "product_accuracy"):  # retrieval ties on the intent
        assert verdicts[metric]["winner"] == "fine-tuning", metric
    assert verdicts["order_id_accuracy"]["best cheap option"] == "majority"  # null beats a neighbour's id


def test_error_analysis_is_recorded(results, metrics):
    details, n = results["details"], int(metrics["sft"]["n_triage"])
    for variant in ("sft", "retrieval", "base"):
        for field in ("intent", "product", "urgency", "sentiment"):
            matrix = details["confusion_matrices"][variant][field]
            counts = matrix["counts"]
            assert len(counts) == len(LABEL_VALUES[field]) and len(matrix["predicted"]) == len(LABEL_VALUES[field]) + 2
            assert sum(map(sum, counts)) == n
    base_counts = details["confusion_matrices"]["base"]["intent"]["counts"]
    assert sum(row[-1] for row in base_counts) > 0.8 * n  # the base model mostly gives no JSON answer
    shares = details["failure_shares"]["sft"]
    assert all(0 <= shares[k] <= 1 for k in ("intent", "product", "urgency", "sentiment", "order_id", "one_next_step"))
    worst = details["worst_examples"]
    assert worst["model"] == "sft" and len(worst["triage"]) == 3 and worst["triage"][0]["output"]


def test_judge_agreement_is_measured_with_both_orders(results):
    judge = results["details"]["judge"]
    assert judge["pairs"] >= 100 and judge["rubric_agreement_with_chosen"] == 1.0
    for key in ("agreement", "agreement_one_order", "position_consistency", "says_a"):
        assert judge[f"{key}_ci_low"] <= judge[key] <= judge[f"{key}_ci_high"]
        assert 0 <= judge[key] <= 1
    assert 0 <= judge["text_verdict_parse_rate"] <= 1


def test_saved_files(results):
    out = runs_dir() / STEM
    for name in ("scores.png", "confusion.png", "failures.png"):
        assert (out / name).stat().st_size > 10_000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["hyperparameters"]["bootstrap_resamples"] >= 200 and manifest["seed"] == 0
    json.loads((out / "results.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in results.json"))
