"""Reference (training) sets of environments and their portable files.

A `Reference` holds the descriptors of the environments a potential was trained on, with the
descriptor parameters (k, cutoff in A), a default bandwidth (1/A) and, where known, the element of
each environment's centre atom. It answers dH of new environments against itself: exactly (Eq. 6),
approximately with a certified bound through a cluster index (quests_lmp.engine.cluster_index), or
over nearest neighbours (SI Eq. S19); species-blind (the paper's method) or by centre element, with
species-blind or multicomponent descriptors (quests_lmp.engine.species).

File format (one file, any name; `.npz` suggested): an uncompressed NumPy zip archive
(quests_lmp.engine.archive: the descriptors 64-byte aligned and memory-mapped when loaded, so the
processes of a node share one copy) with
  - `descriptors`: float64 array (n_environments, n_features), 1/A: 2k-1 features, or those of
    the multicomponent descriptor;
  - `centres` (format version 2, where known): uint8 atomic number of each environment's centre
    atom, the rows grouped by it in increasing order;
  - `header`: UTF-8 JSON with format, format_version, descriptor_version, k, cutoff, bandwidth,
    n_environments, sources (file or structure names), sha256 (of the descriptors' and centres'
    bytes and the other header fields) and, in version 2, elements (symbols of the centres, or
    null where unknown) and multicomponent (the descriptor's element symbols, or null for the
    species-blind descriptor). Version 1 files load as species unknown;
  - optionally the cluster index of method approx: `index_<name>` for each name in
    quests_lmp.engine.cluster_index.ARRAYS (memory-mapped like the descriptors), described by the
    header's `index` entry (kind, version, clusters, units, sha256 of the index arrays). Files without it load as
    before; method approx then builds the index in memory on first use;
  - optionally (format version 3) the cluster index of each element's environments, for by-centre
    comparisons with method approx: `index_z<Z>_<name>` for atomic number Z, described by the
    header's `element_indexes` entry {"Z": entry as above}. Only references of several elements
    have them (one element's index is the whole set's).
Loading never unpickles, checks every field and both checksums, and says what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np

from .knn import DEFAULT_NEIGHBORS, ApproximateIndex
from .archive import read_archive, write_archive
from .calibration import Calibration, ErrorMap
from .cluster_index import ARRAYS as INDEX_ARRAYS
from .cluster_index import DEFAULT_CERTIFICATE, STOP_BELOW, ClusterIndex
from .descriptor import DEFAULT_CUTOFF, DEFAULT_K, DESCRIPTOR_VERSION, Descriptor, MulticomponentDescriptor, frames_of
from .files import write_atomically
from .frames import read_structures
from .gradients import dh_and_gradient
from .information import DEFAULT_BANDWIDTH, entropy_and_diversity
from .kernel import KernelOperand, log_kernel_sums
from .species import (as_centres, atomic_numbers, by_element, element_rows, missing_elements, species_mode,
                      symbol_order, symbols)
from .validation import as_descriptors, check_bandwidths, check_cutoff, check_dh_options, check_k, is_atoms

FORMAT = "quests-lmp reference"
FORMAT_VERSION = 2
ELEMENT_INDEXES_VERSION = 3  # the format version of files that store per-element cluster indexes
READABLE_VERSIONS = (1, 2, 3)
INDEX_KIND = "clusters"
INDEX_VERSION = 1


def dh_options(method: str = "exact", neighbors: int | None = None, precision: str = "double",
               certificate: float | None = None, threshold: float = 0.0) -> dict:
    """Keyword arguments of Reference.delta_entropy for a monitor that calls atoms with dH above
    `threshold` (nats) novel: the options checked (ValueError), the method's own setting made
    explicit (neighbors of knn, certificate of approx) and, for approx, stop_below 1 nat under the
    threshold (never above -1), so that an atom stopped early is certainly covered."""
    method, neighbors, precision, certificate = check_dh_options(method, neighbors, precision, certificate)
    if method == "knn" and neighbors is None:
        neighbors = DEFAULT_NEIGHBORS
    if method == "approx" and certificate is None:
        certificate = DEFAULT_CERTIFICATE
    return {"method": method, "neighbors": neighbors, "precision": precision, "certificate": certificate,
            "stop_below": min(STOP_BELOW, float(threshold) - 1.0)}


def species_options(reference: Reference, species: str | None = None, unknown: str | None = None) -> dict:
    """Keyword arguments (by_centre, unknown) of Reference.delta_entropy for a front-end's species
    mode (quests_lmp.engine.species), checked against the reference's descriptors.

    species None follows the reference: "multicomponent" if it holds multicomponent descriptors,
    "blind" otherwise. unknown: what atoms of elements the reference lacks get, "error" or
    "novel"; None checks nothing in the species-blind modes (the paper's method compares any
    atoms) and means "error" by centre. ValueError for a mode the reference's descriptors cannot
    serve, a by-centre mode with a reference that records no centres, or an unknown `unknown`.
    """
    multicomponent = reference.multicomponent is not None
    wanted, by_centre = species_mode(species) if species is not None else (multicomponent, False)
    if wanted and not multicomponent:
        raise ValueError(f"species {species} needs a reference of multicomponent descriptors, and this one holds "
                         "species-blind descriptors: rebuild it with quests-lmp reference build --species "
                         "multicomponent")
    if multicomponent and not wanted:
        raise ValueError(f"the reference holds multicomponent descriptors (elements "
                         f"{' '.join(reference.multicomponent)}): use species multicomponent or "
                         "multicomponent/by-centre, or leave species out")
    reference._absent(reference.centres, by_centre, unknown)  # raises for a check the reference cannot serve
    return {"by_centre": by_centre, "unknown": unknown}


class ReferenceFileError(ValueError):
    """A reference file that cannot be used: foreign, truncated, corrupted, of another version, or
    built with another k or cutoff than asked for. A ValueError; its message says how to fix it."""


class Reference:
    """Descriptors of reference (training) environments with their k, cutoff and bandwidth.

    Parameters
    ----------
    descriptors : (n, n_features) array, 1/A
        One row per reference environment: 2k-1 features, or those of the multicomponent descriptor.
    k : int
        Neighbours of the descriptor the rows were computed with.
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

    def __init__(self, descriptors, k: int = DEFAULT_K, cutoff: float = DEFAULT_CUTOFF,
                 bandwidth: float = DEFAULT_BANDWIDTH, sources=(), index: ClusterIndex | None = None,
                 centres=None, multicomponent=None, element_indexes: dict | None = None,
                 calibration: Calibration | None = None, error_map: ErrorMap | None = None):
        self.k = check_k(k)
        self.cutoff = check_cutoff(cutoff)
        bandwidths, scalar = check_bandwidths(bandwidth)
        if not scalar:
            raise ValueError(f"the default bandwidth of a reference is one number (1/A), got {bandwidth!r}")
        self.bandwidth = float(bandwidths[0])
        self._descriptor = (Descriptor(self.k, self.cutoff) if multicomponent is None
                            else MulticomponentDescriptor(multicomponent, self.k, self.cutoff))
        self.descriptors = as_descriptors(descriptors, "reference descriptors",
                                          n_features=self._descriptor.n_features)
        self.centres = None if centres is None else as_centres(centres, self.n_environments)
        if self.centres is not None and np.any(self.centres[1:] < self.centres[:-1]):
            if index is not None or element_indexes:
                raise ValueError("a cluster index needs the rows grouped by centre element, as in reference files")
            order = np.argsort(self.centres, kind="stable")
            self.descriptors, self.centres = np.ascontiguousarray(self.descriptors[order]), self.centres[order]
        self.sources = [str(source) for source in sources]
        if index is not None and index.members.shape != self.descriptors.shape:
            raise ValueError(f"the cluster index holds {index.members.shape[0]} environments of width "
                             f"{index.members.shape[1]}, the descriptors {self.descriptors.shape}")
        self._clusters = index
        self._knn = None
        self._operands = {}  # precision -> KernelOperand of the descriptors
        self._parts = {}  # atomic number -> Reference of that element's environments (by-centre)
        self._element_indexes = dict(element_indexes or {})  # atomic number -> ClusterIndex given, for _parts
        self.calibration = calibration  # the calibrated alarm (quests_lmp.analysis.calibration), or None
        self.error_map = error_map  # a model's force error against dH (quests_lmp.analysis.model_errors), or None

    @classmethod
    def from_structures(cls, structures, k: int = DEFAULT_K, cutoff: float = DEFAULT_CUTOFF,
                        bandwidth: float = DEFAULT_BANDWIDTH, sources=(), multicomponent=False) -> Reference:
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
        descriptor = (Descriptor(k, cutoff) if elements is None else MulticomponentDescriptor(elements, k, cutoff))
        return cls(descriptor.compute(frames), k, cutoff, bandwidth, sources, centres=centres,
                   multicomponent=elements)

    @classmethod
    def from_files(cls, paths, index=":", format: str | None = None, k: int = DEFAULT_K,
                   cutoff: float = DEFAULT_CUTOFF, bandwidth: float = DEFAULT_BANDWIDTH,
                   multicomponent=False) -> Reference:
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
        return cls.from_structures(frames, k, cutoff, bandwidth, sources=[str(p) for p in paths],
                                   multicomponent=multicomponent)

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
        return (f"Reference({self.n_environments} environments, k={self.k}, cutoff={self.cutoff} A, "
                f"bandwidth={self.bandwidth} 1/A, {species}{kind})")

    def delta_entropy(self, test, h=None, method: str = "exact", neighbors: int | None = None,
                      precision: str = "double", certificate: float | None = None,
                      stop_below: float = STOP_BELOW, by_centre: bool = False, centres=None,
                      unknown: str | None = None) -> np.ndarray:
        """dH(test | reference) of each test environment (Eq. 6, exactly or approximately).

        Parameters
        ----------
        test : (n, n_features) array in 1/A, or ase.Atoms or a list of them
            Test descriptors, or structures (described here with this reference's descriptor).
        h : float or list of floats, 1/A, optional
            Bandwidth(s); the reference's own by default.
        method : str
            "exact" (Eq. 6); "approx": partial kernel sums over a cluster index, certified to be
            at most `certificate` nats above the exact dH (quests_lmp.engine.cluster_index), the
            method for large references; or "knn": the kernel sum over the `neighbors` nearest
            reference vectors (SI Eq. S19, quests_lmp.engine.knn), an over-estimate with
            no bound.
        neighbors : int, optional
            Reference vectors kept per test vector by "knn" (128).
        precision : str
            "double", or "single" for exact dH about 1.7x faster: float32 products of the
            vectors less the reference mean, float64 sums; off by at most about 1e-4 nats at
            h = 0.015 1/A (quests_lmp.engine.kernel).
        certificate : float, nats, optional
            Largest over-estimate of dH that "approx" allows (0.1); 0 sums until nothing is left
            out (exact up to float32 rounding).
        stop_below : float, nats
            "approx" stops summing once dH is certainly below this (-1): such environments get a
            value between their exact dH and stop_below. -inf: certified values everywhere.
        by_centre : bool
            Compare each test environment only with the reference environments whose centre is the
            same element (quests_lmp.engine.species); the reference must record its centres.
        centres : (n,) array of int, optional
            Atomic number of each test environment's centre, for test descriptors (structures
            carry their own): needed by by_centre and unknown.
        unknown : str, optional
            What a test centre of an element the reference does not hold gets: "error" (ValueError
            naming it) or "novel" (dH = +inf). By default "error" with by_centre, and no check
            without it (the species-blind descriptor compares any atoms).

        Returns
        -------
        (n,) float64 array in nats for one h, (n, n_h) for a list.

        Raises
        ------
        ValueError
            An unknown method or precision, a setting of another method (neighbors without knn,
            certificate without approx, single with approx or knn), an invalid bandwidth, test
            descriptors that are empty, non-finite or of another width, by_centre or unknown with a
            reference or test that records no elements, or an element the reference lacks.
        """
        method, neighbors, precision, certificate = check_dh_options(method, neighbors, precision, certificate)
        y, test_centres = self._test_descriptors(test, centres)
        bandwidths, scalar = check_bandwidths(self.bandwidth if h is None else h)
        options = {"method": method, "precision": precision, "stop_below": float(stop_below),
                   "neighbors": DEFAULT_NEIGHBORS if neighbors is None else neighbors,
                   "certificate": DEFAULT_CERTIFICATE if certificate is None else certificate}
        absent = self._absent(test_centres, by_centre, unknown)
        if by_centre:
            def values_of(z, rows):
                part = self.element_part(z)
                return None if part is None else part._delta_entropy(y[rows], bandwidths, **options)

            dh = by_element(test_centres, bandwidths.size, values_of, np.inf)
        else:
            dh = self._delta_entropy(y, bandwidths, **options)
            if absent is not None:
                dh[absent] = np.inf
        return dh[:, 0] if scalar else dh

    def _delta_entropy(self, y, bandwidths, method, neighbors, precision, certificate, stop_below) -> np.ndarray:
        """(n, n_h) dH of checked test descriptors against every environment of this reference."""
        if method == "exact":
            if precision not in self._operands:
                self._operands[precision] = KernelOperand(self.descriptors, precision)
            return -log_kernel_sums(y, self._operands[precision], bandwidths)
        if method == "approx":
            return self.cluster_index().delta_entropy(y, bandwidths, certificate, stop_below)
        return self.knn_index().delta_entropy(y, bandwidths, neighbors)

    def delta_entropy_and_gradient(self, y, h: float | None = None, method: str = "exact",
                                   certificate: float | None = None, stop_below: float = STOP_BELOW,
                                   by_centre: bool = False, centres=None) -> tuple[np.ndarray, np.ndarray]:
        """dH of test descriptors against this reference, species-blind, and its gradient with
        respect to the descriptors: what the forces of a bias need (quests_lmp.engine.bias).

        Parameters
        ----------
        y : (n, n_features) array, 1/A
            Test descriptors.
        h : float, 1/A, optional
            Bandwidth; the reference's own by default.
        method : str
            "exact": Eq. 6 in float64 (quests_lmp.engine.gradients.dh_and_gradient); "approx":
            the certified partial sum of delta_entropy in float64 terms, and the gradient of that
            same partial sum, the units it visits held fixed (quests_lmp.engine.cluster_index).
        certificate : float, nats, optional
            As delta_entropy (approx only; 0.1).
        stop_below : float, nats
            As delta_entropy (-1).
        by_centre : bool
            Compare each test environment only with the reference environments of its centre's
            element (species by-centre; the reference must record its centres).
        centres : (n,) array of int, optional
            Atomic number of each test environment's centre (needed by by_centre).

        Returns
        -------
        (dh, gradient): (n,) float64 in nats and (n, n_features) in nats * A.

        Raises
        ------
        ValueError
            Method knn (its truncation has no bound; its forces are not implemented), an unknown
            method, certificate without approx, a bad bandwidth, test descriptors that are empty,
            non-finite or of another width; by_centre without centres, or with a centre element
            the reference lacks (its dH is infinite, with no force).
        """
        method, _, _, certificate = check_dh_options(method, None, "double", certificate)
        y = as_descriptors(y, "test descriptors")
        if y.shape[1] != self.descriptors.shape[1]:
            raise ValueError(f"test descriptors have {y.shape[1]} features, the reference {self.descriptors.shape[1]}")
        h = float(check_bandwidths(self.bandwidth if h is None else h)[0][0])
        if by_centre:
            return self._by_centre_gradients(y, h, method, certificate, stop_below, centres)
        if method == "exact":
            return dh_and_gradient(y, self.descriptors, h)
        if method == "approx":
            return self.cluster_index().delta_entropy_and_gradient(
                y, h, DEFAULT_CERTIFICATE if certificate is None else certificate, float(stop_below))
        raise ValueError("forces of method knn are not implemented (its truncation has no bound): use method "
                         "exact, or approx for a large reference")

    def _by_centre_gradients(self, y, h, method, certificate, stop_below, centres) -> tuple[np.ndarray, np.ndarray]:
        """delta_entropy_and_gradient of checked descriptors, element by element of the centres."""
        centres = None if centres is None else as_centres(centres, len(y))
        self._absent(centres, True, "error")  # no centres, or an element the reference lacks: ValueError
        dh, gradient = np.empty(len(y)), np.empty_like(y)
        for z, rows in element_rows(centres).items():
            dh[rows], gradient[rows] = self.element_part(z).delta_entropy_and_gradient(
                y[rows], h, method, certificate, stop_below)
        return dh, gradient

    def _absent(self, test_centres, by_centre: bool, unknown: str | None) -> np.ndarray | None:
        """Mask of the test centres of elements this reference lacks, where they are allowed (as
        novel); None if there is nothing to check. ValueError for a check that cannot be made or
        fails."""
        if unknown not in (None, "error", "novel"):
            raise ValueError(f"unknown must be error or novel, got {unknown!r}")
        if not by_centre and unknown is None:
            return None
        rebuild = "rebuild the reference from its structures (quests-lmp reference build)"
        if self.centres is None:
            raise ValueError(f"this reference records no centre elements (a file of format version 1, or "
                             f"descriptors given without centres), so it cannot compare by element: {rebuild}")
        if test_centres is None:
            raise ValueError("comparing by element needs the element of each test environment's centre: "
                             "pass structures, or centres= with the descriptors")
        known = np.unique(self.centres)
        if missing := missing_elements(test_centres, known):
            if unknown != "novel":
                are = "elements {} are" if len(missing) > 1 else "element {} is"
                raise ValueError(f"{are.format(', '.join(missing))} not in the reference (elements "
                                 f"{' '.join(self.elements)}): add such environments to the reference, or count "
                                 "these atoms as novel (unknown novel)")
            return ~np.isin(test_centres, known)
        return None

    def element_part(self, element) -> Reference | None:
        """The reference environments whose centre is `element` (symbol or atomic number), a
        Reference sharing this one's memory (its own cluster index is built on first use); None
        if there are none.

        Parameters
        ----------
        element : str or int

        Returns
        -------
        Reference or None

        Raises
        ------
        ValueError
            An unknown element, or a reference that records no centres.
        """
        z = int(atomic_numbers(element)[0])
        if self.centres is None:
            raise ValueError("this reference records no centre elements: rebuild it from its structures")
        if z not in self._parts:
            start, stop = np.searchsorted(self.centres, [z, z + 1])
            whole = stop - start == self.n_environments  # one element: its index is the whole set's
            self._parts[z] = None if start == stop else Reference(
                self.descriptors[start:stop], self.k, self.cutoff, self.bandwidth, self.sources,
                self._clusters if whole else self._element_indexes.get(z), centres=self.centres[start:stop],
                multicomponent=self.multicomponent)
        return self._parts[z]

    def build_element_indexes(self, seed: int = 0) -> dict[str, ClusterIndex]:
        """Builds anew the cluster index of each element's environments (by-centre comparisons with
        method "approx") and keeps them; save() then stores them.

        Parameters
        ----------
        seed : int
            Seed of the k-means sample and start (build_cluster_index).

        Returns
        -------
        dict: element symbol -> ClusterIndex.

        Raises
        ------
        ValueError
            A reference that records no centres.
        """
        if self.centres is None:
            raise ValueError("this reference records no centre elements: rebuild it from its structures")
        zs = np.unique(self.centres)
        if zs.size == 1:  # one element: its index is the whole set's
            self._parts.clear()
            return {symbols(zs)[0]: self.build_cluster_index(seed=seed)}
        return {symbols([z])[0]: self.element_part(z).build_cluster_index(seed=seed) for z in zs}

    def _stored_element_indexes(self) -> dict[int, ClusterIndex]:
        """The per-element cluster indexes save() stores: given or built, of elements that are not the
        whole set."""
        indexes = dict(self._element_indexes)
        for z, part in self._parts.items():
            if part is not None and part.has_cluster_index and part.n_environments < self.n_environments:
                indexes[z] = part.cluster_index()
        return indexes

    def prepare(self, method: str = "exact", by_centre: bool = False) -> float:
        """Builds now what `method` needs that is not at hand (the cluster index of approx, one per
        element with by_centre; the search graph of knn) rather than at the first query.

        Parameters
        ----------
        method : str
            "exact", "approx" or "knn".
        by_centre : bool
            Prepare the per-element references of by-centre comparisons.

        Returns
        -------
        float: seconds spent building cluster indexes (0.0 if none was needed).

        Raises
        ------
        ValueError
            An unknown method, or by_centre with a reference that records no centres.
        """
        method = check_dh_options(method, None, "double", None)[0]
        if by_centre:
            self._absent(self.centres, True, None)  # raises if species are unknown
        parts = [self.element_part(z) for z in np.unique(self.centres)] if by_centre else [self]
        start, built = time.perf_counter(), False
        for part in parts:
            if method == "approx" and not part.has_cluster_index:
                part.cluster_index()
                built = True
            elif method == "knn":
                part.knn_index()
        return time.perf_counter() - start if built else 0.0

    @property
    def has_cluster_index(self) -> bool:
        """Whether the cluster index of method approx is at hand (loaded with the file or built)."""
        return self._clusters is not None

    def cluster_index(self) -> ClusterIndex:
        """The cluster index of method "approx": loaded with the file, or built on first use
        (about 1 s per 10^5 environments) and then kept; save() stores it.

        Returns
        -------
        ClusterIndex (quests_lmp.engine.cluster_index)
        """
        if self._clusters is None:
            self.build_cluster_index()
        return self._clusters

    def build_cluster_index(self, n_clusters: int | None = None, seed: int = 0) -> ClusterIndex:
        """Builds the cluster index of method "approx" anew and keeps it; save() then stores it.

        Parameters
        ----------
        n_clusters : int, optional
            k-means clusters; sqrt(n) by default (1,000 for 10^6 environments).
        seed : int
            Seed of the k-means sample and start: the same seed gives the same index.

        Returns
        -------
        ClusterIndex (quests_lmp.engine.cluster_index)

        Raises
        ------
        ValueError
            n_clusters < 1.
        """
        if n_clusters is not None and (isinstance(n_clusters, bool) or not isinstance(n_clusters, int)
                                       or n_clusters < 1):
            raise ValueError(f"n_clusters must be an integer >= 1, got {n_clusters!r}")
        self._clusters = ClusterIndex.build(self.descriptors, n_clusters, seed=seed)
        return self._clusters

    def knn_index(self) -> ApproximateIndex:
        """The nearest-neighbour search graph of method "knn", built on first use, then kept.

        Returns
        -------
        ApproximateIndex (quests_lmp.engine.knn)
        """
        if self._knn is None:
            self._knn = ApproximateIndex(self.descriptors)
        return self._knn

    def entropy_and_diversity(self, h=None, by_centre: bool = False):
        """H and D of the reference set itself (Eqs. 5 and 8).

        Parameters
        ----------
        h : float or list of floats, 1/A, optional
            Bandwidth(s); the reference's own by default.
        by_centre : bool
            Those of the union of the per-element sets (quests_lmp.engine.information).

        Returns
        -------
        (H, D) in nats: floats for one h, arrays for a list.

        Raises
        ------
        ValueError
            An invalid bandwidth, or by_centre with a reference that records no centres.
        """
        if by_centre:
            self._absent(self.centres, True, None)  # raises if species are unknown
        return entropy_and_diversity(self.descriptors, self.bandwidth if h is None else h,
                                     centres=self.centres if by_centre else None)

    def save(self, path, overwrite: bool = False) -> Path:
        """Writes the reference file, with the cluster index if it was built or loaded: complete or not
        at all (written aside, then moved into place; processes that have the old file open keep it).

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
        header = self._header()
        arrays = {"descriptors": self.descriptors}
        if self.centres is not None:
            arrays["centres"] = self.centres
        if self._clusters is not None:
            header["index"] = _index_entry(self._clusters, "index_", arrays)
        for name, stored in (("calibration", self.calibration), ("error_map", self.error_map)):
            if stored is not None:
                header[name] = stored.as_dict()
        if element_indexes := self._stored_element_indexes():
            header["format_version"] = ELEMENT_INDEXES_VERSION
            header["element_indexes"] = {str(z): _index_entry(index, f"index_z{z}_", arrays)
                                         for z, index in sorted(element_indexes.items())}
        header["sha256"] = _checksum(self.descriptors, header, self.centres)
        arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8)

        def write(temporary):
            with open(temporary, "wb") as stream:
                write_archive(stream, arrays)

        return write_atomically(path, write)

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
        descriptors, centres, header, index, element_indexes = _read_archive(path)
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
        return cls(descriptors, header["k"], header["cutoff"], header["bandwidth"], header["sources"], index,
                   centres=centres, multicomponent=header.get("multicomponent"), element_indexes=element_indexes,
                   calibration=_read_stored(path, header, "calibration", Calibration, "calibrate again"),
                   error_map=_read_stored(path, header, "error_map", ErrorMap, "fit it again (quests-lmp errors "
                                          "--store)"))

    def _header(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "descriptor_version": DESCRIPTOR_VERSION,
            "k": self.k,
            "cutoff": self.cutoff,
            "bandwidth": self.bandwidth,
            "n_environments": self.n_environments,
            "sources": self.sources,
            "elements": self.elements,
            "multicomponent": self.multicomponent,
        }

    def _test_descriptors(self, test, centres) -> tuple[np.ndarray, np.ndarray | None]:
        """(descriptors, centre atomic numbers or None) of the test environments."""
        if is_atoms(test) or (isinstance(test, (list, tuple)) and test and is_atoms(test[0])):
            frames = frames_of(test)
            return self.descriptor.compute(frames), np.concatenate([atoms.numbers for atoms in frames])
        y = as_descriptors(test, "test descriptors", n_features=self.descriptor.n_features)
        return y, None if centres is None else as_centres(centres, y.shape[0], "test centres")


def _checksum(descriptors: np.ndarray, header: dict, centres: np.ndarray | None = None) -> str:
    arrays = [np.ascontiguousarray(descriptors, dtype="<f8")]
    return _digest(arrays if centres is None else arrays + [centres], header)


def _index_checksum(arrays: dict, entry: dict) -> str:
    return _digest([arrays[name] for name in INDEX_ARRAYS], entry)


def _index_entry(index: ClusterIndex, prefix: str, arrays: dict) -> dict:
    """The header entry of a cluster index; its arrays go into `arrays` as prefix + name."""
    index_arrays = index.arrays()
    entry = {"kind": INDEX_KIND, "version": INDEX_VERSION, "clusters": index.n_clusters, "units": index.n_units}
    entry["sha256"] = _index_checksum(index_arrays, entry)
    arrays.update({f"{prefix}{name}": array for name, array in index_arrays.items()})
    return entry


def _digest(arrays: list, fields: dict) -> str:
    """sha256 of the arrays' bytes (no copy) and of the fields other than sha256."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    digest.update(json.dumps({key: value for key, value in fields.items() if key != "sha256"},
                             sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def _read_archive(path: Path) -> tuple[np.ndarray, np.ndarray | None, dict, ClusterIndex | None, dict]:
    """Descriptors, centres (None where unknown), header, cluster index (None if it has none) and
    per-element cluster indexes (atomic number -> index) of a reference file, checked;
    ReferenceFileError otherwise."""
    foreign = f"{path} is not a quests-lmp reference file"
    if not zipfile.is_zipfile(path):
        raise ReferenceFileError(f"{foreign} (not a complete .npz archive: a text or structure file, or a "
                                 "truncated or corrupted one); build one from structures with quests-lmp reference build")
    try:
        arrays = read_archive(path)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise ReferenceFileError(
            f"{foreign}, or it is truncated or corrupted ({error}); rebuild it from its structures"
        ) from error
    index_names = {f"index_{name}" for name in INDEX_ARRAYS}
    known = {"descriptors", "header", "centres"} | index_names
    if not {"descriptors", "header"} <= {name for name in arrays if not name.startswith("index_z")} <= known:
        raise ReferenceFileError(f"{foreign} (it holds {sorted(arrays)})")
    header_bytes, descriptors = arrays["header"], arrays["descriptors"]
    try:
        header = json.loads(header_bytes.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReferenceFileError(f"{path}: the header is corrupted ({error}); rebuild the file") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ReferenceFileError(f"{foreign} (unknown format {header.get('format') if isinstance(header, dict) else header!r})")
    if header.get("format_version") not in READABLE_VERSIONS:
        raise ReferenceFileError(
            f"{path} has format version {header.get('format_version')}; this quests-lmp reads "
            f"versions {', '.join(map(str, READABLE_VERSIONS))}: rebuild it with this version"
        )
    required = {"descriptor_version", "k", "cutoff", "bandwidth", "n_environments", "sources", "sha256"}
    if header["format_version"] >= 2:
        required |= {"elements", "multicomponent"}
    if missing := sorted(required - header.keys()):
        raise ReferenceFileError(f"{path}: the header lacks {', '.join(missing)}; the file is corrupted")
    if header["descriptor_version"] != DESCRIPTOR_VERSION:
        raise ReferenceFileError(
            f"{path} holds descriptors of version {header['descriptor_version']}; this quests-lmp computes "
            f"version {DESCRIPTOR_VERSION}: rebuild the reference from its structures"
        )
    multicomponent = header.get("multicomponent")
    try:
        parts = 1 if multicomponent is None or len(atomic_numbers(multicomponent)) == 1 else len(multicomponent) + 1
    except (ValueError, TypeError) as error:
        raise ReferenceFileError(f"{path}: the multicomponent elements are corrupted ({error}); rebuild the file") \
            from error
    expected_shape = (header["n_environments"], (2 * header["k"] - 1) * parts)
    if descriptors.dtype != np.float64 or descriptors.shape != expected_shape:
        raise ReferenceFileError(
            f"{path}: descriptors have shape {descriptors.shape} ({descriptors.dtype}), the header says "
            f"{expected_shape} (float64); the file is corrupted"
        )
    centres = _read_species(path, header, arrays)
    if _checksum(descriptors, header, centres) != header["sha256"]:
        raise ReferenceFileError(f"{path}: checksum mismatch, the file is corrupted; rebuild it")
    return (descriptors, centres, header, _read_index(path, header.get("index"), arrays, "index_"),
            _read_element_indexes(path, header, arrays, centres))


def _read_stored(path: Path, header: dict, name: str, kind, remedy: str):
    """The calibration or error map (`kind`) of a reference file's header, None where it has none;
    ReferenceFileError naming the `remedy` where it is malformed."""
    if name not in header:
        return None
    try:
        return kind.from_dict(header[name])
    except (ValueError, TypeError) as error:
        raise ReferenceFileError(f"{path}: the {name.replace('_', ' ')} is corrupted ({error}); {remedy}") from error


def _read_species(path: Path, header: dict, arrays: dict) -> np.ndarray | None:
    """The centres of a reference file (None where species are unknown), consistent with its
    header's elements; ReferenceFileError otherwise."""
    corrupted = f"{path}: the species records are inconsistent; the file is corrupted, rebuild it"
    elements = header.get("elements")
    try:
        if elements is None:
            if "centres" in arrays:
                raise ValueError("centres without elements")
            return None
        centres = arrays.get("centres")
        if (centres is None or centres.dtype != np.uint8 or centres.shape != (header["n_environments"],)
                or np.any(centres[1:] < centres[:-1]) or symbols(symbol_order(np.unique(centres))) != elements):
            raise ValueError("centres do not match the elements")
    except (ValueError, TypeError) as error:
        raise ReferenceFileError(f"{corrupted} ({error})") from error
    return centres


def _read_element_indexes(path: Path, header: dict, arrays: dict, centres: np.ndarray | None) -> dict:
    """The per-element cluster indexes of a checked reference file (atomic number -> index), each
    checked and of its element's rows; ReferenceFileError otherwise."""
    entries = header.get("element_indexes") or {}
    stored = {name for name in arrays if name.startswith("index_z")}
    fix = f"rebuild them: quests-lmp reference index {path}"
    if (not isinstance(entries, dict)
            or stored != {f"index_z{key}_{name}" for key in entries for name in INDEX_ARRAYS}
            or (entries and (header["format_version"] < ELEMENT_INDEXES_VERSION or centres is None))):
        raise ReferenceFileError(f"{path}: the per-element cluster indexes are incomplete or hold unknown "
                                 f"arrays (the file is corrupted); {fix}")
    indexes = {}
    for key, entry in entries.items():
        z = int(key) if key.isdigit() else -1
        index = _read_index(path, entry, arrays, f"index_z{key}_")
        rows = int(np.count_nonzero(centres == z))
        if index.members.shape[0] != rows or rows in (0, len(centres)):
            raise ReferenceFileError(f"{path}: the cluster index of element {key} does not match its "
                                     f"{rows} environments (the file is corrupted); {fix}")
        indexes[z] = index
    return indexes


def _read_index(path: Path, entry, arrays: dict, prefix: str) -> ClusterIndex | None:
    """The cluster index described by a header entry, its arrays named prefix + name, checked;
    None if the file has none."""
    names = {f"{prefix}{name}" for name in INDEX_ARRAYS}
    present = names & set(arrays)
    if entry is None and not present:
        return None
    fix = f"rebuild it: quests-lmp reference index {path}"
    if not isinstance(entry, dict) or present != names:
        raise ReferenceFileError(f"{path}: the cluster index is incomplete (the file is corrupted); {fix}")
    if entry.get("kind") != INDEX_KIND or entry.get("version") != INDEX_VERSION:
        raise ReferenceFileError(f"{path} holds a search index of kind {entry.get('kind')!r}, version "
                                 f"{entry.get('version')!r}; this quests-lmp reads {INDEX_KIND!r} version "
                                 f"{INDEX_VERSION}: {fix}")
    index_arrays = {name: arrays[f"{prefix}{name}"] for name in INDEX_ARRAYS}
    try:
        if _index_checksum(index_arrays, entry) != entry.get("sha256"):
            raise ValueError("checksum mismatch")
        return ClusterIndex.from_arrays(index_arrays)
    except (ValueError, TypeError) as error:
        raise ReferenceFileError(f"{path}: the cluster index is corrupted ({error}); {fix}") from error
