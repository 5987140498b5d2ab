"""Approximate dH through nearest neighbors in descriptor space (SI Eqs. S18-S19, pynndescent).

dH(Y|X) ~= -log sum_{X_j in N_m(Y)} K_h(Y, X_j) keeps only the m nearest reference vectors that an
approximate nearest-neighbor graph finds. Every dropped term is positive, so this is a
conservative estimate: it is never below the exact dH (up to rounding), and a neighbor missed by
the search (recall < 1) only raises it further. The kernel terms of the neighbors found are
evaluated exactly in float64 (pynndescent itself works in float32).

How large the overestimate is depends on how many reference vectors share the kernel mass. Deep
inside a dense reference (dH << 0) thousands of them do, and any truncation overestimates by the
log of the mass left out; near the novelty threshold (dH ~ 0) a few neighbors dominate and the
error is small. Measured on thermal FCC Cu (32,000 reference environments, h = 0.015 1/A, test
frame at twice the noise; benchmarks/README.md): with the defaults (128 neighbors, a search graph
of degree 30) recall is 0.997 and environments with exact dH > -1 are overestimated by 0.07 nats
on median (0.9 at the 99th percentile); no novel environment was reported as covered. The
reference package's 3 neighbors overestimate the same environments by 1.4 nats on median.

pynndescent compiles its graph code with numba on first use (minutes on a cold machine); this
module switches numba's on-disk cache on for pynndescent's module-level functions, so later
processes load them instead. Its `nn_descent` cannot be cached (numba refuses: dynamic globals)
and is still compiled once per process (about 13 s on 2 cores).
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings

import numba as nb
import numpy as np

from .kernel import log_sums_from_sq_distances, sq_distance

DEFAULT_NEIGHBORS = 128  # reference vectors kept per test vector
DEFAULT_GRAPH_NEIGHBORS = 30  # degree of the search graph built over the reference
SEARCH_EPSILON = 0.1  # pynndescent's search breadth, as in the paper's Methods
QUERY_BATCH = 16384  # test vectors per query, to bound memory


class ApproximateIndex:
    """Nearest-neighbor search graph over reference descriptors, built once and reused."""

    def __init__(self, reference: np.ndarray, graph_neighbors: int = DEFAULT_GRAPH_NEIGHBORS, seed: int = 0):
        pynndescent = _pynndescent_with_cache()
        self.reference = reference
        self.graph_neighbors = max(2, min(int(graph_neighbors), reference.shape[0] - 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._index = pynndescent.NNDescent(
                reference, n_neighbors=self.graph_neighbors, random_state=seed, n_jobs=nb.get_num_threads()
            )
            self._index.prepare()

    def neighbors(self, y: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices (n_y, m) of the m approximate nearest reference vectors, and their exact
        squared distances (A^-2) in float64."""
        count = min(int(count), self.reference.shape[0])
        indices, _ = self._index.query(y, k=count, epsilon=SEARCH_EPSILON)
        sq_distances = _sq_distances_to(y, self.reference, indices)
        return indices, sq_distances

    def delta_entropy(self, y: np.ndarray, bandwidths: np.ndarray, count: int = DEFAULT_NEIGHBORS) -> np.ndarray:
        """Approximate dH (nats), an (n_y, n_h) array, from the m nearest neighbors found."""
        dh = np.empty((y.shape[0], bandwidths.size))
        for start in range(0, y.shape[0], QUERY_BATCH):
            batch = slice(start, start + QUERY_BATCH)
            _, sq_distances = self.neighbors(y[batch], count)
            dh[batch] = -log_sums_from_sq_distances(sq_distances, bandwidths)
        return dh


@nb.njit(cache=True, parallel=True)
def _sq_distances_to(y, x, indices):
    """|y_i - x_{indices[i, j]}|^2 computed directly (no cancellation)."""
    out = np.empty(indices.shape)
    for i in nb.prange(indices.shape[0]):
        for j in range(indices.shape[1]):
            out[i, j] = sq_distance(y[i], x[indices[i, j]])
    return out


_CACHE_ENABLED = False


def _pynndescent_with_cache():
    """Imports pynndescent with numba's on-disk cache switched on for its compiled functions."""
    global _CACHE_ENABLED
    import pynndescent
    from numba.core.dispatcher import Dispatcher

    if not _CACHE_ENABLED:
        for info in pkgutil.iter_modules(pynndescent.__path__):
            module = importlib.import_module(f"pynndescent.{info.name}")
            for obj in vars(module).values():
                if isinstance(obj, Dispatcher) and type(obj._cache).__name__ == "NullCache":
                    obj.enable_caching()
        _CACHE_ENABLED = True
    return pynndescent
