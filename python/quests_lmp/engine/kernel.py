"""Sums of Gaussian kernels between descriptor sets, in bounded memory and without underflow.

For test vectors y_i, reference vectors x_j and bandwidths h (1/A), this module computes

    log S_i(h) = log sum_j exp(-|y_i - x_j|^2 / (2 h^2))            (paper Eq. 7)

as  -d2min_i / (2 h^2) + log sum_j exp(-(|y_i - x_j|^2 - d2min_i) / (2 h^2)),  where d2min_i is
the squared distance to the nearest reference vector. The second sum is >= 1, so log S_i is
finite however far y_i lies from the reference (a plain sum underflows to 0 there, giving an
infinite dH).

Work is split into tiles of at most TILE_ROWS test x TILE_COLS reference vectors, so memory is
bounded for any number of vectors. Each worker thread takes whole row tiles: y.x from BLAS
(pinned to one thread, so the two thread pools never compete for cores), then
|y - x|^2 = |y|^2 + |x|^2 - 2 y.x and the kernel sums in compiled code that releases the GIL.
The exponentials are evaluated in SIMD code (quests_lmp.engine.fastexp). The worker threads and
the BLAS thread control are set up once and kept, so a small call (one MD step of a few atoms)
costs little more than its arithmetic.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np
from threadpoolctl import ThreadpoolController

from .fastexp import exp_neg, total

TILE_ROWS = 512
TILE_COLS = 8192
REFINE = 1e-6  # squared distances below this fraction of |y|^2 + |x|^2 are recomputed directly


def log_kernel_sums(y: np.ndarray, x: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """log sum_j K_h(y_i, x_j) for each row of y and each bandwidth: an (n_y, n_h) array.

    y, x: C-contiguous float64 descriptor matrices (validated by the caller);
    bandwidths: 1-D float64 array of h in 1/A. Runs on numba.get_num_threads() threads.
    """
    scales = 0.5 / bandwidths**2
    y_norms = np.einsum("ij,ij->i", y, y)
    x_norms = np.einsum("ij,ij->i", x, x)
    n_col_tiles = -(-x.shape[0] // TILE_COLS)
    col_tiles = [slice(c[0], c[-1] + 1) for c in np.array_split(np.arange(x.shape[0]), n_col_tiles)]
    result = np.empty((y.shape[0], bandwidths.size))

    def row_tile(start: int) -> None:
        rows = slice(start, min(start + TILE_ROWS, y.shape[0]))
        nearest = np.full(rows.stop - rows.start, np.inf)
        sums = np.zeros((rows.stop - rows.start, bandwidths.size))
        for cols in col_tiles:
            tile = y[rows] @ x[cols].T
            _products_to_sq_distances(tile, y[rows], x[cols], y_norms[rows], x_norms[cols])
            _accumulate(tile, scales, nearest, sums)
        result[rows] = _log_sums(nearest, sums, scales)

    starts = range(0, y.shape[0], TILE_ROWS)
    threads = nb.get_num_threads()
    with _one_blas_thread():
        if threads == 1 or len(starts) == 1:  # no hand-over to the pool
            for start in starts:
                row_tile(start)
        else:  # at most one tile per worker at a time, however few tiles there are
            list(_pool(threads).map(row_tile, starts))
    return result


_lock = threading.Lock()
_workers: tuple[int, ThreadPoolExecutor] | None = None  # (size, pool)
_blas: ThreadpoolController | None = None


def _pool(size: int) -> ThreadPoolExecutor:
    """The worker threads of the kernel sums (one per numba thread), kept between calls: new
    threads cost ~1 ms each call. Made anew only when numba's thread count changes."""
    global _workers
    with _lock:
        if _workers is None or _workers[0] != size:
            if _workers is not None:
                _workers[1].shutdown(wait=True)
            _workers = (size, ThreadPoolExecutor(size, thread_name_prefix="quests-kernel"))
        return _workers[1]


def _one_blas_thread():
    """A context in which BLAS runs on one thread: the controller scans the loaded libraries once,
    not at every call (threadpool_limits re-reads /proc/self/maps, about 3 ms)."""
    global _blas
    with _lock:
        if _blas is None:
            _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


def log_sums_from_sq_distances(sq_distances: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """log sum_j exp(-d2_ij / (2 h^2)) over the columns of given squared distances: (n_y, n_h)."""
    scales = 0.5 / bandwidths**2
    nearest = np.full(sq_distances.shape[0], np.inf)
    sums = np.zeros((sq_distances.shape[0], bandwidths.size))
    _accumulate(np.ascontiguousarray(sq_distances, dtype=np.float64), scales, nearest, sums)
    return _log_sums(nearest, sums, scales)


def _log_sums(nearest: np.ndarray, sums: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """log S = log(sum rescaled to the nearest reference) - d2min / (2 h^2)."""
    return np.log(sums) - nearest[:, None] * scales[None, :]


@nb.njit(cache=True, nogil=True)
def _products_to_sq_distances(products, y, x, y_norms, x_norms):
    """In place: y.x -> |y - x|^2 = |y|^2 + |x|^2 - 2 y.x.

    Where the result is small next to the norms (or negative), cancellation has eaten its digits:
    such pairs (near-duplicates, rare) are recomputed directly, so identical vectors are exactly 0
    apart and a set's own members contribute exactly 1 to their kernel sums.
    """
    for i in range(products.shape[0]):
        imprecise = False
        for j in range(products.shape[1]):
            scale = y_norms[i] + x_norms[j]
            value = scale - 2.0 * products[i, j]
            products[i, j] = value
            imprecise |= value < REFINE * scale
        if imprecise:
            for j in range(products.shape[1]):
                if products[i, j] < REFINE * (y_norms[i] + x_norms[j]):
                    products[i, j] = sq_distance(y[i], x[j])


@nb.njit(cache=True, nogil=True)
def sq_distance(a, b):
    """|a - b|^2 of two 1-D vectors, summed directly (no cancellation)."""
    total = 0.0
    for f in range(a.shape[0]):
        diff = a[f] - b[f]
        total += diff * diff
    return total


@nb.njit(cache=True, nogil=True)
def _accumulate(sq_distances, scales, nearest, sums):
    """Adds one tile of kernel terms exp(-d2 * scale) to the running sums of each row.

    When the tile holds a nearer reference than seen so far, the row's sums are first rescaled
    to the new nearest distance, so every sum stays >= 1 once a term is added.
    """
    n_rows, n_cols = sq_distances.shape
    n_h = scales.shape[0]
    terms = np.empty(n_cols)
    for i in range(n_rows):
        tile_min = np.inf
        for j in range(n_cols):
            tile_min = min(tile_min, sq_distances[i, j])
        if tile_min < nearest[i]:
            if nearest[i] < np.inf:
                for h in range(n_h):
                    sums[i, h] *= math.exp(-(nearest[i] - tile_min) * scales[h])
            nearest[i] = tile_min
        for h in range(n_h):
            exp_neg(sq_distances[i], nearest[i], scales[h], terms)
            sums[i, h] += total(terms)
