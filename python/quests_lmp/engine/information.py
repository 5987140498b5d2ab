"""Information quantities of descriptor sets with a Gaussian kernel (paper Eqs. 5-8, Methods).

All results are in nats. The bandwidth h is in 1/A, like the descriptors; pass a list of
bandwidths to get one result per bandwidth from a single pass over the distances.

    H(X)       = -(1/n) sum_i log[(1/n) sum_j K_h(X_i, X_j)]        entropy, Eq. (5)
    dH(Y|X)    = -log sum_j K_h(Y, X_j)                            differential entropy, Eq. (6)
    D(X)       = log sum_i exp(dH(X_i|X))                          diversity, Eq. (8)/(S21)
    H(X)       = log n + mean_i dH(X_i|X)    (from Eqs. 5-6; SI Eq. S16 prints the sign flipped)

Bounds: 0 <= H <= log n, dH(Y|X) >= -log n, dH(X_i|X) <= 0. dH is always finite here: far from
the reference it grows like the squared distance to the nearest reference vector over 2h^2.

By centre (quests_lmp.engine.species): given the centre element of every environment, the kernel
becomes K_h(X_i, X_j) delta(Z_i, Z_j), so each environment is compared only with those of its
element. The formulas above are unchanged: they give the quantities of the union of the
per-element sets, e.g. H = sum_E p_E H_E - sum_E p_E log p_E with p_E = n_E / n, and D =
log sum_E exp(D_E). A test environment of an element absent from the reference gets dH = +inf.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .kernel import log_kernel_sums, self_kernel_sums
from .species import as_centres, by_element, element_rows, symbols
from .validation import as_descriptors, check_bandwidths

DEFAULT_BANDWIDTH = 0.015  # 1/A, the paper's default


class EntropyDiversity(NamedTuple):
    """H and D of a set of environments (floats for one bandwidth, (n_h,) arrays for a list).

    Parameters
    ----------
    entropy : float or array, nats
        H (Eq. 5).
    diversity : float or array, nats
        D (Eq. 8).

    Raises
    ------
    TypeError
        Not two values.
    """

    entropy: float | np.ndarray
    diversity: float | np.ndarray


class ElementEntropy(NamedTuple):
    """One element's (or the total's) row of entropy_by_element.

    Parameters
    ----------
    environments : int
        Environments of that element (of all, for the total).
    entropy, diversity : float or array, nats
        Their H and D.

    Raises
    ------
    TypeError
        Not three values.
    """

    environments: int
    entropy: float | np.ndarray
    diversity: float | np.ndarray


class SampledElement(NamedTuple):
    """One element's row of sampled_entropy_by_element: its environments n_E, the sampled m_E, and
    the estimate of sampled_entropy_and_diversity (a dict of H, D and their standard errors)."""

    environments: int
    sampled: int
    estimate: dict


def delta_entropy(y, x, h=DEFAULT_BANDWIDTH, y_centres=None, x_centres=None) -> np.ndarray:
    """Differential entropy dH(Y_i | X) of each test vector against a reference set (Eq. 6).

    Parameters
    ----------
    y : (n_y, d) array, 1/A
        Test descriptors.
    x : (n_x, d) array, 1/A
        Reference descriptors, with the same d = 2k-1.
    h : float or list of floats, 1/A
        Kernel bandwidth(s).
    y_centres, x_centres : (n_y,) and (n_x,) arrays of int, optional
        Atomic numbers of the centre atoms: both given, dH is by centre (module docstring).

    Returns
    -------
    (n_y,) float64 array in nats for one h, (n_y, n_h) for a list. Finite everywhere, except by
    centre for elements absent from x (+inf).

    Raises
    ------
    ValueError
        Empty, non-finite or non-2-D descriptors, mismatched d, a bandwidth that is not a finite
        number >= 1e-100 1/A, or centres of only one side or not one per environment.
    """
    x = as_descriptors(x, "reference descriptors")
    y = as_descriptors(y, "test descriptors", n_features=x.shape[1])
    bandwidths, scalar = check_bandwidths(h)
    return _per_bandwidth(-_log_sums(y, x, bandwidths, y_centres, x_centres), scalar)


def self_delta_entropy(x, h=DEFAULT_BANDWIDTH, centres=None) -> np.ndarray:
    """dH(X_i | X) of each member of a set against the whole set, itself included (Eq. 6).

    Parameters
    ----------
    x : (n, d) array, 1/A
        Descriptors.
    h : float or list of floats, 1/A
        Kernel bandwidth(s).
    centres : (n,) array of int, optional
        Atomic numbers of the centre atoms: dH by centre (module docstring).

    Returns
    -------
    (n,) float64 array in nats for one h, (n, n_h) for a list; every value in [-log n, 0].

    Raises
    ------
    ValueError
        Empty or non-finite descriptors, a bandwidth that is not a finite number >= 1e-100 1/A, or
        centres not one per environment.
    """
    x = as_descriptors(x)
    bandwidths, scalar = check_bandwidths(h)
    return _per_bandwidth(-np.log(self_kernel_sum_share(x, bandwidths, centres)), scalar)


def entropy(x, h=DEFAULT_BANDWIDTH, centres=None):
    """Information entropy H(X) of a set of environments (Eq. 5).

    Parameters
    ----------
    x, h, centres
        As for entropy_and_diversity: descriptors (1/A), bandwidth(s) (1/A), centre elements.

    Returns
    -------
    H in nats, 0 <= H <= log n: a float for one h, an (n_h,) array for a list.

    Raises
    ------
    ValueError
        As entropy_and_diversity.
    """
    return entropy_and_diversity(x, h, centres)[0]


def diversity(x, h=DEFAULT_BANDWIDTH, centres=None):
    """Diversity D(X) = log sum_i exp(dH(X_i|X)) of a set of environments (Eq. 8, S21).

    Parameters
    ----------
    x, h, centres
        As for entropy (1/A, 1/A, atomic numbers), from the same pass over the kernel matrix.

    Returns
    -------
    D in nats, at most log n (reached by non-overlapping points): a float for one h, an array for a list.

    Raises
    ------
    ValueError
        Empty or non-finite descriptors, a bad bandwidth, centres not one per environment.
    """
    return entropy_and_diversity(x, h, centres).diversity


def entropy_and_diversity(x, h=DEFAULT_BANDWIDTH, centres=None):
    """H and D of a set of environments from one pass over its kernel matrix (Eqs. 5 and 8).

    Parameters
    ----------
    x, h, centres
        As for self_delta_entropy: descriptors (n, d) in 1/A, bandwidth(s) in 1/A, and optionally
        the centres' atomic numbers, giving H and D of the union of the per-element sets (module
        docstring; entropy_by_element gives each element's).

    Returns
    -------
    EntropyDiversity (H, D) in nats: two floats for one h, two (n_h,) arrays for a list.

    Raises
    ------
    ValueError
        As self_delta_entropy, whose values give H and D (H = log n + mean dH, Eq. S16 with its
        sign corrected; D = log sum exp dH, Eq. S21).
    """
    return entropy_and_diversity_from_self_dh(self_delta_entropy(x, h, centres))


def entropy_by_element(x, centres, h=DEFAULT_BANDWIDTH) -> dict:
    """H and D of each element's environments, and of their union, from one by-centre pass.

    Parameters
    ----------
    x : (n, d) array, 1/A
        Descriptors.
    centres : (n,) array of int
        Atomic number of each environment's centre atom.
    h : float or list of floats, 1/A
        Kernel bandwidth(s).

    Returns
    -------
    dict: element symbol (ordered by symbol, then "total") -> ElementEntropy (environments, H,
    D), H and D in nats (floats for one h, (n_h,) arrays for a list).

    Raises
    ------
    ValueError
        As entropy_and_diversity.
    """
    x = as_descriptors(x)
    bandwidths, scalar = check_bandwidths(h)
    centres = as_centres(centres, x.shape[0])
    dh = -np.log(self_kernel_sum_share(x, bandwidths, centres))
    return entropy_by_element_from_self_dh(dh if not scalar else dh[:, 0], centres)


def entropy_and_diversity_from_self_dh(self_dh):
    """H and D of a set from the dH(X_i|X) of all its members (H = log n + mean dH, Eq. 8).

    Parameters
    ----------
    self_dh : (n,) or (n, n_h) array, nats
        dH of every member against the whole set (self_delta_entropy; e.g. gathered from the ranks
        that computed its parts).

    Returns
    -------
    EntropyDiversity (H, D) in nats: floats for a 1-D array, (n_h,) arrays for 2-D.

    Raises
    ------
    ValueError
        An empty array.
    """
    dh = np.asarray(self_dh, dtype=np.float64)
    if dh.shape[0] == 0:
        raise ValueError("H and D need at least one environment")
    h_values, d_values = _entropy_and_diversity(dh.reshape(dh.shape[0], -1))
    if dh.ndim == 1:
        return EntropyDiversity(float(h_values[0]), float(d_values[0]))
    return EntropyDiversity(h_values, d_values)


def entropy_by_element_from_self_dh(self_dh, centres) -> dict:
    """Each element's H and D, and the total, from the by-centre dH(X_i|X) of all members.

    Parameters
    ----------
    self_dh : (n,) or (n, n_h) array, nats
        By-centre dH of every member against the whole set.
    centres : (n,) array of int
        Atomic number of each environment's centre atom.

    Returns
    -------
    dict as entropy_by_element: symbol (ordered, then "total") -> ElementEntropy.

    Raises
    ------
    ValueError
        An empty array, or centres not one per environment.
    """
    dh = np.asarray(self_dh, dtype=np.float64)
    groups = element_rows(as_centres(centres, dh.shape[0]))
    table = {
        name: ElementEntropy(rows.size, *entropy_and_diversity_from_self_dh(dh[rows]))
        for name, rows in zip(symbols(groups), groups.values())
    }
    table = {name: table[name] for name in sorted(table)}
    table["total"] = ElementEntropy(dh.shape[0], *entropy_and_diversity_from_self_dh(dh))
    return table


class BlockedEntropy(NamedTuple):
    """H (nats) of correlated environments and its standard error from the spread of block means."""

    entropy: float
    error: float


def entropy_with_error(x, blocks, h=DEFAULT_BANDWIDTH) -> BlockedEntropy:
    """H(X) (Eq. 5) of environments from a trajectory, with a standard error from its blocks.

    H = log n + mean_i dH(X_i | X) is a mean over the environments; those of one frame are
    correlated, frames far enough apart are not, so its standard error is that of the mean of the
    blocks' means of dH_i (one block per frame, or per stretch of frames). The error is the
    sampling error of that mean; the density inside each dH_i is estimated from all n.

    Parameters
    ----------
    x : (n, d) array, 1/A
        Descriptors.
    blocks : (n,) array
        A label per environment (e.g. its frame); at least 2 distinct labels.
    h : float, 1/A
        Kernel bandwidth.

    Returns
    -------
    BlockedEntropy(entropy, error), nats; entropy is entropy(x, h). Blocks of equal size weigh
    alike, as the environments do in H.

    Raises
    ------
    ValueError
        Not one label per environment, fewer than 2 blocks, or as self_delta_entropy.
    """
    labels = np.asarray(blocks)
    x = as_descriptors(x)
    if labels.shape != (x.shape[0],):
        raise ValueError(f"blocks must hold one label per environment ({x.shape[0]}), got shape {labels.shape}")
    _, block_of = np.unique(labels, return_inverse=True)
    count = int(block_of.max()) + 1
    if count < 2:
        raise ValueError("entropy_with_error needs environments from at least 2 blocks (frames)")
    dh = self_delta_entropy(x, float(h))
    means = np.bincount(block_of, weights=dh) / np.bincount(block_of)
    return BlockedEntropy(math.log(x.shape[0]) + float(dh.mean()), float(means.std(ddof=1) / math.sqrt(count)))


def sampled_entropy_and_diversity(sample_self_dh, n: int) -> dict:
    """H and D of a set of n environments estimated from the exact dH(X_i|X) of m of them, drawn
    uniformly without replacement, with their standard errors.

    H = log n + mean_i dH_i and D = log n + log mean_i exp(dH_i) are means over the environments,
    so the sample means estimate them: H without bias, with standard error
    s_dH / sqrt(m) * sqrt(1 - m/n) (s: the sample's standard deviation); D through the log of an
    unbiased mean (delta method; its bias is of order 1/m). m = n gives the exact values with
    zero errors.

    Parameters
    ----------
    sample_self_dh : (m,) array, nats
        dH of each sampled environment against the whole set (all n, itself included).
    n : int
        Environments in the whole set.

    Returns
    -------
    dict: entropy, entropy_error, diversity, diversity_error (nats; errors are one standard error).

    Raises
    ------
    ValueError
        Fewer than 2 samples (no error estimate) unless m = n, or m > n.
    """
    dh = np.asarray(sample_self_dh, dtype=np.float64)
    m = dh.shape[0]
    if m > n or (m < 2 and m != n):
        raise ValueError(f"a sample of {m} environments of {n} gives no estimate: sample at least 2 and at most n")
    correction = math.sqrt(1.0 - m / n) / math.sqrt(m) if m > 1 else 0.0
    top = dh.max()
    weights = np.exp(dh - top)  # exp(dH) scaled: its mean and spread, without overflow
    mean_weight = weights.mean()
    return {
        "entropy": math.log(n) + float(dh.mean()),
        "entropy_error": float(dh.std(ddof=1) * correction) if m > 1 else 0.0,
        "diversity": math.log(n) + float(top + np.log(mean_weight)),
        "diversity_error": float(weights.std(ddof=1) / mean_weight * correction) if m > 1 else 0.0,
    }


def sampled_entropy_by_element(sample_self_dh, sample_centres, counts: dict) -> dict:
    """Each element's H and D estimated from the by-centre dH(X_i|X) of sampled members, with
    standard errors: rows drawn uniformly from all environments hold a uniform sample of each
    element's, so sampled_entropy_and_diversity applies to each element's rows and n_E.

    Parameters
    ----------
    sample_self_dh : (m,) array, nats
        By-centre dH of each sampled environment against the whole set.
    sample_centres : (m,) array of int
        Atomic number of each sampled environment's centre atom.
    counts : dict
        Atomic number -> environments of that element in the whole set (n_E).

    Returns
    -------
    dict: symbol (ordered) -> SampledElement (n_E, sampled m_E, estimate as
    sampled_entropy_and_diversity gives);
    an element with fewer than 2 sampled rows (and not all of its n_E) is left out.

    Raises
    ------
    ValueError
        Centres not one per sampled environment, or more sampled rows of an element than its n_E.
    """
    dh = np.asarray(sample_self_dh, dtype=np.float64)
    groups = element_rows(as_centres(sample_centres, dh.shape[0]))
    table = {}
    for z, n_element in counts.items():
        rows = groups.get(int(z), np.zeros(0, dtype=np.int64))
        if rows.size >= 2 or rows.size == n_element:
            estimate = sampled_entropy_and_diversity(dh[rows], n_element)
            table[symbols([z])[0]] = SampledElement(int(n_element), rows.size, estimate)
    return {name: table[name] for name in sorted(table)}


def novelty(y, x, h=DEFAULT_BANDWIDTH, threshold: float = 0.0, y_centres=None, x_centres=None):
    """Fraction of test environments that are novel with respect to a reference: dH(Y|X) > threshold (Methods).

    Parameters
    ----------
    y : (n_y, d) array, 1/A
        Test descriptors.
    x : (n_x, d) array, 1/A
        Reference descriptors.
    h : float or list of floats, 1/A
        Kernel bandwidth(s).
    threshold : float, nats
        Novel means dH above it; 0 is the paper's threshold-free criterion.
    y_centres, x_centres : arrays of int, optional
        Centre elements: by centre (as delta_entropy).

    Returns
    -------
    A fraction in [0, 1]: a float for one h, an (n_h,) array for a list.

    Raises
    ------
    ValueError
        As delta_entropy.
    """
    dh = delta_entropy(y, x, h, y_centres, x_centres)
    return _fraction(dh > threshold)


def overlap(y, x, h=DEFAULT_BANDWIDTH, threshold: float = 0.0, y_centres=None, x_centres=None):
    """Fraction of test environments covered by a reference: dH(Y|X) <= threshold (Methods);
    1 - novelty of the same arguments.

    Parameters
    ----------
    y, x, h, threshold, y_centres, x_centres
        As for novelty (descriptors and bandwidths in 1/A, threshold in nats): covered means dH at
        or below the threshold.

    Returns
    -------
    The covered fraction in [0, 1], a float for one h or an (n_h,) array for a list of them.

    Raises
    ------
    ValueError
        As novelty.
    """
    return _fraction(delta_entropy(y, x, h, y_centres, x_centres) <= threshold)


def bandwidth_for_volume(volume_per_atom):
    """Kernel bandwidth h(V) for an atomic volume (SI Eq. S20, Fig. S8).

    h(V) = a exp(-b V^2) + c with the fit published with the paper: a = 0.0897141 1/A,
    b = 1 / (2 * 10.896^2) A^-6, c = 0.0119417 1/A. It rescales entropies to k_B/atom; e.g. the
    paper's 0.057 1/A for the mean volume of solid and liquid Cu (about 12.9 A^3/atom).

    Parameters
    ----------
    volume_per_atom : float or array, A^3/atom
        Atomic volume(s) V.

    Returns
    -------
    h in 1/A: a float for a number, an array of the same shape for an array.

    Raises
    ------
    ValueError
        A volume that is not a finite number > 0.
    """
    volume = np.asarray(volume_per_atom, dtype=np.float64)
    if not np.all(np.isfinite(volume)) or np.any(volume <= 0):
        raise ValueError(f"volume per atom must be a finite number > 0 (A^3/atom), got {volume_per_atom!r}")
    h = 0.0897141 * np.exp(-0.5 * (volume / 10.896) ** 2) + 0.0119417
    return float(h) if h.ndim == 0 else h


def self_kernel_sum_share(
    x: np.ndarray, bandwidths: np.ndarray, centres=None, share: int = 0, shares: int = 1, progress=None
) -> np.ndarray:
    """Share `share` of `shares` of the kernel sums sum_j K_h(X_i, X_j) of a set against itself
    (by centre: over X_i's element): an (n, n_h) array. The shares' arrays add up to the whole,
    whose -log is the self dH (quests_lmp.engine.kernel.self_kernel_sums deals out the work).

    x: validated descriptors (1/A); bandwidths: validated 1-D array of h (1/A); progress: None
    or progress(fraction), called with the fraction of this share's work done.
    """
    if centres is None:
        return self_kernel_sums(x, bandwidths, share, shares, progress)
    centres = as_centres(centres, x.shape[0])
    work = sum(len(rows) ** 2 for rows in element_rows(centres).values())
    before = [0.0]  # fraction done by the elements before this one

    def values_of(z, rows):
        weight = len(rows) ** 2 / work
        step = None if progress is None else lambda fraction: progress(before[0] + weight * fraction)
        sums = self_kernel_sums(x[rows], bandwidths, share, shares, step)
        before[0] += weight
        return sums

    return by_element(centres, bandwidths.size, values_of, 0.0)


def _log_sums(y, x, bandwidths, y_centres, x_centres) -> np.ndarray:
    """log sum_j K_h(y_i, x_j), over all x or, given both sides' centres, over those of y_i's element."""
    if y_centres is None and x_centres is None:
        return log_kernel_sums(y, x, bandwidths)
    if y_centres is None or x_centres is None:
        raise ValueError("by-centre quantities need the centre elements of both sets of environments")
    y_centres, x_centres = as_centres(y_centres, y.shape[0]), as_centres(x_centres, x.shape[0])
    x_rows = element_rows(x_centres)

    def values_of(z, rows):
        return log_kernel_sums(y[rows], x[x_rows[z]], bandwidths) if z in x_rows else None

    return by_element(y_centres, bandwidths.size, values_of, -np.inf)


def _entropy_and_diversity(dh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H, D) per bandwidth column from the self dH (n, n_h) of a set (H = log n + mean dH)."""
    h_values = np.log(dh.shape[0]) + dh.mean(axis=0)
    top = dh.max(axis=0)
    return h_values, top + np.log(np.exp(dh - top).sum(axis=0))


def _per_bandwidth(values: np.ndarray, scalar: bool) -> np.ndarray:
    return values[:, 0] if scalar else values


def _fraction(mask: np.ndarray):
    values = mask.mean(axis=0)
    return float(values) if np.ndim(values) == 0 else values
