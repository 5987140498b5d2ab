"""k-means clustering of descriptor vectors (Lloyd's iterations, BLAS distances), deterministic per seed.

Used to partition a reference into the clusters of its cluster index (quests_lmp.engine.cluster_index).
The iterations run on a random sample of SAMPLE_PER_CLUSTER rows per cluster (the centroids of
10^6 rows then settle in about a second), then every row is assigned to its nearest centroid once,
and each centroid is set to the mean of its members.
"""

from __future__ import annotations

import numpy as np

SAMPLE_PER_CLUSTER = 200
ITERATIONS = 10
_CHUNK = 65536  # rows per distance block: 65536 x 1000 clusters of float32 = 256 MiB


def kmeans(x: np.ndarray, n_clusters: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clusters the rows of x into at most n_clusters groups.

    Parameters
    ----------
    x : (n, d) float64 array
    n_clusters : int, 1 <= n_clusters <= n
    seed : int
        Seed of the sample and of the starting centroids.

    Returns
    -------
    labels : (n,) int64 array, the cluster of each row, in 0 .. m-1
    centroids : (m, d) float64 array, the mean of each cluster's rows; m <= n_clusters (clusters
        left empty by the final assignment are dropped and the labels renumbered).
    """
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    sample = x[np.sort(rng.choice(n, min(n, SAMPLE_PER_CLUSTER * n_clusters), replace=False))]
    centroids = sample[rng.choice(sample.shape[0], n_clusters, replace=False)]
    for _ in range(ITERATIONS):
        means, counts = _means(sample, nearest_centroid(sample, centroids), n_clusters)
        empty = counts == 0
        means[empty] = sample[rng.choice(sample.shape[0], int(empty.sum()), replace=False)]
        centroids = means
    labels = nearest_centroid(x, centroids)
    means, counts = _means(x, labels, n_clusters)
    kept = counts > 0
    return (np.cumsum(kept) - 1)[labels], means[kept]


def nearest_centroid(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid of each row of x (squared distances in float32)."""
    c = centroids.astype(np.float32)
    half_norms = 0.5 * np.einsum("ij,ij->i", c, c)
    labels = np.empty(x.shape[0], dtype=np.int64)
    for start in range(0, x.shape[0], _CHUNK):
        block = x[start : start + _CHUNK].astype(np.float32)
        labels[start : start + _CHUNK] = np.argmin(half_norms[None, :] - block @ c.T, axis=1)
    return labels


def _means(x: np.ndarray, labels: np.ndarray, n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean row of each label (0 where a label has no rows) and the row count of each label."""
    counts = np.bincount(labels, minlength=n_clusters)
    order = np.argsort(labels, kind="stable")
    present = np.flatnonzero(counts)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[present]
    means = np.zeros((n_clusters, x.shape[1]))
    means[present] = np.add.reduceat(x[order], starts, axis=0) / counts[present, None]
    return means, counts
