"""`quests-lmp ... --species ... --elements ...`: species-aware commands equal the Python API, per-element
tables, LAMMPS types named by --elements, 2 ranks = serial, clear errors."""

from __future__ import annotations

import csv

import ase.io
import numpy as np
import pytest
from quests_lmp import MulticomponentDescriptor, Reference, entropy_by_element, overlap
from test_cli import read_json, run
from test_species import alloy


@pytest.fixture(scope="module")
def alloys(tmp_path_factory):
    """Ni-Al training frames, hotter test frames with some Cr, and test frames without Cr (extxyz)."""
    folder = tmp_path_factory.mktemp("alloys")
    sets = {
        "train": [alloy(seed=s) for s in (1, 3)],
        "test": [alloy(seed=s, sigma=0.1) for s in (5, 7)],
        "cr": [alloy(("Ni", "Al", "Cr"), (0.6, 0.3, 0.1), seed=9)],
    }
    for name, frames in sets.items():
        ase.io.write(folder / f"{name}.extxyz", frames)
    read = {name: ase.io.read(folder / f"{name}.extxyz", ":") for name in sets}  # as the CLI reads them
    return folder, read


def per_atom(path):
    with open(path) as stream:
        return np.array([float(row["dH"]) for row in csv.DictReader(stream)])


def test_reference_build_records_species_and_prints_each_element(alloys, tmp_path):
    folder, sets = alloys
    result = run(
        "reference",
        "build",
        folder / "train.extxyz",
        "-o",
        tmp_path / "r.npz",
        "--species",
        "multicomponent/by-centre",
        "--json",
        tmp_path / "r.json",
        folder=tmp_path,
    )
    reference, summary = Reference.load(tmp_path / "r.npz"), read_json(tmp_path / "r.json")
    assert reference.multicomponent == ["Al", "Ni"] and reference.elements == ["Al", "Ni"]
    expected = Reference.from_structures(sets["train"], multicomponent=True)
    np.testing.assert_array_equal(reference.descriptors, expected.descriptors)
    table = entropy_by_element(expected.descriptors, expected.centres, 0.015)
    for name in ("Al", "Ni", "total"):
        assert summary["by_element"][name]["entropy"] == pytest.approx(table[name][1], rel=1e-12)
    assert summary["entropy"] == pytest.approx(table["total"][1], rel=1e-12)
    assert "multicomponent descriptors" in result.stdout and "Al" in result.stdout


def test_reference_index_stores_each_elements_index(alloys, tmp_path):
    """`reference index` of an alloy stores each element's cluster index too: fix quests with
    species by-centre and method approx then builds nothing at creation (and says how to store
    them where the file lacks them)."""
    from quests_lmp.lammps.fix import FixEngine

    folder, _ = alloys
    run("reference", "build", folder / "train.extxyz", "-o", tmp_path / "r.npz", "--index", "no", folder=tmp_path)
    settings = dict(method="approx", elements="Ni Al", species="by-centre")
    assert f"quests-lmp reference index {tmp_path / 'r.npz'}" in FixEngine(str(tmp_path / "r.npz"), **settings).notice
    result = run("reference", "index", tmp_path / "r.npz", "--json", tmp_path / "i.json", folder=tmp_path)
    loaded, summary = Reference.load(tmp_path / "r.npz"), read_json(tmp_path / "i.json")
    assert loaded.has_cluster_index and loaded.prepare("approx", by_centre=True) == 0.0
    assert {name: row["environments"] for name, row in summary["by_element"].items()} == {
        "Al": np.sum(loaded.centres == 13),
        "Ni": np.sum(loaded.centres == 28),
    }
    assert "Al (species by-centre)" in result.stdout
    assert FixEngine(str(tmp_path / "r.npz"), **settings).notice == ""


@pytest.mark.mpi
@pytest.mark.parametrize("species", ["by-centre", "multicomponent/by-centre"])
def test_dh_by_centre_equals_the_api_on_one_and_two_ranks(alloys, tmp_path, species):
    folder, sets = alloys
    multicomponent = species.startswith("multicomponent")
    built = Reference.from_structures(sets["train"], multicomponent=multicomponent)
    built.save(tmp_path / "r.npz")
    expected = built.delta_entropy(sets["test"], by_centre=True)
    for ranks in (1, 2):
        run(
            "dh",
            folder / "test.extxyz",
            "--reference",
            tmp_path / "r.npz",
            "--species",
            species,
            "-o",
            tmp_path / f"{ranks}.csv",
            "--json",
            tmp_path / f"{ranks}.json",
            folder=tmp_path,
            ranks=ranks,
        )
        np.testing.assert_allclose(per_atom(tmp_path / f"{ranks}.csv"), expected, rtol=1e-10, atol=1e-12)
    summary = read_json(tmp_path / "1.json")
    assert summary["by_centre"] is True and set(summary["by_element"]) == {"Al", "Ni"}
    aluminium = np.concatenate([atoms.numbers for atoms in sets["test"]]) == 13
    assert summary["by_element"]["Al"]["mean_dH"] == pytest.approx(expected[aluminium].mean(), rel=1e-12)


def test_trajectory_by_centre(alloys, tmp_path):
    folder, sets = alloys
    built = Reference.from_structures(sets["train"])
    built.save(tmp_path / "r.npz")
    run(
        "trajectory",
        folder / "test.extxyz",
        "--reference",
        tmp_path / "r.npz",
        "--species",
        "by-centre",
        "--json",
        tmp_path / "t.json",
        folder=tmp_path,
    )
    table = read_json(tmp_path / "t.json")
    for index, frame in enumerate(sets["test"]):
        assert table["mean_dH"][index] == pytest.approx(built.delta_entropy(frame, by_centre=True).mean(), rel=1e-12)
        own = Reference.from_structures(frame)
        assert table["entropy"][index] == pytest.approx(own.entropy_and_diversity(by_centre=True)[0], rel=1e-12)
    failed = run("trajectory", folder / "test.extxyz", "--elements", "Ni,Al", folder=tmp_path, check=False)
    assert failed.returncode != 0 and "has none (not a LAMMPS dump or data file)" in failed.stderr


def test_structures_as_reference_follow_species(alloys, tmp_path):
    folder, sets = alloys
    run(
        "dh",
        folder / "test.extxyz",
        "--reference",
        folder / "train.extxyz",
        "--species",
        "multicomponent",
        "-o",
        tmp_path / "m.csv",
        folder=tmp_path,
    )
    built = Reference.from_structures(sets["train"], multicomponent=True)
    np.testing.assert_allclose(per_atom(tmp_path / "m.csv"), built.delta_entropy(sets["test"]), rtol=1e-10, atol=1e-12)


def test_entropy_and_overlap_by_centre(alloys, tmp_path):
    folder, sets = alloys
    run("entropy", folder / "train.extxyz", "--species", "by-centre", "--json", tmp_path / "e.json", folder=tmp_path)
    rows = {row["element"]: row for row in read_json(tmp_path / "e.json")["datasets"]}
    built = Reference.from_structures(sets["train"])
    table = entropy_by_element(built.descriptors, built.centres, 0.015)
    assert rows["all"]["entropy"] == pytest.approx(table["total"][1], rel=1e-12)
    assert rows["Al"]["entropy"] == pytest.approx(table["Al"][1], rel=1e-12)
    assert rows["Ni"]["diversity"] == pytest.approx(table["Ni"][2], rel=1e-12)

    run(
        "overlap",
        folder / "train.extxyz",
        folder / "test.extxyz",
        "--species",
        "by-centre",
        "--json",
        tmp_path / "o.json",
        folder=tmp_path,
    )
    result = read_json(tmp_path / "o.json")
    test = Reference.from_structures(sets["test"])
    assert result["overlap"][1][0] == pytest.approx(
        overlap(test.descriptors, built.descriptors, 0.015, 0.0, test.centres, built.centres), rel=1e-12
    )
    aluminium = test.centres == 13
    covered = overlap(test.descriptors[aluminium], built.descriptors[built.centres == 13], 0.015)
    assert result["overlap_by_element"]["Al"][1][0] == pytest.approx(covered, rel=1e-12)


def test_approximate_entropy_by_centre_has_each_elements_line(alloys, tmp_path):
    """All rows sampled: each element's estimate is its exact H and D, with zero errors; too few
    rows of an element: its line is left out, with a note."""
    folder, sets = alloys
    built = Reference.from_structures(sets["train"])
    table = entropy_by_element(built.descriptors, built.centres, 0.015)
    run(
        "entropy",
        folder / "train.extxyz",
        "--species",
        "by-centre",
        "--method",
        "approx",
        "--rows",
        "100000",
        "--json",
        tmp_path / "a.json",
        folder=tmp_path,
    )
    rows = {row["element"]: row for row in read_json(tmp_path / "a.json")["datasets"]}
    assert set(rows) == {"all", "Al", "Ni"}
    for name, key in (("Al", "Al"), ("Ni", "Ni"), ("all", "total")):
        assert rows[name]["environments"] == table[key][0] == rows[name]["sampled"]
        assert rows[name]["entropy"] == pytest.approx(table[key][1], rel=1e-12)
        assert rows[name]["diversity"] == pytest.approx(table[key][2], rel=1e-12)
        assert rows[name]["entropy_error"] == 0.0
    few = run(
        "entropy",
        folder / "train.extxyz",
        "--species",
        "by-centre",
        "--method",
        "approx",
        "--rows",
        "2",
        "--json",
        tmp_path / "f.json",
        folder=tmp_path,
    )
    assert "no per-element line for" in few.stderr and "raise --rows" in few.stderr
    assert len(read_json(tmp_path / "f.json")["datasets"]) <= 2


def test_elements_name_the_types_of_a_lammps_dump(alloys, tmp_path):
    folder, sets = alloys
    frame = sets["test"][0]
    types = np.where(frame.numbers == 28, 1, 2)
    rows = "\n".join(
        f"{i + 1} {t} {x:.12f} {y:.12f} {z:.12f}" for i, (t, (x, y, z)) in enumerate(zip(types, frame.positions))
    )
    lengths = frame.cell.lengths()
    (tmp_path / "run.dump").write_text(
        f"ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n{len(frame)}\nITEM: BOX BOUNDS pp pp pp\n"
        f"0 {lengths[0]}\n0 {lengths[1]}\n0 {lengths[2]}\nITEM: ATOMS id type x y z\n{rows}\n"
    )
    Reference.from_structures(sets["train"]).save(tmp_path / "r.npz")
    run(
        "dh",
        tmp_path / "run.dump",
        "--reference",
        tmp_path / "r.npz",
        "--species",
        "by-centre",
        "--elements",
        "Ni,Al",
        "-o",
        tmp_path / "d.csv",
        "--format",
        "lammps-dump-text",
        folder=tmp_path,
    )
    dumped = ase.io.read(tmp_path / "run.dump", format="lammps-dump-text")
    dumped.numbers = np.where(types == 1, 28, 13)
    expected = Reference.load(tmp_path / "r.npz").delta_entropy(dumped, by_centre=True)
    np.testing.assert_allclose(per_atom(tmp_path / "d.csv"), expected, rtol=1e-10, atol=1e-12)
    failed = run(
        "dh",
        tmp_path / "run.dump",
        "--reference",
        tmp_path / "r.npz",
        "--species",
        "by-centre",
        "--format",
        "lammps-dump-text",
        folder=tmp_path,
        check=False,
    )  # types 1, 2 read as H, He
    assert failed.returncode != 0 and "elements H, He are not in the reference" in failed.stderr


def test_unknown_elements_error_or_novel(alloys, tmp_path):
    folder, _ = alloys
    run("reference", "build", folder / "train.extxyz", "-o", tmp_path / "r.npz", folder=tmp_path)
    failed = run(
        "dh",
        folder / "cr.extxyz",
        "--reference",
        tmp_path / "r.npz",
        "--species",
        "by-centre",
        folder=tmp_path,
        check=False,
    )
    assert failed.returncode != 0 and "element Cr is not in the reference" in failed.stderr
    run(
        "dh",
        folder / "cr.extxyz",
        "--reference",
        tmp_path / "r.npz",
        "--species",
        "by-centre",
        "--unknown",
        "novel",
        "-o",
        tmp_path / "n.csv",
        "--json",
        tmp_path / "n.json",
        folder=tmp_path,
    )
    summary = read_json(tmp_path / "n.json")
    assert summary["by_element"]["Cr"]["novel_fraction"] == 1.0
    assert np.isinf(summary["by_element"]["Cr"]["max_dH"]) and np.isfinite(summary["by_element"]["Ni"]["max_dH"])
    wrong = run(
        "dh",
        folder / "test.extxyz",
        "--reference",
        tmp_path / "r.npz",
        "--species",
        "multicomponent",
        folder=tmp_path,
        check=False,
    )
    assert wrong.returncode != 0 and "needs a reference of multicomponent descriptors" in wrong.stderr


def test_compress_and_learning_curve_by_centre(alloys, tmp_path):
    folder, sets = alloys
    result = run(
        "compress",
        folder / "train.extxyz",
        "--size",
        "1",
        "--species",
        "by-centre",
        "-o",
        tmp_path / "s.extxyz",
        "--json",
        tmp_path / "c.json",
        folder=tmp_path,
    )
    summary = read_json(tmp_path / "c.json")
    built = Reference.from_structures(sets["train"])
    assert summary["entropy"] == pytest.approx(built.entropy_and_diversity(by_centre=True)[0], rel=1e-12)
    kept = Reference.from_structures([sets["train"][summary["indices"][0]]])
    assert summary["subset_entropy"] == pytest.approx(kept.entropy_and_diversity(by_centre=True)[0], rel=1e-12)
    run(
        "learning-curve",
        folder / "train.extxyz",
        "--species",
        "by-centre",
        "--points",
        "4",
        "--json",
        tmp_path / "l.json",
        folder=tmp_path,
    )
    curve = read_json(tmp_path / "l.json")
    assert curve["entropy"][-1] == pytest.approx(summary["entropy"], rel=1e-12)
    assert result.returncode == 0


def test_multicomponent_descriptor_of_the_cli_spans_every_dataset(alloys, tmp_path):
    """overlap between sets of different elements: one multicomponent descriptor over all of them."""
    folder, sets = alloys
    run(
        "overlap",
        folder / "train.extxyz",
        folder / "cr.extxyz",
        "--species",
        "multicomponent",
        "--json",
        tmp_path / "o.json",
        folder=tmp_path,
    )
    descriptor = MulticomponentDescriptor(["Al", "Cr", "Ni"])
    x, y = descriptor.compute(sets["train"]), descriptor.compute(sets["cr"])
    assert read_json(tmp_path / "o.json")["overlap"][1][0] == pytest.approx(overlap(y, x, 0.015), rel=1e-12)
