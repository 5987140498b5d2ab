"""Local environments cut out of large structures: what to send to DFT instead of a whole frame.

carve(atoms, centre, radius) keeps every atom (periodic images included) within `radius` (A) of
the centre atom, positions unwrapped around it, as a non-periodic cluster with the centre first.
With radius = cutoff + buffer, the cluster holds every neighbor within the descriptor cutoff of
each atom closer than `buffer` to the centre (triangle inequality): the descriptors of those
atoms, the centre's included, are the same in the cluster as in the structure (to the rounding
of the unwrapped coordinates, about 1e-15 relative), hence so are their dH.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms


def carve(atoms: Atoms, centre: int, radius: float) -> Atoms:
    """The atoms within `radius` (A) of atom `centre` as an open cluster (ase.Atoms, no cell).

    The centre is atom 0, at its own position; the others follow by distance (ties by index).
    Per-atom arrays: "source_index" (the atom's index in `atoms`) and "centre" (True for atom 0),
    with every per-atom array of `atoms` (e.g. LAMMPS ids) carried along.

    Raises
    ------
    ValueError
        A centre index out of range or a radius that is not a finite number > 0 (A).
    """
    if not 0 <= centre < len(atoms):
        raise ValueError(f"centre atom {centre} is not in a structure of {len(atoms)} atoms")
    if not np.isfinite(radius) or radius <= 0:
        raise ValueError(f"the carving radius must be a finite number > 0 (A), got {radius}")
    indices, offsets = _within(atoms, centre, radius)
    cluster = Atoms(numbers=atoms.numbers[indices], positions=atoms.positions[centre] + offsets, pbc=False)
    for name, values in atoms.arrays.items():
        if name not in ("numbers", "positions"):
            cluster.arrays[name] = values[indices].copy()
    cluster.arrays["source_index"] = indices
    cluster.arrays["centre"] = np.arange(len(indices)) == 0  # not its periodic images
    return cluster


def points_within(points: np.ndarray, centre: int, radius: float) -> np.ndarray:
    """Indices of the points (A; no cell: e.g. a parallel domain's owned and ghost atoms) within
    `radius` of point `centre`, sorted by distance, the centre first (ties by index)."""
    offsets = points - points[centre]
    distances = np.einsum("ij,ij->i", offsets, offsets)
    inside = np.flatnonzero(distances <= radius * radius)
    return inside[np.lexsort((inside, distances[inside], inside != centre))]


def _within(atoms: Atoms, centre: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """(indices, displacements from the centre, A) of every atom or periodic image within radius,
    sorted by distance, the centre itself first."""
    displacements = atoms.positions - atoms.positions[centre]
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if not pbc.any():
        inside = points_within(atoms.positions, centre, radius)
        return inside, displacements[inside]
    cell = np.asarray(atoms.cell.complete())  # unit vectors where an open direction has none
    fractions = np.linalg.solve(cell.T, displacements.T).T
    fractions[:, pbc] -= np.round(fractions[:, pbc])  # nearest image in the periodic directions
    displacements = fractions @ cell
    spacings = 1.0 / np.linalg.norm(np.linalg.inv(cell), axis=0)  # distances between lattice planes
    reach = np.where(pbc, np.ceil(radius / spacings + 0.5), 0).astype(int)
    grids = np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij")
    shifts = np.stack([g.ravel() for g in grids], axis=1) @ cell
    indices, offsets = [], []
    for shift in shifts:
        moved = displacements + shift
        inside = np.flatnonzero(np.einsum("ij,ij->i", moved, moved) <= radius * radius)
        indices.append(inside)
        offsets.append(moved[inside])
    indices, offsets = np.concatenate(indices), np.concatenate(offsets)
    distances = np.einsum("ij,ij->i", offsets, offsets)
    order = np.lexsort((indices, distances, (indices != centre) | (distances > 0)))
    return indices[order], offsets[order]
