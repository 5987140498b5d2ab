"""Every analysis of the command line under `mpiexec -n 1/2/3` equals the serial run; ranks read only
their frames; a failing rank ends the run with one message; the frame index and the sampled-row
entropy."""

from __future__ import annotations

import json
import time

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from conftest import cu_cluster, on_reference_grid, thermal
from quests_lmp import Descriptor, bandwidth_for_volume, entropy_and_diversity, self_delta_entropy
from quests_lmp.engine.frames import FrameFile
from quests_lmp.engine.information import sampled_entropy_and_diversity
from test_cli import run, write_dump

pytestmark = pytest.mark.mpi


def crystals():
    """5 periodic frames of two sizes (108 and 256 atoms, hotter and hotter): ranks split frames
    unevenly. On the reference package's coordinate grid, for parity with it."""
    return [
        on_reference_grid(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3 + i % 2), 0.04 + 0.03 * i, i))
        for i in range(5)
    ]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mpi")
    frames = crystals()
    write_dump(folder / "md.dump", frames, [0, 100, 200, 300, 400])
    ase.io.write(folder / "clusters.extxyz", [cu_cluster(20 + 7 * i, seed=i) for i in range(4)])  # open, no cell
    return folder, frames


def outputs(folder, tag):
    return json.loads((folder / f"{tag}.json").read_text())


FITTED = ("fit", "asymptote", "information_gap")  # least-squares results: the optimiser turns 1e-15 into 1e-10


def close(serial, parallel, rel=1e-12):
    """Equal JSON results: numbers to 1e-12 relative (the BLAS blocking of a rank's rows), the
    learning curve's fitted values to 1e-8."""
    if isinstance(serial, dict):
        assert serial.keys() == parallel.keys()
        for key in serial:
            close(serial[key], parallel[key], 1e-8 if key in FITTED else rel)
    elif isinstance(serial, list):
        assert len(serial) == len(parallel)
        for a, b in zip(serial, parallel):
            close(a, b, rel)
    elif isinstance(serial, float):
        assert parallel == pytest.approx(serial, rel=rel, abs=1e-13)
    else:
        assert serial == parallel


COMMANDS = {
    "entropy": ["entropy", "md.dump", "clusters.extxyz@1:"],
    "entropy approx": ["entropy", "md.dump", "--method", "approx", "--rows", "200"],
    "entropy approx by centre": ["entropy", "md.dump", "--method", "approx", "--rows", "200", "--species", "by-centre"],
    "entropy by centre": ["entropy", "md.dump", "--species", "by-centre", "--sample", "100", "--repeats", "2"],
    "overlap": ["overlap", "md.dump@:3", "md.dump@3:", "clusters.extxyz"],
    "learning-curve": ["learning-curve", "md.dump@1:", "--points", "5"],
    "dh": ["dh", "md.dump", "--reference", "clusters.extxyz", "-o", "{tag}.csv"],
    "trajectory": ["trajectory", "md.dump@-2:", "--reference", "md.dump@0"],  # 2 frames: 3 ranks leave one idle
    "metrics": ["metrics", "md.dump@1:", "-o", "{tag}.csv"],
    "mutual-info": ["mutual-info", "md.dump@:2", "clusters.extxyz"],
    "reference build": ["reference", "build", "md.dump@1:", "clusters.extxyz", "-o", "{tag}.npz"],
    "compress": ["compress", "md.dump", "--size", "3", "-o", "{tag}.extxyz"],
    "compress msc_conditional": [
        "compress",
        "md.dump@1:",
        "--size",
        "2",
        "--method",
        "msc_conditional",
        "--reference",
        "md.dump@0",
        "-o",
        "{tag}.extxyz",
    ],
    "compress fps": ["compress", "md.dump", "--size", "3", "--method", "fps", "-o", "{tag}.extxyz"],
    "select": [
        "select",
        "md.dump@1:",
        "clusters.extxyz",
        "--reference",
        "md.dump@0",
        "--budget",
        "3",
        "--units",
        "environments",
        "-o",
        "{tag}.extxyz",
    ],
    "clusters": ["clusters", "md.dump@1:", "--reference", "md.dump@0", "--threshold", "2"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_one_two_and_three_ranks_equal_serial(files, name):
    folder, _ = files
    for ranks in (1, 2, 3):
        arguments = [a.format(tag=ranks) for a in COMMANDS[name]]
        run(*arguments, "--json", f"{ranks}.json", "--overwrite", folder=folder, ranks=ranks)
        if ranks > 1:
            serial, parallel = outputs(folder, 1), outputs(folder, ranks)
            if name == "reference build":  # each run names its own output file
                assert (serial.pop("reference"), parallel.pop("reference")) == ("1.npz", f"{ranks}.npz")
            close(serial, parallel)
    if name == "dh":
        assert (folder / "3.csv").read_text().count("\n") == sum(len(a) for a in files[1]) + 1
    if name == "reference build":
        with np.load(folder / "1.npz") as serial, np.load(folder / "3.npz") as parallel:
            assert serial.files == parallel.files
            for key in serial.files:
                np.testing.assert_array_equal(serial[key], parallel[key])
    if name.startswith("compress") or name == "select":
        assert (folder / "3.extxyz").read_text() == (folder / "1.extxyz").read_text()


def test_between_node_copies_equal_one_node(files, monkeypatch):
    """QUESTS_LMP_NODE_SIZE=1: every rank its own 'node', the descriptors sent between them."""
    folder, _ = files
    run("entropy", "md.dump", "--json", "serial.json", "--overwrite", folder=folder)
    monkeypatch.setenv("QUESTS_LMP_NODE_SIZE", "1")
    run("entropy", "md.dump", "--json", "nodes.json", "--overwrite", folder=folder, ranks=3)
    close(outputs(folder, "serial"), outputs(folder, "nodes"))


def test_numbers_are_those_of_the_engine(files):
    folder, frames = files
    run("entropy", "md.dump", "--json", "e.json", "--overwrite", folder=folder, ranks=2)
    (row,) = outputs(folder, "e")["datasets"]
    h_value, d_value = entropy_and_diversity(Descriptor().compute(frames), 0.015)
    assert row["entropy"] == pytest.approx(h_value, rel=1e-12) and row["diversity"] == pytest.approx(d_value, rel=1e-12)


def test_mutual_information_and_metrics_match_the_reference_package(files):
    """I, H(A|B), d from the reference package's entropy of each set and of their union; metrics'
    per-atom self dH from its delta_entropy of a set against itself."""
    from quests.descriptor import get_descriptors
    from quests.entropy import delta_entropy as reference_delta_entropy
    from quests.entropy import entropy as reference_entropy

    folder, frames = files
    a, b = frames[:2], ase.io.read(folder / "clusters.extxyz", ":")
    run("mutual-info", "md.dump@:2", "clusters.extxyz", "--json", "mi.json", "--overwrite", folder=folder, ranks=2)
    result = outputs(folder, "mi")
    x_a, x_b = Descriptor().compute(a), Descriptor().compute(b)
    h_a, h_b, h_ab = (reference_entropy(x, 0.015) for x in (x_a, x_b, np.concatenate([x_a, x_b])))
    shared = h_a + h_b - h_ab
    assert result["entropy"] == pytest.approx([h_a, h_b], rel=1e-10)
    assert result["union_entropy"] == pytest.approx(h_ab, rel=1e-10)
    assert result["mutual_information"] == pytest.approx(shared, rel=1e-8, abs=1e-10)
    assert result["conditional_entropy"] == pytest.approx([h_a - shared, h_b - shared], rel=1e-10)
    assert result["normalised_distance"] == pytest.approx((h_ab - shared) / h_ab, rel=1e-10)
    run("mutual-info", "md.dump@:2", "md.dump@:2", "--json", "same.json", "--overwrite", folder=folder)
    same = outputs(folder, "same")  # a set and its copy: the union doubles every point, H unchanged
    assert same["mutual_information"] == pytest.approx(same["entropy"][0], rel=1e-12)
    assert abs(same["normalised_distance"]) < 1e-12
    run("metrics", "md.dump@3", "-o", "m.csv", "--json", "m.json", "--overwrite", folder=folder, ranks=3)
    theirs = reference_delta_entropy(get_descriptors([frames[3]]), get_descriptors([frames[3]]), h=0.015)
    values = np.loadtxt(folder / "m.csv", delimiter=",", skiprows=1, usecols=-1)
    # near dH = 0 (-log(1 + s), s ~ 1e-3 from the neighbors' terms) both codes' distance rounding
    # moves s by ~1e-9 of itself: 1e-12 absolute
    np.testing.assert_allclose(values, theirs, rtol=1e-10, atol=1e-11)
    metrics = outputs(folder, "m")
    assert metrics["entropy"] == pytest.approx(reference_entropy(get_descriptors([frames[3]]), 0.015), rel=1e-10)
    assert metrics["entropy"] == pytest.approx(np.log(len(values)) + values.mean(), rel=1e-12)


def test_bandwidth_of_a_volume(files):
    folder, _ = files
    run("bandwidth", "12.9", "20", "--json", "b.json", "--overwrite", folder=folder)
    rows = outputs(folder, "b")["bandwidths"]
    assert [row["bandwidth"] for row in rows] == pytest.approx([bandwidth_for_volume(12.9), bandwidth_for_volume(20)])
    assert rows[0]["bandwidth"] == pytest.approx(0.057, abs=1e-3)  # the paper's h for Cu (SI Fig. S8)
    assert run("bandwidth", "-1", folder=folder, check=False).returncode == 2


def test_sampled_rows_estimate_the_exact_entropy(files):
    """approx with all rows is exact; with 300 of 836 rows it is within 4 standard errors."""
    folder, frames = files
    x = Descriptor().compute(frames)
    exact_h, exact_d = entropy_and_diversity(x, 0.015)
    run(
        "entropy",
        "md.dump",
        "--method",
        "approx",
        "--rows",
        "100000",
        "--json",
        "all.json",
        "--overwrite",
        folder=folder,
        ranks=2,
    )
    (row,) = outputs(folder, "all")["datasets"]
    assert row["sampled"] == len(x) and row["entropy_error"] == 0.0
    assert row["entropy"] == pytest.approx(exact_h, rel=1e-12) and row["diversity"] == pytest.approx(exact_d, rel=1e-12)
    run(
        "entropy", "md.dump", "--method", "approx", "--rows", "300", "--json", "part.json", "--overwrite", folder=folder
    )
    (row,) = outputs(folder, "part")["datasets"]
    assert row["sampled"] == 300 and 0 < row["entropy_error"] < 0.2
    assert abs(row["entropy"] - exact_h) < 4 * row["entropy_error"]
    assert abs(row["diversity"] - exact_d) < 4 * row["diversity_error"] + 1e-3


def test_sampled_estimate_known_answers():
    dh = np.array([-1.0, -2.0, -3.0, -2.0])
    full = sampled_entropy_and_diversity(dh, 4)  # every environment: the exact H and D, no error
    assert full["entropy"] == pytest.approx(np.log(4) - 2.0) and full["entropy_error"] == 0.0
    assert full["diversity"] == pytest.approx(np.log(np.exp(dh).sum())) and full["diversity_error"] == 0.0
    half = sampled_entropy_and_diversity(dh, 8)  # half of a set of 8: finite-population correction sqrt(1/2)
    assert half["entropy"] == pytest.approx(np.log(8) - 2.0)
    assert half["entropy_error"] == pytest.approx(np.std(dh, ddof=1) / 2 * np.sqrt(0.5))
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.02, (400, 5))
    picks = rng.choice(400, 100, replace=False)
    estimate = sampled_entropy_and_diversity(self_delta_entropy(x, 0.015)[picks], 400)
    assert abs(estimate["entropy"] - entropy_and_diversity(x, 0.015)[0]) < 4 * estimate["entropy_error"]
    for bad in ([-1.0],):
        with pytest.raises(ValueError, match="at least 2"):
            sampled_entropy_and_diversity(bad, 5)
    with pytest.raises(ValueError, match="at most n"):
        sampled_entropy_and_diversity(dh, 3)


def corrupt(path, frame, out):
    """A copy of a dump with one atom line of `frame` made unreadable (the headers intact)."""
    text = path.read_text()
    starts = [i for i in range(len(text)) if text.startswith("ITEM: ATOMS", i)]
    line = text.index("\n", text.index("\n", starts[frame]) + 1)
    out.write_text(text[: line + 1] + "7 1 x y z" + text[text.index("\n", line + 1) :])


def test_ranks_read_only_their_frames(files):
    """Frames outside the selection are corrupt: never parsed, on any rank."""
    folder, _ = files
    corrupt(folder / "md.dump", 4, folder / "tail.dump")
    for command in (
        ["entropy", "tail.dump@:4"],
        ["dh", "tail.dump@1:4", "--reference", "md.dump@0"],
        ["trajectory", "tail.dump@:4"],
        ["clusters", "tail.dump@:4", "--reference", "md.dump@0"],
    ):
        run(*command, "--json", "c.json", "--overwrite", folder=folder, ranks=3)
        run(*command, "--json", "s.json", "--overwrite", folder=folder)
        close(outputs(folder, "s"), outputs(folder, "c"))


@pytest.mark.parametrize(
    "command",
    [
        ["dh", "bad.dump", "--reference", "md.dump@0"],
        ["entropy", "bad.dump"],
        ["overlap", "md.dump", "bad.dump"],
        ["trajectory", "bad.dump"],
        ["clusters", "bad.dump", "--reference", "md.dump@0"],
    ],
)
def test_a_failing_rank_ends_the_run_with_one_message(files, command):
    """The last frame (read by the last rank only) is corrupt: one line naming it, exit 1, no hang."""
    folder, _ = files
    corrupt(folder / "md.dump", 4, folder / "bad.dump")
    started = time.perf_counter()
    result = run(*command, folder=folder, ranks=3, check=False)
    assert result.returncode == 1 and time.perf_counter() - started < 60
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "cannot read frame 4 of" in lines[0] and "bad.dump" in lines[0], result.stderr


def cut_short(path, keep, out):
    """A copy of a dump whose last frame ends after `keep` of its atom lines (a run killed while
    writing it: the header still gives every atom)."""
    text = path.read_text()
    start = text.index("\n", text.rindex("ITEM: ATOMS")) + 1
    out.write_text(text[:start] + "".join(text[start:].splitlines(keepends=True)[:keep]))


@pytest.mark.parametrize(
    "command",
    [
        ["dh", "cut.dump", "--reference", "md.dump@0"],
        ["entropy", "cut.dump"],
        ["reference", "build", "cut.dump", "-o", "r.npz"],
        ["trajectory", "cut.dump"],
        ["select", "cut.dump", "--reference", "md.dump@0", "--budget", "2", "-o", "picked.extxyz"],
    ],
)
def test_a_frame_cut_short_is_refused_with_the_selection_that_avoids_it(files, command):
    """The last frame holds 91 of its 108 atoms: every command refuses it on 1 and 3 ranks, naming
    the file, frame, atoms found and expected and the selection that leaves it out, which then works."""
    folder, _ = files
    cut_short(folder / "md.dump", 91, folder / "cut.dump")
    for ranks in (1, 3):
        result = run(*command, "--overwrite", folder=folder, ranks=ranks, check=False)
        message = (
            "frame 4 (the last) of cut.dump holds 91 atom lines but its header says 108 atoms: the frame was "
            "cut short (a run killed while writing it?) or the file is corrupt; leave it out, e.g. with "
            "cut.dump@:-1"
        )
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    run(
        *[word.replace("cut.dump", "cut.dump@:-1") for word in command],
        "--json",
        "w.json",
        "--overwrite",
        folder=folder,
    )


def test_a_frame_cut_short_inside_a_dump_is_found(files, tmp_path):
    """A frame in the middle with fewer atom lines than its header (frames after it intact)."""
    folder, _ = files
    text = (folder / "md.dump").read_text()
    start = text.index("\n", [i for i in range(len(text)) if text.startswith("ITEM: ATOMS", i)][2]) + 1
    (tmp_path / "mid.dump").write_text(text[:start] + text[text.index("\n", start) + 1 :])  # one atom line less
    source = FrameFile(tmp_path / "mid.dump")
    assert source.broken == {2: (107, 108)} and source.select(":2").tolist() == [0, 1]
    (tmp_path / "blank.dump").write_text(text + "\n\n")  # blank lines at the end are no atoms
    assert FrameFile(tmp_path / "blank.dump").broken == {}
    with pytest.raises(
        ValueError,
        match=r"frame 2 of .*mid.dump holds 107 atom lines but its header says 108 .* "
        r"e.g. with .*mid.dump@:2 or .*mid.dump@3:",
    ):
        source.select("1:")


def test_an_error_on_rank_zero_alone_ends_every_rank(files):
    """The fit of learning-curve runs on rank 0 only: its error reaches every rank at the end."""
    folder, _ = files
    result = run("learning-curve", "md.dump@0", "--points", "3", folder=folder, ranks=2, check=False)
    assert result.returncode == 1
    assert result.stderr.count("error") == 1 and "at least 4 dataset sizes" in result.stderr, result.stderr


@pytest.mark.parametrize("name", ["md.dump", "clusters.extxyz", "clusters.xyz"])
def test_frame_index_reads_what_ase_reads(files, name):
    folder, _ = files
    if name == "clusters.xyz":
        ase.io.write(folder / name, ase.io.read(folder / "clusters.extxyz", ":"), format="xyz")
    source = FrameFile(folder / name)
    whole = ase.io.read(folder / name, ":")
    assert source.indexed and len(source) == len(whole) and source.atom_counts.tolist() == [len(a) for a in whole]
    for atoms, expected in zip(source.read(range(len(source))[::-1]), whole[::-1]):
        assert np.array_equal(atoms.positions, expected.positions) and np.array_equal(atoms.cell, expected.cell)
        assert atoms.info == expected.info and np.array_equal(atoms.pbc, expected.pbc)
    assert source.select("-2:").tolist() == [len(whole) - 2, len(whole) - 1]
    with pytest.raises(ValueError, match="holds no frames"):
        source.select("10:")


def test_frame_index_names_broken_headers(tmp_path):
    (tmp_path / "a.xyz").write_text("2\n\nCu 0 0 0\nCu 1 1 1\nthree\n\nCu 0 0 0\n")
    with pytest.raises(ValueError, match="first line must be its atom count"):
        FrameFile(tmp_path / "a.xyz", "xyz")
    (tmp_path / "b.xyz").write_text("3\n\nCu 0 0 0\nCu 1 1 1\n")
    with pytest.raises(ValueError, match=r"frame 0 \(the last\) of .*b.xyz holds 2 atom lines but its header says 3"):
        FrameFile(tmp_path / "b.xyz", "xyz").select(":")
    (tmp_path / "c.xyz").write_text("1\n\nCu 0 0 0\n1\n\nCu 1 1 1")  # the last line without its newline
    assert FrameFile(tmp_path / "c.xyz", "xyz").atom_counts.tolist() == [1, 1]
