"""Summary of the three runs (alarm.json) and a slice of the last frames coloured by dH (slice.png)."""

import json
from pathlib import Path

import ase.io
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from quests_lmp.lammps.thermo import read_thermo

MODES = ("stay", "melt", "compress")


def thermo(log: str) -> np.ndarray:
    """Rows of the thermo table: step temp press pe vol max_dH mean_dH novel_fraction novel_count
    (quests_lmp.lammps.thermo.read_thermo, which keeps rows holding inf or nan)."""
    return np.array([row for run in read_thermo(log) if len(run) == 9 for row in zip(*run.values())])


summary = {}
for mode in MODES:
    rows, text = thermo(f"{mode}.log"), Path(f"{mode}.log").read_text()
    summary[mode] = {
        "halted": "Fix halt condition for fix-id stop met" in text,
        "last_step": int(rows[-1, 0]),
        "last_temperature": rows[-1, 1],
        "max_dH": rows[-1, 5],
        "novel_fraction": rows[-1, 7],
        "largest_novel_fraction_before": float(rows[:-1, 7].max(initial=0.0)),
    }
    print(
        f"{mode:>9}: {'ALARM' if summary[mode]['halted'] else 'no alarm'} at step {summary[mode]['last_step']}, "
        f"T = {rows[-1, 1]:.0f} K, max dH = {rows[-1, 5]:.2f}, novel fraction = {rows[-1, 7]:.3f}"
    )
Path("alarm.json").write_text(json.dumps(summary, indent=2) + "\n")

figure, axes = plt.subplots(1, len(MODES), figsize=(12, 4), dpi=100)
for axis, mode in zip(axes, MODES):
    atoms = ase.io.read(f"last-{mode}.dump", format="lammps-dump-text")
    table = np.loadtxt(f"last-{mode}.dump", skiprows=9)  # id type x y z f_quests
    dh = table[np.argsort(table[:, 0]), -1]  # in atom-id order, as ASE reads the positions
    z = atoms.positions[:, 2]
    middle = np.abs(z - np.median(z)) < 2.0  # a 4 A slice through the middle of the cell
    points = axis.scatter(
        *atoms.positions[middle, :2].T,
        c=dh[middle],
        cmap="coolwarm",
        vmin=-10,
        vmax=10,
        s=60,
        edgecolors="black",
        linewidths=0.3,
    )
    axis.set_title(f"{mode}: {'alarm' if summary[mode]['halted'] else 'no alarm'}, step {summary[mode]['last_step']}")
    axis.set_aspect("equal")
    axis.set_xlabel("x (A)")
axes[0].set_ylabel("y (A)")
figure.colorbar(points, ax=axes, label="dH (nats); > 0 novel")
figure.savefig("slice.png")
print("alarm.json, slice.png")
