"""Certified approximate dH against large references: a cluster index whose partial kernel sums
carry a bound on what they leave out.

dH(y) = -log S(y), S(y) = sum_j exp(-|y - x_j|^2 / (2 h^2)) (paper Eqs. 6-7). The index cuts the
reference into k-means clusters (quests_lmp.engine.kmeans), and each cluster into shells of at
most SHELL_SIZE members by distance to its centroid c: a shell ("unit") holds the members with
r_lo <= |x - c| <= r_hi. By the triangle inequality every member x of a unit satisfies

    |y - x| >= b = max(0, |y - c| - r_hi, r_lo - |y - c|),

so the unit adds at most count * exp(-b^2 / (2 h^2)) to S. A query sums the exact terms of
whole units, nearest first, and stops as soon as the bound U on the units not visited is at most
(e^eps - 1) times the partial sum P:

    dH_exact <= -log P <= dH_exact + log(1 + U / P) <= dH_exact + eps       (the certificate).

The reported -log P is never below the exact dH (beyond float rounding, below) and never above it
by more than eps (default 0.1 nats). A query also stops once -log P <= stop_below (default
-1 nats): its exact dH is then below that too, so the novelty decision (dH > 0) is settled and
deeply covered atoms, most atoms of an MD frame, cost a few units.

The work is batched as inside MD, where thousands of similar atoms visit the same units: every
query first visits the FIRST_UNITS shells of its nearest cluster nearest its own radius (most
covered atoms stop there); the others then order all units (by bound, and the units with bound 0
by |y - c|^2 + r_lo^2, the distance expected in high dimension) and proceed in rounds of
FIRST_STEP, 2 FIRST_STEP, ... MAX_STEP units each. In each round the queries that visit a unit
share its member reads in one float32 GEMM (centroid subtracted from both sides, so the vectors
are short); the exponentials are float32 SIMD code and the sums float64.

Rounding: squared distances |y - c|^2 + |x - c|^2 - 2 (y - c).(x - c) in float32 carry about
1e-7 (|y - c|^2 + |x - c|^2), which moves dH by that times 1/(2 h^2): for Cu at h = 0.015 1/A
at most 1e-4 nats below the exact value (benchmarks/README.md), and in general about 1e-4 nats
plus 1e-6 |dH| (the tests' bound; far from the reference the distances themselves are large). The
GEMM's summation order depends on how many queries share a unit, so values agree between MPI rank
counts to that rounding rather than bitwise.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .fastexp import exp_neg, exp_neg_single, total
from .kmeans import kmeans
from .workers import in_blocks

SHELL_SIZE = 256  # members per unit at most
DEFAULT_CERTIFICATE = 0.1  # nats: largest over-estimate of dH allowed
STOP_BELOW = -1.0  # nats: a query stops once its dH is certainly below this
FIRST_UNITS = 4
FIRST_STEP = 8
MAX_STEP = 256
QUERY_BLOCK = 4096  # queries per worker call
PLAN_BYTES = 64 << 20  # memory for the unit orders of the queries left after their first units
ARRAYS = ("centroids", "members", "member_norms", "unit_start", "unit_cluster", "unit_radii")
_ZERO_BINS = 16  # bucket-sort bins of the units with bound 0 (by expected distance)
_BINS = 256  # all bins; the last one takes every unit beyond the others


class ClusterIndex:
    """Clusters and shells of a reference's descriptors, in the arrays a reference file stores.

    centroids (m, d) float64, 1/A; members (n, d) float32, each x - c in unit order;
    member_norms (n,) float64, |x - c|^2 of the float32 values; unit_start (u + 1,) int64, the
    first member of each unit; unit_cluster (u,) int64, non-decreasing; unit_radii (u, 2)
    float64, [r_lo, r_hi] of each unit in 1/A. Raises ValueError if they are inconsistent (an
    index in compiled loops must never read out of bounds).
    """

    def __init__(self, centroids, members, member_norms, unit_start, unit_cluster, unit_radii):
        self.centroids, self.members, self.member_norms = centroids, members, member_norms
        self.unit_start, self.unit_cluster, self.unit_radii = unit_start, unit_cluster, unit_radii
        self._check()
        self.cluster_units = np.searchsorted(unit_cluster, np.arange(centroids.shape[0] + 1))
        self.unit_lo = np.ascontiguousarray(unit_radii[:, 0])
        self.unit_hi = np.ascontiguousarray(unit_radii[:, 1])
        self.centroid_norms = np.einsum("ij,ij->i", centroids, centroids)

    @classmethod
    def build(
        cls, x: np.ndarray, n_clusters: int | None = None, shell_size: int = SHELL_SIZE, seed: int = 0
    ) -> ClusterIndex:
        """Index of reference descriptors x ((n, d) float64, 1/A): sqrt(n) clusters by default."""
        n = x.shape[0]
        n_clusters = min(n, n_clusters or max(1, round(math.sqrt(n))))
        labels, centroids = kmeans(x, n_clusters, seed)
        offsets = x - centroids[labels]
        radii = np.sqrt(np.einsum("ij,ij->i", offsets, offsets))
        order = np.lexsort((radii, labels))  # by cluster, then by radius
        sizes = np.bincount(labels, minlength=centroids.shape[0])
        shells = -(-sizes // shell_size)
        rank = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # position within the cluster
        sorted_labels = labels[order]
        unit = np.repeat(np.cumsum(shells) - shells, sizes) + rank * shells[sorted_labels] // sizes[sorted_labels]
        unit_start = np.concatenate(([0], np.cumsum(np.bincount(unit)))).astype(np.int64)
        members = offsets[order].astype(np.float32)
        r = radii[order]
        return cls(
            centroids,
            members,
            np.einsum("ij,ij->i", members, members, dtype=np.float64),
            unit_start,
            np.repeat(np.arange(centroids.shape[0]), shells).astype(np.int64),
            np.column_stack([np.minimum.reduceat(r, unit_start[:-1]), np.maximum.reduceat(r, unit_start[:-1])]),
        )

    @classmethod
    def from_arrays(cls, arrays: dict) -> ClusterIndex:
        """The index from the arrays of `arrays()` (as read from a file); ValueError if inconsistent."""
        return cls(*(arrays[name] for name in ARRAYS))

    def arrays(self) -> dict[str, np.ndarray]:
        """The index's arrays by name, as a reference file stores them."""
        return {name: getattr(self, name) for name in ARRAYS}

    @property
    def n_clusters(self) -> int:
        return self.centroids.shape[0]

    @property
    def n_units(self) -> int:
        return self.unit_cluster.shape[0]

    def delta_entropy(
        self,
        y: np.ndarray,
        bandwidths: np.ndarray,
        certificate: float = DEFAULT_CERTIFICATE,
        stop_below: float = STOP_BELOW,
    ) -> np.ndarray:
        """Certified dH (nats) of test descriptors y ((n, d) float64, C-contiguous), an (n, n_h)
        array for the 1-D float64 bandwidths (1/A): within `certificate` nats above the exact
        value wherever that is above `stop_below`, <= stop_below elsewhere (module docstring).
        Runs on numba.get_num_threads() threads."""
        slack = _slack(certificate)
        dh = np.empty((y.shape[0], bandwidths.size))

        def run(rows: slice) -> None:
            distances = self._centroid_distances(y[rows])  # the same for every bandwidth
            for column, h in enumerate(bandwidths):
                dh[rows, column] = -self._log_sums(y[rows], distances, 0.5 / h**2, slack, -stop_below)

        in_blocks(y.shape[0], _block_of(y.shape[0]), run)
        return dh

    def delta_entropy_and_gradient(
        self, y: np.ndarray, h: float, certificate: float = DEFAULT_CERTIFICATE, stop_below: float = STOP_BELOW
    ) -> tuple[np.ndarray, np.ndarray]:
        """dH (nats) of y ((n, d) float64, C-contiguous) as delta_entropy for one bandwidth h
        (1/A), and its gradient with respect to y (nats * A): that of the same partial sum,
        -d log P/dy = (y - sum_visited K_j x_j / P) / h^2, the visited units held fixed. Here the
        terms are float64 (x_j = centroid + the stored float32 offset), so the value is a smooth
        function of y between changes of the visited set, at twice the float32 cost."""
        slack = _slack(certificate)
        dh, moments = np.empty(y.shape[0]), np.zeros(y.shape)

        def run(rows: slice) -> None:
            distances = self._centroid_distances(y[rows])
            dh[rows] = -self._log_sums(y[rows], distances, 0.5 / h**2, slack, -stop_below, moments[rows])

        in_blocks(y.shape[0], _block_of(y.shape[0]), run)
        return dh, (y - moments) / (h * h)

    def _centroid_distances(self, y: np.ndarray) -> np.ndarray:
        """|y - c| of each query to each cluster centroid (1/A)."""
        return np.sqrt(
            np.maximum(
                0.0, np.einsum("ij,ij->i", y, y)[:, None] + self.centroid_norms[None, :] - 2.0 * (y @ self.centroids.T)
            )
        )

    def _log_sums(
        self,
        y: np.ndarray,
        distances: np.ndarray,
        scale: float,
        slack: float,
        stop_log: float,
        moments: np.ndarray | None = None,
    ) -> np.ndarray:
        """log P of each query: partial kernel sums, certified to slack = log(e^eps - 1). With
        `moments` ((n, d) zeros), the terms are float64 and moments gets sum K_j x_j / P."""
        n = y.shape[0]
        nearest, sums = np.full(n, np.inf), np.zeros(n)
        moments = np.zeros((0, y.shape[1])) if moments is None else moments
        first = np.empty((n, FIRST_UNITS), dtype=np.int64)
        _first_units(distances, self.cluster_units, self.unit_lo, self.unit_hi, first)
        visited = first >= 0
        self._visit(first[visited], np.nonzero(visited)[0], y, scale, nearest, sums, moments)
        rest = np.flatnonzero(np.log(sums) - nearest * scale < stop_log)
        chunk = max(16, PLAN_BYTES // (12 * self.n_units))
        for start in range(0, rest.size, chunk):
            self._rounds(
                rest[start : start + chunk], distances, first, y, scale, slack, stop_log, nearest, sums, moments
            )
        if moments.shape[0]:
            moments /= sums[:, None]
        return np.log(sums) - nearest * scale

    def _rounds(self, queries, distances, first, y, scale, slack, stop_log, nearest, sums, moments) -> None:
        """Visits units for `queries` in their planned order until each is certified or stopped."""
        order = np.empty((queries.size, self.n_units), dtype=np.int32)
        bound_after = np.empty((queries.size, self.n_units + 1))
        lowest, planned = np.empty(queries.size), np.empty(queries.size, dtype=np.int64)
        _plan(
            distances,
            queries,
            first,
            self.unit_cluster,
            self.unit_lo,
            self.unit_hi,
            self.unit_start,
            scale,
            order,
            bound_after,
            lowest,
            planned,
        )
        position = np.zeros(queries.size, dtype=np.int64)
        active = np.arange(queries.size)
        step = FIRST_STEP
        while active.size:
            stop = np.minimum(position[active] + step, planned[active])
            counts = stop - position[active]
            owner = np.repeat(active, counts)
            offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            self._visit(
                order[owner, position[owner] + offset].astype(np.int64),
                queries[owner],
                y,
                scale,
                nearest,
                sums,
                moments,
            )
            position[active] = stop
            log_p = np.log(sums[queries[active]]) - nearest[queries[active]] * scale
            with np.errstate(divide="ignore"):
                log_u = np.log(bound_after[active, stop]) - lowest[active] * scale
            done = (log_p >= stop_log) | (stop >= planned[active]) | (log_u - log_p <= slack)
            active = active[~done]
            step = min(2 * step, MAX_STEP)

    def _visit(self, units, queries, y, scale, nearest, sums, moments) -> None:
        _visit_units(
            units,
            queries,
            y,
            self.centroids,
            self.members,
            self.member_norms,
            self.unit_start,
            self.unit_cluster,
            scale,
            nearest,
            sums,
            moments,
        )

    def _check(self) -> None:
        shapes_ok = (
            self.centroids.ndim == 2
            and self.centroids.dtype == np.float64
            and self.members.ndim == 2
            and self.members.dtype == np.float32
            and self.members.shape[1] == self.centroids.shape[1]
            and self.unit_cluster.ndim == 1
            and self.unit_cluster.dtype == np.int64
            and self.unit_start.shape == (self.unit_cluster.size + 1,)
            and self.unit_start.dtype == np.int64
            and self.member_norms.shape == (self.members.shape[0],)
            and self.member_norms.dtype == np.float64
            and self.unit_radii.shape == (self.unit_cluster.size, 2)
            and self.unit_radii.dtype == np.float64
        )
        if not shapes_ok or min(self.centroids.shape[0], self.unit_cluster.size, self.members.shape[0]) == 0:
            raise ValueError("its arrays are inconsistent (shapes or types)")
        steps = np.diff(self.unit_cluster)
        problems = [
            (
                self.unit_start[0] != 0
                or self.unit_start[-1] != self.members.shape[0]
                or np.any(np.diff(self.unit_start) <= 0),
                "unit starts",
            ),
            (
                self.unit_cluster[0] != 0
                or self.unit_cluster[-1] != self.centroids.shape[0] - 1
                or np.any(steps < 0)
                or np.any(steps > 1),
                "unit clusters",
            ),
            (
                not np.all(np.isfinite(self.unit_radii))
                or np.any(self.unit_radii[:, 0] < 0)
                or np.any(self.unit_radii[:, 0] > self.unit_radii[:, 1]),
                "unit radii",
            ),
            (not np.all(np.isfinite(self.centroids)), "centroids"),
        ]
        if bad := [name for failed, name in problems if failed]:
            raise ValueError(f"its arrays are inconsistent ({', '.join(bad)})")


def _block_of(n: int) -> int:
    """Queries per worker call: n shared by the threads, at most QUERY_BLOCK."""
    return max(1, min(QUERY_BLOCK, -(-n // nb.get_num_threads())))


def _slack(certificate: float) -> float:
    """log(e^eps - 1) of a certificate eps (nats); -inf for 0 (sum until nothing is left)."""
    return math.log(math.expm1(certificate)) if certificate > 0 else -math.inf


@nb.njit(cache=True, nogil=True)
def _first_units(distances, cluster_units, unit_lo, unit_hi, first):
    """For each query, the FIRST_UNITS shells of its nearest cluster nearest to its radius there
    (-1 where the cluster has fewer)."""
    first[:] = -1
    for q in range(distances.shape[0]):
        c = 0
        for k in range(1, distances.shape[1]):
            if distances[q, k] < distances[q, c]:
                c = k
        radius = distances[q, c]
        begin, end = cluster_units[c], cluster_units[c + 1]
        right = begin
        while right < end - 1 and unit_hi[right] < radius:
            right += 1
        left = right - 1
        for n in range(min(first.shape[1], end - begin)):
            gap_left = radius - unit_hi[left] if left >= begin else np.inf
            gap_right = unit_lo[right] - radius if right < end else np.inf
            if gap_left <= gap_right:
                first[q, n] = left
                left -= 1
            else:
                first[q, n] = right
                right += 1


@nb.njit(cache=True, nogil=True)
def _plan(
    distances,
    queries,
    first,
    unit_cluster,
    unit_lo,
    unit_hi,
    unit_start,
    scale,
    order,
    bound_after,
    lowest_bound,
    planned,
):
    """For each query: the units not visited yet in visiting order, and after each position the
    bound on the kernel mass of the units that follow, bound_after * exp(-lowest_bound * scale)."""
    n_units = unit_cluster.shape[0]
    bound_sq = np.empty(n_units)
    expected = np.empty(n_units)
    mass = np.empty(n_units)
    bins = np.empty(n_units, dtype=np.int64)
    counts = np.empty(_BINS, dtype=np.int64)
    for r in range(queries.shape[0]):
        q = queries[r]
        for u in range(n_units):
            radius = distances[q, unit_cluster[u]]
            gap = max(0.0, radius - unit_hi[u], unit_lo[u] - radius)
            bound_sq[u] = gap * gap
            expected[u] = radius * radius + unit_lo[u] * unit_lo[u]
        for k in range(first.shape[1]):
            if first[q, k] >= 0:
                bound_sq[first[q, k]] = np.inf
        lowest, closest = np.inf, np.inf
        for u in range(n_units):
            lowest = min(lowest, bound_sq[u])
            if bound_sq[u] < np.inf:
                closest = min(closest, expected[u])
        lowest_bound[r] = lowest
        exp_neg(bound_sq, lowest, scale, mass)
        counts[:] = 0
        for u in range(n_units):
            if bound_sq[u] == np.inf:
                bins[u] = -1
                continue
            if bound_sq[u] == 0.0:
                b = min(int((expected[u] - closest) * scale), _ZERO_BINS - 1)
            else:
                b = min(_ZERO_BINS + int(4.0 * math.sqrt((bound_sq[u] - lowest) * scale)), _BINS - 1)
            bins[u] = b
            counts[b] += 1
            mass[u] *= unit_start[u + 1] - unit_start[u]
        filled = 0
        for b in range(_BINS):
            size = counts[b]
            counts[b] = filled
            filled += size
        planned[r] = filled
        for u in range(n_units):
            if bins[u] >= 0:
                order[r, counts[bins[u]]] = u
                counts[bins[u]] += 1
        remaining = 0.0
        bound_after[r, filled] = 0.0
        for t in range(filled - 1, -1, -1):
            remaining += mass[order[r, t]]
            bound_after[r, t] = remaining


@nb.njit(cache=True, nogil=True)
def _group_by_unit(units, queries, n_units, unit_start):
    """The pairs (units[p], queries[p]) grouped by unit: (starts, grouped), unit u's queries being
    grouped[starts[u]:starts[u + 1]]; and the most queries and members of any unit."""
    starts = np.zeros(n_units + 1, dtype=np.int64)
    for p in range(units.shape[0]):
        starts[units[p] + 1] += 1
    widest, longest = 0, 0
    for u in range(n_units):
        widest = max(widest, starts[u + 1])
        longest = max(longest, unit_start[u + 1] - unit_start[u])
        starts[u + 1] += starts[u]
    fill = starts[:-1].copy()
    grouped = np.empty(units.shape[0], dtype=np.int64)
    for p in range(units.shape[0]):
        grouped[fill[units[p]]] = queries[p]
        fill[units[p]] += 1
    return starts, grouped, widest, longest


@nb.njit(cache=True, nogil=True)
def _rescale(q, tile_min, scale, nearest, sums, moments):
    """Moves query q's sum (and moments, if it has rows) to the reference point tile_min where
    that is nearer than the one it has."""
    if tile_min < nearest[q]:
        if nearest[q] < np.inf:
            factor = math.exp(-(nearest[q] - tile_min) * scale)
            sums[q] *= factor
            for f in range(moments.shape[1] if moments.shape[0] else 0):
                moments[q, f] *= factor
        nearest[q] = tile_min


@nb.njit(cache=True, nogil=True)
def _visit_units(
    units, queries, y, centroids, members, member_norms, unit_start, unit_cluster, scale, nearest, sums, moments
):
    """Adds the exact kernel terms of unit units[p] to query queries[p]'s sum, for every pair p,
    one GEMM per unit over the queries that visit it (rescaling each sum to the nearest squared
    distance seen, as quests_lmp.engine.kernel does, so nothing underflows). float32 GEMM and
    terms; float64 ones, with sum_j K_j x_j added to moments, where moments has rows."""
    n_units = unit_cluster.shape[0]
    d = y.shape[1]
    if moments.shape[0]:
        _visit_units_double(
            units, queries, y, centroids, members, member_norms, unit_start, unit_cluster, scale, nearest, sums, moments
        )
        return
    starts, grouped, widest, longest = _group_by_unit(units, queries, n_units, unit_start)
    block = np.empty((widest, d), dtype=np.float32)
    norms = np.empty(widest, dtype=np.float32)
    sq = np.empty(longest, dtype=np.float32)
    terms = np.empty(longest, dtype=np.float32)
    for u in range(n_units):
        a, b = starts[u], starts[u + 1]
        if a == b:
            continue
        c = unit_cluster[u]
        for i in range(b - a):
            q = grouped[a + i]
            norm = 0.0
            for f in range(d):
                value = np.float32(y[q, f] - centroids[c, f])
                block[i, f] = value
                norm += np.float64(value) * value
            norms[i] = norm
        m0, m1 = unit_start[u], unit_start[u + 1]
        count = m1 - m0
        products = np.dot(block[: b - a], members[m0:m1].T)
        for i in range(b - a):
            q = grouped[a + i]
            row = products[i]
            for j in range(count):
                sq[j] = max(norms[i] + np.float32(member_norms[m0 + j]) - np.float32(2.0) * row[j], np.float32(0.0))
            tile_min = np.float64(sq[0])
            for j in range(1, count):
                tile_min = min(tile_min, np.float64(sq[j]))
            _rescale(q, tile_min, scale, nearest, sums, moments)
            exp_neg_single(sq[:count], nearest[q], scale, terms[:count])
            sums[q] += total(terms[:count])


# The float64 twin of _visit_units, a deliberate pair: the forces of a bias need the partial sums and
# their moments in float64 (engine/bias.py), the plain query keeps float32's speed.
@nb.njit(cache=True, nogil=True)
def _visit_units_double(
    units, queries, y, centroids, members, member_norms, unit_start, unit_cluster, scale, nearest, sums, moments
):
    """_visit_units in float64 (members x_j = centroid + the stored float32 offset), adding
    sum_j K_j x_j to moments as well."""
    n_units = unit_cluster.shape[0]
    d = y.shape[1]
    starts, grouped, widest, longest = _group_by_unit(units, queries, n_units, unit_start)
    block = np.empty((widest, d))
    norms = np.empty(widest)
    sq = np.empty(longest)
    terms = np.empty(longest)
    for u in range(n_units):
        a, b = starts[u], starts[u + 1]
        if a == b:
            continue
        c = unit_cluster[u]
        for i in range(b - a):
            q = grouped[a + i]
            for f in range(d):
                block[i, f] = y[q, f] - centroids[c, f]
            norms[i] = np.dot(block[i], block[i])
        m0, m1 = unit_start[u], unit_start[u + 1]
        count = m1 - m0
        offsets = members[m0:m1].astype(np.float64)
        products = np.dot(block[: b - a], offsets.T)
        for i in range(b - a):
            q = grouped[a + i]
            for j in range(count):
                sq[j] = max(norms[i] + member_norms[m0 + j] - 2.0 * products[i, j], 0.0)
            _rescale(q, sq[:count].min(), scale, nearest, sums, moments)
            exp_neg(sq[:count], nearest[q], scale, terms[:count])
            weights = terms[:count]
            mass = weights.sum()
            sums[q] += mass
            moments[q] += mass * centroids[c] + np.dot(weights, offsets)
