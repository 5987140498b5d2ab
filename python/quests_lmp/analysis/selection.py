"""Choosing what to compute with DFT next: a budget of candidates novel with respect to a training
set and to each other (the paper's information-gain view of active learning).

Candidates are groups of environments: whole structures, or single environments. Each pick is the
group holding the environment of largest dH(x | training set + the groups picked so far); the
picked group's environments then join the reference, so the next pick is novel with respect to it
too. Picking stops at the budget or when no environment is novel (dH > threshold) any more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..engine.information import delta_entropy


@dataclass
class Selection:
    """picks: group indices in pick order; dh: the largest dH of each pick when it was picked
    (nats); novel_fraction: the fraction of all environments with dH > threshold before the first
    pick and after each pick (length len(picks) + 1)."""

    picks: np.ndarray
    dh: np.ndarray
    novel_fraction: np.ndarray


def select_novel(
    x: np.ndarray,
    groups: np.ndarray,
    training_dh: np.ndarray,
    h: float,
    budget: int,
    threshold: float = 0.0,
    centres: np.ndarray | None = None,
    on_pick: Callable[[], None] | None = None,
) -> Selection:
    """Greedy selection of up to `budget` groups of candidate environments (module docstring).

    Parameters
    ----------
    x : (n, d) array, 1/A
        Descriptors of the candidate environments.
    groups : (n,) array of int
        Group (0 .. m-1) of each environment: its structure, or arange(n) for single environments.
    training_dh : (n,) array, nats
        dH of each environment against the training set (+inf where it has nothing to compare).
    h : float, 1/A
        Kernel bandwidth of the dH added by the picks.
    budget : int >= 1
        Most groups to pick.
    threshold : float, nats
        Novel: dH > threshold; picking stops when no environment is novel.
    centres : (n,) array of int, optional
        Atomic numbers of the centres: the picks' environments count by centre (as training_dh).
    on_pick : callable, optional
        Called after each pick (a progress bar).

    Returns
    -------
    Selection

    Raises
    ------
    ValueError
        A budget < 1, or groups / training_dh not one per environment.
    """
    if budget < 1:
        raise ValueError(f"the budget must be at least 1, got {budget}")
    groups, training_dh = np.asarray(groups), np.asarray(training_dh, dtype=np.float64)
    if groups.shape != (len(x),) or training_dh.shape != (len(x),):
        raise ValueError(f"groups and training dH must have one value per environment ({len(x)})")
    log_sums = -training_dh
    picks, picked_dh, fractions = [], [], [float(np.mean(training_dh > threshold))]
    available = np.ones(len(x), dtype=bool)  # environments of groups not picked yet
    while len(picks) < budget:
        dh = np.where(available, -log_sums, -np.inf)
        best = int(np.argmax(dh))
        if not dh[best] > threshold:
            break
        group = groups[best]
        members = np.flatnonzero(groups == group)
        picks.append(int(group))
        picked_dh.append(float(dh[best]))
        available[members] = False
        added = delta_entropy(x, x[members], h, centres, None if centres is None else centres[members])
        log_sums = np.logaddexp(log_sums, -added)
        fractions.append(float(np.mean(-log_sums > threshold)))
        if on_pick is not None:
            on_pick()
    return Selection(np.array(picks, dtype=np.int64), np.array(picked_dh), np.array(fractions))
