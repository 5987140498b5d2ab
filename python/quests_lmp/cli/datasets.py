"""Datasets for the command line: structure files in, descriptors, references and result files out.

A dataset is named by a file ASE reads, optionally with a frame selection after '@' as in ASE's own
tools: `train.extxyz`, `md.dump@-1`, `md.dump@::10`, `md.dump@100:200`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase.io.formats import filetype

from ..engine.descriptor import Descriptor
from ..engine.files import check_folder, write_atomically
from ..engine.information import DEFAULT_BANDWIDTH, bandwidth_for_volume
from ..engine.reference import Reference, frame_selection, read_structures
from ..engine.species import atomic_numbers, symbols
from .progress import Progress


@dataclass
class Dataset:
    """Frames of one file selection, and their descriptors once computed (1/A)."""

    name: str
    frames: list
    descriptors: np.ndarray | None = None
    format: str | None = None

    @property
    def n_environments(self) -> int:
        return sum(len(atoms) for atoms in self.frames)

    @property
    def centres(self) -> np.ndarray:
        """Atomic number of every atom of every frame, in order."""
        return np.concatenate([atoms.numbers for atoms in self.frames])

    def atom_ids(self) -> list[np.ndarray] | None:
        """The LAMMPS atom id of every atom of each frame, for a LAMMPS text dump (None otherwise).

        ASE orders a dump's atoms by id but does not keep the ids: they are read here.
        """
        path, index = split_spec(self.name)
        if (self.format or _format_of(path)) != "lammps-dump-text":
            return None
        ids = _dump_ids(path)
        if ids is None:
            return None
        selection = frame_selection(index)
        return [ids[selection]] if isinstance(selection, int) else ids[selection]


def read_dataset(spec: str, format: str | None = None, elements: list[str] | None = None) -> Dataset:
    """The frames of `file[@index]`; FileNotFoundError or ValueError name the problem.

    elements: the element of each LAMMPS atom type (type 1 first), for dumps and data files that do
    not name their elements (ASE then reads type t as atomic number t).
    """
    path, index = split_spec(spec)
    if path.endswith(".npz"):
        raise ValueError(f"{path} is a reference file (descriptors only); give the structure files instead")
    frames = read_structures(path, index, format)
    empty = [number for number, atoms in enumerate(frames) if len(atoms) == 0]
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (", ..." if len(empty) > 10 else "")
        raise ValueError(f"{spec}: {len(empty)} of {len(frames)} frames have no atoms (frame {shown} of the "
                         "selection; a dump_modify thresh dump?); select frames with atoms (file@start:stop)")
    if elements is not None:
        _name_types(spec, frames, atomic_numbers(elements, "--elements"))
    return Dataset(spec, frames, format=format)


def _name_types(spec: str, frames: list, numbers: np.ndarray) -> None:
    """Sets each atom's element from its LAMMPS type (ASE's `type` array)."""
    for atoms in frames:
        types = atoms.arrays.get("type")
        if types is None:
            raise ValueError(f"--elements names LAMMPS atom types, but {spec} has none (not a LAMMPS dump or data "
                             "file): its elements are read from the file; leave --elements out")
        if types.min() < 1 or types.max() > numbers.size:
            raise ValueError(f"{spec} has atoms of type {types.max()}, but --elements names {numbers.size} types: "
                             "give one element per atom type")
        atoms.numbers = numbers[types - 1]


def split_spec(spec: str) -> tuple[str, str]:
    """('file', 'index') from 'file@index'; a file whose own name holds '@' is taken whole."""
    if "@" in spec and not os.path.exists(spec):
        path, index = spec.rsplit("@", 1)
        return path, index or ":"
    return spec, ":"


def short_names(specs: list[str]) -> list[str]:
    """Labels for plots: each file's name with its @selection, with folders only where names would clash."""
    paths = [split_spec(spec)[0] for spec in specs]
    selections = [spec[len(path):] for spec, path in zip(specs, paths)]
    names = [os.path.basename(path) for path in paths]
    if len(set(zip(names, selections))) < len(specs):
        common = os.path.commonpath([os.path.abspath(path) for path in paths])
        names = [os.path.relpath(os.path.abspath(path), common) for path in paths]
    return [name + selection for name, selection in zip(names, selections)]


def md_steps(frames: list) -> list[int] | None:
    """The MD step of each frame (the TIMESTEP of a LAMMPS dump, info['timestep']), or None if any lacks one."""
    steps = [atoms.info.get("timestep") for atoms in frames]
    return None if any(step is None for step in steps) else [int(step) for step in steps]


def describe(datasets: list[Dataset], descriptor: Descriptor, quiet: bool = False) -> None:
    """Fills each dataset's descriptors, frame by frame, with a progress bar over environments."""
    with Progress("descriptors", sum(d.n_environments for d in datasets), enabled=not quiet) as bar:
        for dataset in datasets:
            blocks = []
            for index, atoms in enumerate(dataset.frames):
                blocks.append(descriptor.compute_atoms(atoms, index=index))
                bar.advance(len(atoms))
            dataset.descriptors = np.concatenate(blocks)


def resolve_bandwidth(value: str | None, datasets: list[Dataset], default: float = DEFAULT_BANDWIDTH) -> float:
    """A number (1/A) from --bandwidth: itself, 'auto' = the paper's h(V) at the mean atomic volume
    of the datasets' periodic frames (SI Eq. S20), or `default` when not given."""
    if value is None:
        return default
    if value != "auto":
        return float(value)
    volumes = [atoms.get_volume() / len(atoms) for d in datasets for atoms in d.frames if all(atoms.pbc)]
    if not volumes:
        raise ValueError("--bandwidth auto needs fully periodic frames (the atomic volume of h(V)); "
                         "give a number in 1/A instead")
    return bandwidth_for_volume(float(np.mean(volumes)))


def load_reference(source, k: int | None, cutoff: float | None, bandwidth: str | None,
                   descriptor: Descriptor | None = None, quiet: bool = False) -> Reference:
    """A reference file (a path to the .npz of `reference build`), or a Dataset of reference
    structures described here with `descriptor`, with their centre elements."""
    if not isinstance(source, Dataset):
        reference = Reference.load(source, k=k, cutoff=cutoff)
        if bandwidth is not None:
            reference.bandwidth = resolve_bandwidth(bandwidth, [])
        return reference
    describe([source], descriptor, quiet)
    return reference_of([source], descriptor, resolve_bandwidth(bandwidth, [source]))


def reference_of(datasets: list[Dataset], descriptor: Descriptor, h: float) -> Reference:
    """The Reference of described datasets, with their centre elements (and multicomponent elements)."""
    elements = getattr(descriptor, "elements", None)
    return Reference(np.concatenate([d.descriptors for d in datasets]), descriptor.k, descriptor.cutoff, h,
                     sources=[d.name for d in datasets], centres=np.concatenate([d.centres for d in datasets]),
                     multicomponent=None if elements is None else symbols(elements))


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
                raise ValueError(f"{path} is an input of this command ({source}); it is never written over: "
                                 "choose another output name")
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


def write_per_atom(path, dataset: Dataset, values: np.ndarray, name: str = "dH") -> None:
    """Per-atom values of all frames: an extxyz copy with array `name`, or a CSV (frame, atom,
    element, value).

    `atom` is the atom's place in its frame; for LAMMPS dumps an `id` column (an `id` array in
    extxyz) gives the LAMMPS atom id too.
    """
    frames, ids = dataset.frames, dataset.atom_ids()
    if Path(path).suffix.lower() == ".csv":
        frame_of = np.repeat(np.arange(len(frames)), [len(atoms) for atoms in frames])
        columns = [frame_of, np.concatenate([np.arange(len(atoms)) for atoms in frames])]
        columns += [np.concatenate(ids)] if ids is not None else []
        columns += [np.array(symbols(dataset.centres))]
        header = ["frame", "atom"] + (["id"] if ids is not None else []) + ["element", name]
        write_csv(path, header, zip(*[column.tolist() for column in columns], values.tolist()))
        return
    copies, start = [], 0
    for number, atoms in enumerate(frames):
        copy = atoms.copy()
        copy.calc = None
        copy.arrays[name] = values[start:start + len(atoms)].copy()
        if ids is not None:
            copy.arrays["id"] = ids[number]
        copies.append(copy)
        start += len(atoms)
    write_structures(path, copies)


def _dump_ids(path) -> list[np.ndarray] | None:
    """Sorted atom ids of each frame of a LAMMPS text dump (the order in which ASE returns the
    atoms), or None for a dump without an id column."""
    frames = []
    with open(path) as stream:
        for line in stream:
            if line.startswith("ITEM: NUMBER OF ATOMS"):
                count = int(next(stream))
            elif line.startswith("ITEM: ATOMS"):
                columns = line.split()[2:]
                if "id" not in columns:
                    return None
                column = columns.index("id")
                frames.append(np.sort([int(next(stream).split()[column]) for _ in range(count)]))
    return frames


def _format_of(path) -> str | None:
    """ASE's name for the format of a file, or None where ASE cannot tell."""
    try:
        return filetype(path)
    except Exception:  # noqa: BLE001 - ASE raises several types for unknown files
        return None


def write_structures(path, frames: list) -> None:
    """Frames (ase.Atoms) as extxyz, put in place only once complete."""
    import ase.io

    write_atomically(path, lambda temporary: ase.io.write(temporary, frames, format="extxyz"))


def per_atom_format_check(path) -> None:
    """Per-atom output goes to .extxyz/.xyz (ASE) or .csv; anything else is refused up front."""
    if path is not None and Path(path).suffix.lower() not in (".extxyz", ".xyz", ".csv"):
        raise ValueError(f"{path}: per-atom output must end in .extxyz, .xyz or .csv")
