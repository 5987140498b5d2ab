"""Cost of `fix quests` inside MD: the same deck with and without the fix, side by side in one run.

    python benchmarks/fix_overhead.py [--repeats 2] [--keywords "precision single"]

One core (serial lmp, NUMBA_NUM_THREADS=1). Cases (issue #3):
  - EAM Cu (Cu_mishin1), 32,000 atoms, 300 steps, `fix quests 100`;
  - SNAP Ta (Ta06A), 8,192 atoms, 30 steps, `fix quests 10`;
each against a 4,224-environment reference of the same thermal crystal (the size of the SNAP Ta
training set). Per-evaluation cost = extra loop time / evaluations in the loop / atoms (the
evaluation at setup is outside LAMMPS's loop time). Targets: <= 40 us per atom per evaluation;
SNAP Ta run overhead <= 5% at N = 10 (issue 18: <= 15 us per atom per evaluation).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
from ase.build import bulk

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from lammps_runner import POTENTIALS, run_lammps, write_data  # noqa: E402

from quests_lmp import Descriptor, Reference  # noqa: E402

DECK = """units metal
atom_style atomic
read_data data.lmp
{potential}
velocity all create 300 5 loop geom
fix nve all nve
{fix}
thermo 100
run {steps}
"""
EAM = f"pair_style eam/alloy\npair_coeff * * {POTENTIALS}/Cu_mishin1.eam.alloy Cu"
SNAP = (f"pair_style hybrid/overlay zbl 4.0 4.8 snap\npair_coeff 1 1 zbl 73 73\n"
        f"pair_coeff * * snap {POTENTIALS}/Ta06A.snapcoeff {POTENTIALS}/Ta06A.snapparam Ta\n"
        "comm_modify cutoff 7.0  # ghosts for the descriptor: 5 A cutoff + 2 A skin")

CASES = [
    ("EAM Cu", bulk("Cu", "fcc", a=3.615, cubic=True).repeat(20), EAM, 300, 100),
    ("SNAP Ta", bulk("Ta", "bcc", a=3.316, cubic=True).repeat(16), SNAP, 30, 10),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="runs per variant (best loop time is kept)")
    parser.add_argument("--keywords", default="", help="keywords appended to the fix line, e.g. 'precision single'")
    args = parser.parse_args()
    print(f"{'case':<10}{'atoms':>7}{'N':>5}{'without (s)':>13}{'with (s)':>10}{'overhead':>10}"
          f"{'us/atom/evaluation':>20}{'targets':>30}")
    for name, crystal, potential, steps, every in CASES:
        rng = np.random.default_rng(0)
        crystal = crystal.copy()
        crystal.positions += rng.normal(0.0, 0.05, crystal.positions.shape)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            write_data(crystal, folder / "data.lmp")
            environments = Descriptor().compute(crystal)
            Reference(environments[rng.choice(len(environments), 4224, replace=False)]).save(folder / "ref.npz")
            times = {"without": [], "with": []}
            for _ in range(args.repeats):
                for variant, fix in (("without", ""), ("with", f"fix q all quests {every} ref.npz {args.keywords}")):
                    deck = DECK.format(potential=potential, fix=fix, steps=steps)
                    times[variant].append(_loop_seconds(run_lammps(deck, folder, timeout=1800)))
        without, with_fix = min(times["without"]), min(times["with"])
        per_atom = (with_fix - without) / (steps // every) / len(crystal) * 1e6
        overhead = (with_fix - without) / without
        target = "<= 40 us" + (", overhead <= 5%" if name == "SNAP Ta" else "")
        verdict = "ok" if per_atom <= 40 and (name != "SNAP Ta" or overhead <= 0.05) else "MISSED"
        print(f"{name:<10}{len(crystal):>7}{every:>5}{without:>13.2f}{with_fix:>10.2f}{overhead:>9.1%}"
              f"{per_atom:>20.1f}{target:>24} {verdict}")
        print(f"{'':<10}MD alone: {without / steps / len(crystal) * 1e6:.2f} us per atom-step")


def _loop_seconds(result) -> float:
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-2000:] + result.stderr[-2000:])
    return float(re.search(r"Loop time of ([0-9.eE+-]+)", result.stdout).group(1))


if __name__ == "__main__":
    main()
