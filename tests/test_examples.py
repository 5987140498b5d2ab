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
from lammps_runner import BIN, DEBIAN_PYTHONPATH, assert_alarm_after_melting, debian_lammps_missing, run_example
from quests_lmp import Reference

pytestmark = [pytest.mark.lammps, pytest.mark.slow]

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


def test_ase_md_alarm_fires_once_melting_starts_and_not_before(tmp_path):
    """examples/ase_md: no novel atom while the crystal is solid, the alarm once it melts, and the
    monitor's dH equal to the offline engine on the frames it wrote."""
    shutil.copytree(EXAMPLES / "ase_md", tmp_path / "ase_md")
    folder = tmp_path / "ase_md"
    result = subprocess.run(
        [sys.executable, "run.py", "--quick"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1"),
    )
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
