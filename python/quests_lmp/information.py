"""Information quantities of descriptor sets with a Gaussian kernel (paper Eqs. 5-8, Methods).

All results are in nats. The bandwidth h is in 1/A, like the descriptors; pass a list of
bandwidths to get one result per bandwidth from a single pass over the distances.

    H(X)       = -(1/n) sum_i log[(1/n) sum_j K_h(X_i, X_j)]        entropy, Eq. (5)
    dH(Y|X)    = -log sum_j K_h(Y, X_j)                            differential entropy, Eq. (6)
    D(X)       = log sum_i exp(dH(X_i|X))                          diversity, Eq. (8)/(S21)
    H(X)       = log n + mean_i dH(X_i|X)    (from Eqs. 5-6; SI Eq. S16 prints the sign flipped)

Bounds: 0 <= H <= log n, dH(Y|X) >= -log n, dH(X_i|X) <= 0. dH is always finite here: far from
the reference it grows like the squared distance to the nearest reference vector over 2h^2.
"""

from __future__ import annotations

import numpy as np

from .kernel import log_kernel_sums
from .validation import as_descriptors, check_bandwidths

DEFAULT_BANDWIDTH = 0.015  # 1/A, the paper's default


def delta_entropy(y, x, h=DEFAULT_BANDWIDTH) -> np.ndarray:
    """dH(Y_i | X) in nats for each test vector Y_i against the reference set X (Eq. 6).

    Returns shape (n_y,) for a scalar h, (n_y, n_h) for a list of bandwidths.
    """
    x = as_descriptors(x, "reference descriptors")
    y = as_descriptors(y, "test descriptors", n_features=x.shape[1])
    bandwidths, scalar = check_bandwidths(h)
    return _per_bandwidth(-log_kernel_sums(y, x, bandwidths), scalar)


def self_delta_entropy(x, h=DEFAULT_BANDWIDTH) -> np.ndarray:
    """dH(X_i | X) in nats for each member of X (always <= 0: each point counts itself)."""
    x = as_descriptors(x)
    bandwidths, scalar = check_bandwidths(h)
    return _per_bandwidth(-log_kernel_sums(x, x, bandwidths), scalar)


def entropy(x, h=DEFAULT_BANDWIDTH):
    """Information entropy H(X) in nats (Eq. 5): a float, or an array for a list of bandwidths."""
    return entropy_and_diversity(x, h)[0]


def diversity(x, h=DEFAULT_BANDWIDTH):
    """Diversity D(X) in nats (Eq. 8): a float, or an array for a list of bandwidths."""
    return entropy_and_diversity(x, h)[1]


def entropy_and_diversity(x, h=DEFAULT_BANDWIDTH):
    """(H, D) in nats from one pass over the kernel matrix of X with itself."""
    x = as_descriptors(x)
    bandwidths, scalar = check_bandwidths(h)
    dh = -log_kernel_sums(x, x, bandwidths)  # (n, n_h), each <= 0
    n = x.shape[0]
    h_values = np.log(n) + dh.mean(axis=0)
    top = dh.max(axis=0)
    d_values = top + np.log(np.exp(dh - top).sum(axis=0))
    if scalar:
        return float(h_values[0]), float(d_values[0])
    return h_values, d_values


def novelty(y, x, h=DEFAULT_BANDWIDTH, threshold: float = 0.0):
    """Fraction of test environments that are novel w.r.t. X: dH(Y|X) > threshold (Methods)."""
    dh = delta_entropy(y, x, h)
    return _fraction(dh > threshold)


def overlap(y, x, h=DEFAULT_BANDWIDTH, threshold: float = 0.0):
    """Fraction of test environments covered by X: dH(Y|X) <= threshold (Methods)."""
    dh = delta_entropy(y, x, h)
    return _fraction(dh <= threshold)


def bandwidth_for_volume(volume_per_atom):
    """Kernel bandwidth h(V) in 1/A for an atomic volume V in A^3/atom (SI Eq. S20, Fig. S8).

    h(V) = a exp(-b V^2) + c with the fit published with the paper: a = 0.0897141 1/A,
    b = 1 / (2 * 10.896^2) A^-6, c = 0.0119417 1/A. It rescales entropies to k_B/atom; e.g. the
    paper's 0.057 1/A for the mean volume of solid and liquid Cu (about 12.9 A^3/atom).
    """
    volume = np.asarray(volume_per_atom, dtype=np.float64)
    if not np.all(np.isfinite(volume)) or np.any(volume <= 0):
        raise ValueError(f"volume per atom must be a finite number > 0 (A^3/atom), got {volume_per_atom!r}")
    h = 0.0897141 * np.exp(-0.5 * (volume / 10.896) ** 2) + 0.0119417
    return float(h) if h.ndim == 0 else h


def _per_bandwidth(values: np.ndarray, scalar: bool) -> np.ndarray:
    return values[:, 0] if scalar else values


def _fraction(mask: np.ndarray):
    values = mask.mean(axis=0)
    return float(values) if np.ndim(values) == 0 else values
