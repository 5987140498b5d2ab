"""The vocabulary of doc/glossary.md: one spelling per word in the code, the old spellings still
working through aliases that warn once."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from quests_lmp import Descriptor, Reference
from quests_lmp.engine import deprecation
from quests_lmp.engine.bias import Bias, bias_forces
from quests_lmp.engine.gradients import describe_with_neighbors, describe_with_neighbours, descriptor_vjp

ROOT = Path(__file__).resolve().parents[1]
OLD = {r"\bcenters\b": "centre_indices", r"neighbour": "neighbor", r"search index": "cluster index"}


@pytest.fixture
def points():
    return thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2), 0.05, 3).positions


@pytest.fixture(autouse=True)
def fresh_warnings():
    deprecation._WARNED.clear()
    yield
    deprecation._WARNED.clear()


def test_the_code_spells_each_word_one_way():
    """Outside the aliases that keep old spellings working, the package and its plugin use none."""
    files = [*(ROOT / "python" / "quests_lmp").rglob("*.py"), *(ROOT / "lammps_plugin").glob("*.[ch]*")]
    found = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "renamed_" in line or "formerly" in line or "is now" in line or "describe_with_neighbours =" in line:
                continue
            found += [f"{path.name}:{number}: {old}" for old in OLD if re.search(old, line)]
    assert found == []


def test_old_keywords_give_the_same_numbers_and_warn_once(points):
    descriptor = Descriptor(k=8, cutoff=4.0)
    expected = descriptor.compute_points(points, centre_indices=[0, 3])
    with pytest.warns(DeprecationWarning, match=r"compute_points\(centers=...\) is now centre_indices="):
        np.testing.assert_array_equal(descriptor.compute_points(points, centers=[0, 3]), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second call is silent
        descriptor.compute_points(points, centers=[0, 3])
    weights = np.ones((2, descriptor.n_features))
    x, neighbors = describe_with_neighbors(descriptor, points, [0, 3])
    with pytest.warns(DeprecationWarning, match="describe_with_neighbours is now describe_with_neighbors"):
        old_x, old_neighbors = describe_with_neighbours(descriptor, points, centers=[0, 3])
    np.testing.assert_array_equal(old_neighbors, neighbors)
    with pytest.warns(DeprecationWarning, match=r"neighbours=\.\.\.\) is now neighbors="):
        old = descriptor_vjp(descriptor, points, [0, 3], weights, neighbours=neighbors)
    np.testing.assert_array_equal(old, descriptor_vjp(descriptor, points, [0, 3], weights, neighbors=neighbors))
    with pytest.raises(TypeError, match="got centers and its new name centre_indices"):
        descriptor.compute_points(points, centers=[0], centre_indices=[0])


def test_bias_forces_take_the_old_keyword(points):
    reference = Reference.from_structures(
        [thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2), 0.05, 1)], k=8, cutoff=4.0
    )
    bias = Bias("wall", 1.0, -2.0)
    new = bias_forces(bias, reference, reference.bandwidth, points, centre_indices=[0, 1])
    with pytest.warns(DeprecationWarning, match=r"bias_forces\(centers=\.\.\.\)"):
        old = bias_forces(bias, reference, reference.bandwidth, points, centers=[0, 1])
    np.testing.assert_array_equal(old.forces, new.forces)


def test_entropy_method_approx_is_sampled(tmp_path):
    frames = [thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2), 0.05, seed) for seed in (1, 2)]
    import ase.io

    ase.io.write(tmp_path / "set.extxyz", frames)
    runs = {}
    for method in ("approx", "sampled"):
        result = subprocess.run(
            [sys.executable, "-m", "quests_lmp.cli", "entropy", "set.extxyz", "--method", method, "--rows", "20"]
            + ["--json", f"{method}.json", "-q"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        runs[method] = ((tmp_path / f"{method}.json").read_text(), result.stderr)
    assert runs["approx"][0] == runs["sampled"][0] and '"method": "sampled"' in runs["sampled"][0]
    assert "--method approx is now --method sampled" in runs["approx"][1]
    assert "is now" not in runs["sampled"][1]
