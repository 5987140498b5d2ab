"""Result files of the command line: the outputs checked before any work, then JSON, CSV, per-atom
values (extxyz with the frames, or CSV) and structures, each written whole or not at all."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from ..engine.files import check_folder, write_atomically
from ..engine.species import symbols
from .datasets import Dataset


def check_output_paths(paths, overwrite: bool, inputs=()) -> None:
    """Before any work: each output's folder exists, no output is one of the input files (the same
    inode, --overwrite or not), and existing files are replaced only with --overwrite."""
    paths = [path for path in paths if path is not None]
    existing_inputs = [path for path in inputs if os.path.exists(path)]
    for path in paths:
        check_folder(path)
        if not os.path.exists(path):
            continue
        for source in existing_inputs:
            if os.path.samefile(path, source):
                raise ValueError(
                    f"{path} is an input of this command ({source}); it is never written over: "
                    "choose another output name"
                )
        if not overwrite:
            raise FileExistsError(f"{path} exists; pass --overwrite or choose another name")
    if len({os.path.abspath(path) for path in paths}) < len(paths):
        raise ValueError(f"two outputs are the same file ({', '.join(map(str, paths))}); give each its own name")


def write_json(path, data: dict) -> None:
    write_atomically(path, lambda temporary: Path(temporary).write_text(json.dumps(data, indent=2) + "\n"))


def write_csv(path, header: list[str], rows) -> None:
    buffer = io.StringIO()
    table = csv.writer(buffer, lineterminator="\n")
    table.writerow(header)
    table.writerows(rows)
    write_atomically(path, lambda temporary: Path(temporary).write_text(buffer.getvalue()))


def write_per_atom(path, dataset: Dataset, values: np.ndarray, name: str = "dH", more: dict | None = None) -> None:
    """Per-atom values of all frames: an extxyz copy with array `name` (and one per entry of
    `more`, name -> values), or a CSV (frame, atom, element, value, more...).

    `atom` is the atom's place in its frame; for LAMMPS dumps an `id` column (an `id` array in
    extxyz) gives the LAMMPS atom id too.
    """
    named = {name: values, **(more or {})}
    frames, ids = dataset.frames, dataset.atom_ids()
    if Path(path).suffix.lower() == ".csv":
        frame_of = np.repeat(np.arange(len(frames)), [len(atoms) for atoms in frames])
        columns = [frame_of, np.concatenate([np.arange(len(atoms)) for atoms in frames])]
        columns += [np.concatenate(ids)] if ids is not None else []
        columns += [np.array(symbols(dataset.centres)), *named.values()]
        header = ["frame", "atom"] + (["id"] if ids is not None else []) + ["element", *named]
        write_csv(path, header, zip(*[column.tolist() for column in columns]))
        return
    copies, start = [], 0
    for number, atoms in enumerate(frames):
        copy = atoms.copy()
        copy.calc = None
        for key, column in named.items():
            copy.arrays[key] = column[start : start + len(atoms)].copy()
        if ids is not None:
            copy.arrays["id"] = ids[number]
        copies.append(copy)
        start += len(atoms)
    write_structures(path, copies)


def write_structures(path, frames: list) -> None:
    """Frames (ase.Atoms) as extxyz, put in place only once complete."""
    import ase.io

    write_atomically(path, lambda temporary: ase.io.write(temporary, frames, format="extxyz"))


def per_atom_format_check(path) -> None:
    """Per-atom output goes to .extxyz/.xyz (ASE) or .csv; anything else is refused up front."""
    if path is not None and Path(path).suffix.lower() not in (".extxyz", ".xyz", ".csv"):
        raise ValueError(f"{path}: per-atom output must end in .extxyz, .xyz or .csv")
