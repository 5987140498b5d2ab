"""The descriptor's neighbor search against vesin's neighbor list, side by side in one run.

    python benchmarks/neighbors.py [--threads 2] [--repeats 5]

Both sides produce what the descriptor needs: the k nearest neighbors within the cutoff of every
atom, sorted by distance. quests_lmp: periodic images, then its cell lists (the first stage of
Descriptor.compute). vesin: NeighborList(full_list=True) on the periodic cell, then the k nearest
of each atom chosen with numpy. Identity: descriptors built from vesin's neighbors (each atom's
k neighbors as a cluster, through Descriptor.compute_points) against Descriptor.compute, on a
sample of atoms. The last column is the whole Descriptor.compute, for scale. Needs
`pip install vesin` (not a dependency of quests-lmp).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numba as nb
import numpy as np
from quests_lmp import Descriptor
from quests_lmp.engine.descriptor import _bin_points, _nearest_within
from quests_lmp.engine.periodic import periodic_images


def structures():
    """The benchmark structures: (name, ase.Atoms)."""
    from ase.build import bulk

    big = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(20)  # 32,000 atoms, as benchmarks/engine.py
    big.rattle(0.05, seed=1)
    triclinic = bulk("Cu", "fcc", a=3.61).repeat((12, 12, 12))  # primitive cell: 60-degree angles
    triclinic.rattle(0.05, seed=2)
    small = bulk("Cu", "fcc", a=3.61, cubic=True)  # 4 atoms, cell (3.61 A) shorter than the cutoff
    small.rattle(0.05, seed=3)
    perfect = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(5)  # k = 32 splits the third shell (24 atoms): ties
    return [
        ("noisy FCC Cu, 32,000 atoms (cubic)", big),
        ("noisy FCC Cu, 1,728 atoms (triclinic)", triclinic),
        ("noisy FCC Cu, 4 atoms (cell < cutoff)", small),
        ("perfect FCC Cu, 500 atoms (ties)", perfect),
    ]


def ours(atoms, k, cutoff):
    """(k nearest distances per atom (A), the time in s) from quests_lmp's images and cell lists."""
    started = time.perf_counter()
    points = periodic_images(atoms.positions, atoms.cell.array, atoms.pbc, cutoff)
    distances = _nearest_all(points, len(atoms), k, cutoff)
    return distances, time.perf_counter() - started


@nb.njit(parallel=True)
def _nearest_all(points, n, k, cutoff):
    """The neighbor search of the descriptor kernel alone, for the first n points."""
    lower, width, counts, start, order = _bin_points(points, cutoff)
    out = np.full((n, k), np.inf)
    for i in nb.prange(n):
        dist2 = np.empty(k)
        index = np.empty(k, dtype=np.int64)
        m = _nearest_within(points, i, cutoff, k, lower, width, counts, start, order, dist2, index)
        out[i, :m] = np.sqrt(dist2[:m])
    return out


def theirs(atoms, k, cutoff, threads):
    """(k nearest distances per atom (A), neighbor vectors per atom, the time in s) from vesin."""
    from vesin import NeighborList

    started = time.perf_counter()
    first, vectors, distances = NeighborList(cutoff=cutoff, full_list=True, n_threads=threads).compute(
        atoms.positions, atoms.cell.array, True, quantities="iDd"
    )
    order = np.lexsort((distances, first))
    first, vectors, distances = first[order], vectors[order], distances[order]
    starts = np.searchsorted(first, np.arange(len(atoms) + 1))
    rank = np.arange(len(first)) - starts[first]
    keep = rank < k
    nearest = np.full((len(atoms), k), np.inf)
    nearest[first[keep], rank[keep]] = distances[keep]
    elapsed = time.perf_counter() - started
    return nearest, (first[keep], rank[keep], vectors[keep]), elapsed


def descriptor_difference(atoms, kept, k, cutoff, sample):
    """Largest |X(vesin neighbors) - X(Descriptor.compute)| over `sample` atoms (1/A)."""
    descriptor = Descriptor(k, cutoff)
    reference = descriptor.compute(atoms)
    first, rank, vectors = kept
    worst = 0.0
    for atom in np.linspace(0, len(atoms) - 1, sample).astype(int):
        cluster = np.vstack([np.zeros(3), vectors[first == atom][np.argsort(rank[first == atom])]])
        x = descriptor.compute_points(cluster, 1)[0]
        worst = max(worst, float(np.abs(x - reference[atom]).max()))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="threads for both (numba; vesin's n_threads)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (best is kept)")
    parser.add_argument("--sample", type=int, default=200, help="atoms whose descriptors are compared")
    args = parser.parse_args()
    import vesin

    nb.set_num_threads(args.threads)
    k, cutoff = 32, 5.0
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} threads, "
        f"Python {platform.python_version()}, numba {nb.__version__}, vesin {vesin.__version__}; k = {k}, "
        f"cutoff = {cutoff} A"
    )
    print(
        f"{'structure':<40}{'vesin (s)':>11}{'quests_lmp (s)':>16}{'vesin / ours':>14}"
        f"{'max |dr| (A)':>14}{'max |dX| (1/A)':>16}{'descriptors (s)':>17}"
    )
    for name, atoms in structures():
        ours(atoms, k, cutoff)  # compile
        mine = min((ours(atoms, k, cutoff) for _ in range(args.repeats)), key=lambda result: result[1])
        other = min((theirs(atoms, k, cutoff, args.threads) for _ in range(args.repeats)), key=lambda r: r[2])
        finite = np.isfinite(mine[0])
        same_count = np.array_equal(finite, np.isfinite(other[0]))
        dr = float(np.abs(mine[0][finite] - other[0][finite]).max()) if same_count else float("inf")
        dx = descriptor_difference(atoms, other[1], k, cutoff, min(args.sample, len(atoms)))
        whole = min(_seconds(lambda: Descriptor(k, cutoff).compute(atoms)) for _ in range(args.repeats))
        print(
            f"{name:<40}{other[2]:>11.4f}{mine[1]:>16.4f}{other[2] / mine[1]:>13.2f}x{dr:>14.1e}{dx:>16.1e}"
            f"{whole:>17.4f}"
        )


def _seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
