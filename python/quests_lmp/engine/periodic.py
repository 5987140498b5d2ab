"""Periodic images: turn a cell with periodic boundaries into plain points.

The descriptor kernel works on raw points (owned atoms followed by ghost atoms, as in a LAMMPS
domain). For an ASE cell, the ghosts are the periodic images of the atoms that can lie within the
cutoff of the cell, along every periodic direction, however small the cell is compared to the
cutoff. Non-periodic directions get no images.
"""

from __future__ import annotations

import itertools

import numpy as np

from .validation import as_positions, check_cutoff

# Images are generated slightly beyond the exact bound, so rounding can never lose a neighbor.
_MARGIN = 1e-9


def periodic_images(positions, cell, pbc, cutoff: float, sources: bool = False):
    """Owned atoms (wrapped into the cell) followed by all their periodic images near the cell.

    Parameters
    ----------
    positions : (n, 3) array, A
    cell : (3, 3) array, A; rows are the cell vectors. Vectors of non-periodic directions may be zero.
    pbc : three booleans, periodicity along each cell vector
    cutoff : float, A; every image within this distance of an owned atom is included

    sources : bool, also return which owned atom each point is an image of

    Returns
    -------
    (n + n_images, 3) array, A: the first n rows are the owned atoms, in their input order; with
    sources, also the (n + n_images,) int64 index of each point's owned atom.
    """
    positions = as_positions(positions)
    cutoff = check_cutoff(cutoff)
    pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
    if not pbc.any():
        return (positions.copy(), np.arange(len(positions))) if sources else positions.copy()

    cell = _complete_cell(np.asarray(cell, dtype=np.float64), pbc)
    inverse = np.linalg.inv(cell)
    volume = abs(np.linalg.det(cell))
    # Distance between the two lattice planes bounding the cell along each cell vector.
    heights = volume / np.linalg.norm(np.cross(np.roll(cell, -1, axis=0), np.roll(cell, -2, axis=0)), axis=1)

    fractional = positions @ inverse
    shift = np.where(pbc, np.floor(fractional), 0.0)
    wrapped = positions - shift @ cell
    fractional = fractional - shift

    reach = cutoff / heights * (1 + _MARGIN) + _MARGIN
    # near[axis][offset]: atoms whose image shifted by `offset` cells along `axis` is close enough.
    near = []
    for axis in range(3):
        if not pbc[axis]:
            near.append({0: np.ones(len(positions), dtype=bool)})
            continue
        steps = int(np.ceil(reach[axis]))
        f = fractional[:, axis]
        near.append({o: (f + o >= -reach[axis]) & (f + o < 1.0 + reach[axis]) for o in range(-steps, steps + 1)})
    images, owners = [wrapped], [np.arange(len(positions))]
    for offset in itertools.product(*(sorted(n) for n in near)):
        if offset == (0, 0, 0):
            continue
        inside = near[0][offset[0]] & near[1][offset[1]] & near[2][offset[2]]
        if inside.any():
            images.append(wrapped[inside] + np.asarray(offset, dtype=np.float64) @ cell)
            owners.append(np.flatnonzero(inside))
    points = np.ascontiguousarray(np.concatenate(images))
    return (points, np.concatenate(owners)) if sources else points


def _complete_cell(cell: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    """A full-rank cell: zero vectors along open directions are replaced by orthogonal unit vectors."""
    if cell.shape != (3, 3) or not np.all(np.isfinite(cell)):
        raise ValueError(f"cell must be a finite 3x3 matrix (rows are cell vectors in A), got {cell!r}")
    lengths = np.linalg.norm(cell, axis=1)
    scale = max(lengths.max(), 1.0)
    if np.any(pbc & (lengths <= 1e-10 * scale)):
        raise ValueError(
            "zero-volume cell: a periodic direction has a zero-length cell vector; "
            "set the cell vector or make that direction non-periodic (pbc=False)"
        )
    cell = cell.copy()
    for axis in np.flatnonzero(lengths <= 1e-10 * scale):
        # An open direction without a vector: any direction outside the plane of the others will do.
        others = cell[[a for a in range(3) if a != axis]]
        normal = np.cross(others[0], others[1])
        if np.linalg.norm(normal) <= 1e-10 * scale**2:
            normal = _any_orthogonal(others)
        cell[axis] = normal / np.linalg.norm(normal)
    if abs(np.linalg.det(cell)) <= 1e-10 * np.prod(np.maximum(np.linalg.norm(cell, axis=1), 1e-300)):
        raise ValueError(
            "zero-volume cell: the cell vectors are linearly dependent; give three independent cell "
            "vectors or make the structure non-periodic (pbc=False)"
        )
    return cell


def _any_orthogonal(vectors: np.ndarray) -> np.ndarray:
    """A vector orthogonal to the non-zero vectors among `vectors` (at most one independent)."""
    nonzero = [v for v in vectors if np.linalg.norm(v) > 0]
    base = nonzero[0] if nonzero else np.array([0.0, 0.0, 1.0])
    trial = np.eye(3)[np.argmin(np.abs(base))]
    return np.cross(base, trial)


def widest_gap(positions, cell) -> float:
    """A: the widest empty layer between the atoms along any of the three cell vectors of a fully
    periodic cell (the largest gap between neighboring planes of fractional coordinates, times the
    spacing of the lattice planes): a surface slab's vacuum, interlayer spacings in a bulk crystal."""
    cell = np.asarray(cell, dtype=np.float64)
    fractional = np.sort(as_positions(positions) @ np.linalg.inv(cell) % 1.0, axis=0)
    gaps = np.diff(np.vstack([fractional, fractional[:1] + 1.0]), axis=0).max(axis=0)
    volume = abs(np.linalg.det(cell))
    spacing = [volume / np.linalg.norm(np.cross(cell[(j + 1) % 3], cell[(j + 2) % 3])) for j in range(3)]
    return float(np.max(gaps * spacing))
