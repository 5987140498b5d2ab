"""Analytic gradients of descriptors and of dH with respect to atomic positions (issue 14, item 1).

With s(r) = 1 - (r/rc)^2 = sqrt(w(r)) for r < rc (quests_lmp.engine.descriptor):

    X1_a = s(r_a)^2 / r_a                       r_a = |p_a - p_i|, neighbour a of centre i
    X2_n = (1/k) sum_a c_{a, b(a, n)}            b(a, n): the partner of a's n-th largest cross term
    c_ab = s(r_a) s(r_b) / |p_a - p_b|

so dX1_a/dr_a = -4 s/rc^2 - s^2/r^2 along the bond, and dc_ab follows from ds/dr = -2r/rc^2 and
d(1/r)/dr = -1/r^2. Against a reference Y, exact dH_i = -log sum_j K(x_i, y_j) with the Gaussian
kernel of bandwidth h (paper Eqs. 6-7), and d dH_i/dx_i = (x_i - sum_j K_ij y_j / sum_j K_ij) / h^2.

Where these are not derivatives: the order of neighbours and of cross terms is held fixed, so the
gradients are those of the piece the positions lie in. The descriptor is continuous but not
differentiable where two neighbour distances tie at the k-th place (the k-th neighbour changes;
continuous only because X1 and the cross terms are sorted), and where two cross terms of one
neighbour tie; there the code takes the order of the evaluation (distance, then point index for
neighbours; the first of equal cross terms in the sorted order), a one-sided derivative. A
neighbour crossing the cutoff enters smoothly: s and ds/dr vanish at rc. Thermal positions meet
none of these points except on a set of measure zero.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .descriptor import MIN_DISTANCE, Descriptor, _bin_points, _center_indices, _nearest_within
from .fastexp import exp_neg
from .validation import as_descriptors, as_positions, check_bandwidths

_ROWS = 1024  # test descriptors per block of the kernel matrix in dh_and_gradient


def descriptor_vjp(descriptor: Descriptor, points, centers, weights) -> np.ndarray:
    """Gradient of sum_c sum_f weights[c, f] X[c, f] with respect to every point (vector-Jacobian
    product of the species-blind descriptor).

    Parameters
    ----------
    descriptor : Descriptor
        k and cutoff (A).
    points : (n, 3) array, A
        Owned atoms, then ghosts, as for Descriptor.compute_points.
    centers : int or 1-D array of int
        The described points (as for Descriptor.compute_points).
    weights : (n_centers, 2k - 1) array
        d(something)/dX per centre and feature (units of the something times A).

    Returns
    -------
    (n, 3) float64 array: d(sum weights * X)/d(points), per A of displacement; ghosts get the
    share of their own position (to be summed onto their owners).

    Raises
    ------
    ValueError
        As Descriptor.compute_points, or weights not of shape (n_centers, 2k - 1).
    """
    if type(descriptor) is not Descriptor:
        raise ValueError("gradients are implemented for the species-blind Descriptor only")
    points = as_positions(points, "points")
    centers = _center_indices(centers, len(points))
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    if weights.shape != (len(centers), descriptor.n_features):
        raise ValueError(f"weights must have shape ({len(centers)}, {descriptor.n_features}), got {weights.shape}")
    gradient = np.zeros((len(points), 3))
    if len(centers):
        touched, parts = _descriptor_vjp(points, centers, descriptor.k, descriptor.cutoff, weights)
        np.add.at(gradient, touched.ravel(), parts.reshape(-1, 3))
    return gradient


def dh_and_gradient(y, x, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact dH(y_i | X) (nats, Eq. 6) and its gradient with respect to y_i (A).

    Parameters
    ----------
    y : (n, d) array, 1/A
        Test descriptors.
    x : (N, d) array, 1/A
        Reference descriptors.
    h : float, 1/A
        Kernel bandwidth.

    Returns
    -------
    (dh, gradient): (n,) nats and (n, d) nats * A. Finite for any y: the kernel sums are taken
    relative to each row's nearest reference vector, so nothing underflows.

    Raises
    ------
    ValueError
        Descriptors of different widths, empty or non-finite; a bad bandwidth.
    """
    y, x = as_descriptors(y, "test descriptors"), as_descriptors(x, "reference descriptors")
    if y.shape[1] != x.shape[1]:
        raise ValueError(f"descriptors of different widths: {y.shape[1]} and {x.shape[1]}")
    h = float(check_bandwidths(h)[0][0])
    dh, gradient = np.empty(len(y)), np.empty_like(y)
    x_norms = np.einsum("ij,ij->i", x, x)
    for start in range(0, len(y), _ROWS):
        rows = y[start:start + _ROWS]
        d2 = np.einsum("ij,ij->i", rows, rows)[:, None] + x_norms[None, :] - 2.0 * rows @ x.T
        np.maximum(d2, 0.0, out=d2)
        nearest = d2.min(axis=1)
        kernel = _kernel_rows(d2, nearest, 1.0 / (2.0 * h * h))  # <= 1, the nearest term is 1
        sums = kernel.sum(axis=1)
        dh[start:start + len(rows)] = nearest / (2.0 * h * h) - np.log(sums)
        gradient[start:start + len(rows)] = (rows - (kernel @ x) / sums[:, None]) / (h * h)
    return dh, gradient


@nb.njit(cache=True, parallel=True)
def _kernel_rows(d2, nearest, scale):
    """exp(-(d2[i, j] - nearest[i]) * scale), row by row in SIMD code (quests_lmp.engine.fastexp)."""
    kernel = np.empty_like(d2)
    for i in nb.prange(d2.shape[0]):
        exp_neg(d2[i], nearest[i], scale, kernel[i])
    return kernel


@nb.njit(cache=True, parallel=True)
def _descriptor_vjp(points, centers, k, cutoff, weights):
    """Per centre, the points its descriptor depends on (centre first, then its neighbours, padded
    to k + 1 with point 0 and zero parts) and the gradient parts of sum weights * X there."""
    n_centers = centers.shape[0]
    touched = np.zeros((n_centers, k + 1), dtype=np.int64)
    parts = np.zeros((n_centers, k + 1, 3))
    lower, width, counts, start, order = _bin_points(points, cutoff)
    inv_rc2 = 1.0 / (cutoff * cutoff)
    for c in nb.prange(n_centers):
        dist2 = np.empty(k)
        index = np.empty(k, dtype=np.int64)
        i = centers[c]
        m = _nearest_within(points, i, cutoff, k, lower, width, counts, start, order, dist2, index)
        touched[c, 0] = i
        shrink = np.empty(k)  # s(r_a)
        bond = np.empty((k, 3))  # p_a - p_i
        for a in range(m):
            touched[c, a + 1] = index[a]
            for d in range(3):
                bond[a, d] = points[index[a], d] - points[i, d]
            r = max(math.sqrt(dist2[a]), MIN_DISTANCE)
            s = 1.0 - dist2[a] * inv_rc2
            shrink[a] = s
            slope = (-4.0 * s * inv_rc2 - s * s / (r * r)) * weights[c, a] / r  # dX1_a/dr_a, per unit bond
            for d in range(3):
                parts[c, a + 1, d] += slope * bond[a, d]
                parts[c, 0, d] -= slope * bond[a, d]
        values = np.empty(max(m - 1, 1))
        partner = np.empty(max(m - 1, 1), dtype=np.int64)
        for a in range(m):
            filled = 0
            for b in range(m):  # a's cross terms, sorted largest first with their partners
                if b == a:
                    continue
                r_ab = 0.0
                for d in range(3):
                    r_ab += (bond[a, d] - bond[b, d]) ** 2
                value = shrink[a] * shrink[b] / max(math.sqrt(r_ab), MIN_DISTANCE)
                pos = filled
                while pos > 0 and values[pos - 1] < value:
                    values[pos] = values[pos - 1]
                    partner[pos] = partner[pos - 1]
                    pos -= 1
                values[pos] = value
                partner[pos] = b
                filled += 1
            for n in range(m - 1):
                g = weights[c, k + n] / k
                if g == 0.0:
                    continue
                b = partner[n]
                r_ab = 0.0
                for d in range(3):
                    r_ab += (bond[a, d] - bond[b, d]) ** 2
                r_ab = max(math.sqrt(r_ab), MIN_DISTANCE)
                # c_ab = s_a s_b / r_ab; ds_a/dp_a = -2 bond_a / rc^2 (and the opposite on the centre)
                da = -2.0 * inv_rc2 * shrink[b] / r_ab * g
                db = -2.0 * inv_rc2 * shrink[a] / r_ab * g
                dr = -shrink[a] * shrink[b] / (r_ab * r_ab * r_ab) * g  # times (p_a - p_b)
                for d in range(3):
                    along = bond[a, d] - bond[b, d]
                    parts[c, a + 1, d] += da * bond[a, d] + dr * along
                    parts[c, b + 1, d] += db * bond[b, d] - dr * along
                    parts[c, 0, d] -= da * bond[a, d] + db * bond[b, d]
    return touched, parts
