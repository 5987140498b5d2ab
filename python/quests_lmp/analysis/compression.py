"""Dataset compression (paper Sec. II.D, Fig. 3c-e): keep the structures that hold the most information.

Each method returns structure indices in the order it picks them. The reference package's methods
are defined as there (its quests.compression), in this project's own code:

- `random`: a uniformly random subset, as in the paper (sorted).
- `greedy` (this project's): start from the structure of highest entropy H (its own environments),
  then repeatedly add the structure whose environments are, on average, the most novel with
  respect to those kept (largest mean dH(x | kept)), a greedy ascent of the subset entropy.
- `msc` (most novel, then diverse): start from the highest-H structure, then repeatedly add the
  structure maximising max_x dH(x | kept) + H(structure): its most novel environment plus its own
  diversity. `msc_conditional`: the same with an existing reference counted as kept from the
  start (the first pick is then by the same score, against the reference).
- `fps` (farthest point sampling): start from the highest-H structure, then repeatedly add the
  structure farthest from those kept, the distance of two structures being the mean Euclidean
  distance (1/A) between their environments.
- `mean_fps`: farthest point sampling of the structures' mean descriptors, from a random start.
- `kmeans`: k-means (quests_lmp.engine.kmeans, seeded) of the mean descriptors into `size`
  clusters; of each cluster, the member nearest its centroid (the reference package draws a random
  member and skips its last cluster). Duplicate structures can leave fewer clusters than `size`.

dH here is finite where the reference package's -log(kernel sum) is inf (kernel sums underflow far
from the kept set): the sums are kept as logarithms, so far candidates are still ranked by distance.
By centre (`centres` given), greedy and msc compare environments of the same element only; the
distance methods are species-blind.

Split over processes (MPI ranks, `Split`), each process evaluates the candidates of a block of the
structures and the picks are the same on every process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..engine.information import delta_entropy, entropy
from ..engine.kmeans import kmeans

METHODS = ("greedy", "random", "fps", "mean_fps", "kmeans", "msc", "msc_conditional")
_DISTANCE_ROWS = 8192  # environment rows per block of the fps distances


@dataclass
class Split:
    """Which structures this process evaluates (`mine`, a range of indices) and how the processes'
    results meet: gather_all(work) returns the list of every process's work(), in process order."""

    mine: range
    gather_all: Callable

    @classmethod
    def serial(cls, n: int) -> Split:
        return cls(range(n), lambda work: [work()])

    def joined(self, work) -> np.ndarray:
        """work() (one float per structure of `mine`) of every process, concatenated: all structures."""
        return np.concatenate(self.gather_all(lambda: np.asarray(work(), dtype=np.float64)))


def select_structures(
    blocks: list[np.ndarray],
    h: float,
    size: int,
    method: str,
    rng: np.random.Generator,
    on_selected: Callable[[], None] | None = None,
    centres: list[np.ndarray] | None = None,
    split: Split | None = None,
    reference: tuple[np.ndarray, np.ndarray | None] | None = None,
) -> np.ndarray:
    """Indices (in selection order) of `size` structures, from their descriptor blocks (1/A).

    h: bandwidth (1/A). `on_selected()`, if given, is called after each pick (a progress bar).
    `centres`, the atomic numbers of each block's centre atoms, makes the entropies and dH by
    centre. `split`: this process's share of the work (default: one process). `reference`:
    (descriptors, centres or None) of the existing set of msc_conditional.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 1 <= size <= len(blocks):
        raise ValueError(f"the subset size must be between 1 and the number of structures ({len(blocks)}), got {size}")
    if (reference is not None) != (method == "msc_conditional"):
        raise ValueError("msc_conditional needs a reference (the existing set) and the other methods take none")
    split = split or Split.serial(len(blocks))
    on_selected = on_selected or (lambda: None)
    centres = centres or [None] * len(blocks)
    if method == "random":
        return np.sort(rng.choice(len(blocks), size, replace=False))
    if method == "mean_fps":
        return farthest_points(
            np.array([block.mean(axis=0) for block in blocks]), size, int(rng.integers(len(blocks))), on_selected
        )
    if method == "kmeans":
        return _nearest_to_centroids(np.array([block.mean(axis=0) for block in blocks]), size, int(rng.integers(2**31)))
    own = _Own(blocks, centres, split.mine)
    entropies = split.joined(lambda: [entropy(blocks[i], h, centres[i]) for i in split.mine])

    def own_entropies():
        return entropies[own.indices]

    if method == "fps":
        return _ascent(len(blocks), size, split, own_entropies, *_fps(own, blocks), on_selected)
    sums = _KernelSums(own, h)

    def add(new):
        sums.add(blocks[new], centres[new])

    if method == "greedy":
        return _ascent(len(blocks), size, split, own_entropies, lambda: own.mean(sums.dh), add, on_selected)

    def novelty():
        return own.max(sums.dh) + own_entropies()

    if method == "msc":
        return _ascent(len(blocks), size, split, own_entropies, novelty, add, on_selected)
    sums.add(*reference)  # msc_conditional: the reference is kept from the start
    return _ascent(len(blocks), size, split, novelty, novelty, add, on_selected)


class _Own:
    """The structures a process evaluates: their environments stacked (x, centres) and per-structure
    reductions of per-environment values."""

    def __init__(self, blocks, centres, mine: range):
        self.indices = np.arange(mine.start, mine.stop)
        own = [blocks[i] for i in mine]
        self.x = np.concatenate(own) if own else np.zeros((0, blocks[0].shape[1]))
        self.centres = None if centres[0] is None or not own else np.concatenate([centres[i] for i in mine])
        self.counts = np.array([len(block) for block in own], dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(self.counts)[:-1])).astype(np.int64)

    def mean(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.starts) / self.counts if len(self.counts) else np.zeros(0)

    def max(self, values: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(values, self.starts) if len(self.counts) else np.zeros(0)


class _KernelSums:
    """log sum_j K_h(x, kept_j) of each own environment over the kept set, grown by add."""

    def __init__(self, own: _Own, h: float):
        self.own, self.h = own, h
        self.log_sums = np.full(len(own.x), -np.inf)

    @property
    def dh(self) -> np.ndarray:
        """dH(x | kept) of each own environment (nats; +inf while nothing is kept)."""
        return -self.log_sums

    def add(self, x: np.ndarray, x_centres: np.ndarray | None) -> None:
        if len(self.own.x):
            self.log_sums = np.logaddexp(
                self.log_sums, -delta_entropy(self.own.x, x, self.h, self.own.centres, x_centres)
            )


def _ascent(n: int, size: int, split: Split, first_scores, scores, add, on_selected) -> np.ndarray:
    """Picks the structure of largest first_scores(), then, after add(pick), of largest scores(),
    until `size` are kept (scores: one per structure of split.mine, joined over the processes)."""
    kept = np.zeros(n, dtype=bool)
    order = []
    while True:
        values = split.joined(scores if order else first_scores)
        values[kept] = -np.inf
        order.append(int(np.argmax(values)))
        kept[order[-1]] = True
        on_selected()
        if len(order) == size:
            return np.array(order)
        add(order[-1])


def _fps(own: _Own, blocks):
    """(scores, add) of farthest point sampling: the distance of each own structure to the kept set
    (the smallest of its mean environment distances to each kept structure)."""
    nearest = np.full(len(own.counts), np.inf)
    norms = np.einsum("ij,ij->i", own.x, own.x)

    def add(new):
        block = blocks[new]
        block_norms = np.einsum("ij,ij->i", block, block)
        means = np.empty(len(own.x))
        for start in range(0, len(own.x), _DISTANCE_ROWS):
            rows = slice(start, start + _DISTANCE_ROWS)
            squared = norms[rows, None] + block_norms[None, :] - 2.0 * own.x[rows] @ block.T
            means[rows] = np.sqrt(np.maximum(squared, 0.0)).mean(axis=1)
        nearest[:] = np.minimum(nearest, own.mean(means))

    return lambda: nearest, add


def farthest_points(points: np.ndarray, size: int, start: int, on_selected) -> np.ndarray:
    """Farthest point sampling of points (Euclidean) from `start`: each pick is the point farthest
    from those picked."""
    order = [start]
    nearest = np.full(len(points), np.inf)
    on_selected()
    while len(order) < size:
        nearest = np.minimum(nearest, np.linalg.norm(points - points[order[-1]], axis=1))
        nearest[order] = -np.inf
        order.append(int(np.argmax(nearest)))
        on_selected()
    return np.array(order)


def _nearest_to_centroids(points: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Of each k-means cluster of the points, the member nearest its centroid (cluster order)."""
    labels, centroids = kmeans(points, size, seed)
    distances = np.linalg.norm(points - centroids[labels], axis=1)
    return np.array([np.flatnonzero(labels == c)[np.argmin(distances[labels == c])] for c in range(len(centroids))])
