"""Cost of the species modes of `fix quests` inside MD, against the species-blind default, in one run.

    python benchmarks/species.py [--repeats 2]

One core (serial lmp, NUMBA_NUM_THREADS=1). L1_2 Ni3Al (NiAlH EAM), 16,384 atoms with 0.05 A of
noise, 300 steps, `fix quests 10 ... elements Ni Al species MODE` (30 evaluations), against a
4,224-environment reference of the same thermal crystal (species-blind, and multicomponent for the
multicomponent modes), with methods exact and approx. The fix's time is the difference of LAMMPS's
"Modify" section with and without it (as benchmarks/fix_overhead.py): per atom per evaluation, and
as a ratio to the species-blind fix with the same method.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from ase.build import bulk

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fix_overhead import DECK, _seconds  # noqa: E402
from lammps_runner import POTENTIALS, run_lammps, write_data  # noqa: E402
from quests_lmp import Reference  # noqa: E402

POTENTIAL = f"pair_style eam/alloy\npair_coeff * * {POTENTIALS}/NiAlH_jea.eam.alloy Ni Al"
MODES = ("blind", "by-centre", "multicomponent", "multicomponent/by-centre")
STEPS, EVERY, REFERENCE_SIZE = 300, 10, 4224


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="runs per variant (the best times are kept)")
    args = parser.parse_args()
    crystal = bulk("Ni", "fcc", a=3.57, cubic=True).repeat(16)
    crystal.symbols[::4] = "Al"
    crystal.positions += np.random.default_rng(0).normal(0.0, 0.05, crystal.positions.shape)
    rows = np.sort(np.random.default_rng(1).choice(len(crystal), REFERENCE_SIZE, replace=False))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_data(crystal, folder / "data.lmp", specorder=["Ni", "Al"])
        for multicomponent in (False, True):  # the same environments, in both descriptors
            full = Reference.from_structures(crystal, multicomponent=multicomponent)
            Reference(full.descriptors[rows], centres=full.centres[rows], multicomponent=full.multicomponent).save(
                folder / f"ref-{int(multicomponent)}.npz"
            )
        variants = {"without": ""}
        for method in ("exact", "approx"):
            for mode in MODES:
                reference = f"ref-{int(mode.startswith('multicomponent'))}.npz"
                variants[method, mode] = (
                    f"fix q all quests {EVERY} {reference} elements Ni Al species {mode} method {method}"
                )
        times = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, fix in variants.items():
                deck = DECK.format(potential=POTENTIAL, fix=fix, steps=STEPS)
                times[name].append(_seconds(run_lammps(deck, folder, timeout=1800)))
    best = {name: np.min(values, axis=0) for name, values in times.items()}
    print(
        f"Ni3Al EAM, {len(crystal)} atoms, {STEPS} steps, fix every {EVERY}, {REFERENCE_SIZE} reference "
        f"environments; MD alone: {best['without'][0]:.2f} s"
    )
    print(f"{'method':<8}{'species':<26}{'us/atom/evaluation':>20}{'vs blind':>10}")
    for method in ("exact", "approx"):
        cost = {
            mode: (best[method, mode][1] - best["without"][1]) / (STEPS // EVERY) / len(crystal) * 1e6 for mode in MODES
        }
        for mode in MODES:
            print(f"{method:<8}{mode:<26}{cost[mode]:>20.1f}{cost[mode] / cost['blind']:>9.2f}x")


if __name__ == "__main__":
    main()
