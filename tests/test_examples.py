"""The runnable examples, run as a user would (their run.sh), with what their READMEs promise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import ase.io
import numpy as np
import pytest

from lammps_runner import BIN, DEBIAN_PYTHONPATH, debian_lammps_missing, dump_columns, thermo_rows
from quests_lmp import Reference

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("ranks", [1, 2])
def test_cu_melting_alarm_fires_once_melting_starts_and_not_before(tmp_path, ranks):
    env = dict(PATH=f"{BIN}:{os.environ['PATH']}")
    folder = run_example(tmp_path, "cu_melting", ranks, env)
    assert_alarm_after_melting(folder, "f_quests")


@pytest.mark.skipif(debian_lammps_missing() is not None, reason=str(debian_lammps_missing()))
def test_python_invoke_melting_alarm_in_debian_lammps(tmp_path):
    folder = run_example(tmp_path, "python_invoke", 1, dict(QUESTS_LMP_DEBIAN_ENV=DEBIAN_PYTHONPATH))
    assert_alarm_after_melting(folder, "d_quests_dH")


def run_example(tmp_path, name, ranks, env):
    """Copies the examples (python_invoke uses cu_melting's files) and runs `name`/run.sh."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    folder = tmp_path / "examples" / name
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", **env)
    result = subprocess.run(["./run.sh", str(ranks)], cwd=folder, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Fix halt condition for fix-id stop met" in result.stdout
    return folder


def assert_alarm_after_melting(folder, column):
    """What the melting examples promise: no novel atom while solid, the halt once melting started."""
    # step temp pe vol max_dH mean_dH novel_fraction novel_count, every 250 steps until the halt
    rows = thermo_rows(folder / "melt.log", 8)
    atoms = 864
    temperature, pe = rows[:, 1], rows[:, 2] / atoms
    assert rows[-1, 0] < 15000, "the run must stop before its end"
    solid = temperature < 1400.0  # the potential melts at 1323 K; a perfect crystal superheats
    assert solid.sum() > 10 and np.all(rows[solid, 6] == 0.0), "alarm or novel atoms while solid"
    # Melting has started where the potential energy leaves the solid's linear PE(T) by more than
    # 0.05 eV/atom (the potential's enthalpy of fusion is 0.124 eV/atom).
    slope, intercept = np.polyfit(temperature[solid], pe[solid], 1)
    excess = pe - (slope * temperature + intercept)
    assert excess[-1] > 0.05, f"halted before melting: {excess[-1]:.3f} eV/atom above the solid"
    assert np.all(rows[:-1, 6] <= 0.02), "the alarm must fire at the first evaluation above 2% novel"
    novel = dump_columns(folder / "novel.dump")[-1][column]
    assert len(novel) > 0 and np.all(novel > 0.0)  # dump_modify thresh keeps only novel atoms


def test_ase_md_alarm_fires_once_melting_starts_and_not_before(tmp_path):
    """examples/ase_md: no novel atom while the crystal is solid, the alarm once it melts, and the
    monitor's dH equal to the offline engine on the frames it wrote."""
    shutil.copytree(EXAMPLES / "ase_md", tmp_path / "ase_md")
    folder = tmp_path / "ase_md"
    result = subprocess.run([sys.executable, "run.py", "--quick"], cwd=folder, capture_output=True, text=True,
                            timeout=600, env=dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1"))
    assert result.returncode == 0 and "QUESTS alarm at step" in result.stdout, result.stdout + result.stderr[-3000:]
    heating = np.genfromtxt(folder / "heating.csv", delimiter=",", names=True)
    log = np.genfromtxt(folder / "quests-alarm.csv", delimiter=",", names=True)
    assert np.array_equal(heating["step"], log["step"])
    temperature, pe = heating["temperature_K"], heating["pe_eV_per_atom"]
    solid = temperature < 1200.0
    assert solid.sum() > 10 and np.all(log["novel_fraction"][solid] == 0.0), "novel atoms while solid"
    slope, intercept = np.polyfit(temperature[solid], pe[solid], 1)
    excess = pe - (slope * temperature + intercept)
    assert log["novel_fraction"][-1] > 0.02 and excess[-1] > 0.05, f"alarm before melting: {excess[-1]:.3f} eV/atom"
    reference = Reference.load(folder / "cu-fcc-300K.npz")
    for frame in ase.io.read(folder / "novel.extxyz", ":"):
        np.testing.assert_allclose(frame.arrays["dH"], reference.delta_entropy(frame), rtol=0, atol=1e-6)
