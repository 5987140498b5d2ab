"""The QUESTS monitor for ASE dynamics (quests_lmp.ase): dH on the atoms equals the offline engine,
the CSV log holds what was computed, the stop and the novel frames work, and bad options are refused."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.md.verlet import VelocityVerlet
from conftest import thermal
from quests_lmp import Reference
from quests_lmp.ase import LOG_COLUMNS, NoveltyAlarm, QuestsMonitor

BIN = Path(sys.executable).parent


def crystal(noise, seed, lattice="fcc", a=3.615):
    atoms = thermal(bulk("Cu", lattice, a=a, cubic=True).repeat(3), noise, seed)
    atoms.calc = EMT()
    return atoms


@pytest.fixture(scope="module")
def reference():
    return Reference.from_structures([crystal(0.08, seed) for seed in (1, 2)])


def test_dh_on_the_atoms_and_the_log_equal_the_offline_engine(reference, tmp_path):
    atoms = crystal(0.05, 3)
    atoms.set_momenta(np.random.default_rng(4).normal(0.0, 0.3, (len(atoms), 3)))
    dyn = VelocityVerlet(atoms, 2 * units.fs)
    monitor = QuestsMonitor(dyn, atoms, reference, log=tmp_path / "q.csv", threshold=-3.0)
    seen = []
    dyn.attach(monitor, interval=5)
    dyn.attach(lambda: seen.append((atoms.copy(), atoms.arrays["dH"].copy())), interval=5)
    dyn.run(20)
    assert len(seen) == 5  # steps 0, 5, ..., 20
    for frame, dh in seen:
        np.testing.assert_allclose(dh, reference.delta_entropy(frame), rtol=1e-10, atol=1e-12)
    with open(tmp_path / "q.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == list(LOG_COLUMNS) and [int(row["step"]) for row in rows] == [0, 5, 10, 15, 20]
    last_dh = seen[-1][1]
    assert float(rows[-1]["max_dH"]) == pytest.approx(last_dh.max(), rel=1e-12)
    assert float(rows[-1]["mean_dH"]) == pytest.approx(last_dh.mean(), rel=1e-12)
    assert int(rows[-1]["novel_count"]) == np.sum(last_dh > -3.0) > 0
    assert float(rows[-1]["time_fs"]) == pytest.approx(40.0)
    assert monitor.statistics["novel_count"] == int(rows[-1]["novel_count"]) and not monitor.alarm


def test_precision_single(reference):
    atoms = crystal(0.1, 6)
    QuestsMonitor(None, atoms, reference, precision="single")()
    np.testing.assert_allclose(
        atoms.arrays["dH"], reference.delta_entropy(atoms, precision="single"), rtol=1e-12, atol=1e-12
    )
    with pytest.raises(ValueError, match="precision single is for method exact"):
        QuestsMonitor(None, atoms, reference, method="approx", precision="single")


def test_method_approx_stops_a_threshold_below(reference):
    """With threshold t, approx may stop an atom once its dH is certainly below min(-1, t - 1)."""
    atoms = crystal(0.1, 6)
    QuestsMonitor(None, atoms, reference, method="approx", certificate=0.05, threshold=-3.0)()
    expected = reference.delta_entropy(atoms, method="approx", certificate=0.05, stop_below=-4.0)
    np.testing.assert_allclose(atoms.arrays["dH"], expected, rtol=0, atol=1e-5)
    exact = reference.delta_entropy(atoms)
    assert np.all(atoms.arrays["dH"] >= exact - 1e-4)
    assert np.all(atoms.arrays["dH"][exact > -4.0] <= exact[exact > -4.0] + 0.05 + 1e-4)
    assert np.sum(exact > -3.0) > 10


def test_the_stop_raises_novelty_alarm_and_writes_the_novel_frame(reference, tmp_path):
    atoms = crystal(0.05, 5, "bcc", 2.87)  # BCC against an FCC reference: every atom is novel
    dyn = VelocityVerlet(atoms, 2 * units.fs)
    monitor = QuestsMonitor(
        dyn, atoms, reference, bandwidth=0.02, stop_fraction=0.5, novel_frames=tmp_path / "novel.extxyz"
    )
    dyn.attach(monitor, interval=10)
    with pytest.raises(NoveltyAlarm, match="QUESTS alarm at step 0: 54 atoms") as alarm:
        dyn.run(50)
    assert alarm.value.step == 0 and alarm.value.fraction == 1.0 and monitor.alarm
    (frame,) = ase.io.read(tmp_path / "novel.extxyz", ":")
    np.testing.assert_allclose(frame.arrays["dH"], reference.delta_entropy(atoms, h=0.02), rtol=1e-7)


def test_log_is_appended_to_never_replaced(reference, tmp_path):
    log = tmp_path / "q.csv"
    for _ in range(2):
        atoms = crystal(0.05, 6)
        monitor = QuestsMonitor(None, atoms, reference, log=log)
        monitor()
        monitor()
    lines = log.read_text().splitlines()
    assert lines[0] == ",".join(LOG_COLUMNS) and len(lines) == 5 and lines[1].startswith("0,nan,")


MPI_RUN = """
{mpi}
import os
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.md.verlet import VelocityVerlet
from quests_lmp import Reference
from quests_lmp.ase import QuestsMonitor

reference = Reference.from_structures([bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3)])
atoms = bulk("Cu", "bcc", a=2.87, cubic=True).repeat(3)  # every atom novel against FCC
atoms.rattle(0.05, seed=int(os.environ["PMI_RANK"]))  # the ranks' frames differ: a write from rank 1 would show
atoms.calc = EMT()
dyn = VelocityVerlet(atoms, 1.0)
dyn.attach(QuestsMonitor(dyn, atoms, reference, log="q.csv", novel_frames="novel.extxyz"), interval=2)
dyn.run(4)
"""


@pytest.mark.parametrize(
    "mpi",
    [
        "from mpi4py import MPI  # before ASE: ase.parallel.world is MPI's, as in GPAW runs",
        "# no mpi4py: ASE's world is serial, each rank runs a copy of the dynamics",
    ],
)
@pytest.mark.mpi
def test_under_mpi_rank_0_alone_writes_whole_lines_and_frames(tmp_path, mpi):
    """Two ranks of an ASE run each evaluate; the log and the novel frames are rank 0's, once,
    whether the script starts MPI or not (then with a warning that says so)."""
    (tmp_path / "run.py").write_text(MPI_RUN.format(mpi=mpi))
    result = subprocess.run(
        [str(BIN / "mpiexec"), "-n", "2", sys.executable, "run.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = (tmp_path / "q.csv").read_text().splitlines()
    assert lines[0] == ",".join(LOG_COLUMNS) and [line.split(",")[0] for line in lines[1:]] == ["0", "2", "4"]
    frames = ase.io.read(tmp_path / "novel.extxyz", ":")
    first = bulk("Cu", "bcc", a=2.87, cubic=True).repeat(3)
    first.rattle(0.05, seed=0)
    assert len(frames) == 3 and np.allclose(frames[0].positions, first.positions, atol=1e-7)
    warned = "this job has 2 MPI ranks but ASE runs serially on each" in result.stderr
    assert warned == mpi.startswith("#")


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"method": "fast"}, ValueError, "method must be 'exact', 'approx' or 'knn'"),
        ({"method": "exact", "certificate": 0.1}, ValueError, "certificate is a setting of method approx, not exact"),
        ({"bandwidth": 1e-300}, ValueError, "bandwidth must be a finite number >= 1e-100"),
        ({"stop_fraction": 1.5}, ValueError, "stop_fraction must be in [0, 1)"),
        ({"log": "/nowhere/q.csv"}, FileNotFoundError, "the folder /nowhere does not exist"),
    ],
)
def test_bad_options_are_refused(reference, options, error, message):
    with pytest.raises(error, match=re.escape(message)):
        QuestsMonitor(None, crystal(0.05, 7), reference, **options)


def test_a_reference_file_is_accepted(reference, tmp_path):
    reference.save(tmp_path / "r.npz")
    atoms = crystal(0.05, 8)
    QuestsMonitor(None, atoms, tmp_path / "r.npz")()
    np.testing.assert_allclose(atoms.arrays["dH"], reference.delta_entropy(atoms), rtol=1e-12)


def test_species_modes_equal_the_offline_engine():
    """A Cu-Au crystal under EMT: by-centre and multicomponent dH on the atoms as the engine gives them;
    an element the reference lacks is an error or novel."""

    def cuau(noise, seed):
        atoms = crystal(noise, seed)
        atoms.symbols[::4] = "Au"
        atoms.calc = EMT()
        return atoms

    frames = [cuau(0.08, seed) for seed in (1, 2)]
    for multicomponent, species in ((False, "by-centre"), (True, "multicomponent/by-centre"), (True, None)):
        reference = Reference.from_structures(frames, multicomponent=multicomponent)
        atoms = cuau(0.1, 3)
        QuestsMonitor(None, atoms, reference, species=species)()
        by_centre = species is not None and species.endswith("by-centre")
        np.testing.assert_allclose(
            atoms.arrays["dH"], reference.delta_entropy(atoms, by_centre=by_centre), rtol=1e-12, atol=1e-12
        )
    stranger = cuau(0.1, 4)
    stranger.symbols[5] = "Ag"
    with pytest.raises(ValueError, match="element Ag is not in the reference"):
        QuestsMonitor(None, stranger, reference, species="multicomponent/by-centre")()
    QuestsMonitor(None, stranger, reference, unknown="novel")()
    assert np.isinf(stranger.arrays["dH"][5]) and np.isfinite(np.delete(stranger.arrays["dH"], 5)).all()
    with pytest.raises(ValueError, match="holds multicomponent descriptors"):
        QuestsMonitor(None, stranger, reference, species="blind")
