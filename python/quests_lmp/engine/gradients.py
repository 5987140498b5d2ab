"""Analytic gradients of descriptors and of dH with respect to atomic positions (issue 14, item 1).

With s(r) = 1 - (r/rc)^2 = sqrt(w(r)) for r < rc (quests_lmp.engine.descriptor):

    X1_a = s(r_a)^2 / r_a                       r_a = |p_a - p_i|, neighbor a of centre i
    X2_n = (1/k) sum_a c_{a, b(a, n)}            b(a, n): the partner of a's n-th largest cross term
    c_ab = s(r_a) s(r_b) / |p_a - p_b|

so dX1_a/dr_a = -4 s/rc^2 - s^2/r^2 along the bond, and dc_ab follows from ds/dr = -2r/rc^2 and
d(1/r)/dr = -1/r^2. Against a reference Y, exact dH_i = -log sum_j K(x_i, y_j) with the Gaussian
kernel of bandwidth h (paper Eqs. 6-7), and d dH_i/dx_i = (x_i - sum_j K_ij y_j / sum_j K_ij) / h^2.

Where these are not derivatives: the order of neighbors and of cross terms is held fixed, so the
gradients are those of the piece the positions lie in. The descriptor is continuous but not
differentiable where two neighbor distances tie at the k-th place (the k-th neighbor changes;
continuous only because X1 and the cross terms are sorted), and where two cross terms of one
neighbor tie; there the code takes one order (distance, then point index for neighbors, as the
evaluation; for cross terms equal to within a few ulps, the order of their partner-tagged sort
keys, see _descriptor_vjp), a one-sided derivative. A
neighbor crossing the cutoff enters smoothly: s and ds/dr vanish at rc. Thermal positions meet
none of these points except on a set of measure zero.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from .deprecation import renamed_function, renamed_keywords
from .descriptor import _CHUNK, MIN_DISTANCE, Descriptor, _as_centre_indices, _sort_columns_descending, _sorting_network
from .fastexp import exp_neg, total
from .kernel import REFINE, TILE_COLS, TILE_ROWS, _products_to_sq_distances, smallest
from .validation import as_descriptors, as_positions, check_bandwidths
from .workers import in_blocks


@renamed_keywords(centers="centre_indices")
def describe_with_neighbors(descriptor: Descriptor, points, centre_indices) -> tuple[np.ndarray, np.ndarray]:
    """Descriptor.compute_points, and the neighbor lists descriptor_vjp takes (so that it need
    not search again): ((n_centres, 2k - 1) descriptors in 1/A, (n_centres, k + 1) int64 rows
    of the neighbor count, then the neighbors' point indices). ValueError as compute_points,
    and for a descriptor other than the species-blind Descriptor."""
    if type(descriptor) is not Descriptor:
        raise ValueError("gradients are implemented for the species-blind Descriptor only")
    points = as_positions(points, "points")
    return descriptor._describe_with_neighbors(points, _as_centre_indices(centre_indices, len(points)))


@renamed_keywords(centers="centre_indices", neighbours="neighbors")
def descriptor_vjp(descriptor: Descriptor, points, centre_indices, weights, neighbors=None) -> np.ndarray:
    """Gradient of sum_c sum_f weights[c, f] X[c, f] with respect to every point (vector-Jacobian
    product of the species-blind descriptor).

    Parameters
    ----------
    descriptor : Descriptor
        k and cutoff (A).
    points : (n, 3) array, A
        Owned atoms, then ghosts, as for Descriptor.compute_points.
    centre_indices : int or 1-D array of int
        The described points (as for Descriptor.compute_points).
    weights : (n_centres, 2k - 1) array
        d(something)/dX per centre and feature (units of the something times A).
    neighbors : (n_centres, k + 1) int64 array, optional
        The neighbor lists of describe_with_neighbors for these points and centres; found here
        by a descriptor pass if not given.

    Returns
    -------
    (n, 3) float64 array: d(sum weights * X)/d(points), per A of displacement; ghosts get the
    share of their own position (to be summed onto their owners).

    Raises
    ------
    ValueError
        As Descriptor.compute_points, weights not of shape (n_centres, 2k - 1), or neighbors
        not of shape (n_centres, k + 1).
    """
    if type(descriptor) is not Descriptor:
        raise ValueError("gradients are implemented for the species-blind Descriptor only")
    if neighbors is None:
        neighbors = describe_with_neighbors(descriptor, points, centre_indices)[1]
    points = as_positions(points, "points")
    centre_indices = _as_centre_indices(centre_indices, len(points))
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    if weights.shape != (len(centre_indices), descriptor.n_features):
        raise ValueError(
            f"weights must have shape ({len(centre_indices)}, {descriptor.n_features}), got {weights.shape}"
        )
    if neighbors.shape != (len(centre_indices), descriptor.k + 1) or neighbors.dtype != np.int64:
        raise ValueError(
            f"neighbors must be the ({len(centre_indices)}, {descriptor.k + 1}) int64 lists of describe_with_neighbors"
        )
    gradient = np.zeros((len(points), 3))
    if len(centre_indices):
        touched, parts = _descriptor_vjp(
            points,
            centre_indices,
            descriptor.k,
            descriptor.cutoff,
            weights,
            _sorting_network(descriptor.k - 1),
            neighbors,
        )
        flat, parts = touched.ravel(), parts.reshape(-1, 3)
        for d in range(3):  # sums the parts of each point (np.add.at, 2x faster)
            gradient[:, d] = np.bincount(flat, parts[:, d], minlength=len(points))
    return gradient


class DhGradient(NamedTuple):
    """dH of test environments (n,), nats, and its gradient with respect to their descriptors
    (n, d), nats * A."""

    dh: np.ndarray
    gradient: np.ndarray


def dh_and_gradient(y, x, h: float) -> DhGradient:
    """Exact dH(y_i | X) (nats, Eq. 6) and its gradient with respect to y_i (A), for test
    descriptors y (n, d) against reference descriptors x (N, d), both in 1/A, at bandwidth h (1/A).

    Returns
    -------
    DhGradient (dh, gradient): (n,) nats and (n, d) nats * A. Finite for any y: the kernel sums are taken
    relative to each row's nearest reference vector, so nothing underflows. Computed in the tiles
    of quests_lmp.engine.kernel with one more product per tile (terms @ reference), on
    numba.get_num_threads() threads.

    Raises
    ------
    ValueError
        Descriptors of different widths, empty or non-finite; a bad bandwidth.
    """
    y, x = as_descriptors(y, "test descriptors"), as_descriptors(x, "reference descriptors")
    if y.shape[1] != x.shape[1]:
        raise ValueError(f"descriptors of different widths: {y.shape[1]} and {x.shape[1]}")
    h = float(check_bandwidths(h)[0][0])
    scale = 0.5 / (h * h)
    x_norms, y_norms = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", y, y)
    col_tiles = [slice(c[0], c[-1] + 1) for c in np.array_split(np.arange(len(x)), -(-len(x) // TILE_COLS))]
    nearest, sums, moments = np.full(len(y), np.inf), np.zeros(len(y)), np.zeros_like(y)
    x_t = np.ascontiguousarray(x.T)

    def row_tile(rows: slice) -> None:
        for cols in col_tiles:
            tile = y[rows] @ x[cols].T
            _products_to_sq_distances(tile, y[rows], x[cols], y_norms[rows], x_norms[cols], REFINE["double"])
            factors = _tile_terms(tile, scale, nearest[rows], sums[rows])  # tile: the terms now
            moments[rows] *= factors[:, None]
            moments[rows] += (x_t[:, cols] @ tile.T).T  # as tile @ x[cols]; BLAS is faster this way round

    in_blocks(len(y), TILE_ROWS, row_tile)
    return DhGradient(nearest * scale - np.log(sums), (y - moments / sums[:, None]) / (h * h))


@nb.njit(cache=True, nogil=True)
def _tile_terms(tile, scale, nearest, sums):
    """In place: squared distances -> kernel terms exp(-(d2 - nearest) * scale), each row's sum
    (and its nearest distance) moved to a nearer reference first where the tile holds one (as
    quests_lmp.engine.kernel); returns the factor each row's earlier terms were rescaled by."""
    factors = np.ones(tile.shape[0])
    terms = np.empty(tile.shape[1])  # exp_neg vectorises with its output apart from its input
    for i in range(tile.shape[0]):
        tile_min, _ = smallest(tile[i])
        if tile_min < nearest[i]:
            if nearest[i] < np.inf:
                factors[i] = math.exp(-(nearest[i] - tile_min) * scale)
                sums[i] *= factors[i]
            nearest[i] = tile_min
        exp_neg(tile[i], nearest[i], scale, terms)
        tile[i] = terms
        sums[i] += total(terms)
    return factors


@nb.njit(cache=True, parallel=True)
def _descriptor_vjp(points, centre_indices, k, cutoff, weights, network, neighbors):
    """Per centre, the points its descriptor depends on (centre first, then its neighbors, padded
    to k + 1 with point 0 and zero parts) and the gradient parts of sum weights * X there.

    Each neighbor's cross terms are sorted as the descriptor sorts them (the same comparator
    network), as int64 keys: the bits of a positive float64 order as the float does, and the
    lowest bits, replaced by the partner's place, say which pair each sorted term is (an
    alteration of a few ulps, which can only reorder terms equal to within it). Each pair's
    weight, the sum of the weights of the two places it takes, then multiplies its derivative
    once."""
    n_centres = centre_indices.shape[0]
    touched = np.zeros((n_centres, k + 1), dtype=np.int64)
    parts = np.zeros((n_centres, k + 1, 3))
    inv_rc2 = 1.0 / (cutoff * cutoff)
    width_sorted = max(k - 1, 1)
    bits = 1
    while (1 << bits) < k:
        bits += 1
    mask = np.int64((1 << bits) - 1)
    n_chunks = (n_centres + _CHUNK - 1) // _CHUNK
    for chunk in nb.prange(n_chunks):
        shrink = np.empty(k)  # s(r_a)
        bond = np.empty((k, 3))  # p_a - p_i
        inverse_r = np.empty((k, k))  # 1 / |p_a - p_b|
        pair_weight = np.empty((k, k))  # weight of c_ab from a's sorted column
        cross = np.empty((width_sorted, k))
        keys = cross.view(np.int64)
        filled = np.empty(k, dtype=np.int64)
        own_a, centre = np.empty(3), np.empty(3)  # one neighbor's and the centre's parts of its pairs
        for c in range(chunk * _CHUNK, min((chunk + 1) * _CHUNK, n_centres)):
            i = centre_indices[c]
            m = neighbors[c, 0]
            touched[c, 0] = i
            for a in range(m):
                j = neighbors[c, a + 1]
                touched[c, a + 1] = j
                dist2 = 0.0
                for d in range(3):
                    bond[a, d] = points[j, d] - points[i, d]
                    dist2 += bond[a, d] * bond[a, d]
                r = max(math.sqrt(dist2), MIN_DISTANCE)
                s = 1.0 - dist2 * inv_rc2
                shrink[a] = s
                slope = (-4.0 * s * inv_rc2 - s * s / (r * r)) * weights[c, a] / r  # dX1_a/dr_a, per unit bond
                for d in range(3):
                    parts[c, a + 1, d] += slope * bond[a, d]
                    parts[c, 0, d] -= slope * bond[a, d]
                filled[a] = 0
            for a in range(m):
                for b in range(a + 1, m):
                    r_ab = 0.0
                    for d in range(3):
                        r_ab += (bond[a, d] - bond[b, d]) ** 2
                    inverse = 1.0 / max(math.sqrt(r_ab), MIN_DISTANCE)
                    inverse_r[a, b] = inverse
                    cross[filled[a], a] = shrink[a] * shrink[b] * inverse
                    keys[filled[a], a] = (keys[filled[a], a] & ~mask) | b
                    filled[a] += 1
                    cross[filled[b], b] = shrink[a] * shrink[b] * inverse
                    keys[filled[b], b] = (keys[filled[b], b] & ~mask) | a
                    filled[b] += 1
            for n in range(max(m - 1, 0), width_sorted):  # missing neighbors: zeros, sorted last
                for a in range(m):
                    keys[n, a] = 0
            _sort_columns_descending(keys, network, m)
            for a in range(m):
                for b in range(m):
                    pair_weight[a, b] = 0.0
            for n in range(m - 1):
                g = weights[c, k + n] / k
                for a in range(m):
                    pair_weight[a, keys[n, a] & mask] += g
            for a in range(m):
                own_a[:] = 0.0
                centre[:] = 0.0
                for b in range(a + 1, m):
                    g = pair_weight[a, b] + pair_weight[b, a]
                    inverse = inverse_r[a, b]
                    # c_ab = s_a s_b / r_ab; ds_a/dp_a = -2 bond_a / rc^2 (and the opposite on the centre)
                    da = -2.0 * inv_rc2 * shrink[b] * inverse * g
                    db = -2.0 * inv_rc2 * shrink[a] * inverse * g
                    dr = -shrink[a] * shrink[b] * inverse * inverse * inverse * g  # times (p_a - p_b)
                    for d in range(3):
                        along = bond[a, d] - bond[b, d]
                        own_a[d] += da * bond[a, d] + dr * along
                        parts[c, b + 1, d] += db * bond[b, d] - dr * along
                        centre[d] -= da * bond[a, d] + db * bond[b, d]
                for d in range(3):
                    parts[c, a + 1, d] += own_a[d]
                    parts[c, 0, d] += centre[d]
    return touched, parts


describe_with_neighbours = renamed_function(describe_with_neighbors, "describe_with_neighbours")
