"""Dataset compression (paper Sec. II.D, Fig. 3c-e): keep the structures that hold the most information.

`random`: a uniformly random subset, as in the paper. `greedy`: start from the structure of highest
entropy, then repeatedly add the structure whose environments are, on average, the most novel with
respect to those already kept (largest mean dH(x | subset)), a greedy ascent of the subset entropy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..engine.information import delta_entropy, entropy

METHODS = ("random", "greedy")


def select_structures(blocks: list[np.ndarray], h: float, size: int, method: str, rng: np.random.Generator,
                      on_selected: Callable[[], None] | None = None, centres: list[np.ndarray] | None = None,
                      mine: range | None = None, gather_all=None) -> np.ndarray:
    """Indices (in selection order) of `size` structures, from their descriptor blocks (1/A).

    `on_selected()`, if given, is called after each structure the greedy method keeps (a progress bar).
    `centres`, the atomic numbers of each block's centre atoms, makes the greedy method's entropies
    and dH by centre (quests_lmp.engine.information).
    Split over processes (MPI ranks), each evaluates the structures `mine` (a range of block
    indices) and `gather_all(work)` returns the list of every process's work(), in order; the
    selection is then the same on every process. Default: one process, all structures.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 1 <= size <= len(blocks):
        raise ValueError(f"the subset size must be between 1 and the number of structures ({len(blocks)}), got {size}")
    if method == "random":
        return np.sort(rng.choice(len(blocks), size, replace=False))
    return _greedy(blocks, h, size, on_selected or (lambda: None), centres or [None] * len(blocks),
                   range(len(blocks)) if mine is None else mine, gather_all or (lambda work: [work()]))


def _greedy(blocks, h, size, on_selected, centres, mine, gather_all):
    """The greedy ascent; this process keeps the log kernel sums of the environments of `mine`."""
    def joined(work):
        return np.concatenate(gather_all(lambda: np.asarray(work(), dtype=np.float64)))

    own = [blocks[i] for i in mine]
    x = np.concatenate(own) if own else np.zeros((0, blocks[0].shape[1]))
    x_centres = None if centres[0] is None or not own else np.concatenate([centres[i] for i in mine])
    owner = np.repeat(np.arange(len(own)), [len(block) for block in own])
    counts = np.array([len(block) for block in own])
    log_sums = np.full(len(x), -np.inf)  # log sum of kernels to the kept environments
    kept = np.zeros(len(blocks), dtype=bool)
    entropies = joined(lambda: [entropy(blocks[i], h, centres[i]) for i in mine])
    order = [int(np.argmax(entropies))]
    while True:
        new = order[-1]
        kept[new] = True
        on_selected()
        if len(order) == size:
            return np.array(order)
        if len(x):
            log_sums = np.logaddexp(log_sums, -delta_entropy(x, blocks[new], h, x_centres, centres[new]))
        mean_dh = joined(lambda: np.bincount(owner, weights=-log_sums, minlength=len(own)) / counts)
        mean_dh[kept] = -np.inf
        order.append(int(np.argmax(mean_dh)))
