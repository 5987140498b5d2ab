"""Reference (training) sets of environments and their portable files.

A `Reference` holds the descriptors of the environments a potential was trained on, with the
descriptor parameters (k, cutoff in A) and a default bandwidth (1/A). It answers dH of new
environments against itself: exactly (Eq. 6), approximately with a certified bound through a
cluster index (quests_lmp.engine.cluster_index), or over nearest neighbours (SI Eq. S19).

File format (one file, any name; `.npz` suggested): an uncompressed NumPy zip archive
(quests_lmp.engine.archive: the descriptors 64-byte aligned and memory-mapped when loaded, so the
processes of a node share one copy) with
  - `descriptors`: float64 array (n_environments, 2k-1), 1/A;
  - `header`: UTF-8 JSON with format, format_version, descriptor_version, k, cutoff, bandwidth,
    n_environments, sources (file or structure names) and sha256 (of the descriptors' bytes and
    the other header fields);
  - optionally the cluster index of method approx: `index_<name>` for each name in
    quests_lmp.engine.cluster_index.ARRAYS (memory-mapped like the descriptors), described by the
    header's `index` entry (kind, version, clusters, units, sha256 of the index arrays). Files without it load as
    before; method approx then builds the index in memory on first use.
Loading never unpickles, checks every field and both checksums, and says what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .knn import DEFAULT_NEIGHBORS, ApproximateIndex
from .archive import read_archive, write_archive
from .cluster_index import ARRAYS as INDEX_ARRAYS
from .cluster_index import DEFAULT_CERTIFICATE, STOP_BELOW, ClusterIndex
from .descriptor import DEFAULT_CUTOFF, DEFAULT_K, DESCRIPTOR_VERSION, Descriptor
from .files import write_atomically
from .information import DEFAULT_BANDWIDTH, entropy_and_diversity
from .kernel import KernelOperand, log_kernel_sums
from .validation import as_descriptors, check_bandwidths, check_cutoff, check_dh_options, check_k, is_atoms

FORMAT = "quests-lmp reference"
FORMAT_VERSION = 1
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


class ReferenceFileError(ValueError):
    """A reference file that cannot be used: foreign, truncated, corrupted, of another version, or
    built with another k or cutoff than asked for. A ValueError; its message says how to fix it."""


class Reference:
    """Descriptors of reference (training) environments with their k, cutoff and bandwidth.

    Parameters
    ----------
    descriptors : (n, 2k-1) array, 1/A
        One row per reference environment.
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

    Raises
    ------
    ValueError
        Invalid k, cutoff or bandwidth, descriptors that are empty, non-finite or not 2k-1 wide, or
        an index of another size.
    """

    def __init__(self, descriptors, k: int = DEFAULT_K, cutoff: float = DEFAULT_CUTOFF,
                 bandwidth: float = DEFAULT_BANDWIDTH, sources=(), index: ClusterIndex | None = None):
        self.k = check_k(k)
        self.cutoff = check_cutoff(cutoff)
        bandwidths, scalar = check_bandwidths(bandwidth)
        if not scalar:
            raise ValueError(f"the default bandwidth of a reference is one number (1/A), got {bandwidth!r}")
        self.bandwidth = float(bandwidths[0])
        self.descriptors = as_descriptors(descriptors, "reference descriptors", n_features=2 * self.k - 1)
        self.sources = [str(source) for source in sources]
        if index is not None and index.members.shape != self.descriptors.shape:
            raise ValueError(f"the cluster index holds {index.members.shape[0]} environments of width "
                             f"{index.members.shape[1]}, the descriptors {self.descriptors.shape}")
        self._clusters = index
        self._knn = None
        self._operands = {}  # precision -> KernelOperand of the descriptors

    @classmethod
    def from_structures(cls, structures, k: int = DEFAULT_K, cutoff: float = DEFAULT_CUTOFF,
                        bandwidth: float = DEFAULT_BANDWIDTH, sources=()) -> Reference:
        """Reference of every atomic environment in an ase.Atoms or a list of them.

        Parameters
        ----------
        structures : ase.Atoms or list of ase.Atoms
            The training structures (positions in A).
        k, cutoff, bandwidth, sources
            As for Reference (cutoff in A, bandwidth in 1/A).

        Returns
        -------
        Reference

        Raises
        ------
        ValueError
            As Descriptor.compute and Reference.
        """
        descriptors = Descriptor(k, cutoff).compute(structures)
        return cls(descriptors, k, cutoff, bandwidth, sources)

    @classmethod
    def from_files(cls, paths, index=":", format: str | None = None, k: int = DEFAULT_K,
                   cutoff: float = DEFAULT_CUTOFF, bandwidth: float = DEFAULT_BANDWIDTH) -> Reference:
        """Reference from structure files ASE reads (extxyz, LAMMPS dump/data, POSCAR, ...).

        Parameters
        ----------
        paths : str, path or list of them
            Structure files.
        index : str
            Frames of each file, as in ase.io.read: ":" all, "::10", "-1", ...
        format : str, optional
            An ASE format name, e.g. "lammps-dump-text" or "lammps-data"; guessed if not given.
        k, cutoff, bandwidth
            As for Reference (cutoff in A, bandwidth in 1/A).

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
        return cls.from_structures(frames, k, cutoff, bandwidth, sources=[str(p) for p in paths])

    @property
    def n_environments(self) -> int:
        """Number of reference environments."""
        return self.descriptors.shape[0]

    @property
    def descriptor(self) -> Descriptor:
        """The Descriptor (this k and cutoff) that test environments must be computed with."""
        return Descriptor(self.k, self.cutoff)

    def __repr__(self) -> str:
        return (f"Reference({self.n_environments} environments, k={self.k}, cutoff={self.cutoff} A, "
                f"bandwidth={self.bandwidth} 1/A)")

    def delta_entropy(self, test, h=None, method: str = "exact", neighbors: int | None = None,
                      precision: str = "double", certificate: float | None = None,
                      stop_below: float = STOP_BELOW) -> np.ndarray:
        """dH(test | reference) of each test environment (Eq. 6, exactly or approximately).

        Parameters
        ----------
        test : (n, 2k-1) array in 1/A, or ase.Atoms or a list of them
            Test descriptors, or structures (described here with this reference's k and cutoff).
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

        Returns
        -------
        (n,) float64 array in nats for one h, (n, n_h) for a list.

        Raises
        ------
        ValueError
            An unknown method or precision, a setting of another method (neighbors without knn,
            certificate without approx, single with approx or knn), an invalid bandwidth, or test
            descriptors that are empty, non-finite or of another width.
        """
        method, neighbors, precision, certificate = check_dh_options(method, neighbors, precision, certificate)
        y = self._test_descriptors(test)
        bandwidths, scalar = check_bandwidths(self.bandwidth if h is None else h)
        if method == "exact":
            if precision not in self._operands:
                self._operands[precision] = KernelOperand(self.descriptors, precision)
            dh = -log_kernel_sums(y, self._operands[precision], bandwidths)
        elif method == "approx":
            certificate = DEFAULT_CERTIFICATE if certificate is None else certificate
            dh = self.cluster_index().delta_entropy(y, bandwidths, certificate, float(stop_below))
        else:
            dh = self.knn_index().delta_entropy(y, bandwidths, DEFAULT_NEIGHBORS if neighbors is None else neighbors)
        return dh[:, 0] if scalar else dh

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

    def entropy_and_diversity(self, h=None):
        """H and D of the reference set itself (Eqs. 5 and 8).

        Parameters
        ----------
        h : float or list of floats, 1/A, optional
            Bandwidth(s); the reference's own by default.

        Returns
        -------
        (H, D) in nats: floats for one h, arrays for a list.

        Raises
        ------
        ValueError
            An invalid bandwidth.
        """
        return entropy_and_diversity(self.descriptors, self.bandwidth if h is None else h)

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
        if self._clusters is not None:
            index_arrays = self._clusters.arrays()
            header["index"] = {"kind": INDEX_KIND, "version": INDEX_VERSION, "clusters": self._clusters.n_clusters,
                               "units": self._clusters.n_units}
            header["index"]["sha256"] = _index_checksum(index_arrays, header["index"])
            arrays.update({f"index_{name}": array for name, array in index_arrays.items()})
        header["sha256"] = _checksum(self.descriptors, header)
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
        descriptors, header, index = _read_archive(path)
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
        return cls(descriptors, header["k"], header["cutoff"], header["bandwidth"], header["sources"], index)

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
        }

    def _test_descriptors(self, test) -> np.ndarray:
        if is_atoms(test) or (isinstance(test, (list, tuple)) and test and is_atoms(test[0])):
            return self.descriptor.compute(test)
        return as_descriptors(test, "test descriptors", n_features=2 * self.k - 1)


def read_structures(path, index=":", format: str | None = None) -> list:
    """Frames of a structure file, read with ASE.

    Parameters
    ----------
    path : str or path
        A file in any format ASE reads.
    index : str, int or slice
        Frames, as in ase.io.read: ":" all, "::10", "100:200", "-1", ...
    format : str, optional
        An ASE format name (e.g. "lammps-dump-text"); guessed if not given.

    Returns
    -------
    list of ase.Atoms

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        ASE cannot read it, a malformed selection, or a selection that holds no frames (the
        message names the selection and the file's frame count).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"structure file not found: {path}")
    selection = frame_selection(index)
    if isinstance(selection, int):  # read as a slice: ASE maps an out-of-range integer to a frame
        selection = slice(selection, selection + 1 or None)
    frames = _read(path, selection, format)
    if not frames:
        count = len(_read(path, slice(None), format))
        raise ValueError(f"frame selection {index!r} of {path} holds no frames: the file has {count} frames "
                         f"(0 to {count - 1}, or -{count} to -1)" if count else f"{path} holds no frames")
    return frames


def frame_selection(index) -> int | slice:
    """An int or slice from a frame selection: 5, -1, ":", "::10", "100:200" (as after '@' on the CLI)."""
    if isinstance(index, slice) or (isinstance(index, int) and not isinstance(index, bool)):
        return index
    parts = str(index).strip().split(":")
    try:
        if len(parts) == 1:
            return int(parts[0])
        if len(parts) <= 3:
            selection = slice(*[int(part) if part.strip() else None for part in parts])
            if selection.step != 0:
                return selection
    except ValueError:
        pass
    raise ValueError(f"frame selection {index!r} is malformed: use an integer (0, -1) or start:stop:step "
                     "(:, ::10, 100:200)")


def _read(path: Path, selection: slice, format: str | None) -> list:
    import ase.io

    try:
        frames = ase.io.read(path, index=selection, format=format)
    except Exception as error:  # ASE raises many types for unreadable files
        raise ValueError(f"cannot read structures from {path}: {type(error).__name__}: {error}") from error
    return frames if isinstance(frames, list) else [frames]


def _checksum(descriptors: np.ndarray, header: dict) -> str:
    return _digest([np.ascontiguousarray(descriptors, dtype="<f8")], header)


def _index_checksum(arrays: dict, entry: dict) -> str:
    return _digest([arrays[name] for name in INDEX_ARRAYS], entry)


def _digest(arrays: list, fields: dict) -> str:
    """sha256 of the arrays' bytes (no copy) and of the fields other than sha256."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    digest.update(json.dumps({key: value for key, value in fields.items() if key != "sha256"},
                             sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def _read_archive(path: Path) -> tuple[np.ndarray, dict, ClusterIndex | None]:
    """Descriptors, header and cluster index (None if it has none) of a reference file, checked;
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
    if not {"descriptors", "header"} <= set(arrays) <= {"descriptors", "header"} | index_names:
        raise ReferenceFileError(f"{foreign} (it holds {sorted(arrays)})")
    header_bytes, descriptors = arrays["header"], arrays["descriptors"]
    try:
        header = json.loads(header_bytes.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReferenceFileError(f"{path}: the header is corrupted ({error}); rebuild the file") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ReferenceFileError(f"{foreign} (unknown format {header.get('format') if isinstance(header, dict) else header!r})")
    if header.get("format_version") != FORMAT_VERSION:
        raise ReferenceFileError(
            f"{path} has format version {header.get('format_version')}; this quests-lmp reads "
            f"version {FORMAT_VERSION}: rebuild it with this version"
        )
    required = {"descriptor_version", "k", "cutoff", "bandwidth", "n_environments", "sources", "sha256"}
    if missing := sorted(required - header.keys()):
        raise ReferenceFileError(f"{path}: the header lacks {', '.join(missing)}; the file is corrupted")
    if header["descriptor_version"] != DESCRIPTOR_VERSION:
        raise ReferenceFileError(
            f"{path} holds descriptors of version {header['descriptor_version']}; this quests-lmp computes "
            f"version {DESCRIPTOR_VERSION}: rebuild the reference from its structures"
        )
    expected_shape = (header["n_environments"], 2 * header["k"] - 1)
    if descriptors.dtype != np.float64 or descriptors.shape != expected_shape:
        raise ReferenceFileError(
            f"{path}: descriptors have shape {descriptors.shape} ({descriptors.dtype}), the header says "
            f"{expected_shape} (float64); the file is corrupted"
        )
    if _checksum(descriptors, header) != header["sha256"]:
        raise ReferenceFileError(f"{path}: checksum mismatch, the file is corrupted; rebuild it")
    return descriptors, header, _read_index(path, header, arrays, index_names)


def _read_index(path: Path, header: dict, arrays: dict, names: set) -> ClusterIndex | None:
    """The cluster index of a checked reference file, itself checked; None if the file has none."""
    entry = header.get("index")
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
    index_arrays = {name: arrays[f"index_{name}"] for name in INDEX_ARRAYS}
    try:
        if _index_checksum(index_arrays, entry) != entry.get("sha256"):
            raise ValueError("checksum mismatch")
        return ClusterIndex.from_arrays(index_arrays)
    except (ValueError, TypeError) as error:
        raise ReferenceFileError(f"{path}: the cluster index is corrupted ({error}); {fix}") from error
