"""The reference file: one file, any name (`.npz` suggested), written and read here only.

An uncompressed NumPy zip archive (quests_lmp.engine.archive: the descriptors 64-byte aligned and
memory-mapped when loaded, so the processes of a node share one copy) with
  - `descriptors`: float64 array (n_environments, n_features), 1/A: 2k-1 features, or those of
    the multicomponent descriptor;
  - `header`: UTF-8 JSON with format, format_version, descriptor_version, k, cutoff, bandwidth,
    n_environments, sources (file or structure names) and sha256 (of the descriptors' and
    centres' bytes and the other header fields);
  - from SPECIES_VERSION (2): `centres`, uint8 atomic number of each environment's centre atom,
    the rows grouped by it in increasing order, where known; in the header, elements (symbols of
    the centres, or null where unknown) and multicomponent (the descriptor's element symbols, or
    null for the species-blind descriptor). Version 1 files load as species unknown;
  - optionally, in any version: the cluster index of method approx, `index_<name>` for each name
    in quests_lmp.engine.cluster_index.ARRAYS (memory-mapped like the descriptors), described by
    the header's `index` entry (kind INDEX_KIND, version INDEX_VERSION, clusters, units, sha256 of
    the index arrays); the header's `calibration` (engine.calibration.Calibration) and
    `error_map` (engine.calibration.ErrorMap). Files without them load as before, and readers
    that do not know them ignore them (the checksum covers them);
  - from ELEMENT_INDEXES_VERSION (3): the cluster index of each element's environments, for
    by-centre comparisons with method approx: `index_z<Z>_<name>` for atomic number Z, described
    by the header's `element_indexes` entry {"Z": entry as above}. Only references of several
    elements have them (one element's index is the whole set's).

A file is written with the lowest version that holds its fields. Reading never unpickles, checks
every field and both checksums, and says what is wrong (ReferenceFileError).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .archive import read_archive, write_archive
from .calibration import Calibration, ErrorMap
from .cluster_index import ARRAYS as INDEX_ARRAYS
from .cluster_index import ClusterIndex
from .descriptor import DESCRIPTOR_VERSION
from .files import write_atomically
from .species import atomic_numbers, symbol_order, symbols

FORMAT = "quests-lmp reference"
SPECIES_VERSION = 2  # centres, elements, multicomponent: every file written holds at least these fields
ELEMENT_INDEXES_VERSION = 3  # per-element cluster indexes
READABLE_VERSIONS = (1, SPECIES_VERSION, ELEMENT_INDEXES_VERSION)
INDEX_KIND = "clusters"
INDEX_VERSION = 1


class ReferenceFileError(ValueError):
    """A reference file that cannot be used: foreign, truncated, corrupted, of another version, or
    built with another k or cutoff than asked for. A ValueError; its message says how to fix it."""


class StoredReference(NamedTuple):
    """What a reference file holds, checked: descriptors (1/A), centres (None where unknown), the
    header's fields, the cluster index and per-element indexes (None, {} where absent), the
    calibration and error map (None where absent)."""

    descriptors: np.ndarray
    centres: np.ndarray | None
    header: dict
    index: ClusterIndex | None
    element_indexes: dict
    calibration: Calibration | None
    error_map: ErrorMap | None


def base_header(fields: dict) -> dict:
    """A file's header before its optional entries and checksum: format, the species version and
    the descriptor version, then `fields` (k, cutoff, bandwidth, n_environments, sources, elements,
    multicomponent)."""
    return {"format": FORMAT, "format_version": SPECIES_VERSION, "descriptor_version": DESCRIPTOR_VERSION, **fields}


def write_file(
    path: Path,
    base: dict,
    descriptors: np.ndarray,
    centres: np.ndarray | None,
    index: ClusterIndex | None,
    element_indexes: dict,
    calibration: Calibration | None,
    error_map: ErrorMap | None,
) -> Path:
    """Writes a reference file complete or not at all (aside, then moved into place: processes that
    have the old file open keep it). base: base_header(); element_indexes: atomic number ->
    ClusterIndex. Returns the path."""
    header = dict(base)
    arrays = {"descriptors": descriptors}
    if centres is not None:
        arrays["centres"] = centres
    if index is not None:
        header["index"] = _index_entry(index, "index_", arrays)
    for name, stored in (("calibration", calibration), ("error_map", error_map)):
        if stored is not None:
            header[name] = stored.as_dict()
    if element_indexes:
        header["format_version"] = ELEMENT_INDEXES_VERSION
        header["element_indexes"] = {
            str(z): _index_entry(part, f"index_z{z}_", arrays) for z, part in sorted(element_indexes.items())
        }
    header["sha256"] = checksum(descriptors, header, centres)
    arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8)

    def write(temporary):
        with open(temporary, "wb") as stream:
            write_archive(stream, arrays)

    return write_atomically(path, write)


def read_file(path: Path) -> StoredReference:
    """The checked contents of a reference file; ReferenceFileError for anything wrong."""
    descriptors, centres, header, index, element_indexes = _read_archive(path)
    return StoredReference(
        descriptors,
        centres,
        header,
        index,
        element_indexes,
        _read_stored(path, header, "calibration", Calibration, "calibrate again"),
        _read_stored(path, header, "error_map", ErrorMap, "fit it again (quests-lmp errors --store)"),
    )


def checksum(descriptors: np.ndarray, header: dict, centres: np.ndarray | None = None) -> str:
    """sha256 of the descriptors' and centres' bytes and of the header's other fields."""
    arrays = [np.ascontiguousarray(descriptors, dtype="<f8")]
    return _digest(arrays if centres is None else arrays + [centres], header)


def index_checksum(arrays: dict, entry: dict) -> str:
    """sha256 of a cluster index's arrays and of its header entry's other fields."""
    return _digest([arrays[name] for name in INDEX_ARRAYS], entry)


def _index_entry(index: ClusterIndex, prefix: str, arrays: dict) -> dict:
    """The header entry of a cluster index; its arrays go into `arrays` as prefix + name."""
    index_arrays = index.arrays()
    entry = {"kind": INDEX_KIND, "version": INDEX_VERSION, "clusters": index.n_clusters, "units": index.n_units}
    entry["sha256"] = index_checksum(index_arrays, entry)
    arrays.update({f"{prefix}{name}": array for name, array in index_arrays.items()})
    return entry


def _digest(arrays: list, fields: dict) -> str:
    """sha256 of the arrays' bytes (no copy) and of the fields other than sha256."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    digest.update(
        json.dumps({key: value for key, value in fields.items() if key != "sha256"}, sort_keys=True).encode("utf-8")
    )
    return digest.hexdigest()


def _read_archive(path: Path) -> tuple[np.ndarray, np.ndarray | None, dict, ClusterIndex | None, dict]:
    """Descriptors, centres (None where unknown), header, cluster index (None if it has none) and
    per-element cluster indexes (atomic number -> index) of a reference file, checked;
    ReferenceFileError otherwise."""
    foreign = f"{path} is not a quests-lmp reference file"
    if not zipfile.is_zipfile(path):
        raise ReferenceFileError(
            f"{foreign} (not a complete .npz archive: a text or structure file, or a "
            "truncated or corrupted one); build one from structures with quests-lmp reference build"
        )
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
        raise ReferenceFileError(
            f"{foreign} (unknown format {header.get('format') if isinstance(header, dict) else header!r})"
        )
    if header.get("format_version") not in READABLE_VERSIONS:
        raise ReferenceFileError(
            f"{path} has format version {header.get('format_version')}; this quests-lmp reads "
            f"versions {', '.join(map(str, READABLE_VERSIONS))}: rebuild it with this version"
        )
    required = {"descriptor_version", "k", "cutoff", "bandwidth", "n_environments", "sources", "sha256"}
    if header["format_version"] >= SPECIES_VERSION:
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
        raise ReferenceFileError(
            f"{path}: the multicomponent elements are corrupted ({error}); rebuild the file"
        ) from error
    expected_shape = (header["n_environments"], (2 * header["k"] - 1) * parts)
    if descriptors.dtype != np.float64 or descriptors.shape != expected_shape:
        raise ReferenceFileError(
            f"{path}: descriptors have shape {descriptors.shape} ({descriptors.dtype}), the header says "
            f"{expected_shape} (float64); the file is corrupted"
        )
    centres = _read_species(path, header, arrays)
    if checksum(descriptors, header, centres) != header["sha256"]:
        raise ReferenceFileError(f"{path}: checksum mismatch, the file is corrupted; rebuild it")
    return (
        descriptors,
        centres,
        header,
        _read_index(path, header.get("index"), arrays, "index_"),
        _read_element_indexes(path, header, arrays, centres),
    )


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
        if (
            centres is None
            or centres.dtype != np.uint8
            or centres.shape != (header["n_environments"],)
            or np.any(centres[1:] < centres[:-1])
            or symbols(symbol_order(np.unique(centres))) != elements
        ):
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
    if (
        not isinstance(entries, dict)
        or stored != {f"index_z{key}_{name}" for key in entries for name in INDEX_ARRAYS}
        or (entries and (header["format_version"] < ELEMENT_INDEXES_VERSION or centres is None))
    ):
        raise ReferenceFileError(
            f"{path}: the per-element cluster indexes are incomplete or hold unknown "
            f"arrays (the file is corrupted); {fix}"
        )
    indexes = {}
    for key, entry in entries.items():
        z = int(key) if key.isdigit() else -1
        index = _read_index(path, entry, arrays, f"index_z{key}_")
        rows = int(np.count_nonzero(centres == z))
        if index.members.shape[0] != rows or rows in (0, len(centres)):
            raise ReferenceFileError(
                f"{path}: the cluster index of element {key} does not match its "
                f"{rows} environments (the file is corrupted); {fix}"
            )
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
        raise ReferenceFileError(
            f"{path} holds a cluster index of kind {entry.get('kind')!r}, version "
            f"{entry.get('version')!r}; this quests-lmp reads {INDEX_KIND!r} version "
            f"{INDEX_VERSION}: {fix}"
        )
    index_arrays = {name: arrays[f"{prefix}{name}"] for name in INDEX_ARRAYS}
    try:
        if index_checksum(index_arrays, entry) != entry.get("sha256"):
            raise ValueError("checksum mismatch")
        return ClusterIndex.from_arrays(index_arrays)
    except (ValueError, TypeError) as error:
        raise ReferenceFileError(f"{path}: the cluster index is corrupted ({error}); {fix}") from error
