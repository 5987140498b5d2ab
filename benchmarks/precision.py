"""Exact dH in precision single against double, side by side in one run (issue 18, item 3).

    python benchmarks/precision.py [--threads 1] [--repeats 5]

Reference: 4,224 environments of thermal FCC Cu (0.05-0.1 A); test: 32,000 environments, a
quarter each of thermal (0.08 A), hot (0.2 A), 2% expanded and 4% expanded Cu. Times are the best
of the repeats after compilation; the error is single - double in nats, over all atoms and over the
atoms with |dH| < 1 (where the novelty decision is made). Targets: >= 1.7x faster, error <= 1e-4.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from ase.build import bulk
from quests_lmp import Descriptor, Reference


def thermal(a: float, sigma: float, seed: int, repeat: int):
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(repeat)
    atoms.positions += np.random.default_rng(seed).normal(0.0, sigma, atoms.positions.shape)
    return atoms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    numba.set_num_threads(args.threads)
    descriptor = Descriptor()
    frames = [thermal(3.615, sigma, seed, 4) for seed, sigma in enumerate([0.05, 0.08, 0.1] * 6)]
    reference = Reference(np.vstack([descriptor.compute(atoms) for atoms in frames])[:4224])
    tests = [(3.615, 0.08), (3.615, 0.2), (3.687, 0.1), (3.76, 0.1)]
    y = np.vstack([descriptor.compute(thermal(a, sigma, 50 + i, 13))[:8000] for i, (a, sigma) in enumerate(tests)])
    values, seconds = {}, {}
    for precision in ("double", "single"):
        reference.delta_entropy(y[:100], precision=precision)  # compile outside the timing
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            values[precision] = reference.delta_entropy(y, precision=precision)
            times.append(time.perf_counter() - start)
        seconds[precision] = min(times)
    error = values["single"] - values["double"]
    near = np.abs(values["double"]) < 1.0
    flips = np.sum((values["single"] > 0) != (values["double"] > 0))
    print(
        f"exact dH, {len(y):,} test vs {reference.n_environments:,} reference environments, h = 0.015 1/A, "
        f"{args.threads} thread(s); {np.mean(values['double'] > 0):.1%} novel\n"
    )
    print("| precision | seconds | us per atom | speed-up |")
    print("| --- | ---: | ---: | ---: |")
    for precision in ("double", "single"):
        print(
            f"| {precision} | {seconds[precision]:.3f} | {seconds[precision] / len(y) * 1e6:.2f} | "
            f"{seconds['double'] / seconds[precision]:.2f}x |"
        )
    print(
        f"\nsingle - double: max |error| {np.abs(error).max():.2e} nats, median {np.median(np.abs(error)):.1e}; "
        f"|dH| < 1 ({near.sum():,} atoms): max {np.abs(error[near]).max():.2e}; novelty flips: {flips}"
    )


if __name__ == "__main__":
    main()
