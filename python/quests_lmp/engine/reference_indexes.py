"""The lazily built search structures of a Reference: its cluster index (method approx), one per
element (by-centre comparisons), and the nearest-neighbor graph (method knn).

ReferenceIndexes is the part of quests_lmp.engine.reference.Reference that builds, keeps and
hands them out; the Reference's file stores the cluster indexes (engine.reference_file).
"""

from __future__ import annotations

import time

import numpy as np

from .cluster_index import ClusterIndex
from .knn import ApproximateIndex
from .options import DhOptions
from .species import atomic_numbers, symbols


class ReferenceIndexes:
    """Cluster indexes and the knn graph of a Reference (its `_clusters`, `_knn`, `_parts`,
    `_element_indexes`), built on first use or by prepare(), kept, and stored by save()."""

    def element_part(self, element) -> ReferenceIndexes | None:
        """The reference environments whose centre is `element` (symbol or atomic number), a
        Reference sharing this one's memory (its own cluster index is built on first use); None
        if there are none.

        Parameters
        ----------
        element : str or int

        Returns
        -------
        Reference or None

        Raises
        ------
        ValueError
            An unknown element, or a reference that records no centres.
        """
        z = int(atomic_numbers(element)[0])
        if self.centres is None:
            raise ValueError("this reference records no centre elements: rebuild it from its structures")
        if z not in self._parts:
            start, stop = np.searchsorted(self.centres, [z, z + 1])
            whole = stop - start == self.n_environments  # one element: its index is the whole set's
            self._parts[z] = (
                None
                if start == stop
                else type(self)(
                    self.descriptors[start:stop],
                    self.k,
                    self.cutoff,
                    self.bandwidth,
                    self.sources,
                    self._clusters if whole else self._element_indexes.get(z),
                    centres=self.centres[start:stop],
                    multicomponent=self.multicomponent,
                )
            )
        return self._parts[z]

    def build_element_indexes(self, seed: int = 0) -> dict[str, ClusterIndex]:
        """Builds anew the cluster index of each element's environments (by-centre comparisons with
        method "approx") and keeps them; save() then stores them.

        Parameters
        ----------
        seed : int
            Seed of the k-means sample and start (build_cluster_index).

        Returns
        -------
        dict: element symbol -> ClusterIndex.

        Raises
        ------
        ValueError
            A reference that records no centres.
        """
        if self.centres is None:
            raise ValueError("this reference records no centre elements: rebuild it from its structures")
        zs = np.unique(self.centres)
        if zs.size == 1:  # one element: its index is the whole set's
            self._parts.clear()
            return {symbols(zs)[0]: self.build_cluster_index(seed=seed)}
        return {symbols([z])[0]: self.element_part(z).build_cluster_index(seed=seed) for z in zs}

    def _stored_element_indexes(self) -> dict[int, ClusterIndex]:
        """The per-element cluster indexes save() stores: given or built, of elements that are not the
        whole set."""
        indexes = dict(self._element_indexes)
        for z, part in self._parts.items():
            if part is not None and part.has_cluster_index and part.n_environments < self.n_environments:
                indexes[z] = part.cluster_index()
        return indexes

    def prepare(self, method: str = "exact", by_centre: bool = False) -> float:
        """Builds now what `method` needs that is not at hand (the cluster index of approx, one per
        element with by_centre; the search graph of knn) rather than at the first query.

        Parameters
        ----------
        method : str
            "exact", "approx" or "knn".
        by_centre : bool
            Prepare the per-element references of by-centre comparisons.

        Returns
        -------
        float: seconds spent building cluster indexes (0.0 if none was needed).

        Raises
        ------
        ValueError
            An unknown method, or by_centre with a reference that records no centres.
        """
        method = DhOptions(method=method).checked().method
        if by_centre:
            self._absent(self.centres, True, None)  # raises if species are unknown
        parts = [self.element_part(z) for z in np.unique(self.centres)] if by_centre else [self]
        start, built = time.perf_counter(), False
        for part in parts:
            if method == "approx" and not part.has_cluster_index:
                part.cluster_index()
                built = True
            elif method == "knn":
                part.knn_index()
        return time.perf_counter() - start if built else 0.0

    @property
    def has_cluster_index(self) -> bool:
        """Whether the cluster index of method approx is at hand (loaded with the file or built)."""
        return self._clusters is not None

    def cluster_index(self) -> ClusterIndex:
        """The cluster index of method "approx": loaded with the file, or built on first use
        (about 1 s per 10^5 environments) and then kept; save() stores it.

        Returns
        -------
        ClusterIndex (quests_lmp.engine.cluster_index)
        """
        if self._clusters is None:
            self.build_cluster_index()
        return self._clusters

    def build_cluster_index(self, n_clusters: int | None = None, seed: int = 0) -> ClusterIndex:
        """Builds the cluster index of method "approx" anew and keeps it; save() then stores it.

        Parameters
        ----------
        n_clusters : int, optional
            k-means clusters; sqrt(n) by default (1,000 for 10^6 environments).
        seed : int
            Seed of the k-means sample and start: the same seed gives the same index.

        Returns
        -------
        ClusterIndex (quests_lmp.engine.cluster_index)

        Raises
        ------
        ValueError
            n_clusters < 1.
        """
        if n_clusters is not None and (
            isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or n_clusters < 1
        ):
            raise ValueError(f"n_clusters must be an integer >= 1, got {n_clusters!r}")
        self._clusters = ClusterIndex.build(self.descriptors, n_clusters, seed=seed)
        return self._clusters

    def knn_index(self) -> ApproximateIndex:
        """The nearest-neighbor search graph of method "knn", built on first use, then kept.

        Returns
        -------
        ApproximateIndex (quests_lmp.engine.knn)
        """
        if self._knn is None:
            self._knn = ApproximateIndex(self.descriptors)
        return self._knn
