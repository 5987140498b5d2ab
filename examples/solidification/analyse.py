"""Largest solid-like cluster against the critical nucleus of classical nucleation theory (Methods).

Reads clusters.json and trajectory.json (quests-lmp) and the temperatures of solidify.log; writes
solidification.json and solidification.png.
"""

import json
import math
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from quests_lmp.lammps.thermo import read_thermo

T_MELT = 1323.0  # K, the potential's melting point (paper, Methods)
H_MELT = 11.99e3  # J/mol, its latent heat of melting
V_ATOM = 12.893e-30  # m^3/atom, the paper's atomic volume
GAMMA = (0.177, 0.221)  # J/m^2, experimental solid-liquid interfacial energies of Cu
AVOGADRO = 6.02214076e23


def critical_size(temperature: float, gamma: float) -> float:
    """Atoms in the CNT critical nucleus: r* = 2 gamma T_m / (Delta H_v Delta T), spherical."""
    radius = 2 * gamma * T_MELT / (H_MELT / (V_ATOM * AVOGADRO) * (T_MELT - temperature))
    return 4 / 3 * math.pi * radius**3 / V_ATOM


def thermo_temperatures(log: str) -> np.ndarray:
    """Temperatures of the thermo rows (step temp pe vol) of the run at T, one per frame: the last
    run of the log (quests_lmp.lammps.thermo.read_thermo, which keeps rows holding inf or nan)."""
    return np.array(read_thermo(log)[-1]["Temp"])


clusters = json.loads(Path("clusters.json").read_text())
trajectory = json.loads(Path("trajectory.json").read_text())
largest = np.array(clusters["largest"])
temperature = thermo_temperatures("solidify.log")[: len(largest)]
mean_t = float(np.mean(temperature[1:]))
band = [critical_size(mean_t, gamma) for gamma in GAMMA]
above = np.flatnonzero(largest > band[1])
nucleation = int(above[0]) if above.size else None
summary = {
    "frames": len(largest),
    "mean_temperature": mean_t,
    "cnt_critical_size": band,
    "nucleation_frame": nucleation,
    "largest_before": int(largest[: nucleation or None].max()),
    "largest_final": int(largest[-1]),
    "largest": largest.tolist(),
    "entropy": trajectory["entropy"],
    "mean_dH_vs_first_frame": trajectory["mean_dH"],
}
Path("solidification.json").write_text(json.dumps(summary, indent=2) + "\n")
print(
    f"mean T {mean_t:.0f} K: CNT critical nucleus {band[0]:.0f}-{band[1]:.0f} atoms; largest cluster "
    f"{summary['largest_before']} before frame {nucleation}, {largest[-1]} at the end"
)

figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), dpi=100, sharex=True)
frames = np.arange(len(largest))
top.semilogy(frames, np.maximum(largest, 1), "o-", color="black", label="largest cluster (dH <= 0 vs FCC)")
top.axhspan(*band, color="tab:orange", alpha=0.4, label="CNT critical nucleus")
top.set_ylabel("atoms")
top.legend()
bottom.plot(frames, trajectory["entropy"], color="tab:blue", label="H of the frame")
bottom.plot(frames, trajectory["mean_dH"], color="tab:red", label="mean dH vs the first frame")
bottom.set_xlabel("frame")
bottom.set_ylabel("nats")
bottom.legend()
figure.tight_layout()
figure.savefig("solidification.png")
