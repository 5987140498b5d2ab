"""The mlearn benchmark's DFT sets (Zuo et al., J. Phys. Chem. A 124, 731 (2020)) as extxyz files.

    python mlearn.py Li Ge [--out FOLDER]

Each data/<element>/{training,test}.json of the public repository materialsvirtuallab/mlearn (a
list of records: a pymatgen Structure, DFT energy (eV), forces (eV/A) and stress, a `group`:
Elastic, Surface, Vacancy or AIMD-NVT, and a free-text description) becomes
<element>_{training,test}.extxyz: periodic frames with info `group`, `description`, `energy` and
per-atom `dft_forces`. The JSON is read from $MLEARN_DATA/<element>/ where set, else from
../../../shared/data/mlearn (the copy beside this repository), else downloaded from GitHub.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms

HERE = Path(__file__).resolve().parent
BESIDE = HERE.parents[2] / "shared" / "data" / "mlearn"
PUBLIC = "https://raw.githubusercontent.com/materialsvirtuallab/mlearn/master/data/{element}/{part}.json"
PARTS = ("training", "test")


def source(element: str, part: str) -> str:
    """Where the JSON of one set is read from: a local file where one exists, else the public URL."""
    for folder in (os.environ.get("MLEARN_DATA"), BESIDE):
        if folder and (Path(folder) / element / f"{part}.json").is_file():
            return str(Path(folder) / element / f"{part}.json")
    return PUBLIC.format(element=element, part=part)


def read_mlearn(location: str) -> list[Atoms]:
    """The structures of one mlearn JSON file (a path or URL), with their DFT labels."""
    if location.startswith("https://"):
        with urllib.request.urlopen(location, timeout=60) as response:
            records = json.load(response)
    else:
        with open(location) as stream:
            records = json.load(stream)
    frames = []
    for record in records:
        structure = record["structure"]
        atoms = Atoms(
            [site["species"][0]["element"] for site in structure["sites"]],
            positions=[site["xyz"] for site in structure["sites"]],
            cell=structure["lattice"]["matrix"],
            pbc=True,
        )
        atoms.info.update(
            {
                "group": record["group"],
                "description": record.get("description", ""),
                "energy": float(record["outputs"]["energy"]),
            }
        )
        atoms.arrays["dft_forces"] = np.asarray(record["outputs"]["forces"], dtype=np.float64)
        frames.append(atoms)
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("elements", nargs="+")
    parser.add_argument("--out", default=".", help="folder of the extxyz files (.)")
    args = parser.parse_args()
    for element in args.elements:
        for part in PARTS:
            frames = read_mlearn(source(element, part))
            path = Path(args.out) / f"{element}_{part}.extxyz"
            ase.io.write(path, frames, format="extxyz")
            print(f"{path}: {len(frames)} structures, {sum(len(a) for a in frames)} atoms from {source(element, part)}")


if __name__ == "__main__":
    main()
