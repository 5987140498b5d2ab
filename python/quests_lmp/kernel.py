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
Terms smaller than exp(-SKIP) relative to the nearest one are below double precision for any
realistic reference size and are not evaluated.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np
from threadpoolctl import threadpool_limits

TILE_ROWS = 512
TILE_COLS = 8192
SKIP = 60.0  # exp(-60) = 9e-27: negligible next to the nearest term (>= 1)


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
            _products_to_sq_distances(tile, y_norms[rows], x_norms[cols])
            _accumulate(tile, scales, nearest, sums)
        result[rows] = np.log(sums) - nearest[:, None] * scales[None, :]

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(nb.get_num_threads()) as pool:
        list(pool.map(row_tile, range(0, y.shape[0], TILE_ROWS)))
    return result


def log_sums_from_sq_distances(sq_distances: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """log sum_j exp(-d2_ij / (2 h^2)) over the columns of given squared distances: (n_y, n_h)."""
    scales = 0.5 / bandwidths**2
    nearest = np.full(sq_distances.shape[0], np.inf)
    sums = np.zeros((sq_distances.shape[0], bandwidths.size))
    _accumulate(np.ascontiguousarray(sq_distances, dtype=np.float64), scales, nearest, sums)
    return np.log(sums) - nearest[:, None] * scales[None, :]


@nb.njit(cache=True, nogil=True)
def _products_to_sq_distances(products, y_norms, x_norms):
    """In place: y.x -> |y - x|^2 = |y|^2 + |x|^2 - 2 y.x, clipped at 0 against rounding."""
    for i in range(products.shape[0]):
        for j in range(products.shape[1]):
            products[i, j] = max(y_norms[i] + x_norms[j] - 2.0 * products[i, j], 0.0)


@nb.njit(cache=True, nogil=True)
def _accumulate(sq_distances, scales, nearest, sums):
    """Adds one tile of kernel terms exp(-d2 * scale) to the running sums of each row.

    When the tile holds a nearer reference than seen so far, the row's sums are first rescaled
    to the new nearest distance, so every sum stays >= 1 once a term is added.
    """
    n_rows, n_cols = sq_distances.shape
    n_h = scales.shape[0]
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
            limit = SKIP / scales[h] + nearest[i]
            total = 0.0
            for j in range(n_cols):
                d2 = sq_distances[i, j]
                if d2 < limit:
                    total += math.exp(-(d2 - nearest[i]) * scales[h])
            sums[i, h] += total
