"""One global calibrated threshold, or one per k-means cluster of the reference? Measured on the
mlearn sets with their SNAP errors (run after run.py, which writes the extxyz files it reads).

    python clusters.py           # Li and Ge at h = 0.015 1/A and h(V): about 1 min on 2 cores

Both alarms are set for 5% false alarms on the training set's environments held out by
structure (5 folds, as `quests-lmp calibrate`). The global one is the 95% quantile of all held-out
dH; the per-cluster one, for the environments nearest to each centroid of a k-means clustering of
the reference (the cluster index's sqrt(n) clusters, and coarser ones), the 95% quantile of the
held-out dH of that cluster (the global one for clusters of fewer than 20 environments). A test
atom is flagged when its dH exceeds the threshold of its nearest centroid's cluster. Compared on
test.json: flagged fraction, recall and precision for the SNAP's big errors (above twice its
training RMS error), and the AUROC of the score each alarm thresholds (dH, or dH minus the
cluster's threshold). Writes clusters.json and prints the table of the README.
"""

from __future__ import annotations

import json
from pathlib import Path

import ase.io
import numpy as np
from quests_lmp import Reference
from quests_lmp.analysis.calibration import false_alarm_threshold, held_out_dh, structure_folds
from quests_lmp.analysis.model_errors import alarm_metrics, auroc
from quests_lmp.engine.kmeans import kmeans

HERE = Path(__file__).resolve().parent
RATE, FOLDS, SMALLEST = 0.05, 5, 20  # false alarms; folds; fewest environments for a cluster's own threshold


def force_errors(frames) -> np.ndarray:
    return np.concatenate([np.linalg.norm(a.arrays["snap_forces"] - a.arrays["dft_forces"], axis=1) for a in frames])


def nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid of each row."""
    squared = (x**2).sum(1)[:, None] - 2 * x @ centroids.T + (centroids**2).sum(1)[None, :]
    return np.argmin(squared, axis=1)


def compare(element: str, h: float) -> list[dict]:
    training = ase.io.read(HERE / f"{element}_training.extxyz", ":")
    test = ase.io.read(HERE / f"{element}_test.extxyz", ":")
    reference = Reference.from_structures(training, bandwidth=h)
    x = reference.descriptors
    structures = np.repeat(np.arange(len(training)), [len(a) for a in training])
    folds = structure_folds([a.info["group"] for a in training], FOLDS, 0)[structures]
    held = held_out_dh(x, folds, h)
    global_threshold = false_alarm_threshold(held, RATE)
    dh = reference.delta_entropy(test, h)
    errors = force_errors(test)
    tau = 2.0 * float(np.sqrt(np.mean(force_errors(training) ** 2)))
    big = errors > tau
    y = Reference.from_structures(test).descriptors
    rows = [
        {
            "element": element,
            "bandwidth": h,
            "clusters": 1,
            "tau": tau,
            "auroc": auroc(dh, big),
            **alarm_metrics(dh, errors, tau, global_threshold),
        }
    ]
    for n_clusters in (round(np.sqrt(len(x))), 30, 10):
        _, centroids = kmeans(x, n_clusters, seed=0)
        labels = nearest(x, centroids)
        thresholds = np.array(
            [
                false_alarm_threshold(held[labels == c], RATE) if np.sum(labels == c) >= SMALLEST else global_threshold
                for c in range(len(centroids))
            ]
        )
        score = dh - thresholds[nearest(y, centroids)]
        rows.append(
            {
                "element": element,
                "bandwidth": h,
                "clusters": len(centroids),
                "tau": tau,
                "auroc": auroc(score, big),
                **alarm_metrics(score, errors, tau, 0.0),
            }
        )
    return rows


def main() -> None:
    rows = []
    for element in ("Li", "Ge"):
        auto = Reference.load(HERE / f"{element}-hauto.npz").bandwidth  # h(V), as run.py's --bandwidth auto
        rows += compare(element, 0.015) + compare(element, auto)
    (HERE / "clusters.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("| set | h (1/A) | thresholds | AUROC | test flagged | recall / precision |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for row in rows:
        kind = "one global" if row["clusters"] == 1 else f"per cluster ({row['clusters']})"
        print(
            f"| {row['element']} | {row['bandwidth']:.4f} | {kind} | {row['auroc']:.2f} | "
            f"{row['flagged_fraction']:.1%} | {row['recall']:.0%} / {row['precision']:.0%} |"
        )


if __name__ == "__main__":
    main()
