"""QUESTS descriptor of atomic environments (paper Eqs. 1-3, SI Eqs. S1-S7).

For a central atom i with neighbors sorted by distance r_i1 <= r_i2 <= ... (at most k of them,
all within the cutoff rc):

    X1_j = w(r_ij) / r_ij,                     j = 1..k             (Eq. 1)
    w(r) = (1 - (r/rc)^2)^2 for r < rc, else 0                      (Eq. 2)
    X2_n = (1/k) sum_j [n-th largest of {c_jl : l != j}],  n = 1..k-1   (Eq. 3, S5-S7)
    c_jl = sqrt(w(r_ij) w(r_il)) / r_jl

Missing neighbors (fewer than k within rc) count as zeros, exactly as neighbors beyond the
cutoff would, since w vanishes there. X = [X1, X2] has 2k-1 features, in 1/A.

Ties: neighbors are ordered by (distance, point index). At an exact distance tie at the k-th
neighbor (a perfect lattice whose shell is split by k), the neighbor with the lower point index
is kept: owned atoms in input order, then periodic images (or LAMMPS ghosts) in their order. Any
thermal noise removes such ties; the descriptor is discontinuous there by construction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import cache

import numba as nb
import numpy as np

from .deprecation import renamed_keywords
from .periodic import periodic_images
from .species import atomic_numbers, symbol_order, symbols
from .validation import as_positions, check_cutoff, check_k, is_atoms

DEFAULT_K = 32  # nearest neighbors per environment, the paper's default
DEFAULT_CUTOFF = 5.0  # A, the paper's default
DESCRIPTOR_VERSION = 1  # stored in reference files; bumped when the numbers for the same input change

# Two points closer than this (A) are treated as overlapping atoms: the descriptor would diverge.
MIN_DISTANCE = 1e-8
_CHUNK = 32


class Descriptor:
    """The QUESTS descriptor of atomic environments: k nearest neighbors within a cutoff.

    Parameters
    ----------
    k : int
        Nearest neighbors per environment (the paper's 32); 2k-1 features.
    cutoff : float, A
        Neighbors farther than this are ignored (the paper's 5.0).

    Raises
    ------
    ValueError
        k not an integer >= 1, or cutoff not a finite number > 0.

    >>> from ase.build import bulk
    >>> X = Descriptor(k=32, cutoff=5.0).compute(bulk("Cu", cubic=True))
    >>> X.shape
    (4, 63)
    """

    def __init__(self, k: int = DEFAULT_K, cutoff: float = DEFAULT_CUTOFF):
        self.k = check_k(k)
        self.cutoff = check_cutoff(cutoff)

    @property
    def n_features(self) -> int:
        """Length of one descriptor vector: 2k - 1."""
        return 2 * self.k - 1

    def __repr__(self) -> str:
        return f"Descriptor(k={self.k}, cutoff={self.cutoff})"

    def compute(self, structures) -> np.ndarray:
        """Descriptors of every atom of an ase.Atoms or of an iterable of them, stacked in order.

        Periodic, mixed (slabs, wires) and open boundaries are honoured per direction; every periodic
        image within the cutoff counts, so cells smaller than the cutoff are fine.

        Parameters
        ----------
        structures : ase.Atoms or iterable of ase.Atoms
            Positions in A.

        Returns
        -------
        (n_atoms, n_features) float64 array, 1/A.

        Raises
        ------
        ValueError
            No structures, an empty structure, NaN or infinite positions, a zero-volume periodic
            cell, or overlapping atoms (closer than 1e-8 A).
        """
        frames = frames_of(structures)
        return np.concatenate([self.compute_atoms(atoms, index=index) for index, atoms in enumerate(frames)])

    @renamed_keywords(centers="centre_indices")
    def compute_points(self, points, centre_indices, numbers=None) -> np.ndarray:
        """Descriptors of selected points, with neighbors searched among all points (no cell).

        This is the form of a parallel domain: `points` holds the owned atoms followed by ghost
        atoms (periodic images and atoms of other domains) out to at least the cutoff.

        Parameters
        ----------
        points : (n, 3) array, A
            Positions: owned atoms, then ghosts.
        centre_indices : int or 1-D array of int
            m (the first m points) or the indices of the points to describe.
        numbers : (n,) array of int, optional
            Atomic number of each point: required by MulticomponentDescriptor, not used by the
            species-blind descriptor.

        Returns
        -------
        (n_centres, n_features) float64 array, 1/A.

        Raises
        ------
        ValueError
            Points not of shape (n, 3), empty or non-finite; centre_indices out of range; overlapping atoms;
            for MulticomponentDescriptor, numbers missing or not one per point.
        """
        points = as_positions(points, "points")
        return self._environments(points, _as_centre_indices(centre_indices, len(points)), numbers)

    def _environments(self, points: np.ndarray, centre_indices: np.ndarray, numbers) -> np.ndarray:
        """Descriptors of points[centre_indices] (checked arrays): the species-blind ones here."""
        return self._describe(points, centre_indices)

    def _describe(self, points: np.ndarray, centre_indices: np.ndarray) -> np.ndarray:
        """Species-blind descriptors of points[centre_indices] (checked arrays)."""
        return self._describe_with_neighbors(points, centre_indices)[0]

    def _describe_with_neighbors(self, points: np.ndarray, centre_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(descriptors, neighbors) of points[centre_indices] (checked arrays): neighbors[c] holds the
        count m of centre c's neighbors, then their point indices, nearest first (for the
        gradients of quests_lmp.engine.gradients, which then need not search again)."""
        network = _sorting_network(self.k - 1)
        x, overlap, neighbors = _environment_descriptors(points, centre_indices, self.k, self.cutoff, network)
        if overlap.any():
            atom = int(centre_indices[np.flatnonzero(overlap)[0]])
            raise ValueError(
                f"overlapping atoms: point {atom} has two atoms in its environment closer than "
                f"{MIN_DISTANCE} A; remove duplicated atoms from the structure"
            )
        return x, neighbors

    def compute_atoms(self, atoms, atom_indices=None, index: int = 0) -> np.ndarray:
        """Descriptors of some atoms of one structure, in the order asked for.

        The part of a structure one MPI rank of the command line evaluates.

        Parameters
        ----------
        atoms : ase.Atoms
            The structure (positions in A, its cell and pbc).
        atom_indices : 1-D array of int, optional
            The atoms to describe; all of them by default.
        index : int
            The structure's number, named in error messages.

        Returns
        -------
        (n, n_features) float64 array, 1/A.

        Raises
        ------
        ValueError
            As compute.
        """
        if len(atoms) == 0:
            raise ValueError(f"structure {index} is empty: it has no atoms")
        positions = as_positions(atoms.positions, f"positions of structure {index}")
        points, owners = periodic_images(positions, atoms.cell.array, atoms.pbc, self.cutoff, sources=True)
        return self.compute_points(
            points, len(positions) if atom_indices is None else atom_indices, atoms.numbers[owners]
        )


class MulticomponentDescriptor(Descriptor):
    """The multicomponent descriptor of the reference package (get_descriptors_multicomponent).

    For a list of elements E_1..E_S (S >= 2, ordered by symbol as the reference package does):
    the species-blind descriptor [X1, X2] of every atom, then for each E_s the descriptor computed
    among the atoms of E_s only, for the atoms of E_s (zeros for the others). Neighbors of
    elements outside the list count in the species-blind part only. Columns are in the reference
    package's order: the k X1 features of the blind part and of each element, then the k-1 X2
    features of each (its code comment announces per-element [X1, X2] pairs, but its slicing
    keeps this order; distances, hence dH, H and D, are the same either way). With one element,
    as there, the descriptor is the species-blind one. Unlike there, open and partly periodic
    boundaries are honoured (it treats every cell as fully periodic).

    Parameters
    ----------
    elements : list of str or int
        The elements of the per-element parts (symbols or atomic numbers).
    k, cutoff
        As for Descriptor (cutoff in A).

    Raises
    ------
    ValueError
        No or repeated elements, an unknown symbol, or as Descriptor.
    """

    def __init__(self, elements, k: int = DEFAULT_K, cutoff: float = DEFAULT_CUTOFF):
        super().__init__(k, cutoff)
        numbers = atomic_numbers(elements)
        if numbers.size == 0 or np.unique(numbers).size != numbers.size:
            raise ValueError(
                f"elements of a multicomponent descriptor must be distinct and at least one, got {list(elements)!r}"
            )
        self.elements = symbol_order(numbers)  # atomic numbers

    @property
    def n_features(self) -> int:
        """Length of one descriptor vector: (2k - 1)(S + 1) for S >= 2 elements, 2k - 1 for one."""
        return (2 * self.k - 1) * self._parts

    @property
    def _parts(self) -> int:
        return 1 if self.elements.size == 1 else self.elements.size + 1

    def __repr__(self) -> str:
        return f"MulticomponentDescriptor({symbols(self.elements)}, k={self.k}, cutoff={self.cutoff})"

    def _environments(self, points: np.ndarray, centre_indices: np.ndarray, numbers) -> np.ndarray:
        """Multicomponent descriptors of points[centre_indices] (checked arrays), `numbers` per point."""
        if numbers is None or np.shape(numbers) != (len(points),):
            raise ValueError(
                f"the multicomponent descriptor needs the atomic number of each of the {len(points)} "
                f"points, got {None if numbers is None else np.shape(numbers)}"
            )
        numbers = np.asarray(numbers, dtype=np.int64)
        blind = self._describe(points, centre_indices)
        if self._parts == 1:
            return blind
        k, parts = self.k, self._parts
        x = np.zeros((centre_indices.size, self.n_features))
        x[:, :k] = blind[:, :k]
        x[:, parts * k : parts * k + k - 1] = blind[:, k:]
        for part, element in enumerate(self.elements, start=1):
            members = np.flatnonzero(numbers == element)
            rows = np.flatnonzero(numbers[centre_indices] == element)
            if rows.size == 0:
                continue
            position = np.empty(len(points), dtype=np.int64)
            position[members] = np.arange(members.size)
            own = self._describe(np.ascontiguousarray(points[members]), position[centre_indices[rows]])
            x[rows, part * k : (part + 1) * k] = own[:, :k]
            first = parts * k + part * (k - 1)
            x[rows, first : first + k - 1] = own[:, k:]
        return x


def _as_centre_indices(centre_indices, n_points: int) -> np.ndarray:
    """int64 indices of the described points: `centre_indices` is a count m (the first m) or indices."""
    if np.ndim(centre_indices) == 0:
        count = int(centre_indices)
        if count < 0 or count > n_points:
            raise ValueError(f"centre_indices={count} must be between 0 and the number of points ({n_points})")
        return np.arange(count, dtype=np.int64)
    centre_indices = np.ascontiguousarray(centre_indices, dtype=np.int64)
    if centre_indices.ndim != 1 or (
        centre_indices.size and (centre_indices.min() < 0 or centre_indices.max() >= n_points)
    ):
        raise ValueError(f"centre_indices must be indices between 0 and {n_points - 1}")
    return centre_indices


def frames_of(structures) -> list:
    """A non-empty list of ase.Atoms from an ase.Atoms or an iterable of them; ValueError otherwise."""
    if is_atoms(structures):
        return [structures]
    if not isinstance(structures, Iterable):
        raise ValueError(f"expected an ase.Atoms or a list of them, got {type(structures).__name__}")
    frames = list(structures)
    for frame in frames:
        if not is_atoms(frame):
            raise ValueError(f"expected ase.Atoms in the list, got {type(frame).__name__}")
    if not frames:
        raise ValueError("no structures given: pass an ase.Atoms or a non-empty list of them")
    return frames


@nb.njit(cache=True)
def _bin_points(points, width_floor):
    """Counting sort of the points into a grid of bins at least `width_floor` wide.

    Returns (lower corner, bin widths, bins per axis, first slot of each bin, point order).
    The number of bins stays O(n) however sparse the points are.
    """
    n = points.shape[0]
    lower = np.empty(3)
    upper = np.empty(3)
    for a in range(3):
        lower[a] = points[0, a]
        upper[a] = points[0, a]
    for i in range(1, n):
        for a in range(3):
            lower[a] = min(lower[a], points[i, a])
            upper[a] = max(upper[a], points[i, a])
    counts = np.empty(3, dtype=np.int64)
    for a in range(3):
        counts[a] = max(1, int((upper[a] - lower[a]) / width_floor))
    while counts[0] * counts[1] * counts[2] > 4 * n + 64:
        largest = np.argmax(counts)
        counts[largest] = max(1, counts[largest] // 2)
    width = np.empty(3)
    for a in range(3):
        width[a] = max((upper[a] - lower[a]) / counts[a], width_floor)

    n_bins = counts[0] * counts[1] * counts[2]
    bin_of = np.empty(n, dtype=np.int64)
    start = np.zeros(n_bins + 1, dtype=np.int64)
    for i in range(n):
        b = 0
        for a in range(3):
            cell = min(int((points[i, a] - lower[a]) / width[a]), counts[a] - 1)
            b = b * counts[a] + cell
        bin_of[i] = b
        start[b + 1] += 1
    for b in range(n_bins):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        order[fill[bin_of[i]]] = i
        fill[bin_of[i]] += 1
    return lower, width, counts, start, order


@nb.njit(cache=True)
def _nearest_within(points, i, cutoff, k, lower, width, counts, start, order, dist2, index):
    """The (at most k) nearest points to point i within the cutoff, sorted by (distance, index).

    Fills dist2/index (squared distances in A^2, point indices); returns how many were found.
    """
    cutoff2 = cutoff * cutoff
    found = 0
    cell = np.empty(3, dtype=np.int64)
    for a in range(3):
        cell[a] = min(int((points[i, a] - lower[a]) / width[a]), counts[a] - 1)
    for bx in range(max(cell[0] - 1, 0), min(cell[0] + 2, counts[0])):
        for by in range(max(cell[1] - 1, 0), min(cell[1] + 2, counts[1])):
            for bz in range(max(cell[2] - 1, 0), min(cell[2] + 2, counts[2])):
                b = (bx * counts[1] + by) * counts[2] + bz
                for slot in range(start[b], start[b + 1]):
                    j = order[slot]
                    if j == i:
                        continue
                    dx = points[j, 0] - points[i, 0]
                    dy = points[j, 1] - points[i, 1]
                    dz = points[j, 2] - points[i, 2]
                    d2 = dx * dx + dy * dy + dz * dz
                    if d2 >= cutoff2:
                        continue
                    if found == k and (d2 > dist2[k - 1] or (d2 == dist2[k - 1] and j > index[k - 1])):
                        continue
                    pos = found if found < k else k - 1
                    while pos > 0 and (dist2[pos - 1] > d2 or (dist2[pos - 1] == d2 and index[pos - 1] > j)):
                        dist2[pos] = dist2[pos - 1]
                        index[pos] = index[pos - 1]
                        pos -= 1
                    dist2[pos] = d2
                    index[pos] = j
                    if found < k:
                        found += 1
    return found


@cache
def _sorting_network(length: int) -> np.ndarray:
    """Comparators (p, q), p < q, of Batcher's odd-even merge sort for `length` values.

    Applying "position p gets the larger, q the smaller value" for each comparator in turn sorts
    a column largest first, without data-dependent branches (so it vectorises across columns).
    The network is built for the next power of two; since every comparator moves the larger value
    to the lower position, imagined padding values at positions >= length never move, and the
    comparators that touch them are dropped.
    """
    size = 1
    while size < length:
        size *= 2
    pairs = [(p, q) for p, q in _merge_sort(0, size) if q < length]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _merge_sort(start: int, count: int):
    """Comparators sorting positions start .. start+count-1 (count a power of two)."""
    if count < 2:
        return
    half = count // 2
    yield from _merge_sort(start, half)
    yield from _merge_sort(start + half, half)
    yield from _merge(start, count, 1)


def _merge(start: int, count: int, stride: int):
    """Comparators merging the two sorted halves of the strided positions start, start+stride, ..."""
    step = 2 * stride
    if step < count:
        yield from _merge(start, count, step)
        yield from _merge(start + stride, count, step)
        yield from ((i, i + stride) for i in range(start + stride, start + count - stride, step))
    else:
        yield start, start + stride


@nb.njit(cache=True, fastmath={"nnan", "ninf", "nsz"})
def _sort_columns_descending(table, network, n_columns):
    """Sorts table[:, a] largest first for a < n_columns by applying the comparator network."""
    for t in range(network.shape[0]):
        upper = table[network[t, 0]]
        lower = table[network[t, 1]]
        for a in range(n_columns):
            larger = max(upper[a], lower[a])
            lower[a] = min(upper[a], lower[a])
            upper[a] = larger


@nb.njit(cache=True, parallel=True)
def _environment_descriptors(points, centre_indices, k, cutoff, network):
    """Descriptors X = [X1, X2] of points[centre_indices]; returns (X, overlap flag per center, the
    neighbor count and indices of each center: (n_centres, k + 1) int64).

    `network` sorts the cross terms of every neighbor (see _sorting_network). They are stored
    position-major, cross[n, a] = n-th cross term of neighbor a, so each comparator is a
    max/min over contiguous rows.
    """
    n_centres = centre_indices.shape[0]
    x = np.zeros((n_centres, 2 * k - 1))
    overlap = np.zeros(n_centres, dtype=np.bool_)
    neighbors = np.zeros((n_centres, k + 1), dtype=np.int64)
    if n_centres == 0:
        return x, overlap, neighbors
    lower, width, counts, start, order = _bin_points(points, cutoff)
    width_sorted = max(k - 1, 1)
    n_chunks = (n_centres + _CHUNK - 1) // _CHUNK
    for chunk in nb.prange(n_chunks):
        dist2 = np.empty(k)
        index = np.empty(k, dtype=np.int64)
        shrink = np.empty(k)  # 1 - (r/rc)^2 = sqrt(w(r))
        cross = np.empty((width_sorted, k))
        filled = np.empty(k, dtype=np.int64)
        for c in range(chunk * _CHUNK, min((chunk + 1) * _CHUNK, n_centres)):
            i = centre_indices[c]
            m = _nearest_within(points, i, cutoff, k, lower, width, counts, start, order, dist2, index)
            neighbors[c, 0] = m
            neighbors[c, 1 : m + 1] = index[:m]
            for a in range(m):
                r = math.sqrt(dist2[a])
                if r < MIN_DISTANCE:
                    overlap[c] = True
                z = r / cutoff
                shrink[a] = 1.0 - z * z
                x[c, a] = shrink[a] * shrink[a] / max(r, MIN_DISTANCE)
                filled[a] = 0
            for a in range(m):
                pa = index[a]
                for b in range(a + 1, m):
                    pb = index[b]
                    dx = points[pa, 0] - points[pb, 0]
                    dy = points[pa, 1] - points[pb, 1]
                    dz = points[pa, 2] - points[pb, 2]
                    r = math.sqrt(dx * dx + dy * dy + dz * dz)
                    if r < MIN_DISTANCE:
                        overlap[c] = True
                    value = shrink[a] * shrink[b] / max(r, MIN_DISTANCE)
                    cross[filled[a], a] = value
                    filled[a] += 1
                    cross[filled[b], b] = value
                    filled[b] += 1
            for n in range(max(m - 1, 0), width_sorted):  # missing neighbors count as zeros
                for a in range(m):
                    cross[n, a] = 0.0
            _sort_columns_descending(cross, network, m)
            for n in range(m - 1):
                total = 0.0
                for a in range(m):
                    total += cross[n, a]
                x[c, k + n] = total / k
    return x, overlap, neighbors
