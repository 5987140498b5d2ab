"""The calibrated threshold in force where a run sets none (issue 32, part 3): `fix quests`, the
python/invoke hook and the ASE monitor take a reference file's calibrated threshold when it holds
(the same bandwidth and species mode), say so, and count novel atoms against it; a threshold the
run gives, or another bandwidth, keeps the paper's rules."""

from __future__ import annotations

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from lammps_runner import (
    DEBIAN_ENV,
    assert_ran,
    cu_deck,
    dump_columns,
    hook_cu_deck,
    run_debian_lammps,
    run_lammps,
    thermo_rows,
    write_data,
)
from quests_lmp import Reference
from quests_lmp.ase import QuestsMonitor
from test_calibration import training_set
from test_cli import run

FIX = cu_deck("""velocity all create 900 4 loop geom
fix nve all nve
fix q all quests 5 ref.npz {keywords}
thermo_style custom step f_q[1] f_q[4] f_q[5]
thermo_modify format float %.15g
thermo 5
dump d all custom 5 md.dump id type x y z f_q
dump_modify d format float %.17g
run 10
""")


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """ref.npz calibrated on cool and hot Cu (h = 0.015 1/A) and data.lmp: a crystal between them."""
    folder = tmp_path_factory.mktemp("calibrated")
    ase.io.write(folder / "train.extxyz", training_set())
    run(
        "calibrate",
        folder / "train.extxyz",
        "-o",
        folder / "ref.npz",
        "--folds",
        4,
        "--false-alarm",
        0.2,
        folder=folder,
    )
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.12, 5), folder / "data.lmp")
    return folder, Reference.load(folder / "ref.npz").calibration


def novel_counts(folder, threshold):
    """(thermo f_q[4], the count of dumped dH above `threshold`) of each evaluation."""
    counts = thermo_rows(folder / "log.lammps", 4)[:, 2]
    dumped = [np.sum(table["f_q"] > threshold) for table in dump_columns(folder / "md.dump")]
    return counts.tolist(), dumped


@pytest.mark.lammps
def test_fix_quests_counts_against_the_calibrated_threshold(calibrated, tmp_path):
    folder, calibration = calibrated
    for name in ("ref.npz", "data.lmp"):
        (tmp_path / name).symlink_to(folder / name)
    output = assert_ran(run_lammps(FIX.format(keywords=""), tmp_path))
    assert f"Fix quests: alarm at threshold {calibration.threshold:.6g} nats, calibrated for 20% false alarms" in output
    counts, dumped = novel_counts(tmp_path, calibration.threshold)
    assert counts == dumped and 0 < max(counts) < 108
    output = assert_ran(run_lammps(FIX.format(keywords="threshold 0.0"), tmp_path))
    assert "Fix quests: alarm at threshold 0 nats, as given" in output
    counts, dumped = novel_counts(tmp_path, 0.0)
    assert counts == dumped
    output = assert_ran(run_lammps(FIX.format(keywords="bandwidth 0.02"), tmp_path))
    assert (
        "Fix quests: alarm at threshold 0 nats (the paper's dH > 0): the reference was calibrated at h = 0.015 "
        "1/A, this run uses h = 0.02 1/A"
    ) in output


def test_ase_monitor_takes_the_calibrated_threshold(calibrated):
    folder, calibration = calibrated
    reference = Reference.load(folder / "ref.npz")
    atoms = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.12, 5)
    monitor = QuestsMonitor(None, atoms, reference)
    monitor()
    assert monitor.threshold == calibration.threshold and "calibrated for 20% false alarms" in monitor.alarm_source
    assert monitor.statistics["novel_count"] == np.sum(atoms.arrays["dH"] > calibration.threshold)
    given = QuestsMonitor(None, atoms, reference, threshold=0.0)
    assert given.threshold == 0.0 and given.alarm_source == "threshold 0 nats, as given"


HOOK = hook_cu_deck(
    body="""thermo_style custom step v_quests_max v_quests_novel_count v_quests_evaluated
thermo_modify format float %.15g
thermo 5
dump d all custom 5 md.dump id type x y z d_quests_dH
dump_modify d format float %.17g
velocity all create 900 4 loop geom
fix nve all nve
run 10
"""
)


@pytest.mark.lammps
def test_hook_takes_the_calibrated_threshold(calibrated, tmp_path):
    if not (DEBIAN_ENV / "numba").is_dir():
        pytest.skip("Debian's LAMMPS is not set up (examples/python_invoke/install-debian.sh)")
    folder, calibration = calibrated
    for name in ("ref.npz", "data.lmp"):
        (tmp_path / name).symlink_to(folder / name)
    output = assert_ran(run_debian_lammps(HOOK, tmp_path))
    assert f"QUESTS: alarm at threshold {calibration.threshold:.6g} nats, calibrated for 20% false alarms" in output
    counts = thermo_rows(tmp_path / "log.lammps", 4)[1:, 2]  # the hook evaluates from step 5
    dumped = [np.sum(table["d_quests_dH"] > calibration.threshold) for table in dump_columns(tmp_path / "md.dump")][1:]
    assert counts.tolist() == dumped
