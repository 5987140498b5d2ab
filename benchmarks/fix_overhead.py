"""Cost of `fix quests` inside MD: the same deck with and without the fix, side by side in one run.

    python benchmarks/fix_overhead.py [--repeats 2] [--keywords "precision single"]

One core (serial lmp, NUMBA_NUM_THREADS=1). Cases (issue #3):
  - EAM Cu (Cu_mishin1), 32,000 atoms, 300 steps, `fix quests 10` (30 evaluations: fewer drown
    a cost of 10 us per atom in the run-to-run noise of the MD alone);
  - SNAP Ta (Ta06A), 8,192 atoms, 30 steps, `fix quests 10`;
each against a 4,224-environment reference of the same thermal crystal (the size of the SNAP Ta
training set). The fix's time is the difference of LAMMPS's "Modify" section (time in fixes:
fix nve in both runs) with and without it, which the run-to-run noise of the force field's time
does not reach: per-evaluation cost = that / evaluations in the loop / atoms (the evaluation at
setup is outside the loop), overhead = that / the loop time without the fix. Targets: <= 40 us per atom per evaluation
(issue 3; issue 18: <= 15 us); SNAP Ta run overhead <= 5% at N = 10.
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
SNAP = (
    f"pair_style hybrid/overlay zbl 4.0 4.8 snap\npair_coeff 1 1 zbl 73 73\n"
    f"pair_coeff * * snap {POTENTIALS}/Ta06A.snapcoeff {POTENTIALS}/Ta06A.snapparam Ta\n"
    "comm_modify cutoff 7.0  # ghosts for the descriptor: 5 A cutoff + 2 A skin"
)

CASES = [
    ("EAM Cu", bulk("Cu", "fcc", a=3.615, cubic=True).repeat(20), EAM, 300, 10),
    ("SNAP Ta", bulk("Ta", "bcc", a=3.316, cubic=True).repeat(16), SNAP, 30, 10),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="runs per variant (the best times are kept)")
    parser.add_argument("--keywords", default="", help="keywords appended to the fix line, e.g. 'precision single'")
    args = parser.parse_args()
    print(
        f"{'case':<10}{'atoms':>7}{'N':>5}{'without (s)':>13}{'with (s)':>10}{'overhead':>10}"
        f"{'us/atom/evaluation':>20}  targets"
    )
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
                    times[variant].append(_seconds(run_lammps(deck, folder, timeout=1800)))
        (without, modify_without), (with_fix, modify_with) = (
            np.min(times[variant], axis=0) for variant in ("without", "with")
        )
        fix_seconds = modify_with - modify_without
        per_atom = fix_seconds / (steps // every) / len(crystal) * 1e6
        overhead = fix_seconds / without
        verdicts = [
            f"<= 40 us {'ok' if per_atom <= 40 else 'MISSED'}",
            f"<= 15 us {'ok' if per_atom <= 15 else 'MISSED'}",
        ]
        if name == "SNAP Ta":
            verdicts.append(f"overhead <= 5% {'ok' if overhead <= 0.05 else 'MISSED'}")
        print(
            f"{name:<10}{len(crystal):>7}{every:>5}{without:>13.2f}{with_fix:>10.2f}{overhead:>9.1%}"
            f"{per_atom:>20.1f}  {', '.join(verdicts)}"
        )
        print(f"{'':<10}MD alone: {without / steps / len(crystal) * 1e6:.2f} us per atom-step")


def _seconds(result) -> tuple[float, float]:
    """LAMMPS's loop time and the average time of its Modify section (fixes), s."""
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-2000:] + result.stderr[-2000:])
    loop = float(re.search(r"Loop time of ([0-9.eE+-]+)", result.stdout).group(1))
    modify = float(re.search(r"^Modify\s*\|\s*[0-9.eE+-]+\s*\|\s*([0-9.eE+-]+)", result.stdout, re.M).group(1))
    return loop, modify


if __name__ == "__main__":
    main()
