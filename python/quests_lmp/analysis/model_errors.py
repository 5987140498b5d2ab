"""dH against a model's errors (the paper's Fig. 4d/e, S20): does dH rank the atoms a potential gets wrong?

Per atom, the force error is |F_model - F_true| (eV/A) and the score its dH (nats). An atom with
error above tau is "badly predicted" (the positive class); an alarm at threshold t flags dH > t.

- running_average: the paper's Fig. 4e (Methods): the finite dH range cut into 20 bins of equal
  length l; each bin averages the errors of the points within 0.75 l of its centre (windows
  overlap: a running average), and gives their maximum (Fig. S20).
- spearman: rank correlation of dH and error (ties share their mean rank).
- auroc: the probability that a random positive has a higher dH than a random negative (ties
  count one half): the Mann-Whitney statistic.
- auprc: average precision: the precision at each distinct dH, taken from the highest down,
  weighted by the recall it adds.
- fit_error_map: the expected force error as a non-decreasing function of dH (an ErrorMap for a
  reference file): the atoms sorted by dH cut into bins of equal count, each bin's mean and upper
  quantile of the error made monotone by isotonic regression (pool-adjacent-violators, weighted
  by the bins' counts), at knots at the bins' mean dH.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from ..engine.calibration import ErrorMap

BINS, REACH = 20, 0.75  # the paper's running average
MAP_BINS, MAP_BIN_ATOMS, MAP_QUANTILE = 20, 50, 0.9  # error map: at most 20 bins of at least 50 atoms; 90%


def force_errors(true, predicted) -> np.ndarray:
    """|F_predicted - F_true| of each atom (eV/A) from (n, 3) arrays; ValueError for other shapes
    or non-finite values."""
    true, predicted = np.asarray(true, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    if true.shape != predicted.shape or true.ndim != 2 or true.shape[1] != 3:
        raise ValueError(f"forces must be (n, 3) arrays of the same shape, got {true.shape} and {predicted.shape}")
    if not (np.all(np.isfinite(true)) and np.all(np.isfinite(predicted))):
        raise ValueError("forces must be finite")
    return np.linalg.norm(predicted - true, axis=1)


def running_average(dh, errors, bins: int = BINS, reach: float = REACH) -> dict:
    """{"centres", "mean", "max", "count"} of the bins over the finite dH range: each bin's
    errors are those of the points within reach * l of its centre (l = range / bins); empty
    bins give NaN mean and max."""
    dh, errors = np.asarray(dh, dtype=np.float64), np.asarray(errors, dtype=np.float64)
    finite = np.isfinite(dh)
    low, high = dh[finite].min(), dh[finite].max()
    length = (high - low) / bins if high > low else 1.0
    centres = low + length * (np.arange(bins) + 0.5)
    mean, largest, count = np.full(bins, np.nan), np.full(bins, np.nan), np.zeros(bins, dtype=np.int64)
    for b, centre in enumerate(centres):
        inside = finite & (np.abs(dh - centre) <= reach * length)
        count[b] = inside.sum()
        if count[b]:
            mean[b], largest[b] = errors[inside].mean(), errors[inside].max()
    return {"centres": centres, "mean": mean, "max": largest, "count": count}


def spearman(a, b) -> float:
    """Spearman's rank correlation (ties share their mean rank); NaN where one side is constant."""
    ra, rb = rankdata(a), rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def auroc(scores, positive) -> float:
    """Area under the ROC curve of `scores` for the boolean `positive` (ties count one half);
    NaN without positives or negatives."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = positive.sum(), (~positive).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auprc(scores, positive) -> float:
    """Average precision of `scores` for the boolean `positive`: sum over the distinct scores,
    highest first, of the precision there times the recall it adds; NaN without positives."""
    scores, positive = np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=bool)
    if not positive.any():
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], positive[order]
    last = np.r_[ranked[1:] != ranked[:-1], True]  # the last row of each run of equal scores
    true_positives = np.cumsum(hits)[last]
    flagged = (np.arange(scores.size) + 1)[last]
    recall_added = np.diff(np.r_[0, true_positives]) / positive.sum()
    return float(np.sum(true_positives / flagged * recall_added))


def alarm_metrics(dh, errors, tau: float, threshold: float) -> dict:
    """How dH ranks and the alarm dH > threshold (nats) flags the atoms with error > tau (eV/A):
    atoms, positives (fraction), Spearman, AUROC, AUPRC, flagged fraction, recall and precision
    of the alarm (NaN where undefined), RMS and largest error (eV/A)."""
    dh, errors = np.asarray(dh, dtype=np.float64), np.asarray(errors, dtype=np.float64)
    positive, flagged = errors > tau, dh > threshold
    hits = np.sum(positive & flagged)
    return {
        "atoms": int(dh.size),
        "positive_fraction": float(positive.mean()),
        "spearman": spearman(dh, errors),
        "auroc": auroc(dh, positive),
        "auprc": auprc(dh, positive),
        "flagged_fraction": float(flagged.mean()),
        "recall": float(hits / positive.sum()) if positive.any() else float("nan"),
        "precision": float(hits / flagged.sum()) if flagged.any() else float("nan"),
        "rms_error": float(np.sqrt(np.mean(errors**2))),
        "max_error": float(errors.max()),
    }


def fit_error_map(
    dh,
    errors,
    bandwidth: float,
    by_centre: bool,
    quantile: float = MAP_QUANTILE,
    bins: int = MAP_BINS,
    bin_atoms: int = MAP_BIN_ATOMS,
    model: str = "",
) -> ErrorMap:
    """The ErrorMap of force errors (eV/A) against dH (nats) computed at `bandwidth` (1/A) and
    species mode `by_centre`: atoms of finite dH sorted by it, cut into min(bins, n // bin_atoms)
    bins of equal count (at least one); per bin its mean dH (the knot), mean error and `quantile`
    of the errors, the last two made non-decreasing by weighted isotonic regression. Bins whose
    mean dH ties with the one before are pooled first. ValueError without finite dH."""
    dh, errors = np.asarray(dh, dtype=np.float64), np.asarray(errors, dtype=np.float64)
    finite = np.isfinite(dh)
    if not finite.any():
        raise ValueError("an error map needs atoms of finite dH")
    order = np.argsort(dh[finite], kind="stable")
    dh, errors = dh[finite][order], errors[finite][order]
    parts = np.array_split(np.arange(dh.size), max(1, min(bins, dh.size // bin_atoms)))
    knots, members = [], []
    for part in parts:
        centre = dh[part].mean()
        if knots and centre <= knots[-1]:  # ties: one knot
            members[-1] = np.r_[members[-1], part]
            knots[-1] = dh[members[-1]].mean()
        else:
            knots.append(centre)
            members.append(part)
    counts = np.array([part.size for part in members], dtype=np.float64)
    mean = non_decreasing([errors[part].mean() for part in members], counts)
    upper = non_decreasing([np.quantile(errors[part], quantile) for part in members], counts)
    return ErrorMap(knots, mean, upper, quantile, bandwidth, by_centre, int(dh.size), model)


def non_decreasing(values, weights) -> np.ndarray:
    """The weighted least-squares non-decreasing fit to `values` (isotonic regression by pooling
    adjacent violators: a run that decreases becomes one level, its weighted mean)."""
    levels, totals, sizes = [], [], []  # per pooled block: mean, weight, number of values
    for value, weight in zip(values, weights):
        levels.append(float(value))
        totals.append(float(weight))
        sizes.append(1)
        while len(levels) > 1 and levels[-2] > levels[-1]:
            weight = totals[-2] + totals[-1]
            levels[-2] = (levels[-2] * totals[-2] + levels[-1] * totals[-1]) / weight
            totals[-2], sizes[-2] = weight, sizes[-2] + sizes[-1]
            del levels[-1], totals[-1], sizes[-1]
    return np.repeat(levels, sizes)
