"""Dataset compression (paper Sec. II.D, Fig. 3c-e): keep the structures that hold the most information.

`random`: a uniformly random subset, as in the paper. `greedy`: start from the structure of highest
entropy, then repeatedly add the structure whose environments are, on average, the most novel with
respect to those already kept (largest mean dH(x | subset)), a greedy ascent of the subset entropy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..engine.information import entropy
from ..engine.kernel import log_kernel_sums

METHODS = ("random", "greedy")


def select_structures(blocks: list[np.ndarray], h: float, size: int, method: str, rng: np.random.Generator,
                      on_selected: Callable[[], None] | None = None) -> np.ndarray:
    """Indices (in selection order) of `size` structures, from their descriptor blocks (1/A).

    `on_selected()`, if given, is called after each structure the greedy method keeps (a progress bar).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 1 <= size <= len(blocks):
        raise ValueError(f"the subset size must be between 1 and the number of structures ({len(blocks)}), got {size}")
    if method == "random":
        return np.sort(rng.choice(len(blocks), size, replace=False))
    return _greedy(blocks, h, size, on_selected or (lambda: None))


def _greedy(blocks, h, size, on_selected):
    x = np.concatenate(blocks)
    owner = np.repeat(np.arange(len(blocks)), [len(block) for block in blocks])
    counts = np.bincount(owner, minlength=len(blocks))
    bandwidth = np.array([h])
    log_sums = np.full(len(x), -np.inf)  # log sum of kernels to the kept environments
    kept = np.zeros(len(blocks), dtype=bool)
    order = [int(np.argmax([entropy(block, h) for block in blocks]))]
    while True:
        new = order[-1]
        kept[new] = True
        on_selected()
        if len(order) == size:
            return np.array(order)
        log_sums = np.logaddexp(log_sums, log_kernel_sums(x, blocks[new], bandwidth)[:, 0])
        mean_dh = np.bincount(owner, weights=-log_sums, minlength=len(blocks)) / counts
        mean_dh[kept] = -np.inf
        order.append(int(np.argmax(mean_dh)))
