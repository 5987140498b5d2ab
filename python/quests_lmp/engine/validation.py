"""Input checks shared by the engine: each failure is a ValueError naming the problem and the fix."""

from __future__ import annotations

import numbers

import numpy as np

MIN_BANDWIDTH = 1e-100  # 1/A: dH ~ d^2 / (2 h^2) stays finite for any descriptor distance d above it


def check_k(k) -> int:
    """Number of nearest neighbors of the descriptor: an integer >= 1."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be an integer >= 1 (number of nearest neighbors), got {k!r}")
    return int(k)


def check_cutoff(cutoff) -> float:
    """Descriptor cutoff radius in A: a finite number > 0."""
    if not _is_positive_number(cutoff):
        raise ValueError(f"cutoff must be a finite number > 0 (in A), got {cutoff!r}")
    return float(cutoff)


def check_bandwidths(h) -> tuple[np.ndarray, bool]:
    """Kernel bandwidth(s) in 1/A: returns (1-D float64 array, True if a scalar was given).

    Below MIN_BANDWIDTH, dH (about d^2 / 2h^2) would overflow float64 for distant environments.
    """
    scalar = np.ndim(h) == 0
    try:
        values = np.atleast_1d(np.asarray(h, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"bandwidth must be a number > 0 (in 1/A) or a list of them, got {h!r}") from None
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < MIN_BANDWIDTH):
        raise ValueError(
            f"bandwidth must be a finite number >= {MIN_BANDWIDTH:g} 1/A (the paper's 0.015; below "
            f"{MIN_BANDWIDTH:g}, dH overflows) or a list of them, got {h!r}"
        )
    return np.ascontiguousarray(values), scalar


def as_descriptors(x, name: str = "descriptors", n_features: int | None = None) -> np.ndarray:
    """A non-empty, finite (n, d) float64 C-contiguous matrix of descriptors."""
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (environments x features), got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: it holds no environments")
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(
            f"{name} have {array.shape[1]} features but {n_features} are expected: "
            "descriptors must come from the same k (2k-1 features) as the reference"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contain NaN or infinite values")
    return np.ascontiguousarray(array)


def as_positions(positions, name: str = "positions") -> np.ndarray:
    """A non-empty, finite (n, 3) float64 C-contiguous array of positions in A."""
    array = np.asarray(positions, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 3:
        raise ValueError(f"{name} must have shape (n, 3), got {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: the structure has no atoms")
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(array), axis=1))[0])
        raise ValueError(f"{name} contain NaN or infinite values (first at atom {bad})")
    return np.ascontiguousarray(array)


def check_precision(precision) -> str:
    """Arithmetic of exact dH: "double" (float64 throughout) or "single" (float32 products)."""
    if precision not in ("double", "single"):
        raise ValueError(f"precision must be 'single' or 'double', got {precision!r}")
    return precision


def failure_message(error: Exception) -> str:
    """One line for an error to show a user: the message of a user mistake (ValueError, OSError),
    else the exception's type and message (a fault of ours, not theirs)."""
    if isinstance(error, (ValueError, OSError)):
        return str(error)
    return f"{type(error).__name__}: {error}"


def is_atoms(obj) -> bool:
    """True for an ase.Atoms (or anything with positions, cell and pbc)."""
    return hasattr(obj, "positions") and hasattr(obj, "cell") and hasattr(obj, "pbc")


def _is_positive_number(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return bool(np.isfinite(value) and value > 0)
