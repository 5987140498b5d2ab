"""Python side of the LAMMPS `fix quests` plugin (lammps_plugin/): one engine object per rank.

The C++ fix creates a `FixEngine` once per rank and calls its `evaluate(...)` every N steps, handing
over zero-copy memoryviews of LAMMPS memory (owned + ghost positions, the atom mask and the fix's
per-atom output). Nothing here keeps those arrays past the call: LAMMPS reallocates them.
"""

from __future__ import annotations

import time

import numpy as np

from ..engine.reference import Reference, dh_options
from ..engine.validation import check_bandwidths


class FixEngine:
    """A reference loaded once, and how to compare the group's environments with it."""

    def __init__(self, reference_file: str, bandwidth: float | None = None, method: str = "exact",
                 neighbors: int | None = None, precision: str = "double", certificate: float | None = None,
                 threshold: float = 0.0):
        self.options = dh_options(method, neighbors, precision, certificate, threshold)
        chosen = None if bandwidth is None else float(check_bandwidths(bandwidth)[0][0])
        self.reference = Reference.load(reference_file)
        self.bandwidth = self.reference.bandwidth if chosen is None else chosen
        self.descriptor = self.reference.descriptor
        self.notice = ""  # a warning for LAMMPS to print once
        if method == "approx" and not self.reference.has_cluster_index:
            start = time.perf_counter()
            self.reference.cluster_index()  # built now, not at the first step
            self.notice = (f"{reference_file} has no cluster index: built one in {time.perf_counter() - start:.1f} s "
                           f"on each rank; store it in the file to skip this: quests-lmp reference index {reference_file}")
        elif method == "knn":
            self.reference.knn_index()

    @property
    def cutoff(self) -> float:
        """Descriptor cutoff in A: LAMMPS must provide ghost atoms at least this far out."""
        return self.descriptor.cutoff

    def evaluate(self, positions, n_points: int, nlocal: int, mask, groupbit: int, out) -> None:
        """Writes dH (nats) of the owned atoms in the group into `out`; 0 for the others.

        positions: memoryview of n_points x 3 doubles (owned atoms first, then ghosts), A;
        mask: memoryview of at least nlocal ints; out: writable memoryview of nlocal doubles.
        """
        result = np.frombuffer(out, dtype=np.float64, count=nlocal)
        result[:] = 0.0
        if nlocal == 0:
            return
        points = np.frombuffer(positions, dtype=np.float64, count=3 * n_points).reshape(n_points, 3)
        centers = np.flatnonzero(np.frombuffer(mask, dtype=np.int32, count=nlocal) & groupbit)
        if centers.size == 0:
            return
        x = self.descriptor.compute_points(points, centers)
        result[centers] = self.reference.delta_entropy(x, self.bandwidth, **self.options)

