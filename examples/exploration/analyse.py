"""Summary of run.sh's four runs: results.json and exploration.png.

    python analyse.py STEPS

For each run (plain, hotter, explore, wall): the mutually novel environments fix quests
collected (novel with respect to the reference and to every environment collected before) per
1,000 steps, the mean temperature (K), the lowest FCC fraction (common neighbor analysis) and
max dH (nats) over the evaluations every 10 steps, with the fraction of them above the novelty
threshold 0.
"""

import json
import sys
from pathlib import Path

import numpy as np
from quests_lmp.lammps.thermo import read_thermo

RUNS = {
    "plain": "300 K",
    "hotter": "390 K (30% hotter)",
    "explore": "300 K + explore 0.005 eV/nat, cap -2",
    "wall": "390 K + wall 0.2 eV/nat^2 at -1 nat",
}
COLOURS = {"plain": "tab:blue", "hotter": "tab:orange", "explore": "tab:green", "wall": "tab:red"}


def thermo(log: str) -> np.ndarray:
    """Rows of `step temp pe press max_dH novel_fraction collected fcc_fraction`
    (quests_lmp.lammps.thermo.read_thermo, which keeps rows holding inf or nan)."""
    return np.array([row for run in read_thermo(log) if len(run) == 8 for row in zip(*run.values())])


def main() -> None:
    steps = int(sys.argv[1])
    results = {"steps": steps}
    tables = {name: thermo(f"{name}.log") for name in RUNS}
    for name, rows in tables.items():
        results[name] = {
            "setting": RUNS[name],
            "collected": int(rows[-1, 6]),
            "collected_per_1000_steps": float(rows[-1, 6] / steps * 1000),
            "mean_temperature": float(rows[1:, 1].mean()),
            "min_fcc_fraction": float(rows[:, 7].min()),
            "final_fcc_fraction": float(rows[-1, 7]),
            "evaluations_below_fcc_1": float(np.mean(rows[:, 7] < 1.0)),
            "max_dH": float(rows[:, 4].max()),
            "evaluations_over_0": float(np.mean(rows[:, 4] > 0.0)),
        }
    Path("results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'run':<9}{'setting':<40}{'novel/1000 steps':>17}{'mean T':>8}{'min FCC':>8}{'max dH':>8}{'> 0':>7}")
    for name in RUNS:
        r = results[name]
        print(
            f"{name:<9}{r['setting']:<40}{r['collected_per_1000_steps']:>17.1f}{r['mean_temperature']:>8.1f}"
            f"{r['min_fcc_fraction']:>8.3f}{r['max_dH']:>8.2f}{r['evaluations_over_0']:>7.1%}"
        )
    plot(tables)


def plot(tables) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (found, alarm) = plt.subplots(1, 2, figsize=(11, 4))
    for name, rows in tables.items():
        found.plot(rows[:, 0], rows[:, 6], color=COLOURS[name], label=f"{name}: {RUNS[name]}")
    found.set(xlabel="step", ylabel="mutually novel environments collected", yscale="symlog")
    found.legend(fontsize=8)
    for name in ("hotter", "wall", "plain"):
        alarm.plot(tables[name][:, 0], tables[name][:, 4], color=COLOURS[name], label=name, lw=0.8)
    alarm.axhline(0.0, color="k", ls="--", lw=0.8, label="novelty threshold (0)")
    alarm.axhline(-1.0, color="gray", ls=":", lw=0.8, label="wall threshold (-1)")
    alarm.set(xlabel="step", ylabel="max dH of the cell (nats)")
    alarm.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig("exploration.png", dpi=120)


if __name__ == "__main__":
    main()
