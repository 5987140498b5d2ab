"""Cost of the bias forces of `fix quests ... bias` against the dH evaluation alone, in one process.

    NUMBA_NUM_THREADS=1 python benchmarks/bias_cost.py [--atoms 4000] [--repeats 5]

A thermal FCC Cu cell (periodic images as ghost atoms, as LAMMPS hands them over) against a
4,224-environment reference of the same crystal; exact dH. Times: (a) descriptors + dH, what
fix quests does at an evaluation; (b) descriptors (with their neighbor lists) + dH + its
gradient + the descriptor's vector-Jacobian product, what an evaluation with a bias does.
Target (issue 14): (b) <= 2 (a).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from ase.build import bulk

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from quests_lmp import Descriptor, Reference  # noqa: E402
from quests_lmp.engine.bias import Bias, bias_forces  # noqa: E402
from quests_lmp.engine.gradients import describe_with_neighbors, descriptor_vjp, dh_and_gradient  # noqa: E402
from test_collection import domain  # noqa: E402


def best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--atoms", type=int, default=4000, help="about this many atoms (a cubic FCC cell)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    repeat = max(2, round((args.atoms / 4) ** (1 / 3)))
    atoms = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(repeat)
    atoms.positions += rng.normal(0.0, 0.08, atoms.positions.shape)
    points, _, _ = domain(atoms, 7.0)
    centers = np.arange(len(atoms))
    crystal = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(11)  # 5,324 atoms of the same thermal crystal
    crystal.positions += rng.normal(0.0, 0.08, crystal.positions.shape)
    environments = Descriptor().compute(crystal)
    reference = Reference(environments[rng.choice(len(environments), 4224, replace=False)])
    bias = Bias("wall", 0.01, -1.0)

    def evaluation():
        reference.delta_entropy(reference.descriptor.compute_points(points, centers))

    def with_forces():
        bias_forces(bias, reference, reference.bandwidth, points, centers)

    evaluation(), with_forces()  # compile
    x, neighbors = describe_with_neighbors(reference.descriptor, points, centers)
    _, weights = dh_and_gradient(x, reference.descriptors, reference.bandwidth)
    parts = {
        "descriptors": lambda: reference.descriptor.compute_points(points, centers),
        "dH (engine)": lambda: reference.delta_entropy(x),
        "dH and gradient": lambda: dh_and_gradient(x, reference.descriptors, reference.bandwidth),
        "descriptor VJP": lambda: descriptor_vjp(reference.descriptor, points, centers, weights, neighbors),
    }
    plain, biased = best(evaluation, args.repeats), best(with_forces, args.repeats)
    print(f"{len(atoms)} atoms, {len(points) - len(atoms)} ghosts, 4224 reference environments")
    for name, part in parts.items():
        print(f"  {name:<18}{best(part, args.repeats) / len(atoms) * 1e6:8.1f} us/atom")
    verdict = "ok" if biased <= 2 * plain else "MISSED"
    print(
        f"evaluation {plain / len(atoms) * 1e6:.1f} us/atom, with bias forces {biased / len(atoms) * 1e6:.1f} "
        f"us/atom: {biased / plain:.2f}x (target <= 2x: {verdict})"
    )


if __name__ == "__main__":
    main()
