"""Approximate dH against exact dH: method knn (SI Eq. S19; recall, over-estimate, time), ours and the
reference's, next to method approx (certified cluster index).

    python benchmarks/approximate.py [--threads 2]

Reference: one frame of a 32,000-atom FCC Cu cell with 0.08 A noise; test: a 6,912-atom frame at
0.16 A noise (about half of its environments novel); h = 0.015 1/A. Reported for several numbers
of neighbors m: recall of the true m nearest references (on 300 test environments), the
over-estimate approx - exact (all environments, and those near the threshold, exact dH > -1), and
how many novel environments (exact dH > 0) the approximation reports as covered (must be 0).
The last rows are method approx (its index built in the first call, then a second call timed).
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ["NUMBA_NUM_THREADS"] = str(args.threads)

    import numpy as np
    from ase.build import bulk
    from quests.entropy import approx_delta_entropy as reference_approx
    from quests_lmp import Descriptor, Reference, delta_entropy

    rng = np.random.default_rng(0)

    def frame(noise, repeat):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(repeat)
        atoms.positions += rng.normal(0.0, noise, atoms.positions.shape)
        return Descriptor().compute(atoms)

    x, y = frame(0.08, 20), frame(0.16, 12)
    h = 0.015
    start = time.perf_counter()
    exact = delta_entropy(y, x, h)
    exact_seconds = time.perf_counter() - start
    reference = Reference(x, bandwidth=h)
    start = time.perf_counter()
    index = reference.knn_index()
    build_seconds = time.perf_counter() - start
    near = exact > -1.0
    sample = y[:300]
    true_order = np.argsort(((sample[:, None, :] - x[None, :, :]) ** 2).sum(axis=2), axis=1)

    print(
        f"reference {len(x)} environments, test {len(y)} ({(exact > 0).mean():.1%} novel), h = {h} 1/A, "
        f"{args.threads} threads"
    )
    print(
        f"exact dH: {exact_seconds:.2f} s; search graph build (after numba's on-disk cache is warm): "
        f"{build_seconds:.1f} s"
    )
    print(
        f"{'method':<34}{'recall':>8}{'median over-est.':>18}{'near dH=0: median':>19}{'p99':>7}"
        f"{'novel missed':>14}{'query (s)':>11}"
    )
    for m in (3, 32, 64, 128, 256):
        start = time.perf_counter()
        approx = reference.delta_entropy(y, method="knn", neighbors=m)
        seconds = time.perf_counter() - start
        found, _ = index.neighbors(sample, m)
        recall = np.mean([len(set(true_order[i, :m]) & set(found[i])) / m for i in range(len(sample))])
        _row(f"quests_lmp knn, m = {m}", recall, approx - exact, near, exact, approx, seconds)
    start = time.perf_counter()
    with np.errstate(divide="ignore"):  # the reference's dH is inf where its kernel sum underflows
        approx = reference_approx(y, x, h=h)  # the reference package's defaults: 3 neighbors, graph 10
    seconds = time.perf_counter() - start
    _row("reference quests, defaults (m = 3)", float("nan"), approx - exact, near, exact, approx, seconds)
    for certificate in (0.1, 0.01):
        reference.delta_entropy(y, method="approx", certificate=certificate)
        start = time.perf_counter()
        approx = reference.delta_entropy(y, method="approx", certificate=certificate)
        seconds = time.perf_counter() - start
        _row(
            f"quests_lmp approx, certificate {certificate}", float("nan"), approx - exact, near, exact, approx, seconds
        )


def _row(label, recall, error, near, exact, approx, seconds):
    import numpy as np

    missed = int(np.sum((exact > 0) & (approx <= 0)))
    print(
        f"{label:<34}{recall:>8.3f}{np.median(error):>18.3f}{np.median(error[near]):>19.3f}"
        f"{np.quantile(error[near], 0.99):>7.2f}{missed:>14d}{seconds:>11.2f}"
    )


if __name__ == "__main__":
    main()
