"""Lindemann's melting rule from information entropy (paper SI Sec. 8e, Fig. S10).

FCC, BCC and HCP crystals at Cu's atomic volume get Gaussian noise of growing size; the entropy H
of each noisy crystal (h = 0.057 1/A) is compared with the paper's statement: H reaches 0.2-0.5 nats
(k_B) between normalised RMSD 0.10 and 0.125. The RMSD is normalised in five ways to find which
makes that statement hold (see README.md).

    python run.py [--quick]      # --quick: 8x8x8 cells and fewer noise levels (CI)
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
from ase.build import bulk
from quests_lmp import Descriptor, entropy

VOLUME = 11.81  # A^3/atom, FCC Cu at a = 3.615 A
BANDWIDTH = 0.057  # 1/A, the paper's
PAPER_RANGE = (0.10, 0.125)  # normalised RMSD where the paper finds H = 0.2-0.5 nats
ENTROPY_RANGE = (0.2, 0.5)
# the normalisations of the RMSD tried, and what each means
DEFINITIONS = {
    "3D RMSD / d_nn": "sqrt(<|u|^2>) over nearest-neighbor distance (Lindemann's usual ratio)",
    "1D RMSD / d_nn": "sqrt(<u_x^2>): the noise per coordinate, over d_nn",
    "3D RMSD / (d_nn / 2)": "over the atomic radius, half the nearest-neighbor distance",
    "3D RMSD / r_WS": "over the Wigner-Seitz radius (3V/4pi)^(1/3)",
    "pair RMSD / d_nn": "RMS change of nearest-neighbor vectors, sqrt(2) x 3D RMSD for independent noise",
}


def crystals(cells: int) -> dict:
    """FCC, BCC (one-atom primitive cells) and HCP (two atoms) at VOLUME A^3/atom, and their d_nn (A)."""
    a_fcc, a_bcc = (4 * VOLUME) ** (1 / 3), (2 * VOLUME) ** (1 / 3)
    a_hcp = (2 * VOLUME / (math.sqrt(3) / 2 * math.sqrt(8 / 3))) ** (1 / 3)
    return {
        "FCC": (bulk("Cu", "fcc", a=a_fcc).repeat(cells), a_fcc / math.sqrt(2)),
        "BCC": (bulk("Cu", "bcc", a=a_bcc).repeat(cells), a_bcc * math.sqrt(3) / 2),
        "HCP": (bulk("Cu", "hcp", a=a_hcp, c=a_hcp * math.sqrt(8 / 3)).repeat(cells), a_hcp),
    }


def normalised(rmsd_3d: float, rmsd_1d: float, d_nn: float) -> dict:
    r_ws = (3 * VOLUME / (4 * math.pi)) ** (1 / 3)
    return {
        "3D RMSD / d_nn": rmsd_3d / d_nn,
        "1D RMSD / d_nn": rmsd_1d / d_nn,
        "3D RMSD / (d_nn / 2)": 2 * rmsd_3d / d_nn,
        "3D RMSD / r_WS": rmsd_3d / r_ws,
        "pair RMSD / d_nn": math.sqrt(2) * rmsd_3d / d_nn,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="8x8x8 cells, 11 noise levels")
    args = parser.parse_args()
    started = time.perf_counter()
    cells = 8 if args.quick else 25
    levels = np.linspace(0.0, 0.25, 11 if args.quick else 21)  # RMSD_3D / d_nn asked for
    rng = np.random.default_rng(7)
    results = {"cells": cells, "bandwidth": BANDWIDTH, "volume": VOLUME, "lattices": {}}
    for name, (atoms, d_nn) in crystals(cells).items():
        rows = []
        for f in levels:
            noisy = atoms.copy()
            u = rng.normal(0.0, f * d_nn / math.sqrt(3), noisy.positions.shape)
            noisy.positions += u
            rmsd_3d = math.sqrt(np.mean(np.sum(u**2, axis=1)))
            rmsd_1d = math.sqrt(np.mean(u**2))
            rows.append(
                {"entropy": entropy(Descriptor().compute(noisy), BANDWIDTH), **normalised(rmsd_3d, rmsd_1d, d_nn)}
            )
            print(
                f"{name} ({len(atoms)} atoms): RMSD/d_nn = {rows[-1]['3D RMSD / d_nn']:.4f}, "
                f"H = {rows[-1]['entropy']:.4f} nats",
                flush=True,
            )
        results["lattices"][name] = {"atoms": len(atoms), "d_nn": d_nn, "rows": rows}
    results["definitions"] = {}
    for definition, meaning in DEFINITIONS.items():
        at_paper = {}
        for name, lattice in results["lattices"].items():
            x = np.array([row[definition] for row in lattice["rows"]])
            h = np.array([row["entropy"] for row in lattice["rows"]])
            at_paper[name] = np.interp(PAPER_RANGE, x, h).tolist()  # H at normalised RMSD 0.10 and 0.125
        holds = all(ENTROPY_RANGE[0] - 0.05 <= h <= ENTROPY_RANGE[1] + 0.05 for pair in at_paper.values() for h in pair)
        results["definitions"][definition] = {
            "meaning": meaning,
            "H_at_0.10_and_0.125": at_paper,
            "paper_statement_holds": holds,
        }
    results["seconds"] = time.perf_counter() - started
    with open("lindemann.json", "w") as stream:
        json.dump(results, stream, indent=2)
    print(
        f"\nH (nats) at normalised RMSD {PAPER_RANGE[0]} and {PAPER_RANGE[1]} "
        f"(paper: {ENTROPY_RANGE[0]}-{ENTROPY_RANGE[1]})"
    )
    for definition, entry in results["definitions"].items():
        values = ", ".join(f"{name} {low:.2f}-{high:.2f}" for name, (low, high) in entry["H_at_0.10_and_0.125"].items())
        print(f"  {definition:<22} {values}   {'holds' if entry['paper_statement_holds'] else 'does not hold'}")
    plot(results)
    print(f"done in {results['seconds']:.0f} s: lindemann.json, lindemann.png")


def plot(results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4.5), dpi=100, sharey=True)
    for axis, definition in zip(axes, ("3D RMSD / d_nn", "3D RMSD / (d_nn / 2)")):
        for name, lattice in results["lattices"].items():
            axis.plot(
                [row[definition] for row in lattice["rows"]],
                [row["entropy"] for row in lattice["rows"]],
                "o-",
                label=name,
            )
        axis.axhspan(*ENTROPY_RANGE, color="gray", alpha=0.2, label="0.2-0.5 nats")
        axis.axvspan(*PAPER_RANGE, color="tab:red", alpha=0.1, label="paper: 0.10-0.125")
        axis.set_xlabel(definition)
        axis.set_xlim(0, 0.3)
        axis.set_ylim(0, 2.5)
    axes[0].set_ylabel(f"H (nats), h = {results['bandwidth']} 1/A")
    axes[0].legend()
    figure.tight_layout()
    figure.savefig("lindemann.png")


if __name__ == "__main__":
    main()
