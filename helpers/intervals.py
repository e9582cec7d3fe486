"""Bootstrap confidence intervals: for one metric, for every per-example metric at once, and for the
paired difference of two models on the same examples.

    summary = with_intervals(per_example, seed=0)    # metric, metric_ci_low, metric_ci_high
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np


def ppl_statistic(rows: np.ndarray) -> float:
    """Perplexity per answer token of (nll, tokens) rows: exp(total nll / total tokens)."""
    return math.exp(rows[:, 0].sum() / rows[:, 1].sum())


def bootstrap_ci(values: Sequence[float] | np.ndarray, statistic: Callable[[np.ndarray], float] | None = None,
                 n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """The statistic of `values` (default: the mean, skipping NaN) and its percentile bootstrap
    interval: resample the examples with replacement `n_resamples` times (seeded) and take the
    (1 - confidence) / 2 and (1 + confidence) / 2 quantiles. `values` may be 2-D (one row per example).
    Returns (estimate, low, high)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 0 or len(values) == 0:
        raise ValueError("bootstrap_ci needs at least one example")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, not {n_resamples}")
    default = statistic is None
    statistic = statistic or (lambda v: float(np.nanmean(v)))
    estimate = statistic(values)
    rng = np.random.default_rng(seed)
    n = len(values)
    draws = rng.integers(0, n, size=(n_resamples, n))
    if default and values.ndim == 1 and not np.isnan(values).any():
        stats = values[draws].mean(axis=1)  # the default on complete data, vectorised
    else:
        with warnings.catch_warnings():  # a resample may hold no applicable example: NaN, skipped below
            warnings.simplefilter("ignore", RuntimeWarning)
            stats = np.array([statistic(values[row]) for row in draws])
    alpha = (1 - confidence) / 2
    low, high = np.nanquantile(stats, [alpha, 1 - alpha])
    # A bootstrap percentile interval can miss the estimate of a skewed statistic by rounding; keep it inside.
    return float(estimate), float(min(low, estimate)), float(max(high, estimate))


def with_intervals(per_example: Mapping[str, np.ndarray], n_resamples: int = 1000, confidence: float = 0.95,
                   seed: int = 0, statistics: Mapping[str, Callable[[np.ndarray], float]] | None = None
                   ) -> dict[str, float]:
    """`{metric, metric_ci_low, metric_ci_high}` for every per-example metric (the mean, or the
    function in `statistics`), each bootstrapped with the same seed."""
    summary: dict[str, float] = {}
    for name, values in per_example.items():
        statistic = (statistics or {}).get(name)
        estimate, low, high = bootstrap_ci(values, statistic, n_resamples, confidence, seed)
        summary.update({name: estimate, f"{name}_ci_low": low, f"{name}_ci_high": high})
    return summary


def paired_difference_ci(a: Sequence[float], b: Sequence[float], n_resamples: int = 1000,
                         confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over the same examples and its paired bootstrap interval: the fair way to ask
    whether one model beats another on one test set (an interval above 0 says a wins)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired scores must have the same shape, not {a.shape} and {b.shape}")
    return bootstrap_ci(a - b, None, n_resamples, confidence, seed)
