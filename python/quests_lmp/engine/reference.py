"""Reference (training) sets of environments and their portable files.

A `Reference` holds the descriptors of the environments a potential was trained on, with the
descriptor parameters (k, cutoff in A), a default bandwidth (1/A) and, where known, the element of
each environment's centre atom. It answers dH of new environments against itself: exactly (Eq. 6),
approximately with a certified bound through a cluster index (quests_lmp.engine.cluster_index), or
over nearest neighbors (SI Eq. S19); species-blind (the paper's method) or by centre element, with
species-blind or multicomponent descriptors (quests_lmp.engine.species).

Split by job: this module holds the data and how a Reference is made, saved and loaded;
engine.reference_queries.ReferenceQueries answers dH, gradients, H and D;
engine.reference_indexes.ReferenceIndexes builds and keeps the cluster indexes and the knn graph;
engine.reference_file is the file format.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .calibration import Calibration, ErrorMap
from .cluster_index import ClusterIndex
from .descriptor import DEFAULT_CUTOFF, DEFAULT_K, Descriptor, MulticomponentDescriptor, frames_of
from .frames import read_structures
from .information import DEFAULT_BANDWIDTH
from .reference_file import ReferenceFileError, base_header, read_file, write_file
from .reference_indexes import ReferenceIndexes
from .reference_queries import ReferenceQueries
from .species import as_centres, symbol_order, symbols
from .validation import as_descriptors, check_bandwidths, check_cutoff, check_k

__all__ = ["Reference", "ReferenceFileError"]


class Reference(ReferenceQueries, ReferenceIndexes):
    """Descriptors of reference (training) environments with their k, cutoff and bandwidth.

    Parameters
    ----------
    descriptors : (n, n_features) array, 1/A
        One row per reference environment: 2k-1 features, or those of the multicomponent descriptor.
    k : int
        Neighbors of the descriptor the rows were computed with.
    cutoff : float, A
        Cutoff of that descriptor.
    bandwidth : float, 1/A
        Default kernel bandwidth of dH against this reference.
    sources : iterable of str
        Names of the files or structures the environments come from (kept in the file).
    index : ClusterIndex, optional
        The cluster index of these descriptors (as loaded from a file); built on first use otherwise.
    element_indexes : dict of int to ClusterIndex, optional
        The cluster index of each element's environments (atomic number -> index, as loaded from a
        file), for by-centre comparisons with method approx; built on first use otherwise.
    centres : (n,) array of int, optional
        Atomic number of each environment's centre atom; species unknown if not given. The rows
        are kept grouped by it (a stable sort; rows already in increasing order are not copied).
    multicomponent : list of str or int, optional
        The elements of the multicomponent descriptor the rows were computed with
        (quests_lmp.engine.descriptor.MulticomponentDescriptor); species-blind descriptors if not given.
    calibration : quests_lmp.engine.calibration.Calibration, optional
        The alarm threshold calibrated on held-out environments of the training set (`quests-lmp
        calibrate`), kept in the file; the attribute `calibration` is None without one.
    error_map : quests_lmp.engine.calibration.ErrorMap, optional
        A model's expected force error as a function of dH (`quests-lmp errors --store`), kept in
        the file; the attribute `error_map` is None without one.

    Raises
    ------
    ValueError
        Invalid k, cutoff or bandwidth, descriptors that are empty, non-finite or of another width
        than the descriptor's, centres that are not one atomic number per row, or an index of
        another size or given with rows that need regrouping.
    """

    def __init__(
        self,
        descriptors,
        k: int = DEFAULT_K,
        cutoff: float = DEFAULT_CUTOFF,
        bandwidth: float = DEFAULT_BANDWIDTH,
        sources=(),
        index: ClusterIndex | None = None,
        centres=None,
        multicomponent=None,
        element_indexes: dict | None = None,
        calibration: Calibration | None = None,
        error_map: ErrorMap | None = None,
    ):
        self.k = check_k(k)
        self.cutoff = check_cutoff(cutoff)
        bandwidths, scalar = check_bandwidths(bandwidth)
        if not scalar:
            raise ValueError(f"the default bandwidth of a reference is one number (1/A), got {bandwidth!r}")
        self.bandwidth = float(bandwidths[0])
        self._descriptor = (
            Descriptor(self.k, self.cutoff)
            if multicomponent is None
            else MulticomponentDescriptor(multicomponent, self.k, self.cutoff)
        )
        self.descriptors = as_descriptors(descriptors, "reference descriptors", n_features=self._descriptor.n_features)
        self.centres = None if centres is None else as_centres(centres, self.n_environments)
        if self.centres is not None and np.any(self.centres[1:] < self.centres[:-1]):
            if index is not None or element_indexes:
                raise ValueError("a cluster index needs the rows grouped by centre element, as in reference files")
            order = np.argsort(self.centres, kind="stable")
            self.descriptors, self.centres = np.ascontiguousarray(self.descriptors[order]), self.centres[order]
        self.sources = [str(source) for source in sources]
        if index is not None and index.members.shape != self.descriptors.shape:
            raise ValueError(
                f"the cluster index holds {index.members.shape[0]} environments of width "
                f"{index.members.shape[1]}, the descriptors {self.descriptors.shape}"
            )
        self._clusters = index
        self._knn = None
        self._operands = {}  # precision -> KernelOperand of the descriptors
        self._parts = {}  # atomic number -> Reference of that element's environments (by-centre)
        self._element_indexes = dict(element_indexes or {})  # atomic number -> ClusterIndex given, for _parts
        self.calibration = calibration  # the calibrated alarm (quests_lmp.analysis.calibration), or None
        self.error_map = error_map  # a model's force error against dH (quests_lmp.analysis.model_errors), or None

    @classmethod
    def from_structures(
        cls,
        structures,
        *,
        multicomponent=False,
        sources=(),
        k: int = DEFAULT_K,
        cutoff: float = DEFAULT_CUTOFF,
        bandwidth: float = DEFAULT_BANDWIDTH,
    ) -> Reference:
        """Reference of every atomic environment in an ase.Atoms or a list of them, with the
        element of each centre atom (rows grouped by it, in input order within an element).

        Parameters
        ----------
        structures : ase.Atoms or list of ase.Atoms
            The training structures (positions in A).
        k, cutoff, bandwidth, sources
            As for Reference (cutoff in A, bandwidth in 1/A).
        multicomponent : bool or list of str
            Multicomponent descriptors (quests_lmp.engine.species): True for the elements of the
            structures, or the list of elements; species-blind descriptors if False.

        Returns
        -------
        Reference

        Raises
        ------
        ValueError
            As Descriptor.compute and Reference.
        """
        frames = frames_of(structures)
        centres = np.concatenate([atoms.numbers for atoms in frames])
        elements = None
        if multicomponent is not False:
            elements = symbols(symbol_order(centres)) if multicomponent is True else multicomponent
        descriptor = Descriptor(k, cutoff) if elements is None else MulticomponentDescriptor(elements, k, cutoff)
        return cls(descriptor.compute(frames), k, cutoff, bandwidth, sources, centres=centres, multicomponent=elements)

    @classmethod
    def from_files(
        cls,
        paths,
        *,
        index=":",
        format: str | None = None,
        multicomponent=False,
        k: int = DEFAULT_K,
        cutoff: float = DEFAULT_CUTOFF,
        bandwidth: float = DEFAULT_BANDWIDTH,
    ) -> Reference:
        """Reference from structure files ASE reads (extxyz, LAMMPS dump/data, POSCAR, ...).

        Parameters
        ----------
        paths : str, path or list of them
            Structure files.
        index : str
            Frames of each file, as in ase.io.read: ":" all, "::10", "-1", ...
        format : str, optional
            An ASE format name, e.g. "lammps-dump-text" or "lammps-data"; guessed if not given.
        k, cutoff, bandwidth, multicomponent
            As for from_structures (cutoff in A, bandwidth in 1/A).

        Returns
        -------
        Reference, with the file names as its sources.

        Raises
        ------
        FileNotFoundError
            A file that does not exist.
        ValueError
            No files, an unreadable or empty file, or as Descriptor.compute.
        """
        paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        if not paths:
            raise ValueError("no structure files given")
        frames = []
        for path in paths:
            frames.extend(read_structures(path, index, format))
        sources = [str(p) for p in paths]
        return cls.from_structures(
            frames, k=k, cutoff=cutoff, bandwidth=bandwidth, sources=sources, multicomponent=multicomponent
        )

    @property
    def n_environments(self) -> int:
        """Number of reference environments."""
        return self.descriptors.shape[0]

    @property
    def descriptor(self) -> Descriptor:
        """The Descriptor that test environments must be computed with (this k, cutoff and kind:
        species-blind or MulticomponentDescriptor)."""
        return self._descriptor

    @property
    def multicomponent(self) -> list[str] | None:
        """Element symbols of the multicomponent descriptor; None for species-blind descriptors."""
        return symbols(self._descriptor.elements) if isinstance(self._descriptor, MulticomponentDescriptor) else None

    @property
    def elements(self) -> list[str] | None:
        """Symbols of the centre elements, ordered by symbol; None where species are unknown."""
        return None if self.centres is None else symbols(symbol_order(np.unique(self.centres)))

    def __repr__(self) -> str:
        species = "species unknown" if self.centres is None else "elements " + " ".join(self.elements)
        kind = "" if self.multicomponent is None else ", multicomponent"
        return (
            f"Reference({self.n_environments} environments, k={self.k}, cutoff={self.cutoff} A, "
            f"bandwidth={self.bandwidth} 1/A, {species}{kind})"
        )

    def save(self, path, overwrite: bool = False) -> Path:
        """Writes the reference file (engine.reference_file), with the cluster indexes built or
        loaded, the calibration and the error map: complete or not at all (written aside, then
        moved into place; processes that have the old file open keep it).

        Parameters
        ----------
        path : str or path
            The file to write (`.npz` suggested).
        overwrite : bool
            Replace an existing file; otherwise it is kept and FileExistsError raised.

        Returns
        -------
        The path written, a pathlib.Path.

        Raises
        ------
        FileExistsError
            The file exists and overwrite is False.
        OSError
            The folder does not exist or cannot be written.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; choose another name or pass overwrite=True")
        return write_file(
            path,
            self._header(),
            self.descriptors,
            self.centres,
            self._clusters,
            self._stored_element_indexes(),
            self.calibration,
            self.error_map,
        )

    def _header(self) -> dict:
        """The header of this reference's file before its optional entries and checksum."""
        return base_header(
            {
                "k": self.k,
                "cutoff": self.cutoff,
                "bandwidth": self.bandwidth,
                "n_environments": self.n_environments,
                "sources": self.sources,
                "elements": self.elements,
                "multicomponent": self.multicomponent,
            }
        )

    @classmethod
    def load(cls, path, k: int | None = None, cutoff: float | None = None) -> Reference:
        """Reads a reference file, checking every field and the checksum (nothing is unpickled).

        Parameters
        ----------
        path : str or path
            A file written by Reference.save or `quests-lmp reference build`.
        k : int, optional
            If given, the k the file must have been built with.
        cutoff : float, A, optional
            If given, the cutoff the file must have been built with.

        Returns
        -------
        Reference

        Raises
        ------
        FileNotFoundError
            No such file.
        ReferenceFileError
            Not a reference file, truncated or corrupted, of another format or descriptor version,
            or built with another k or cutoff than asked for.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"reference file not found: {path}")
        stored = read_file(path)
        header = stored.header
        if k is not None and check_k(k) != header["k"]:
            raise ReferenceFileError(
                f"{path} was built with k={header['k']} but k={k} was asked for; "
                "rebuild the reference with that k or use the file's"
            )
        if cutoff is not None and not np.isclose(check_cutoff(cutoff), header["cutoff"], rtol=1e-12, atol=0):
            raise ReferenceFileError(
                f"{path} was built with cutoff={header['cutoff']} A but cutoff={cutoff} A was asked for; "
                "rebuild the reference with that cutoff or use the file's"
            )
        return cls(
            stored.descriptors,
            header["k"],
            header["cutoff"],
            header["bandwidth"],
            header["sources"],
            stored.index,
            centres=stored.centres,
            multicomponent=header.get("multicomponent"),
            element_indexes=stored.element_indexes,
            calibration=stored.calibration,
            error_map=stored.error_map,
        )
