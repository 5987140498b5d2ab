"""Held-out families: a model and a reference that have never seen surfaces, vacancies or hot
liquid-like AIMD, tested on them (run after run.py, whose extxyz files it reads).

    python holdout.py            # Li and Ge at h = 0.015 1/A and h(V): about 1 min on 2 cores
    python holdout.py --quick    # Li at 0.015 1/A (the test)

The in-domain part of each training set is its Elastic structures and its AIMD-NVT snapshots at
the coolest temperature the set holds (named in each record's description). A linear SNAP with
the published model's hyperparameters is refitted to their DFT energies and forces (snapfit.py),
and they are the reference (`quests-lmp calibrate`, 5% false alarms). Tested with `quests-lmp
errors`: the held-out families (the other structures of training.json and test.json: Surface,
Vacancy, hotter AIMD-NVT) and, as in-domain control, test.json's Elastic and coolest AIMD-NVT
structures. A big error is above twice the refit's RMS force error on its own training part.
Writes holdout.json and prints the README's table.
"""

from __future__ import annotations

import json
import re

import ase.io
import numpy as np
from run import HERE, _pair, calibrate, errors, quick
from snapfit import design, fit, forces

BANDWIDTHS = ("0.015", "auto")


def temperature(atoms) -> float | None:
    """K, as the record's description names it ("... at 907 K"); None where it names none."""
    found = re.search(r"(\d+(?:\.\d+)?)\s*K\b", atoms.info.get("description", ""))
    return float(found.group(1)) if found else None


def split(element: str) -> dict[str, list]:
    """The frames of the in-domain part, the held-out families and the in-domain control."""
    training = ase.io.read(HERE / f"{element}_training.extxyz", ":")
    test = ase.io.read(HERE / f"{element}_test.extxyz", ":")
    coolest = min(temperature(a) for a in training if a.info["group"] == "AIMD-NVT")

    def inside(atoms) -> bool:
        return atoms.info["group"] == "Elastic" or (atoms.info["group"] == "AIMD-NVT" and temperature(atoms) == coolest)

    return {
        "indomain": [a for a in training if inside(a)],
        "heldout": [a for a in training + test if not inside(a)],
        "control": [a for a in test if inside(a)],
        "coolest": coolest,
    }


def dft_energy(atoms) -> float:
    """The record's DFT energy (eV): ASE reads an extxyz `energy` into the frame's calculator."""
    return float(atoms.calc.results["energy"] if atoms.calc is not None else atoms.info["energy"])


def refit(element: str, parts: dict) -> float:
    """Fits the SNAP on the in-domain part, stores its forces as `refit_forces` in every frame and
    writes the three extxyz files; returns tau (eV/A)."""
    rows = {name: design(parts[name], element) for name in ("indomain", "heldout", "control")}
    beta = fit(
        rows["indomain"],
        [dft_energy(a) for a in parts["indomain"]],
        [a.arrays["dft_forces"] for a in parts["indomain"]],
    )
    for name, part_rows in rows.items():
        for atoms, predicted in zip(parts[name], forces(part_rows, beta)):
            atoms.arrays["refit_forces"] = predicted
        ase.io.write(HERE / f"{element}_{name}.extxyz", parts[name], format="extxyz")
    errors = np.concatenate(
        [np.linalg.norm(a.arrays["refit_forces"] - a.arrays["dft_forces"], axis=1) for a in parts["indomain"]]
    )
    return 2.0 * float(np.sqrt(np.mean(errors**2)))


def main() -> None:
    elements, bandwidths = (["Li"], ["0.015"]) if quick(__doc__) else (["Li", "Ge"], BANDWIDTHS)
    rows = []
    for element in elements:
        parts = split(element)
        tau = refit(element, parts)
        for bandwidth in bandwidths:
            tag = f"{element}-indomain-h{bandwidth}"
            calibration = calibrate(f"{element}_indomain.extxyz", bandwidth, tag)
            row = {
                "element": element,
                "coolest_K": parts["coolest"],
                "tau": tau,
                "structures": {name: len(parts[name]) for name in ("indomain", "heldout", "control")},
                "bandwidth": calibration["bandwidth"],
            }
            for name in ("heldout", "control"):
                for alarm, extra in (("calibrated", []), ("zero", ["--threshold", "0"])):
                    output = f"{tag}-{name}-{alarm}.json"
                    outputs = ["--group-key", "group", "--json", output, "--plot", output.replace(".json", ".png")]
                    errors(f"{element}_{name}.extxyz", f"{tag}.npz", "refit_forces", tau, *outputs, *extra)
                    row[f"{name}_{alarm}"] = json.loads((HERE / output).read_text())["groups"]["all"]
            rows.append(row)
    (HERE / "holdout.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(
        "| set | h (1/A) | AUROC (held out) | dH > 0: control flagged | held out flagged, recall / precision "
        "| calibrated: control flagged | held out flagged, recall / precision |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        cells = [f"{row['heldout_zero']['auroc']:.2f}"]
        for alarm in ("zero", "calibrated"):
            held = row[f"heldout_{alarm}"]
            cells += [
                f"{row[f'control_{alarm}']['flagged_fraction']:.1%}",
                f"{held['flagged_fraction']:.1%}, {_pair(held)}",
            ]
        print(f"| {row['element']} | {row['bandwidth']:.4f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
