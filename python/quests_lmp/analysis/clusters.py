"""Solid-like clusters (paper Sec. II.C, Fig. 2f-g, Methods "Graph-theoretical determination of
clusters"): atoms with dH <= threshold against a solid reference are nodes, atoms closer than a
distance (default 3.0 A, periodic images included) are joined, clusters are connected components."""

from __future__ import annotations

import numpy as np

DEFAULT_DISTANCE = 3.0  # A, the paper's


def cluster_sizes(atoms, nodes: np.ndarray, distance: float = DEFAULT_DISTANCE) -> np.ndarray:
    """Sizes (number of atoms), largest first, of the clusters formed by the atoms where `nodes` is True."""
    from ase.neighborlist import neighbor_list
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not distance > 0:
        raise ValueError(f"the cluster distance must be > 0 (A), got {distance}")
    members = np.flatnonzero(nodes)
    if members.size == 0:
        return np.zeros(0, dtype=np.int64)
    first, second = neighbor_list("ij", atoms, distance)
    both = nodes[first] & nodes[second]
    position = np.full(len(atoms), -1)
    position[members] = np.arange(members.size)
    graph = coo_matrix(
        (np.ones(both.sum()), (position[first[both]], position[second[both]])), shape=(members.size, members.size)
    )
    _, labels = connected_components(graph, directed=False)
    return np.sort(np.bincount(labels))[::-1]
