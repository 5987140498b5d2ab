"""Aligned, memory-mapped .npz archives (quests_lmp.engine.archive) and reference files on them."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from quests_lmp import Reference
from quests_lmp.engine.archive import ALIGNMENT, MAPPED_MIN_BYTES, read_archive, write_archive
from quests_lmp.engine.reference_file import FORMAT, checksum

RNG = np.random.default_rng(7)
ARRAYS = {
    "large": RNG.random((5000, 63)),
    "small": np.arange(5, dtype=np.uint8),
    "odd": RNG.random((3, 7)).astype(np.float32),
    "fortran": np.asfortranarray(RNG.random((300, 500))),
}


def data_offsets(path) -> dict[str, int]:
    """Where each member's array data starts in the file (after the zip and .npy headers)."""
    offsets = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
        for info in archive.infolist():
            raw.seek(info.header_offset + 26)
            name_length, extra_length = np.frombuffer(raw.read(4), dtype="<u2")
            raw.seek(info.header_offset + 30 + int(name_length) + int(extra_length))
            if np.lib.format.read_magic(raw) == (1, 0):
                np.lib.format.read_array_header_1_0(raw)
            else:
                np.lib.format.read_array_header_2_0(raw)
            offsets[info.filename] = raw.tell()
    return offsets


@pytest.fixture
def written(tmp_path):
    path = tmp_path / "arrays.npz"
    with open(path, "wb") as stream:
        write_archive(stream, ARRAYS)
    return path


def test_every_array_starts_on_an_aligned_byte_and_np_load_reads_the_file(written):
    assert all(offset % ALIGNMENT == 0 for offset in data_offsets(written).values()), data_offsets(written)
    with np.load(written, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(ARRAYS)
        for name, array in ARRAYS.items():
            np.testing.assert_array_equal(archive[name], array)


def test_large_arrays_are_mapped_read_only_and_small_ones_read(written):
    arrays = read_archive(written)
    for name, array in ARRAYS.items():
        np.testing.assert_array_equal(arrays[name], array)
        assert arrays[name].dtype == array.dtype
        assert isinstance(arrays[name], np.memmap) == (array.nbytes >= MAPPED_MIN_BYTES), name
    assert not arrays["large"].flags.writeable


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_archives_of_np_savez_are_read_into_memory(tmp_path, save):
    path = tmp_path / "old.npz"
    save(path, **ARRAYS)
    arrays = read_archive(path)
    for name, array in ARRAYS.items():
        np.testing.assert_array_equal(arrays[name], array)


def test_pickled_members_are_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, objects=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError):
        read_archive(path)


def test_a_truncated_archive_is_an_error(written, tmp_path):
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(written.read_bytes()[: written.stat().st_size // 2])
    with pytest.raises((zipfile.BadZipFile, ValueError, OSError)):
        read_archive(truncated)


def test_a_saved_reference_is_memory_mapped(tmp_path):
    reference = Reference(RNG.random((4000, 63)) * 0.1, bandwidth=0.05)
    loaded = Reference.load(reference.save(tmp_path / "ref.npz"))
    assert isinstance(loaded.descriptors.base, np.memmap) or isinstance(loaded.descriptors, np.memmap)
    assert not loaded.descriptors.flags.writeable
    test = RNG.random((50, 63)) * 0.1
    np.testing.assert_array_equal(loaded.delta_entropy(test), reference.delta_entropy(test))


def test_a_reference_file_written_before_the_alignment_still_loads(tmp_path):
    """The files of earlier versions: np.savez of the same two members, unaligned, format version 1
    (no species records: they load as species unknown)."""
    descriptors = RNG.random((300, 63)) * 0.1
    header = {
        "format": FORMAT,
        "format_version": 1,
        "descriptor_version": 1,
        "k": 32,
        "cutoff": 5.0,
        "bandwidth": 0.015,
        "n_environments": 300,
        "sources": ["old.xyz"],
    }
    header["sha256"] = checksum(descriptors, header)
    path = tmp_path / "old.npz"
    with open(path, "wb") as stream:
        np.savez(
            stream,
            descriptors=descriptors,
            header=np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8),
        )
    loaded = Reference.load(path)
    np.testing.assert_array_equal(loaded.descriptors, descriptors)
    assert loaded.sources == ["old.xyz"]
    assert loaded.centres is None and loaded.elements is None and loaded.multicomponent is None
    with pytest.raises(ValueError, match="records no centre elements .* rebuild the reference"):
        loaded.delta_entropy(descriptors[:5], by_centre=True, centres=np.full(5, 29))
