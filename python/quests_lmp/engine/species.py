"""Chemical species: element names and numbers, and the species modes of every front-end.

The paper's descriptor ignores chemistry (its "species-blind" method, the default). Two
species-aware modes can be combined:

  by-centre       each environment is compared only with reference environments whose centre atom
                  is the same element: the kernel K_h(x_i, x_j) is multiplied by delta(Z_i, Z_j).
                  dH, H, D and overlap are those of the union of the per-element sets.
  multicomponent  the descriptor of the reference package's get_descriptors_multicomponent: the
                  species-blind descriptor followed by one descriptor per element E, computed
                  among the atoms of E only, for atoms of E (zeros for the others)
                  (quests_lmp.engine.descriptor.MulticomponentDescriptor).

A mode is named "blind", "by-centre", "multicomponent" or "multicomponent/by-centre".
"""

from __future__ import annotations

import numbers

import numpy as np

MODES = ("blind", "by-centre", "multicomponent", "multicomponent/by-centre")


def species_mode(mode) -> tuple[bool, bool]:
    """(multicomponent, by_centre) of a mode name; ValueError naming the choices otherwise."""
    if mode not in MODES:
        raise ValueError(f"species must be one of {', '.join(MODES)}, got {mode!r}")
    return mode.startswith("multicomponent"), mode.endswith("by-centre")


def mode_name(multicomponent: bool, by_centre: bool) -> str:
    """The mode name of (multicomponent, by_centre)."""
    return MODES[2 * bool(multicomponent) + bool(by_centre)]


def atomic_numbers(elements, name: str = "elements") -> np.ndarray:
    """int64 atomic numbers of element symbols ("Ni") or numbers (28); ValueError for unknown ones."""
    from ase.data import atomic_numbers as numbers_of
    from ase.data import chemical_symbols

    values = [elements] if isinstance(elements, (str, numbers.Integral)) else list(elements)
    out = np.empty(len(values), dtype=np.int64)
    for position, value in enumerate(values):
        if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
            if not 1 <= value < len(chemical_symbols):
                raise ValueError(f"{name}: {value} is not an atomic number (1 to {len(chemical_symbols) - 1})")
            out[position] = value
        elif isinstance(value, str) and value in numbers_of and value != "X":
            out[position] = numbers_of[value]
        else:
            raise ValueError(f"{name}: {value!r} is not an element; use symbols such as Ni, Al, O (case matters)")
    return out


def symbols(numbers_) -> list[str]:
    """Element symbols of atomic numbers."""
    from ase.data import chemical_symbols

    return [chemical_symbols[int(z)] for z in numbers_]


def symbol_order(numbers_) -> np.ndarray:
    """The distinct atomic numbers, ordered by symbol (Al before Ni): the reference package's order
    of the per-element blocks of the multicomponent descriptor."""
    distinct = np.unique(np.asarray(numbers_, dtype=np.int64))
    return distinct[np.argsort(symbols(distinct), kind="stable")]


def as_centres(centres, n: int, name: str = "centres") -> np.ndarray:
    """uint8 atomic numbers (1 to 118), one per environment; ValueError otherwise."""
    array = np.asarray(centres)
    if (
        array.shape != (n,)
        or not np.issubdtype(array.dtype, np.integer)
        or (n and (array.min() < 1 or array.max() > 118))
    ):
        raise ValueError(
            f"{name} must be {n} atomic numbers (1 to 118), one per environment; got an array "
            f"of shape {array.shape} ({array.dtype})"
        )
    return array.astype(np.uint8, copy=False)


def element_rows(centres: np.ndarray) -> dict[int, np.ndarray]:
    """Row indices of each centre element (atomic number -> sorted int64 rows)."""
    order = np.argsort(centres, kind="stable")
    distinct, starts = np.unique(centres[order], return_index=True)
    return {int(z): rows for z, rows in zip(distinct, np.split(order, starts[1:]))}


def missing_elements(present, known) -> list[str]:
    """Symbols of the elements in `present` (atomic numbers) that are not in `known`."""
    return symbols(np.setdiff1d(np.unique(present), np.asarray(known, dtype=np.int64)))


def by_element(centres: np.ndarray, n_h: int, values_of, missing: float) -> np.ndarray:
    """Per-row results computed element by element: an (n, n_h) array.

    centres: atomic number of each test row; values_of(z, rows) returns the (len(rows), n_h)
    results of those rows against the reference environments of element z, or None where the
    reference has none: `missing` there (dH = +inf, a log kernel sum -inf: nothing to be near).
    """
    out = np.full((len(centres), n_h), missing)
    for z, rows in element_rows(centres).items():
        values = values_of(z, rows)
        if values is not None:
            out[rows] = values
    return out
