"""How well a training set covers itself, model-free: held-out dH and a calibrated alarm threshold.

Every environment of a training set is in its domain. Held out, it shows what dH in-domain
environments get when they are not in the reference:

- k folds by structure: the structures of each group (configuration family, an extxyz info key)
  are shuffled and dealt to k folds in turn; each environment's dH is taken against the
  environments of the structures in the other folds (never its own structure's neighbors in
  the same frame, which would be near copies).
- leave one group out: each group's environments against all other groups: how new a family
  is to the rest of the set (a family that stands alone is all novel).

The threshold for a target in-domain false-alarm rate a is the (1 - a) quantile of the k-fold
held-out dH (the inverted empirical CDF: the smallest held-out value with at most a fraction a of
the held-out values above it). An MD atom above it is then as unusual as the a least covered
training environments were. The paper's dH > 0 is the threshold that needs no calibration;
calibration says which false-alarm rate it has for this set and bandwidth, and moves it where a
sparse set calls many of its own environments novel.
"""

from __future__ import annotations

import numpy as np

from ..engine.calibration import Calibration
from ..engine.information import delta_entropy

DEFAULT_FOLDS = 5
DEFAULT_FALSE_ALARM = 0.05
QUANTILES = (0.5, 0.9, 0.99)


def structure_folds(groups, folds: int = DEFAULT_FOLDS, seed: int = 0) -> np.ndarray:
    """Fold number (0 .. folds-1) of each structure: within each group (labels, one per structure)
    the structures are shuffled and dealt to the folds in turn, each group starting where the
    previous one stopped, so every fold holds about 1/folds of every group and of the set.

    ValueError for fewer than 2 folds or fewer structures than folds."""
    groups = np.asarray(groups)
    if folds < 2:
        raise ValueError(f"folds must be >= 2 (held-out dH needs a rest to compare with), got {folds}")
    if groups.size < folds:
        raise ValueError(
            f"{groups.size} structures cannot be split into {folds} folds: use --folds {groups.size} or "
            "fewer, or more structures"
        )
    rng = np.random.default_rng(seed)
    fold = np.empty(groups.size, dtype=np.int64)
    start = 0
    for label in sorted(set(groups.tolist())):
        members = rng.permutation(np.flatnonzero(groups == label))
        fold[members] = (start + np.arange(members.size)) % folds
        start = (start + members.size) % folds
    return fold


def held_out_dh(x, parts, h, centres=None, rows=None) -> np.ndarray:
    """dH (nats) of environments against the environments of the other parts (folds or groups).

    x: (n, d) descriptors, 1/A; parts: (n,) part number (or label) of each environment; h: 1/A,
    or a list (then (m, n_h)); centres: (n,) atomic numbers for dH by centre, or None; rows: the
    environments to compute (indices, e.g. one MPI rank's block), all by default. Infinite by
    centre where the other parts lack the element; ValueError where only one part exists.
    """
    x, parts = np.asarray(x), np.asarray(parts)
    rows = np.arange(len(x)) if rows is None else np.asarray(rows)
    labels = np.unique(parts)
    if labels.size < 2:
        raise ValueError("held-out dH needs at least two parts (folds or groups)")
    scalar = np.ndim(h) == 0
    out = np.empty((rows.size,) if scalar else (rows.size, len(h)))
    for label in labels:
        mine = parts[rows] == label
        if not mine.any():
            continue
        rest = parts != label
        test = rows[mine]
        out[mine] = delta_entropy(
            x[test], x[rest], h, None if centres is None else centres[test], None if centres is None else centres[rest]
        )
    return out


def false_alarm_threshold(dh, rate: float) -> float:
    """nats: the smallest held-out value t with at most a fraction `rate` of dh above it (the
    (1 - rate) quantile, inverted empirical CDF). ValueError for a rate outside (0, 1)."""
    if not 0 < rate < 1:
        raise ValueError(f"the false-alarm rate must be in (0, 1), got {rate}")
    return float(np.quantile(np.asarray(dh, dtype=np.float64), 1.0 - rate, method="inverted_cdf"))


def group_table(groups, structures, held_out, left_out, threshold: float) -> dict:
    """Per group label (and "all"): structures, environments, and of the k-fold held-out dH the
    fraction above 0 and above the threshold and its QUANTILES and maximum; of the
    leave-group-out dH (None with one group) the same fractions and median."""

    def summary(rows):
        part = held_out[rows]
        row = {
            "structures": int(np.unique(structures[rows]).size),
            "environments": int(rows.sum()),
            "novel_fraction": float(np.mean(part > 0)),
            "flagged_fraction": float(np.mean(part > threshold)),
            **{f"q{round(100 * q)}": float(np.quantile(part, q)) for q in QUANTILES},
            "max": float(part.max()),
        }
        if left_out is not None:
            other = left_out[rows]
            row.update(
                {
                    "left_out_novel_fraction": float(np.mean(other > 0)),
                    "left_out_flagged_fraction": float(np.mean(other > threshold)),
                    "left_out_median": float(np.median(other)),
                }
            )
        return row

    groups = np.asarray(groups)
    table = {str(label): summary(groups == label) for label in sorted(set(groups.tolist()))}
    table["all"] = summary(np.ones(groups.size, dtype=bool))
    return table


def calibration_of(held_out, left_out, groups, structures, false_alarm: float, **settings) -> Calibration:
    """The Calibration of computed held-out dH (k folds) and leave-group-out dH (None with one
    group) of environments with their group labels and structure numbers; settings: bandwidth,
    folds, seed, by_centre, group_key."""
    threshold = false_alarm_threshold(held_out, false_alarm)
    return Calibration(
        threshold=threshold,
        false_alarm=float(false_alarm),
        held_out_zero=float(np.mean(np.asarray(held_out) > 0)),
        groups=group_table(groups, structures, held_out, left_out, threshold),
        **settings,
    )


def calibrate(
    x,
    structures,
    structure_groups,
    h: float,
    folds: int = DEFAULT_FOLDS,
    false_alarm: float = DEFAULT_FALSE_ALARM,
    seed: int = 0,
    centres=None,
    group_key: str = "config_type",
) -> tuple[Calibration, np.ndarray, np.ndarray | None]:
    """A training set's calibration, with the held-out dH it comes from.

    x: (n, d) descriptors, 1/A; structures: (n,) structure number of each environment (0 ..
    s-1); structure_groups: (s,) group label of each structure; h: 1/A; centres: (n,) atomic
    numbers for dH by centre. Returns (Calibration, k-fold held-out dH, leave-group-out dH or
    None with one group), in nats.
    """
    structures = np.asarray(structures)
    structure_groups = np.asarray(structure_groups)
    groups = structure_groups[structures]
    held_out = held_out_dh(x, structure_folds(structure_groups, folds, seed)[structures], h, centres)
    left_out = held_out_dh(x, groups, h, centres) if np.unique(groups).size > 1 else None
    return (
        calibration_of(
            held_out,
            left_out,
            groups,
            structures,
            false_alarm,
            bandwidth=float(h),
            folds=folds,
            seed=seed,
            by_centre=centres is not None,
            group_key=group_key,
        ),
        held_out,
        left_out,
    )
