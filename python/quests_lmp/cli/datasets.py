"""Datasets for the command line: structure files in, their descriptors and references (the
result files out: cli.outputs).

A dataset is named by a file ASE reads, optionally with a frame selection after '@' as in ASE's own
tools: `train.extxyz`, `md.dump@-1`, `md.dump@::10`, `md.dump@100:200`.
"""

from __future__ import annotations

import os

import numpy as np

from ..engine.descriptor import Descriptor
from ..engine.frames import FrameFile
from ..engine.reference import Reference
from ..engine.species import atomic_numbers, symbols
from .progress import Progress

CHUNK = 16384  # environments per block of descriptors handed to the engine


class Dataset:
    """The frames of one file selection, read only when asked for, and their descriptors once computed (1/A).

    The frame index (frame count, atoms per frame) is known without parsing any atom line for
    LAMMPS text dumps and (ext)xyz files (quests_lmp.engine.frames), so work can be split by
    environments and each rank reads only the frames it is given.
    """

    def __init__(self, name: str, source: FrameFile | None = None, numbers=None, types=None, frames=None):
        self.name, self.source, self.types = name, source, types
        self.numbers = np.arange(len(frames)) if frames is not None else np.asarray(numbers)  # frames in the file
        self._frames = list(frames) if frames is not None else None
        self.descriptors: np.ndarray | None = None

    @property
    def format(self) -> str | None:
        return None if self.source is None else self.source.format

    @property
    def atom_counts(self) -> np.ndarray:
        """Atoms of each selected frame."""
        if self._frames is not None:
            return np.array([len(atoms) for atoms in self._frames], dtype=np.int64)
        return self.source.atom_counts[self.numbers]

    @property
    def n_frames(self) -> int:
        return int(self.numbers.size)

    @property
    def n_environments(self) -> int:
        return int(self.atom_counts.sum())

    @property
    def frames(self) -> list:
        """Every selected frame (ase.Atoms), read on first use."""
        if self._frames is None:
            self._frames = self.read(range(self.n_frames))
        return self._frames

    def read(self, positions) -> list:
        """The frames at these places of the selection (0 = its first frame), elements named."""
        if self._frames is not None:
            return [self._frames[position] for position in positions]
        frames = self.source.read(self.numbers[list(positions)])
        if self.types is not None:
            _name_types(self.name, frames, self.types)
        return frames

    @property
    def centres(self) -> np.ndarray:
        """Atomic number of every atom of every frame, in order."""
        return np.concatenate([atoms.numbers for atoms in self.frames])

    def atom_ids(self) -> list[np.ndarray] | None:
        """The LAMMPS atom id of every atom of each frame, for a LAMMPS text dump (None otherwise).

        ASE orders a dump's atoms by id but does not keep the ids: they are read here.
        """
        if self.format != "lammps-dump-text":
            return None
        ids = _dump_ids(self.source.path)
        return None if ids is None else [ids[number] for number in self.numbers]


def read_dataset(spec: str, format: str | None = None, elements: list[str] | None = None, world=None) -> Dataset:
    """The frame index of `file[@index]`; FileNotFoundError or ValueError name the problem.

    elements: the element of each LAMMPS atom type (type 1 first), for dumps and data files that do
    not name their elements (ASE then reads type t as atomic number t). world: the file is
    indexed on rank 0 and the index shared (no other rank reads the whole file).
    """
    path, index = split_spec(spec)
    if path.endswith(".npz"):
        raise ValueError(f"{path} is a reference file (descriptors only); give the structure files instead")
    types = None if elements is None else atomic_numbers(elements, "--elements")

    def indexed():
        source = FrameFile(path, format)
        return source, source.select(index)

    import ase.io  # noqa: F401 - on every rank now, side by side, not one rank after the other's index

    source, numbers = indexed() if world is None else world.from_root(indexed)
    dataset = Dataset(spec, source, numbers, types)
    empty = np.flatnonzero(dataset.atom_counts == 0)
    if empty.size:
        shown = ", ".join(map(str, empty[:10])) + (", ..." if empty.size > 10 else "")
        raise ValueError(
            f"{spec}: {empty.size} of {dataset.n_frames} frames have no atoms (frame {shown} of the "
            "selection; a dump_modify thresh dump?); select frames with atoms (file@start:stop)"
        )
    return dataset


def _name_types(spec: str, frames: list, numbers: np.ndarray) -> None:
    """Sets each atom's element from its LAMMPS type (ASE's `type` array)."""
    for atoms in frames:
        types = atoms.arrays.get("type")
        if types is None:
            raise ValueError(
                f"--elements names LAMMPS atom types, but {spec} has none (not a LAMMPS dump or data "
                "file): its elements are read from the file; leave --elements out"
            )
        if types.min() < 1 or types.max() > numbers.size:
            raise ValueError(
                f"{spec} has atoms of type {types.max()}, but --elements names {numbers.size} types: "
                "give one element per atom type"
            )
        atoms.numbers = numbers[types - 1]


def environment_chunks(
    dataset: Dataset, descriptor: Descriptor, start: int, stop: int, chunk: int = CHUNK, rows: np.ndarray | None = None
):
    """Yields (descriptors (m, d) in 1/A, centre atomic numbers (m,)) of the environments
    [start, stop) of a dataset (or only of `rows`, sorted indices in that range), in order, about
    `chunk` at a time; reads only the frames that hold them, one at a time (memory: one frame and
    one chunk)."""
    offsets = np.concatenate([[0], np.cumsum(dataset.atom_counts)])
    first, last = np.searchsorted(offsets, start, "right") - 1, np.searchsorted(offsets, stop, "left")
    pending, centres = [], []
    for position in range(max(first, 0), min(last, dataset.n_frames)):
        low, high = max(start, offsets[position]), min(stop, offsets[position + 1])
        if rows is None:
            wanted = np.arange(low, high) - offsets[position]
        else:
            wanted = rows[np.searchsorted(rows, low) : np.searchsorted(rows, high)] - offsets[position]
        if wanted.size == 0:
            continue
        (atoms,) = dataset.read([position])
        pending.append(descriptor.compute_atoms(atoms, wanted, position))
        centres.append(atoms.numbers[wanted])
        if sum(map(len, pending)) >= chunk:
            yield np.concatenate(pending), np.concatenate(centres)
            pending, centres = [], []
    if pending:
        yield np.concatenate(pending), np.concatenate(centres)


def split_spec(spec: str) -> tuple[str, str]:
    """('file', 'index') from 'file@index'; a file whose own name holds '@' is taken whole."""
    if "@" in spec and not os.path.exists(spec):
        path, index = spec.rsplit("@", 1)
        return path, index or ":"
    return spec, ":"


def short_names(specs: list[str]) -> list[str]:
    """Labels for plots: each file's name with its @selection, with folders only where names would clash."""
    paths = [split_spec(spec)[0] for spec in specs]
    selections = [spec[len(path) :] for spec, path in zip(specs, paths)]
    names = [os.path.basename(path) for path in paths]
    if len(set(zip(names, selections))) < len(specs):
        common = os.path.commonpath([os.path.abspath(path) for path in paths])
        names = [os.path.relpath(os.path.abspath(path), common) for path in paths]
    return [name + selection for name, selection in zip(names, selections)]


def md_step(atoms) -> int | None:
    """The MD step of a frame (the TIMESTEP of a LAMMPS dump, info['timestep']), or None."""
    step = atoms.info.get("timestep")
    return None if step is None else int(step)


def describe(datasets: list[Dataset], descriptor: Descriptor, quiet: bool = False) -> None:
    """Fills each dataset's descriptors, frame by frame, with a progress bar over environments."""
    with Progress("descriptors", sum(d.n_environments for d in datasets), enabled=not quiet) as bar:
        for dataset in datasets:
            blocks = []
            for index, atoms in enumerate(dataset.frames):
                blocks.append(descriptor.compute_atoms(atoms, index=index))
                bar.advance(len(atoms))
            dataset.descriptors = np.concatenate(blocks)


def load_reference(source: Dataset, descriptor: Descriptor, h: float, quiet: bool = False) -> Reference:
    """The Reference of a Dataset of reference structures described here with `descriptor`, with
    their centre elements, at bandwidth h (1/A)."""
    describe([source], descriptor, quiet)
    return reference_of([source], descriptor, h)


def reference_of(
    datasets: list[Dataset],
    descriptor: Descriptor,
    h: float,
    descriptors: np.ndarray | None = None,
    centres: np.ndarray | None = None,
) -> Reference:
    """The Reference of described datasets, with their centre elements (and multicomponent elements);
    or of the datasets' descriptors and centres given here (in order, all datasets together)."""
    elements = getattr(descriptor, "elements", None)
    if descriptors is None:
        descriptors = np.concatenate([d.descriptors for d in datasets])
        centres = np.concatenate([d.centres for d in datasets])
    return Reference(
        descriptors,
        descriptor.k,
        descriptor.cutoff,
        h,
        sources=[d.name for d in datasets],
        centres=centres,
        multicomponent=None if elements is None else symbols(elements),
    )


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
