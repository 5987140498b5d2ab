"""Calibration of the alarm on the training set itself (quests_lmp.analysis.calibration, `quests-lmp
calibrate`): folds deal every group evenly, held-out dH equals a direct computation, the threshold
is the quantile it claims, the summary equals direct counts, the file keeps the calibration, and
the command gives the API's numbers on 1 and 2 ranks."""

from __future__ import annotations

import json

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from quests_lmp import Descriptor, Reference
from quests_lmp.analysis.calibration import calibrate, false_alarm_threshold, held_out_dh, structure_folds
from quests_lmp.engine.information import delta_entropy
from quests_lmp.engine.reference_file import ReferenceFileError, checksum
from test_cli import run
from test_reference import write_archive


def test_folds_deal_each_group_evenly_and_repeatably():
    groups = np.array(["a"] * 11 + ["b"] * 7 + ["c"] * 2)
    fold = structure_folds(groups, 5, seed=3)
    for label in "abc":
        counts = np.bincount(fold[groups == label], minlength=5)
        assert counts.max() - counts.min() <= 1
    counts = np.bincount(fold, minlength=5)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 20
    assert np.array_equal(fold, structure_folds(groups, 5, seed=3))
    assert not np.array_equal(fold, structure_folds(groups, 5, seed=4))
    with pytest.raises(ValueError, match="folds must be >= 2"):
        structure_folds(groups, 1)
    with pytest.raises(ValueError, match="20 structures cannot be split into 21 folds"):
        structure_folds(groups, 21)


def test_held_out_dh_is_against_the_other_parts_only():
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 0.02, (60, 7))
    parts = rng.integers(0, 3, 60)
    h = 0.015
    whole = held_out_dh(x, parts, h)
    for i in (0, 17, 59):
        assert whole[i] == pytest.approx(delta_entropy(x[i : i + 1], x[parts != parts[i]], h)[0], rel=1e-12)
    rows = np.arange(20, 45)  # one MPI rank's block
    np.testing.assert_allclose(held_out_dh(x, parts, h, rows=rows), whole[rows], rtol=1e-13)
    both = held_out_dh(x, parts, [h, 0.03])
    np.testing.assert_allclose(both[:, 0], whole, rtol=1e-13)
    centres = np.where(np.arange(60) % 2, 29, 28)
    by_centre = held_out_dh(x, parts, h, centres)
    same = (parts != parts[5]) & (centres == centres[5])
    assert by_centre[5] == pytest.approx(delta_entropy(x[5:6], x[same], h)[0], rel=1e-12)
    with pytest.raises(ValueError, match="at least two parts"):
        held_out_dh(x, np.zeros(60), h)


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.2])
def test_the_threshold_is_the_quantile_it_claims(rate):
    dh = np.random.default_rng(1).normal(-2.0, 1.5, 1013)
    threshold = false_alarm_threshold(dh, rate)
    assert np.mean(dh > threshold) <= rate < np.mean(dh >= threshold)
    assert threshold in dh
    with pytest.raises(ValueError, match=r"false-alarm rate must be in \(0, 1\), got 1.5"):
        false_alarm_threshold(dh, 1.5)


def training_set():
    """12 FCC Cu structures in two groups: cool crystals and hotter ones (a family of its own)."""
    crystal = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2)
    frames = [thermal(crystal, 0.04, seed) for seed in range(8)] + [thermal(crystal, 0.2, seed) for seed in range(4)]
    for number, atoms in enumerate(frames):
        atoms.info["config_type"] = "cool" if number < 8 else "hot"
    return frames


def test_calibration_summarises_what_it_computed():
    frames = training_set()
    x = Descriptor().compute(frames)
    structures = np.repeat(np.arange(len(frames)), [len(a) for a in frames])
    labels = np.array([a.info["config_type"] for a in frames])
    calibration, held_out, left_out = calibrate(x, structures, labels, 0.015, folds=4, false_alarm=0.1)
    assert calibration.threshold == false_alarm_threshold(held_out, 0.1)
    assert calibration.held_out_zero == np.mean(held_out > 0)
    hot = labels[structures] == "hot"
    row = calibration.groups["hot"]
    assert row["environments"] == hot.sum() == 128 and row["structures"] == 4
    assert row["novel_fraction"] == np.mean(held_out[hot] > 0)
    assert row["flagged_fraction"] == np.mean(held_out[hot] > calibration.threshold)
    assert row["q90"] == np.quantile(held_out[hot], 0.9) and row["max"] == held_out[hot].max()
    assert row["left_out_novel_fraction"] == np.mean(left_out[hot] > 0)
    assert calibration.groups["hot"]["left_out_median"] > calibration.groups["cool"]["left_out_median"]
    folds = structure_folds(labels, 4, 0)[structures]
    np.testing.assert_allclose(held_out, held_out_dh(x, folds, 0.015), rtol=0, atol=0)


def test_reference_files_keep_the_calibration(tmp_path):
    frames = training_set()
    reference = Reference.from_structures(frames)
    plain = reference.save(tmp_path / "plain.npz")
    assert Reference.load(plain).calibration is None
    x = reference.descriptors
    structures = np.repeat(np.arange(len(frames)), 32)
    reference.calibration, _, _ = calibrate(x, structures, [a.info["config_type"] for a in frames], 0.015, folds=3)
    reference.save(tmp_path / "calibrated.npz")
    loaded = Reference.load(tmp_path / "calibrated.npz")
    assert loaded.calibration == reference.calibration
    header = reference._header() | {"calibration": {**reference.calibration.as_dict(), "threshold": None}}
    header["sha256"] = checksum(reference.descriptors, header, reference.centres)
    write_archive(tmp_path / "bad.npz", reference.descriptors, header, reference.centres)
    with pytest.raises(
        ReferenceFileError,
        match=r"the calibration is corrupted \(the calibration's threshold, rate and "
        r"bandwidth must be finite numbers\); calibrate again",
    ):
        Reference.load(tmp_path / "bad.npz")


@pytest.mark.mpi
def test_calibrate_command_gives_the_apis_numbers_on_1_and_2_ranks(tmp_path):
    ase.io.write(tmp_path / "train.extxyz", training_set())
    frames = ase.io.read(tmp_path / "train.extxyz", ":")  # positions to the file's 8 decimals
    x = Descriptor().compute(frames)
    structures = np.repeat(np.arange(len(frames)), 32)
    expected, held_out, _ = calibrate(
        x, structures, [a.info["config_type"] for a in frames], 0.015, folds=4, false_alarm=0.1, seed=2
    )
    for ranks in (1, 2):
        result = run(
            "calibrate",
            tmp_path / "train.extxyz",
            "-o",
            tmp_path / f"r{ranks}.npz",
            "--folds",
            4,
            "--false-alarm",
            0.1,
            "--seed",
            2,
            "--json",
            tmp_path / f"c{ranks}.json",
            "--csv",
            tmp_path / f"c{ranks}.csv",
            "--plot",
            tmp_path / f"c{ranks}.png",
            folder=tmp_path,
            ranks=ranks,
        )
        assert "flags 10.00% of held-out environments" in result.stdout
        stored = Reference.load(tmp_path / f"r{ranks}.npz").calibration
        assert stored.threshold == pytest.approx(expected.threshold, rel=1e-12)
        assert (
            stored.groups.keys() == {"cool", "hot", "all"} and stored.folds == 4 and stored.group_key == "config_type"
        )
        assert json.loads((tmp_path / f"c{ranks}.json").read_text())["threshold"] == stored.threshold
        assert (tmp_path / f"c{ranks}.png").stat().st_size > 10_000
        for name, row in expected.groups.items():
            for key, value in row.items():
                assert stored.groups[name][key] == pytest.approx(value, rel=1e-12, abs=1e-12), (name, key)
    bad = run(
        "calibrate",
        tmp_path / "train.extxyz",
        "-o",
        tmp_path / "x.npz",
        "--false-alarm",
        2,
        folder=tmp_path,
        check=False,
    )
    assert bad.returncode == 1 and "--false-alarm must be in (0, 1), got 2.0" in bad.stderr
