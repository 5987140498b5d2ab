"""Reference sets and their files: round trip, structure files, and every way a file can be bad."""

from __future__ import annotations

import json

import ase.io
import numpy as np
import pytest
import quests_lmp.engine.reference_file
from ase.build import bulk
from conftest import PERIODIC, thermal
from quests_lmp import Descriptor, Reference, ReferenceFileError, delta_entropy, entropy_and_diversity
from quests_lmp.engine.reference_file import checksum


@pytest.fixture
def reference():
    return Reference.from_structures(
        [PERIODIC["fcc"](), PERIODIC["bcc"]()], k=16, cutoff=4.5, bandwidth=0.03, sources=["fcc", "bcc"]
    )


@pytest.fixture
def saved(tmp_path, reference):
    return reference.save(tmp_path / "reference.npz")


def test_round_trip_keeps_everything(reference, saved):
    loaded = Reference.load(saved)
    np.testing.assert_array_equal(loaded.descriptors, reference.descriptors)
    assert (loaded.k, loaded.cutoff, loaded.bandwidth, loaded.sources) == (16, 4.5, 0.03, ["fcc", "bcc"])
    assert loaded.n_environments == 108 + 54
    assert Reference.load(saved, k=16, cutoff=4.5).n_environments == 162


def test_reference_answers_like_the_functions(reference):
    test = thermal(PERIODIC["fcc"](), 0.1, 9)
    y = Descriptor(16, 4.5).compute(test)
    np.testing.assert_array_equal(reference.delta_entropy(test), delta_entropy(y, reference.descriptors, 0.03))
    np.testing.assert_array_equal(reference.delta_entropy(y, h=0.05), delta_entropy(y, reference.descriptors, 0.05))
    assert reference.entropy_and_diversity() == entropy_and_diversity(reference.descriptors, 0.03)


def test_from_extxyz_and_lammps_data(tmp_path):
    frames = [PERIODIC["fcc"](), thermal(PERIODIC["fcc"](), 0.08, 2)]
    ase.io.write(tmp_path / "train.extxyz", frames)
    ase.io.write(tmp_path / "train.data", frames[0], format="lammps-data")
    as_written = ase.io.read(tmp_path / "train.extxyz", ":")  # positions rounded to the file's precision
    np.testing.assert_array_equal(
        Reference.from_files(tmp_path / "train.extxyz").descriptors, Descriptor().compute(as_written)
    )
    from_data = Reference.from_files(tmp_path / "train.data", format="lammps-data")
    np.testing.assert_allclose(from_data.descriptors, Descriptor().compute(frames[0]), rtol=1e-9, atol=1e-12)
    both = Reference.from_files([tmp_path / "train.extxyz", tmp_path / "train.extxyz"], index="-1")
    assert both.n_environments == 2 * len(frames[1]) and len(both.sources) == 2


def test_from_lammps_dump(tmp_path):
    """A `dump custom ... id type x y z` frame, as LAMMPS writes it, read through ASE."""
    atoms = thermal(PERIODIC["fcc"](), 0.05, 3)
    atoms.wrap()
    lengths = atoms.cell.lengths()
    rows = "\n".join(f"{i + 1} 1 {x:.12f} {y:.12f} {z:.12f}" for i, (x, y, z) in enumerate(atoms.positions))
    (tmp_path / "run.dump").write_text(
        f"ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n{len(atoms)}\nITEM: BOX BOUNDS pp pp pp\n"
        f"0 {lengths[0]}\n0 {lengths[1]}\n0 {lengths[2]}\nITEM: ATOMS id type x y z\n{rows}\n"
    )
    from_dump = Reference.from_files(tmp_path / "run.dump", format="lammps-dump-text")
    np.testing.assert_allclose(from_dump.descriptors, Descriptor().compute(atoms), rtol=1e-9, atol=1e-12)


def test_unreadable_structure_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        Reference.from_files(tmp_path / "missing.extxyz")
    (tmp_path / "junk.extxyz").write_text("this is not a structure\n")
    with pytest.raises(ValueError, match="cannot read structures"):
        Reference.from_files(tmp_path / "junk.extxyz")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="reference file not found"):
        Reference.load(tmp_path / "nope.npz")


def test_truncated_file(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReferenceFileError, match="truncated or corrupted"):
        Reference.load(saved)


def test_flipped_byte_is_detected(saved):
    data = bytearray(saved.read_bytes())
    data[len(data) // 3] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ReferenceFileError, match="corrupted"):
        Reference.load(saved)


def write_archive(path, descriptors, header, centres=None):
    encoded = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    species = {} if centres is None else {"centres": centres}
    with open(path, "wb") as stream:
        np.savez(stream, descriptors=descriptors, header=encoded, **species)


def valid_header(reference):
    header = reference._header()
    header["sha256"] = checksum(reference.descriptors, header, reference.centres)
    return header


def test_tampered_descriptors_fail_the_checksum(tmp_path, reference):
    """A well-formed archive whose numbers changed after it was written."""
    tampered = reference.descriptors.copy()
    tampered[0, 0] += 1e-9
    write_archive(tmp_path / "t.npz", tampered, valid_header(reference), reference.centres)
    with pytest.raises(ReferenceFileError, match="checksum mismatch"):
        Reference.load(tmp_path / "t.npz")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"format": "something else"}, "not a quests-lmp reference file"),
        ({"format_version": 99}, "format version 99"),
        ({"descriptor_version": 0}, "descriptors of version 0"),
        ({"n_environments": 5}, "the header says"),
    ],
)
def test_bad_headers(tmp_path, reference, change, message):
    header = valid_header(reference) | change
    write_archive(tmp_path / "h.npz", reference.descriptors, header, reference.centres)
    with pytest.raises(ReferenceFileError, match=message):
        Reference.load(tmp_path / "h.npz")


def test_foreign_files(tmp_path):
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ReferenceFileError, match="not a quests-lmp reference file"):
        Reference.load(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ReferenceFileError, match="not a quests-lmp reference file"):
        Reference.load(tmp_path / "text.npz")
    ase.io.write(tmp_path / "train.extxyz", bulk("Cu", cubic=True))  # structures given where a reference goes
    with pytest.raises(ReferenceFileError, match="build one from structures with quests-lmp reference build") as error:
        Reference.load(tmp_path / "train.extxyz")
    assert "pickle" not in str(error.value)


def test_pickled_content_is_never_loaded(tmp_path):
    with open(tmp_path / "pickle.npz", "wb") as stream:
        np.savez(stream, descriptors=np.array([object()], dtype=object), header=np.zeros(3, np.uint8))
    with pytest.raises(ReferenceFileError, match="corrupted"):
        Reference.load(tmp_path / "pickle.npz")


def test_parameters_must_match_the_callers(saved):
    with pytest.raises(ReferenceFileError, match="k=16 but k=32"):
        Reference.load(saved, k=32)
    with pytest.raises(ReferenceFileError, match="cutoff=4.5 A but cutoff=5.0 A"):
        Reference.load(saved, cutoff=5.0)


def test_test_descriptors_must_match_the_reference(reference):
    with pytest.raises(ValueError, match="63 features but 31 are expected"):
        reference.delta_entropy(np.zeros((2, 63)))
    with pytest.raises(ValueError, match="method must be"):
        reference.delta_entropy(reference.descriptors[:2], method="fast")


def test_save_never_overwrites_or_loses_a_file(tmp_path, reference, saved, monkeypatch):
    before = saved.read_bytes()
    with pytest.raises(FileExistsError, match="exists"):
        reference.save(saved)
    assert saved.read_bytes() == before

    def disk_full(stream, arrays):
        stream.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(quests_lmp.engine.reference_file, "write_archive", disk_full)
    with pytest.raises(OSError, match="disk full"):
        reference.save(saved, overwrite=True)
    assert saved.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reference.npz"]  # no temporary left behind


def test_bad_reference_arguments():
    with pytest.raises(ValueError, match="31 are expected"):
        Reference(np.zeros((3, 63)), k=16)
    with pytest.raises(ValueError, match="bandwidth"):
        Reference(np.zeros((3, 63)), bandwidth=0.0)
    with pytest.raises(ValueError, match="one number"):
        Reference(np.zeros((3, 63)), bandwidth=[0.01, 0.02])
