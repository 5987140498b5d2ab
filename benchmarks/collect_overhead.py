"""Cost of `collect FILE` in `fix quests` when nothing is novel: the fix with and without collection,
side by side in one run.

    python benchmarks/collect_overhead.py [--repeats 2] [--ranks 1 2]

EAM Cu (Cu_mishin1), 32,000 atoms, 300 steps, `fix quests 10` (30 evaluations), against a
4,224-environment reference of the same thermal crystal, with a threshold of 5 nats so that no atom
is novel (checked: f_q[4] = 0 at every evaluation). The fix's time per evaluation is LAMMPS's
"Modify" section (fix nve in both) over the evaluations. Collection needs ghost atoms out to
cutoff + buffer + skin (12 A instead of 7 A), which costs communication in every step of MD too:
the loop time of each variant is reported, and the fix with 12 A ghosts but no collection separates
the cost of the wider ghost shell from that of collection itself. Target (issue 13): collection
adds <= 10% to an evaluation that finds nothing novel.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import numpy as np
from ase.build import bulk
from fix_overhead import DECK, EAM, _seconds
from lammps_runner import run_lammps, write_data
from quests_lmp import Descriptor, Reference

STEPS, EVERY = 300, 10
VARIANTS = {  # name: (ghost cutoff A, fix keywords)
    "fix": (7.5, "threshold 5.0"),
    "fix, 12 A ghosts": (12.0, "threshold 5.0"),
    "fix + collect": (12.0, "threshold 5.0 elements Cu collect novel.extxyz"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="runs per variant (the best times are kept)")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="MPI ranks of each measurement")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    crystal = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(20)
    crystal.positions += rng.normal(0.0, 0.05, crystal.positions.shape)
    evaluations = STEPS // EVERY
    print(f"{'ranks':>5}  {'variant':<18}{'loop (s)':>9}{'fix (s)':>9}{'ms/evaluation':>15}  against fix")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_data(crystal, folder / "data.lmp")
        environments = Descriptor().compute(crystal)
        Reference(environments[rng.choice(len(environments), 4224, replace=False)]).save(folder / "ref.npz")
        for ranks in args.ranks:
            best = {}
            for name, (ghosts, keywords) in VARIANTS.items():
                fix = (
                    f"comm_modify cutoff {ghosts}\nfix q all quests {EVERY} ref.npz {keywords}\n"
                    "thermo_style custom step f_q[1] f_q[4]\nthermo 10"
                )
                runs = []
                for _ in range(args.repeats):
                    (folder / "novel.extxyz").unlink(missing_ok=True)
                    result = run_lammps(
                        DECK.format(potential=EAM, fix=fix, steps=STEPS), folder, ranks=ranks, timeout=1800
                    )
                    novel = [float(n) for n in re.findall(r"^\s*\d+\s+\S+\s+(\S+)\s*$", result.stdout, re.M)]
                    if not novel or max(novel) != 0.0:
                        raise RuntimeError(f"novel atoms {novel}: the case must find nothing\n{result.stdout[-3000:]}")
                    runs.append(_seconds(result))
                best[name] = np.min(runs, axis=0)
            for name, (loop, modify) in best.items():
                per_evaluation = modify / evaluations * 1e3
                added = ""
                if name != "fix":
                    fix_loop, fix_modify = best["fix"]
                    verdict = "ok" if modify <= 1.1 * fix_modify else "MISSED"
                    added = (
                        f"{modify / fix_modify - 1:+.1%} per evaluation"
                        f"{f' (<= 10% {verdict})' if 'collect' in name else ''}, "
                        f"{loop / fix_loop - 1:+.1%} loop time"
                    )
                print(f"{ranks:>5}  {name:<18}{loop:>9.2f}{modify:>9.2f}{per_evaluation:>15.1f}  {added}")


if __name__ == "__main__":
    main()
