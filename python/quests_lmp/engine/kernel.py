"""Sums of Gaussian kernels between descriptor sets, in bounded memory and without underflow.

For test vectors y_i, reference vectors x_j and bandwidths h (1/A), this module computes

    log S_i(h) = log sum_j exp(-|y_i - x_j|^2 / (2 h^2))            (paper Eq. 7)

as  -d2min_i / (2 h^2) + log sum_j exp(-(|y_i - x_j|^2 - d2min_i) / (2 h^2)),  where d2min_i is
the squared distance to the nearest reference vector. The second sum is >= 1, so log S_i is
finite however far y_i lies from the reference (a plain sum underflows to 0 there, giving an
infinite dH).

Work is split into tiles of at most TILE_ROWS test x TILE_COLS reference vectors, so memory is
bounded for any number of vectors. Each worker thread (quests_lmp.engine.workers) takes whole
row tiles: y.x from single-threaded BLAS, then |y - x|^2 = |y|^2 + |x|^2 - 2 y.x and the kernel
sums in compiled code that releases the GIL. The exponentials are evaluated in SIMD code
(quests_lmp.engine.fastexp).

A set against itself (self_kernel_sums, for H, D and the self dH) needs no offset: every sum
holds the member's own term, exactly 1. The kernel matrix is symmetric, so only its upper
triangle of TILE_SIDE x TILE_SIDE tiles is evaluated, each tile once, its terms added both to
its rows' and to its columns' sums: half the work. The tiles are dealt out in a fixed order to
"shares" (MPI ranks) and, within a share, to worker threads, each with sums of its own; the
shares' sums add up to the whole. Only the order of the additions depends on the number of
shares and threads (results agree to about 1e-15 relative, not bitwise).

Precision "single" runs the products y.x in float32 (single-precision BLAS, twice the speed)
on vectors from which the reference's mean was subtracted (smaller norms, smaller rounding),
and the exponentials in float32 SIMD code; the sums stay in float64. The squared distances then
carry a rounding error of at most about SINGLE_ROUNDING |y - mean| |x - mean| (float32 dot products
of 2k-1 = 63 terms), which moves dH by that times 1/(2 h^2). BLAS picks its float32 kernel by the
CPU (AVX2, AVX-512) and by the shape of the product, so a row's rounding also depends on the rows
evaluated with it: two evaluations of the same atoms in other batches agree to twice that bound,
not bitwise. The distance to the nearest reference vector is
recomputed in float64 at the end and its rounding removed in proportion to its term's share of
the sum (to first order): far from the reference, where that term is nearly the whole sum and
dH ~ d2min / (2 h^2) is large, the rounding of dH then no longer grows with dH
(benchmarks/README.md has the measured errors).
"""

from __future__ import annotations

import math
import threading

import numba as nb
import numpy as np

from .fastexp import exp_neg_terms, total, total_and_add
from .validation import check_precision
from .workers import in_blocks, one_blas_thread, worker_pool

TILE_ROWS = 512
TILE_COLS = 8192
TILE_SIDE = 512  # of the square tiles of a set's kernel matrix against itself
# squared distances below this fraction of |y|^2 + |x|^2 are recomputed directly (per precision:
# where cancellation has left fewer digits than the precision's own)
REFINE = {"double": 1e-6, "single": 1e-3}
# relative rounding of a float32 product y.x in units of |y - mean| |x - mean|: the worst case of 63
# terms is 63 * 2^-24 = 3.8e-6; measured at most 3.2e-7 (thermal Cu and Si, AVX-512 sgemm)
SINGLE_ROUNDING = 4e-7


class KernelOperand:
    """A descriptor set made ready for kernel sums in one precision: the matrix BLAS multiplies
    (float64, or float32 after subtracting the set's mean) and its squared row norms (float64).
    A Reference keeps one per precision, so repeated sums (every MD step) redo neither.
    """

    def __init__(self, x: np.ndarray, precision: str = "double"):
        self.precision = check_precision(precision)
        self.source = x  # float64: where the nearest distance of precision single is recomputed
        self.mean = x.mean(axis=0) if precision == "single" else None
        self.values, self.norms = self.prepare(x)

    def prepare(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(matrix, squared row norms) of descriptors y in this operand's precision and frame."""
        if self.mean is None:
            return y, np.einsum("ij,ij->i", y, y)
        values = np.ascontiguousarray(y - self.mean, dtype=np.float32)
        return values, np.einsum("ij,ij->i", values, values, dtype=np.float64)


def log_kernel_sums(y: np.ndarray, x, bandwidths: np.ndarray, precision: str = "double") -> np.ndarray:
    """log sum_j K_h(y_i, x_j) for each row of y and each bandwidth: an (n_y, n_h) array.

    y: C-contiguous float64 descriptor matrix (validated by the caller); x: the same for the
    reference side, or a KernelOperand of it (then its precision applies); bandwidths: 1-D
    float64 array of h in 1/A. Runs on numba.get_num_threads() threads.
    """
    operand = x if isinstance(x, KernelOperand) else KernelOperand(x, precision)
    y_values, y_norms = (operand.values, operand.norms) if y is x else operand.prepare(y)
    x_values, x_norms = operand.values, operand.norms
    refine = REFINE[operand.precision]
    scales = 0.5 / bandwidths**2
    n_col_tiles = -(-x_values.shape[0] // TILE_COLS)
    col_tiles = [slice(c[0], c[-1] + 1) for c in np.array_split(np.arange(x_values.shape[0]), n_col_tiles)]
    result = np.empty((y_values.shape[0], bandwidths.size))

    y_source = operand.source if y is x else y

    def row_tile(rows: slice) -> None:
        nearest = np.full(rows.stop - rows.start, np.inf)
        nearest_column = np.zeros(rows.stop - rows.start, dtype=np.int64)
        sums = np.zeros((rows.stop - rows.start, bandwidths.size))
        for cols in col_tiles:
            tile = y_values[rows] @ x_values[cols].T
            _products_to_sq_distances(tile, y_values[rows], x_values[cols], y_norms[rows], x_norms[cols], refine)
            _accumulate(tile, scales, nearest, sums, nearest_column, cols.start)
        offsets = nearest[:, None]
        if operand.precision == "single":  # the nearest term's rounding, weighted by its share of the sum
            rounding = nearest - _sq_distances_of(y_source[rows], operand.source, nearest_column)
            offsets = nearest[:, None] - rounding[:, None] / sums
        result[rows] = np.log(sums) - offsets * scales[None, :]

    in_blocks(y_values.shape[0], TILE_ROWS, row_tile)
    return result


def self_kernel_sums(
    x: np.ndarray, bandwidths: np.ndarray, share: int = 0, shares: int = 1, progress=None
) -> np.ndarray:
    """sum_j K_h(x_i, x_j) over the whole set, x_i itself included, for each member and each
    bandwidth: an (n, n_h) array, or the part of it from share `share` of `shares` of the tiles
    (module docstring; the parts of all shares add up to the whole, whose sums are >= 1).

    x: float64 descriptor matrix (validated by the caller); bandwidths: 1-D float64 array of h
    in 1/A; progress: None or progress(fraction), called after each tile with the fraction of
    this share's tiles done. Runs in double precision on numba.get_num_threads() threads.
    """
    norms = np.einsum("ij,ij->i", x, x)
    refine, scales = REFINE["double"], 0.5 / bandwidths**2
    n_tiles = -(-x.shape[0] // TILE_SIDE)
    n_mine = len(range(share, n_tiles * (n_tiles + 1) // 2, shares))
    workers = max(1, min(nb.get_num_threads(), n_mine))
    sums = np.zeros((workers, bandwidths.size, x.shape[0]))
    done, lock = [0], threading.Lock()

    def work(worker: int) -> None:
        """Tile pair k (upper triangle, row by row) is share k % shares's; of a share's pairs,
        the j-th is worker j % workers's."""
        buffer = np.empty(TILE_SIDE * TILE_SIDE, dtype=x.dtype)
        k = -1
        for a in range(n_tiles):
            rows = slice(a * TILE_SIDE, min((a + 1) * TILE_SIDE, x.shape[0]))
            for b in range(a, n_tiles):
                k += 1
                if k % shares != share or (k // shares) % workers != worker:
                    continue
                cols = slice(b * TILE_SIDE, min((b + 1) * TILE_SIDE, x.shape[0]))
                tile = buffer[: (rows.stop - rows.start) * (cols.stop - cols.start)].reshape(
                    rows.stop - rows.start, cols.stop - cols.start
                )
                np.dot(x[rows], x[cols].T, out=tile)
                _add_tile(
                    tile,
                    x[rows],
                    x[cols],
                    norms[rows],
                    norms[cols],
                    refine,
                    scales,
                    sums[worker][:, rows],
                    sums[worker][:, cols],
                    a != b,
                )
                if progress is not None:
                    with lock:
                        done[0] += 1
                        progress(done[0] / n_mine)

    with one_blas_thread():
        if workers == 1:
            work(0)
        else:
            list(worker_pool(nb.get_num_threads()).map(work, range(workers)))
    return np.ascontiguousarray(sums.sum(axis=0).T)


def log_sums_from_sq_distances(sq_distances: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """log sum_j exp(-d2_ij / (2 h^2)) over the columns of given squared distances: (n_y, n_h)."""
    scales = 0.5 / bandwidths**2
    nearest = np.full(sq_distances.shape[0], np.inf)
    sums = np.zeros((sq_distances.shape[0], bandwidths.size))
    _accumulate(
        np.ascontiguousarray(sq_distances, dtype=np.float64),
        scales,
        nearest,
        sums,
        np.zeros(sq_distances.shape[0], dtype=np.int64),
        0,
    )
    return np.log(sums) - nearest[:, None] * scales[None, :]  # sums are rescaled to the nearest


@nb.njit(cache=True, nogil=True)
def _sq_distances_of(y, x, columns):
    """|y_i - x_{columns[i]}|^2 in float64, computed directly."""
    out = np.empty(y.shape[0])
    for i in range(y.shape[0]):
        out[i] = sq_distance(y[i], x[columns[i]])
    return out


@nb.njit(cache=True, nogil=True)
def _products_to_sq_distances(products, y, x, y_norms, x_norms, refine):
    """In place: y.x -> |y - x|^2 for every row of a tile (see _row_to_sq_distances)."""
    for i in range(products.shape[0]):
        _row_to_sq_distances(products[i], y[i], x, y_norms[i], x_norms, refine)


@nb.njit(cache=True, nogil=True)
def _row_to_sq_distances(products, y, x, y_norm, x_norms, refine):
    """In place: y.x_j -> |y - x_j|^2 = |y|^2 + |x_j|^2 - 2 y.x_j (float64 arithmetic).

    Where the result is below `refine` times the norms (or negative), cancellation has eaten its
    digits: such pairs (near-duplicates, rare) are recomputed directly, so identical vectors are
    exactly 0 apart and a set's own members contribute exactly 1 to their kernel sums. (The
    imprecise pairs are counted, not flagged: a count vectorises.)
    """
    imprecise = 0
    for j in range(products.shape[0]):
        scale = y_norm + x_norms[j]
        value = scale - 2.0 * products[j]
        products[j] = value
        imprecise += value < refine * scale
    if imprecise:
        for j in range(products.shape[0]):
            if products[j] < refine * (y_norm + x_norms[j]):
                products[j] = sq_distance(y, x[j])


@nb.njit(cache=True, nogil=True)
def sq_distance(a, b):
    """|a - b|^2 of two 1-D vectors, summed directly in float64 (no cancellation)."""
    total = 0.0
    for f in range(a.shape[0]):
        diff = a[f] - b[f]
        total += diff * diff
    return total


@nb.njit(cache=True, nogil=True, fastmath={"nnan", "reassoc"})
def smallest(values):
    """Minimum of a 1-D array of finite numbers and the index of its first occurrence: the minimum
    of each chunk of 1024 is taken in 8 independent lanes (numba vectorises no plain min loop),
    and only the chunk that holds the minimum is searched."""
    best, chunk = np.inf, 0
    lanes = np.empty(8, dtype=values.dtype)
    for start in range(0, values.shape[0], 1024):
        stop = min(start + 1024, values.shape[0])
        lanes[:] = values[start]
        j = start
        while j + 8 <= stop:
            for lane in range(8):
                lanes[lane] = min(lanes[lane], values[j + lane])
            j += 8
        low = lanes.min()
        for rest in range(j, stop):
            low = min(low, values[rest])
        if low < best:
            best, chunk = low, start
    index = chunk
    while index < values.shape[0] - 1 and values[index] != best:
        index += 1
    return best, index


@nb.njit(cache=True, nogil=True)
def _accumulate(sq_distances, scales, nearest, sums, nearest_column, first_column):
    """Adds one tile of kernel terms exp(-d2 * scale) to the running sums of each row (in float32
    SIMD code for a float32 tile, see fastexp.exp_neg_terms).

    When the tile holds a nearer reference than seen so far, the row's sums are first rescaled
    to the new nearest distance, so every sum stays >= 1 once a term is added, and the nearest
    reference's column (first_column + its place in the tile) is kept.
    """
    n_rows, n_cols = sq_distances.shape
    n_h = scales.shape[0]
    terms = np.empty(n_cols, dtype=sq_distances.dtype)  # summed in float64 by total()
    for i in range(n_rows):
        tile_min, column = smallest(sq_distances[i])
        if tile_min < nearest[i]:
            if nearest[i] < np.inf:
                for h in range(n_h):
                    sums[i, h] *= math.exp(-(nearest[i] - tile_min) * scales[h])
            nearest[i] = tile_min
            nearest_column[i] = first_column + column
        for h in range(n_h):
            exp_neg_terms(sq_distances[i], nearest[i], scales[h], terms)
            sums[i, h] += total(terms)


@nb.njit(cache=True, nogil=True)
def _add_tile(products, y, x, y_norms, x_norms, refine, scales, row_sums, column_sums, add_columns):
    """Adds one tile of a set's kernel matrix against itself to the sums (offset 0): each row's
    terms to row_sums[h, i] and, for a tile off the diagonal, to column_sums[h, j] as well."""
    terms = np.empty(products.shape[1], dtype=products.dtype)
    for i in range(products.shape[0]):
        _row_to_sq_distances(products[i], y[i], x, y_norms[i], x_norms, refine)
        for h in range(scales.shape[0]):
            exp_neg_terms(products[i], 0.0, scales[h], terms)
            row_sums[h, i] += total_and_add(terms, column_sums[h]) if add_columns else total(terms)
