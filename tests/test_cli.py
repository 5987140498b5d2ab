"""`quests-lmp` subcommands end to end (the installed entry point): numbers against the Python API
and the reference package, a `fix quests` dump reproduced, 2 MPI ranks = serial, real PNGs, and
one-line errors for user mistakes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from importlib import metadata

import ase.io
import matplotlib.image
import numpy as np
import pytest
from ase.build import bulk
from conftest import (
    ANALYTIC_PHASES,
    APPROX_RELATIVE,
    APPROX_ROUNDING,
    analytic_boundary,
    analytic_points,
    float32_disagreement,
    on_reference_grid,
    thermal,
)
from lammps_runner import BIN, FIX_QUESTS_MD, assert_ran, dump_columns, memory_mapped, run_lammps, write_data
from quests.descriptor import get_descriptors
from quests.entropy import delta_entropy as reference_delta_entropy
from quests.entropy import diversity as reference_diversity
from quests.entropy import entropy as reference_entropy
from quests_lmp import Descriptor, Reference, bandwidth_for_volume, entropy, entropy_and_diversity
from quests_lmp.analysis.clusters import cluster_sizes
from quests_lmp.analysis.compression import select_structures

CLI = str(BIN / "quests-lmp")


def run(*args, folder, ranks=1, check=True):
    command = [CLI, *map(str, args)]
    if ranks > 1:
        command = [str(BIN / "mpiexec"), "-n", str(ranks)] + command + ["--threads", "1"]
    env = dict(os.environ, NUMBA_NUM_THREADS="2", OMP_NUM_THREADS="1")
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def cu(noise, seed, repeat=3, lattice="fcc", a=3.615):
    return on_reference_grid(thermal(bulk("Cu", lattice, a=a, cubic=True).repeat(repeat), noise, seed))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Small datasets in exact (ASE .traj) files: reference-like FCC, hotter FCC, BCC."""
    folder = tmp_path_factory.mktemp("cli")
    sets = {
        "ref": [cu(0.05, s) for s in range(3)],
        "test": [cu(0.15, 10 + s) for s in range(4)],
        "bcc": [cu(0.05, 20 + s, 4, "bcc", 2.87) for s in range(2)],
    }
    for name, frames in sets.items():
        ase.io.write(folder / f"{name}.traj", frames)
    return folder, sets


def read_json(path):
    return json.loads(path.read_text())


def per_atom_csv(path):
    with open(path) as stream:
        return np.array([float(row["dH"]) for row in csv.DictReader(stream)])


def test_help_names_every_command_and_what_runs_on_rank_0_alone():
    """The overview of `quests-lmp --help` lists each sub-command, and names as rank-0-only exactly
    those that do not split their work under mpiexec."""
    from quests_lmp.cli.main import parser

    def leaves(command, prefix=""):
        """(name, parser) of every runnable sub-command: `reference build`, `entropy`, ..."""
        for name, sub in command._subparsers._group_actions[0].choices.items():
            yield from leaves(sub, f"{prefix}{name} ") if sub._subparsers else [(prefix + name, sub)]

    text = run("--help", folder=".").stdout
    listed = {line.split()[1] for line in text.splitlines() if line.startswith("    quests-lmp ")}
    commands = dict(leaves(parser()))
    assert listed == {name.split()[0] for name in commands}
    serial = sorted(name for name, command in commands.items() if not command.get_default("parallel"))
    assert serial == ["bandwidth", "build-plugin", "phase-boundary", "plugin-path", "reference index"]
    assert "(reference index, bandwidth, phase-boundary, plugin-path and build-plugin run on rank 0)" in " ".join(
        text.split()
    )


def test_reference_build(data, tmp_path):
    folder, sets = data
    run(
        "reference",
        "build",
        folder / "ref.traj",
        folder / "bcc.traj@0",
        "-o",
        tmp_path / "r.npz",
        "--bandwidth",
        "0.03",
        "--json",
        tmp_path / "r.json",
        folder=tmp_path,
    )
    reference, result = Reference.load(tmp_path / "r.npz"), read_json(tmp_path / "r.json")
    frames = sets["ref"] + sets["bcc"][:1]
    np.testing.assert_array_equal(reference.descriptors, Descriptor().compute(frames))
    assert reference.bandwidth == 0.03 and result["environments"] == 3 * 108 + 128
    h_value, d_value = entropy_and_diversity(reference.descriptors, 0.03)
    assert result["entropy"] == pytest.approx(h_value, rel=1e-12)
    assert result["diversity"] == pytest.approx(d_value, rel=1e-12)


@pytest.mark.parity
def test_entropy_matches_the_reference_package(data, tmp_path):
    folder, sets = data
    run(
        "entropy",
        folder / "ref.traj",
        folder / "bcc.traj",
        "--bandwidth",
        "0.057",
        "--json",
        tmp_path / "e.json",
        folder=tmp_path,
    )
    rows = read_json(tmp_path / "e.json")["datasets"]
    for row, frames in zip(rows, (sets["ref"], sets["bcc"])):
        x = get_descriptors(frames)
        assert row["entropy"] == pytest.approx(reference_entropy(x, 0.057), rel=1e-10)
        assert row["diversity"] == pytest.approx(reference_diversity(x, 0.057), rel=1e-10)
        assert row["log_n"] == pytest.approx(np.log(len(x)), rel=1e-14) and row["bandwidth"] == 0.057


def test_phase_boundary_from_a_table_of_points(tmp_path):
    """Two analytic phases (F = e + B (V - V0)^2 / 2 V0 - T s, P = -dF/dV) written as a CSV: the
    command's boundary is the closed form, from free_energy or from energy and entropy columns
    alike, and the phase of higher entropy is stable above it; wrong tables get one clear line."""
    from quests_lmp.analysis.thermodynamics import BOLTZMANN

    rows = []
    for label, phase in ANALYTIC_PHASES.items():
        for v, t, free, pressure in zip(*analytic_points(*phase)):
            rows.append([label, v, t, pressure, free, free + BOLTZMANN * t * phase[1], phase[1]])
    header = ["phase", "volume", "temperature", "pressure", "free_energy", "energy", "entropy"]
    for name, keep in (("f.csv", [0, 1, 2, 3, 4]), ("s.csv", [0, 1, 2, 3, 5, 6])):
        with open(tmp_path / name, "w", newline="") as handle:
            csv.writer(handle).writerows([[header[i] for i in keep]] + [[row[i] for i in keep] for row in rows])
    for name in ("f.csv", "s.csv"):
        run("phase-boundary", name, "--pressures", 20, 40, "--temperatures", 1000, 8000, "--json", f"{name}.json",
            folder=tmp_path)  # fmt: skip
        result = read_json(tmp_path / f"{name}.json")
        for row in result["boundary"]:
            assert row["temperature"] == pytest.approx(analytic_boundary(row["pressure"]), rel=1e-8)
            assert row["stable_above"] == "bcc"
    (tmp_path / "bad.csv").write_text("phase,volume,temperature,pressure\nfcc,7,3000,200\n")
    failed = run("phase-boundary", "bad.csv", "--pressures", 200, folder=tmp_path, check=False)
    assert failed.returncode == 1 and "lacks the column(s) energy, entropy" in failed.stderr
    with open(tmp_path / "three.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([header[:5]] + [r[:5] for r in rows] + [["hcp", *r[1:5]] for r in rows[:20]])
    failed = run("phase-boundary", "three.csv", "--pressures", 200, folder=tmp_path, check=False)
    assert failed.returncode == 1 and "holds 3 phase(s) (fcc, bcc, hcp); give exactly two" in failed.stderr


def test_bandwidth_auto_is_the_papers_h_of_v(data, tmp_path):
    folder, sets = data
    run("entropy", folder / "bcc.traj", "--bandwidth", "auto", "--json", tmp_path / "a.json", folder=tmp_path)
    (row,) = read_json(tmp_path / "a.json")["datasets"]
    volume = np.mean([atoms.get_volume() / len(atoms) for atoms in sets["bcc"]])
    assert row["bandwidth"] == pytest.approx(bandwidth_for_volume(volume), rel=1e-14)
    assert row["entropy"] == pytest.approx(entropy(Descriptor().compute(sets["bcc"]), row["bandwidth"]), rel=1e-12)


@pytest.mark.mpi
def test_bandwidth_auto_of_a_reference_file_and_without_slabs(data, tmp_path):
    """auto with a reference file (no structures kept) takes h(V) of the structures compared with
    it; a slab's vacuum (a cell periodic in 3D with an empty layer wider than the cutoff) is not
    atomic volume; what was averaged is said. The same on 2 ranks."""
    folder, sets = data
    slab = cu(0.05, 30)
    slab.center(vacuum=6.0, axis=2)  # 12 A of vacuum, still periodic along z
    ase.io.write(tmp_path / "mixed.traj", sets["test"] + [slab])
    run("reference", "build", folder / "ref.traj", "-o", tmp_path / "r.npz", folder=tmp_path)
    volume = np.mean([atoms.get_volume() / len(atoms) for atoms in sets["test"]])
    for ranks in (1, 2):
        result = run(
            "dh",
            tmp_path / "mixed.traj",
            "--reference",
            tmp_path / "r.npz",
            "--bandwidth",
            "auto",
            "--json",
            tmp_path / f"{ranks}.json",
            folder=tmp_path,
            ranks=ranks,
        )
        assert read_json(tmp_path / f"{ranks}.json")["bandwidth"] == pytest.approx(
            bandwidth_for_volume(volume), rel=1e-14
        )
        assert (
            f"h(V) at the mean atomic volume {volume:.4g} A^3 of 4 bulk-like frames of {tmp_path / 'mixed.traj'} "
            "(1 open or with vacuum left out)"
        ) in result.stderr
    ase.io.write(tmp_path / "slab.traj", [slab])
    failed = run(
        "dh",
        tmp_path / "slab.traj",
        "--reference",
        tmp_path / "r.npz",
        "--bandwidth",
        "auto",
        folder=tmp_path,
        check=False,
    )
    assert failed.returncode != 0 and "--bandwidth auto needs bulk-like frames" in failed.stderr
    assert f"{tmp_path / 'slab.traj'} has none of 1; give a number in 1/A instead" in failed.stderr


def test_entropy_sampling_averages_random_subsets(data, tmp_path):
    folder, sets = data
    run(
        "entropy",
        folder / "test.traj",
        "--sample",
        100,
        "--repeats",
        4,
        "--seed",
        3,
        "--json",
        tmp_path / "s.json",
        folder=tmp_path,
    )
    (row,) = read_json(tmp_path / "s.json")["datasets"]
    x = Descriptor().compute(sets["test"])
    rng = np.random.default_rng(3)
    values = [entropy(x[rng.choice(len(x), 100, replace=False)], 0.015) for _ in range(4)]
    assert row["sampled"] == 100 and row["entropy"] == pytest.approx(np.mean(values), rel=1e-12)
    assert row["entropy_std"] == pytest.approx(np.std(values), rel=1e-9) and row["entropy_std"] > 0


@pytest.mark.parity
def test_dh_matches_the_reference_package_and_writes_extxyz(data, tmp_path):
    folder, sets = data
    run("reference", "build", folder / "ref.traj", "-o", tmp_path / "r.npz", folder=tmp_path)
    run(
        "dh",
        folder / "test.traj",
        "--reference",
        tmp_path / "r.npz",
        "-o",
        tmp_path / "dh.csv",
        "--json",
        tmp_path / "dh.json",
        folder=tmp_path,
    )
    run("dh", folder / "test.traj", "--reference", folder / "ref.traj", "-o", tmp_path / "dh.extxyz", folder=tmp_path)
    ours = per_atom_csv(tmp_path / "dh.csv")
    theirs = reference_delta_entropy(get_descriptors(sets["test"]), get_descriptors(sets["ref"]), h=0.015)
    np.testing.assert_array_less(np.abs(ours - theirs), 1e-10 * np.maximum(np.abs(theirs), 1.0))
    summary = read_json(tmp_path / "dh.json")
    assert summary["max_dH"] == ours.max() and summary["novel_count"] == np.sum(ours > 0)
    assert summary["mean_dH"] == pytest.approx(ours.mean(), rel=1e-12) and 0 < summary["novel_fraction"] < 1
    copies = ase.io.read(tmp_path / "dh.extxyz", ":")
    assert len(copies) == 4 and np.allclose(copies[0].positions, sets["test"][0].positions, atol=1e-7)
    np.testing.assert_allclose(np.concatenate([c.arrays["dH"] for c in copies]), ours, rtol=1e-7, atol=1e-7)


def test_dh_in_single_precision(data, tmp_path):
    folder, _ = data
    run("reference", "build", folder / "ref.traj", "-o", tmp_path / "r.npz", folder=tmp_path)
    for precision in ("double", "single"):
        run(
            "dh",
            folder / "test.traj",
            "--reference",
            tmp_path / "r.npz",
            "--precision",
            precision,
            "-o",
            tmp_path / f"{precision}.csv",
            "--json",
            tmp_path / f"{precision}.json",
            folder=tmp_path,
        )
    assert read_json(tmp_path / "single.json")["precision"] == "single"
    single, double = per_atom_csv(tmp_path / "single.csv"), per_atom_csv(tmp_path / "double.csv")
    assert 0 < np.abs(single - double).max() <= 1e-4
    reference = Reference.load(tmp_path / "r.npz")
    frames = ase.io.read(folder / "test.traj", ":")
    np.testing.assert_allclose(
        single,
        reference.delta_entropy(frames, precision="single"),
        rtol=0,  # another process
        atol=max(float32_disagreement(reference, atoms) for atoms in frames),
    )


@pytest.mark.parity
def test_overlap_matrix_matches_the_reference_package(data, tmp_path):
    folder, sets = data
    specs = [folder / "ref.traj", folder / "test.traj", f"{folder / 'test.traj'}@:2", folder / "bcc.traj"]
    run("overlap", *specs, "--csv", tmp_path / "o.csv", "--json", tmp_path / "o.json", folder=tmp_path)
    matrix = np.array(read_json(tmp_path / "o.json")["overlap"])
    frames = [sets["ref"], sets["test"], sets["test"][:2], sets["bcc"]]
    x = [get_descriptors(f) for f in frames]
    expected = np.array([[np.mean(reference_delta_entropy(a, b, h=0.015) <= 0) for b in x] for a in x])
    np.testing.assert_array_equal(matrix, expected)
    assert matrix[2, 1] == 1.0 and np.all(np.diag(matrix) == 1.0)  # a subset lies inside its superset
    with open(tmp_path / "o.csv") as stream:
        assert len(list(csv.reader(stream))) == 5


@pytest.mark.lammps
@pytest.mark.mpi
def test_trajectory_reproduces_a_fix_quests_dump(tmp_path):
    Reference.from_structures([cu(0.08, s) for s in (1, 2)]).save(tmp_path / "ref.npz")
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 11), tmp_path / "data.lmp")
    assert_ran(run_lammps(FIX_QUESTS_MD, tmp_path))
    run(
        "trajectory",
        tmp_path / "md.dump",
        "--reference",
        tmp_path / "ref.npz",
        "-o",
        tmp_path / "t.csv",
        "--json",
        tmp_path / "t.json",
        folder=tmp_path,
    )
    dumped = np.concatenate([frame["f_q"] for frame in dump_columns(tmp_path / "md.dump")])
    np.testing.assert_allclose(per_atom_csv(tmp_path / "t.csv"), dumped, rtol=1e-10, atol=1e-12)
    table = read_json(tmp_path / "t.json")
    frames = dump_columns(tmp_path / "md.dump")
    assert table["max_dH"] == pytest.approx([f["f_q"].max() for f in frames], rel=1e-10)
    assert table["mean_dH"] == pytest.approx([f["f_q"].mean() for f in frames], rel=1e-10)
    lines = (tmp_path / "md.dump").read_text().splitlines()
    steps = [int(lines[i + 1]) for i, line in enumerate(lines) if line == "ITEM: TIMESTEP"]
    assert table["step"] == steps and table["frame"] == list(range(len(steps))) and steps[1] > 1


def test_trajectory_against_its_first_frame(data, tmp_path):
    folder, sets = data
    run("trajectory", folder / "test.traj", "--json", tmp_path / "t.json", folder=tmp_path)
    table = read_json(tmp_path / "t.json")
    first = Reference.from_structures(sets["test"][0])
    for index, frames in enumerate(sets["test"]):
        dh = first.delta_entropy(frames)
        assert table["mean_dH"][index] == pytest.approx(dh.mean(), rel=1e-12)
        assert table["entropy"][index] == pytest.approx(entropy(Descriptor().compute(frames), 0.015), rel=1e-12)
    assert table["max_dH"][0] <= 0.0 and table["novel_fraction"][0] == 0.0  # a frame covers itself


@pytest.mark.mpi
@pytest.mark.parametrize("command", ["dh", "trajectory"])
def test_two_ranks_equal_serial(data, tmp_path, command):
    folder, _ = data
    target = ["--reference", folder / "ref.traj"]
    for ranks in (1, 2):
        run(
            command,
            folder / "test.traj",
            *target,
            "-o",
            tmp_path / f"{ranks}.csv",
            "--json",
            tmp_path / f"{ranks}.json",
            folder=tmp_path,
            ranks=ranks,
        )
    np.testing.assert_allclose(
        per_atom_csv(tmp_path / "2.csv"), per_atom_csv(tmp_path / "1.csv"), rtol=1e-12, atol=1e-13
    )
    serial, parallel = read_json(tmp_path / "1.json"), read_json(tmp_path / "2.json")
    assert serial.keys() == parallel.keys()

    def close(value):
        if isinstance(value, dict):
            return {key: close(inner) for key, inner in value.items()}
        return value if isinstance(value, (str, bool)) else pytest.approx(value, rel=1e-12, abs=1e-13)

    for key, value in serial.items():
        assert parallel[key] == close(value)


@pytest.mark.mpi
def test_reference_index_and_approx_on_one_and_two_ranks(data, tmp_path):
    """A memory-mapped reference file (5,488 environments) with its cluster index: `reference build
    --index yes` and `reference index` store the same index; dh on 2 ranks equals 1 rank (exact to
    1e-12, approx to its float32 rounding), and approx keeps its certificate."""
    folder, sets = data
    ase.io.write(tmp_path / "train.traj", [cu(0.05, seed, repeat=7) for seed in range(4)])
    run(
        "reference",
        "build",
        tmp_path / "train.traj",
        "-o",
        tmp_path / "plain.npz",
        "--json",
        tmp_path / "p.json",
        folder=tmp_path,
    )
    run(
        "reference",
        "build",
        tmp_path / "train.traj",
        "-o",
        tmp_path / "indexed.npz",
        "--index",
        "yes",
        "--json",
        tmp_path / "i.json",
        folder=tmp_path,
    )
    assert not read_json(tmp_path / "p.json")["cluster_index"] and read_json(tmp_path / "i.json")["cluster_index"]
    built = run(
        "dh", folder / "test.traj", "--reference", tmp_path / "plain.npz", "--method", "approx", folder=tmp_path
    )
    assert "building the cluster index of" in built.stderr
    run("reference", "index", tmp_path / "plain.npz", "--json", tmp_path / "x.json", folder=tmp_path)
    assert read_json(tmp_path / "x.json")["clusters"] == round(np.sqrt(5488))
    plain, indexed = Reference.load(tmp_path / "plain.npz"), Reference.load(tmp_path / "indexed.npz")
    assert memory_mapped(plain.descriptors) and memory_mapped(plain.cluster_index().members)
    np.testing.assert_array_equal(plain.cluster_index().members, indexed.cluster_index().members)
    values = {}
    for method in ("exact", "approx"):
        for ranks in (1, 2):
            name = f"{method}-{ranks}"
            result = run(
                "dh",
                folder / "test.traj",
                "--reference",
                tmp_path / "indexed.npz",
                "--method",
                method,
                "-o",
                tmp_path / f"{name}.csv",
                "--json",
                tmp_path / f"{name}.json",
                folder=tmp_path,
                ranks=ranks,
            )
            assert "building" not in result.stderr
            values[method, ranks] = per_atom_csv(tmp_path / f"{name}.csv")
    np.testing.assert_allclose(values["exact", 2], values["exact", 1], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(values["approx", 2], values["approx", 1], rtol=APPROX_RELATIVE, atol=APPROX_ROUNDING)
    summary = read_json(tmp_path / "approx-1.json")
    assert summary["method"] == "approx" and summary["certificate"] == 0.1 and "neighbors" not in summary
    exact, approx = values["exact", 1], values["approx", 1]
    np.testing.assert_allclose(
        approx, indexed.delta_entropy(sets["test"], method="approx"), rtol=APPROX_RELATIVE, atol=APPROX_ROUNDING
    )
    decided = exact > -1.0
    assert decided.sum() > 50 and (exact > 0).sum() > 20
    assert np.all(approx - exact >= -1e-4) and np.all(approx[decided] - exact[decided] <= 0.1 + 1e-4)


def test_clusters_per_frame(data, tmp_path):
    folder, sets = data
    run(
        "clusters",
        folder / "test.traj",
        "--reference",
        folder / "ref.traj",
        "--threshold",
        5.0,
        "--json",
        tmp_path / "c.json",
        folder=tmp_path,
    )
    table = read_json(tmp_path / "c.json")
    reference = Reference.from_structures(sets["ref"])
    for index, atoms in enumerate(sets["test"]):
        nodes = reference.delta_entropy(atoms) <= 5.0
        sizes = cluster_sizes(atoms, nodes, 3.0)
        assert table["solid_like"][index] == nodes.sum() > 0
        assert table["sizes"][index] == sizes.tolist() and table["largest"][index] == sizes[0]
        assert sum(table["sizes"][index]) == nodes.sum()


def test_learning_curve(data, tmp_path):
    folder, sets = data
    run(
        "learning-curve",
        folder / "test.traj",
        "--points",
        6,
        "--repeats",
        2,
        "--json",
        tmp_path / "l.json",
        folder=tmp_path,
    )
    curve = read_json(tmp_path / "l.json")
    x = Descriptor().compute(sets["test"])
    assert curve["sizes"][0] == 10 and curve["sizes"][-1] == len(x) and len(curve["sizes"]) == 6
    assert curve["entropy"][-1] == pytest.approx(entropy(x, 0.015), rel=1e-12)
    assert np.all(np.diff(curve["entropy"]) > 0)  # more distinct environments, more information
    gaps = np.array(curve["asymptote"]) - np.array(curve["entropy"])
    np.testing.assert_allclose(curve["information_gap"], gaps, rtol=1e-12)


@pytest.mark.parametrize("method", ["greedy", "random", "fps", "mean_fps", "kmeans", "msc", "msc_conditional"])
def test_compress(data, tmp_path, method):
    folder, sets = data
    frames = sets["test"] + [sets["test"][0].copy(), sets["test"][0].copy()]  # duplicates add nothing
    ase.io.write(tmp_path / "dup.traj", frames)
    existing = ["--reference", folder / "ref.traj"] if method == "msc_conditional" else []
    run(
        "compress",
        tmp_path / "dup.traj",
        "--size",
        4,
        "--method",
        method,
        "-o",
        tmp_path / "sub.extxyz",
        "--json",
        tmp_path / "c.json",
        *existing,
        folder=tmp_path,
    )
    report = read_json(tmp_path / "c.json")
    subset = ase.io.read(tmp_path / "sub.extxyz", ":")
    assert len(subset) == report["kept"] == 4 and len(set(report["indices"])) == 4
    x_full, x_sub = Descriptor().compute(frames), Descriptor().compute([frames[i] for i in report["indices"]])
    assert report["entropy"] == pytest.approx(entropy(x_full, 0.015), rel=1e-12)
    assert report["subset_entropy"] == pytest.approx(entropy(x_sub, 0.015), rel=1e-12)
    assert report["information_gap"] == pytest.approx(report["entropy"] - report["subset_entropy"], rel=1e-12)
    if method in ("greedy", "fps", "msc", "mean_fps"):  # four distinct structures, no duplicate
        assert sorted(i if i < 4 else 0 for i in report["indices"]) == [0, 1, 2, 3]
    if method in ("greedy", "fps", "msc", "msc_conditional"):
        blocks = [Descriptor().compute(atoms) for atoms in frames]
        existing = (Descriptor().compute(ase.io.read(folder / "ref.traj", ":")), None) if existing else None
        assert (
            report["indices"]
            == select_structures(blocks, 0.015, 4, method, np.random.default_rng(0), reference=existing).tolist()
        )


def test_select_environments_reproduce_their_dh_offline(data, tmp_path):
    """Picked environments, carved as clusters, give their centre's dH again offline; the first pick
    is the pool's most novel atom; the pool's novel fraction falls."""
    folder, sets = data
    pool = sets["test"] + sets["bcc"]
    ase.io.write(tmp_path / "pool.extxyz", pool)
    run(
        "select",
        tmp_path / "pool.extxyz",
        "--reference",
        folder / "ref.traj",
        "--budget",
        3,
        "--units",
        "environments",
        "--buffer",
        1.0,
        "-o",
        tmp_path / "env.extxyz",
        "--json",
        tmp_path / "s.json",
        "--plot",
        tmp_path / "s.png",
        folder=tmp_path,
    )
    result, clusters = read_json(tmp_path / "s.json"), ase.io.read(tmp_path / "env.extxyz", ":")
    pool = ase.io.read(tmp_path / "pool.extxyz", ":")  # as written: positions rounded by the file
    training = Reference.from_structures(sets["ref"])
    pool_dh = training.delta_entropy(Descriptor().compute(pool))
    offsets = np.cumsum([0] + [len(atoms) for atoms in pool])
    assert result["picked"] == len(clusters) == 3
    first = result["picks"][0]
    assert offsets[first["frame"]] + first["atom"] == int(np.argmax(pool_dh))
    for pick, cluster in zip(result["picks"], clusters):
        assert cluster.arrays["centre"].tolist() == [True] + [False] * (len(cluster) - 1)
        assert not cluster.pbc.any() and cluster.info["atom"] == pick["atom"] and cluster.info["radius"] == 6.0
        assert np.all(np.linalg.norm(cluster.positions - cluster.positions[0], axis=1) <= 6.0)
        centre_dh = training.delta_entropy(Descriptor().compute_atoms(cluster, [0]))[0]
        assert centre_dh == pytest.approx(pool_dh[offsets[pick["frame"]] + pick["atom"]], rel=1e-10)
    assert first["dH"] == pytest.approx(pool_dh.max(), rel=1e-10)
    assert result["novel_fraction"][0] == pytest.approx(np.mean(pool_dh > 0)) and np.all(
        np.diff(result["novel_fraction"]) <= 0
    )


def test_select_structures_picks_the_frame_of_the_most_novel_atom(data, tmp_path):
    folder, sets = data
    run(
        "select",
        folder / "test.traj",
        folder / "bcc.traj",
        "--reference",
        folder / "ref.traj",
        "--budget",
        2,
        "-o",
        tmp_path / "s.extxyz",
        "--json",
        tmp_path / "s.json",
        folder=tmp_path,
    )
    result, picked = read_json(tmp_path / "s.json"), ase.io.read(tmp_path / "s.extxyz", ":")
    pool = sets["test"] + sets["bcc"]
    training = Reference.from_structures(sets["ref"])
    most = [training.delta_entropy(atoms).max() for atoms in pool]
    assert result["picks"][0]["frame"] == int(np.argmax(most)) and len(picked) == 2
    np.testing.assert_allclose(
        picked[0].arrays["dH"], training.delta_entropy(pool[int(np.argmax(most))]), rtol=0, atol=5e-9
    )  # extxyz writes per-atom floats with 8 decimals
    assert len({pick["frame"] for pick in result["picks"]}) == 2


@pytest.mark.parametrize("command", ["overlap", "trajectory", "clusters", "learning-curve"])
def test_plots_are_real_pngs(data, tmp_path, command):
    folder, _ = data
    arguments = {
        "overlap": [folder / "ref.traj", folder / "bcc.traj"],
        "trajectory": [folder / "test.traj"],
        "clusters": [folder / "test.traj", "--reference", folder / "ref.traj", "--threshold", 5],
        "learning-curve": [folder / "test.traj", "--points", 5],
    }[command]
    run(command, *arguments, "--plot", tmp_path / "p.png", folder=tmp_path)
    image = matplotlib.image.imread(tmp_path / "p.png")
    height = 700 if command == "trajectory" else 500  # the trajectory's three panels
    assert image.shape[:2] == (height, 800) and image[..., :3].std() > 0.01  # drawn, not blank
    assert (tmp_path / "p.json").exists()  # machine-readable data next to the plot


def test_plots_as_pdf_and_svg_for_papers_and_talks(data, tmp_path):
    folder, _ = data
    for name, start in (("a.pdf", b"%PDF-"), ("b.svg", b"<?xml")):
        run("overlap", folder / "ref.traj", folder / "bcc.traj", "--plot", tmp_path / name, folder=tmp_path)
        assert (tmp_path / name).read_bytes().startswith(start)
    assert b"<svg" in (tmp_path / "b.svg").read_bytes()[:1000]
    bad = run("overlap", folder / "ref.traj", "--plot", tmp_path / "p.jpg", folder=tmp_path, check=False)
    assert bad.returncode == 2 and "a plot is written as PNG, PDF or SVG: name it *.png, *.pdf or *.svg" in bad.stderr


def write_dump(path, frames, steps, ids=None):
    """A LAMMPS `dump custom` text file of orthorhombic frames at the given MD steps (atom ids 1..n
    in order, or `ids` in the order of the atoms)."""
    with open(path, "w") as stream:
        for atoms, step in zip(frames, steps):
            stream.write(
                f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n"
                "ITEM: BOX BOUNDS pp pp pp\n"
                + "".join(f"0 {length}\n" for length in atoms.cell.lengths())
                + "ITEM: ATOMS id type x y z\n"
            )
            numbers = range(1, len(atoms) + 1) if ids is None else ids
            stream.writelines(
                f"{i} 1 " + " ".join(map(repr, map(float, position))) + "\n"
                for i, position in zip(numbers, atoms.positions)
            )


def test_per_atom_outputs_carry_the_lammps_atom_ids(data, tmp_path):
    """ASE returns a dump's atoms sorted by id and drops the ids; the CSV and extxyz give them back."""
    folder, sets = data
    frames = sets["test"][:2]
    ids = 1000 - 7 * np.arange(len(frames[0]))  # not 1..n, not in order
    write_dump(tmp_path / "md.dump", frames, [0, 100], ids)
    run("dh", tmp_path / "md.dump", "--reference", folder / "ref.traj", "-o", tmp_path / "dh.csv", folder=tmp_path)
    run("dh", tmp_path / "md.dump", "--reference", folder / "ref.traj", "-o", tmp_path / "dh.extxyz", folder=tmp_path)
    with open(tmp_path / "dh.csv") as stream:
        rows = list(csv.DictReader(stream))
    order = np.argsort(ids)
    reference = Reference.from_structures(sets["ref"])
    expected = np.concatenate([reference.delta_entropy(atoms)[order] for atoms in frames])
    assert [int(row["id"]) for row in rows] == np.concatenate([ids[order]] * 2).tolist()
    np.testing.assert_allclose([float(row["dH"]) for row in rows], expected, rtol=1e-10, atol=1e-12)
    copies = ase.io.read(tmp_path / "dh.extxyz", ":")
    assert [list(atoms.arrays["id"]) for atoms in copies] == [ids[order].tolist()] * 2


def test_plots_show_file_names_and_md_steps(data, tmp_path, monkeypatch):
    """Labels name files, not paths; per-frame x-axes are the dump's TIMESTEPs, else frame numbers."""
    from quests_lmp.cli import plots
    from quests_lmp.cli.main import main

    folder, sets = data
    figures = []
    monkeypatch.setattr(plots, "_save", lambda figure, path: figures.append(figure))
    write_dump(tmp_path / "md.dump", sets["test"], [0, 250, 500, 750])
    Reference.from_structures(sets["ref"]).save(tmp_path / "ref.npz")
    reference, dump = tmp_path / "ref.npz", tmp_path / "md.dump"

    def axes(*arguments):
        assert main([*map(str, arguments), "--plot", str(tmp_path / "p.png"), "--overwrite", "-q"]) == 0
        return figures[-1].axes

    _, middle, bottom = axes("trajectory", dump, "--format", "lammps-dump-text", "--reference", reference)
    assert figures[-1]._suptitle.get_text() == "md.dump against ref.npz" and middle.get_ylabel() == "dH (nats)"
    assert bottom.get_xlabel() == "MD step (TIMESTEP)" and list(bottom.lines[0].get_xdata()) == [0, 250, 500, 750]
    _, _, bottom = axes("trajectory", folder / "test.traj")
    assert bottom.get_xlabel() == "frame" and list(bottom.lines[0].get_xdata()) == [0, 1, 2, 3]
    left, _ = axes("clusters", dump, "--format", "lammps-dump-text", "--reference", reference)
    assert left.get_xlabel() == "MD step (TIMESTEP)" and figures[-1]._suptitle.get_text() == "md.dump against ref.npz"
    (heat_map, _) = axes("overlap", folder / "ref.traj", f"{folder / 'bcc.traj'}@:1")
    assert [label.get_text() for label in heat_map.get_yticklabels()] == ["ref.traj", "bcc.traj@:1"]
    (curve,) = axes("learning-curve", folder / "test.traj", "--points", 5)
    assert curve.get_title() == "test.traj"


def test_plot_labels_keep_folders_only_where_names_clash():
    from quests_lmp.cli.datasets import short_names

    assert short_names(["/data/a/train.xyz@::2", "/data/b/test.xyz"]) == ["train.xyz@::2", "test.xyz"]
    assert short_names(["/data/a/train.xyz", "/data/b/train.xyz"]) == ["a/train.xyz", "b/train.xyz"]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["dh", "missing.traj", "--reference", "ref.traj"], "structure file not found: missing.traj"),
        (["entropy", "ref.traj@10:"], "frame selection '10:' of ref.traj holds no frames: the file has 3 frames"),
        (
            ["entropy", "ref.traj@-10"],
            "frame selection '-10' of ref.traj holds no frames: the file has 3 frames (0 to 2, or -3 to -1)",
        ),
        (["entropy", "ref.traj@100"], "frame selection '100' of ref.traj holds no frames"),
        (["entropy", "ref.traj@abc"], "frame selection 'abc' is malformed: use an integer (0, -1) or start:stop:step"),
        (["dh", "holes.extxyz", "--reference", "r.npz"], "holes.extxyz: 1 of 3 frames have no atoms (frame 1"),
        (["trajectory", "holes.extxyz"], "holes.extxyz: 1 of 3 frames have no atoms (frame 1"),
        (["reference", "build", "ref.traj", "-o", "ref.traj", "--overwrite"], "ref.traj is an input of this command"),
        (["entropy", "keep.csv", "--json", "keep.csv", "--overwrite"], "keep.csv is an input of this command"),
        (["dh", "keep.csv", "--reference", "r.npz", "-o", "keep.csv", "--overwrite"], "keep.csv is an input"),
        (["compress", "test.traj", "--size", "1", "-o", "nowhere/s.extxyz"], "the folder nowhere does not exist"),
        (
            ["overlap", "ref.traj", "--csv", "o.csv", "--plot", "o.png", "--json", "o.csv"],
            "two outputs are the same file",
        ),
        (["entropy", "garbage.txt"], "cannot read structures from garbage.txt"),
        (["entropy", "r.npz"], "r.npz is a reference file"),
        (["dh", "test.traj", "--reference", "r.npz", "-k", "8"], "was built with k=32 but k=8"),
        (["dh", "test.traj", "--reference", "r.npz", "-o", "out.pdb"], "must end in .extxyz, .xyz or .csv"),
        (["dh", "test.traj", "--reference", "r.npz", "-o", "keep.csv"], "keep.csv exists; pass --overwrite"),
        (["compress", "test.traj", "--fraction", "2", "-o", "s.extxyz"], "--fraction must be in (0, 1]"),
        (["compress", "test.traj", "--size", "9", "-o", "s.extxyz"], "between 1 and the number of structures (4)"),
        (
            ["compress", "test.traj", "--size", "2", "--method", "msc_conditional", "-o", "s.extxyz"],
            "--reference (the existing set) goes with --method msc_conditional",
        ),
        (["compress", "test.traj", "--size", "2", "--reference", "ref.traj", "-o", "s.extxyz"], "and only with it"),
        (
            ["select", "test.traj", "--reference", "ref.traj", "--budget", "2", "--buffer", "-1", "-o", "s.extxyz"],
            "--buffer must be a finite number >= 0 (A), got -1.0",
        ),
        (["entropy", "ref.traj", "--bandwidth", "-1"], "must be a finite number >= 1e-100 (1/A) or 'auto'"),
        (
            ["entropy", "ref.traj", "--bandwidth", "1e-300"],
            "must be a finite number >= 1e-100 (1/A) or 'auto', got 1e-300",
        ),
        (["entropy", "ref.traj", "-k", "many"], "expected an integer, got 'many'"),
        (
            ["dh", "test.traj", "--reference", "r.npz", "--certificate", "0.1"],
            "certificate is a setting of method approx, not exact",
        ),
        (
            ["dh", "test.traj", "--reference", "r.npz", "--method", "approx", "--certificate", "-1"],
            "certificate must be a number of nats >= 0",
        ),
        (
            ["trajectory", "test.traj", "--method", "knn", "--precision", "single"],
            "precision single is for method exact",
        ),
        (["reference", "index", "ref.traj"], "ref.traj is not a quests-lmp reference file"),
    ],
)
def test_user_mistakes_give_one_line_and_keep_files(data, tmp_path, arguments, message):
    folder, _ = data
    for name in ("ref.traj", "test.traj"):
        (tmp_path / name).symlink_to(folder / name)
    Reference.from_structures(cu(0.05, 1)).save(tmp_path / "r.npz")
    (tmp_path / "garbage.txt").write_text("not a structure\n")
    (tmp_path / "keep.csv").write_text("precious\n")
    ase.io.write(tmp_path / "holes.extxyz", [cu(0.05, 1), ase.Atoms(cell=np.eye(3) * 5, pbc=True), cu(0.05, 2)])
    reference_bytes = (folder / "ref.traj").read_bytes()
    result = run(*arguments, folder=tmp_path, check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().splitlines()[-1].startswith("quests-lmp")
    assert (tmp_path / "keep.csv").read_text() == "precious\n" and not (tmp_path / "s.extxyz").exists()
    assert (folder / "ref.traj").read_bytes() == reference_bytes and not list(tmp_path.glob(".*"))


def test_outputs_get_the_permissions_of_the_umask(data, tmp_path):
    """Reference, JSON and CSV files are readable by whoever the user's umask lets read them."""
    folder, _ = data
    previous = os.umask(0o027)
    try:
        run(
            "reference",
            "build",
            folder / "ref.traj",
            "-o",
            tmp_path / "r.npz",
            "--json",
            tmp_path / "r.json",
            folder=tmp_path,
        )
        run("overlap", folder / "ref.traj", "--csv", tmp_path / "o.csv", folder=tmp_path)
    finally:
        os.umask(previous)
    for name in ("r.npz", "r.json", "o.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o640, name


def test_bare_command_prints_the_help_and_version_the_version(tmp_path):
    bare = run(folder=tmp_path)
    assert bare.stdout.startswith("usage: quests-lmp [-h] [--version] command ...") and "calibrate" in bare.stdout
    assert run("--version", folder=tmp_path).stdout.strip() == f"quests-lmp {metadata.version('quests-lmp')}"
