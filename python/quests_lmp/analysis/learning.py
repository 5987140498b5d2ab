"""Learning curves of information (paper Sec. II.D, Fig. 3a, Methods Eq. 9): H against dataset size.

H(N) of random subsets of N environments, with repeats, is fitted by f(N) = a - b exp(-c (log N)^2);
a is the asymptotic entropy and a - H(N) the information gap (nats).
"""

from __future__ import annotations

import math

import numpy as np


def subset_sizes(n: int, points: int, smallest: int = 10) -> np.ndarray:
    """`points` sizes spaced evenly in log N from min(smallest, n) to n, without repeats."""
    return np.unique(np.geomspace(min(smallest, n), n, points).round().astype(np.int64))


def subset_picks(n: int, size: int, repeats: int, rng: np.random.Generator) -> list:
    """Indices of `repeats` random subsets of `size` of n environments, or [None] (the whole set,
    once) if size >= n."""
    if size >= n:
        return [None]
    return [rng.choice(n, size, replace=False) for _ in range(repeats)]


def asymptote(sizes, values) -> tuple[float, float, float]:
    """(a, b, c) of f(N) = a - b exp(-c (log N)^2) fitted to H(N); a is the asymptotic entropy."""
    from scipy.optimize import curve_fit

    sizes, values = np.asarray(sizes, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if len(sizes) < 4:
        raise ValueError(f"the asymptote fit needs at least 4 dataset sizes, got {len(sizes)}: use more --points")
    top = float(values.max())
    guess = (top, top - float(values.min()) + 1e-3, 1.0 / math.log(sizes.max()) ** 2)
    try:
        (a, b, c), _ = curve_fit(
            learning_model, sizes, values, p0=guess, bounds=([-np.inf, 0, 0], np.inf), maxfev=20000
        )
    except RuntimeError as error:
        raise ValueError(f"the asymptote fit f(N) = a - b exp(-c (log N)^2) did not converge: {error}") from None
    return float(a), float(b), float(c)


def learning_model(n, a, b, c):
    """f(N) = a - b exp(-c (log N)^2) (Methods Eq. 9)."""
    return a - b * np.exp(-c * np.log(n) ** 2)
