"""dH against a model's errors (quests_lmp.analysis.model_errors, `quests-lmp errors`): the
statistics equal a direct computation, the running average follows the paper's definition, and the
command reports them per group with the calibrated threshold, on 1 and 2 ranks."""

from __future__ import annotations

import itertools
import json

import ase.io
import numpy as np
import pytest
from quests_lmp import Reference
from quests_lmp.analysis.model_errors import alarm_metrics, auprc, auroc, force_errors, running_average, spearman
from scipy.stats import spearmanr
from test_calibration import training_set
from test_cli import run

RNG = np.random.default_rng(7)


def direct_auroc(scores, positive):
    pairs = [(p, n) for p, n in itertools.product(scores[positive], scores[~positive])]
    return np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs])


def direct_auprc(scores, positive):
    """Average precision over the distinct scores, highest first."""
    total, previous_recall = 0.0, 0.0
    for level in sorted(set(scores.tolist()), reverse=True):
        flagged = scores >= level
        recall = np.sum(flagged & positive) / positive.sum()
        total += (recall - previous_recall) * np.sum(flagged & positive) / flagged.sum()
        previous_recall = recall
    return total


@pytest.mark.parametrize("ties", [False, True])
def test_ranking_statistics_equal_a_direct_computation(ties):
    scores = RNG.normal(size=80)
    if ties:
        scores = np.round(scores, 1)  # many equal scores
    errors = np.exp(scores + RNG.normal(0, 1.0, 80))
    positive = errors > np.quantile(errors, 0.8)
    assert auroc(scores, positive) == pytest.approx(direct_auroc(scores, positive), rel=1e-12)
    assert auprc(scores, positive) == pytest.approx(direct_auprc(scores, positive), rel=1e-12)
    assert spearman(scores, errors) == pytest.approx(spearmanr(scores, errors).statistic, rel=1e-12)
    assert auroc(errors, positive) == 1.0 and auprc(errors, positive) == pytest.approx(1.0)
    assert np.isnan(auroc(scores, np.zeros(80, bool))) and np.isnan(auprc(scores, np.zeros(80, bool)))


def test_running_average_is_the_papers():
    """20 bins of length l over [0, 20]: points at the integers; within 0.75 l of the centre k + 0.5
    lie k and k + 1, so each bin averages those two errors."""
    dh = np.arange(21.0)
    errors = RNG.uniform(0, 1, 21)
    binned = running_average(np.append(dh, np.inf), np.append(errors, 99.0))  # infinite dH: in no bin
    np.testing.assert_allclose(binned["centres"], np.arange(20) + 0.5)
    np.testing.assert_allclose(binned["mean"], (errors[:-1] + errors[1:]) / 2, rtol=1e-14)
    np.testing.assert_allclose(binned["max"], np.maximum(errors[:-1], errors[1:]))
    assert binned["count"].tolist() == [2] * 20


def test_alarm_metrics_and_force_errors():
    true = RNG.normal(size=(50, 3))
    predicted = true + RNG.normal(0, 0.1, (50, 3))
    errors = force_errors(true, predicted)
    np.testing.assert_allclose(errors, [np.linalg.norm(p - t) for p, t in zip(predicted, true)], rtol=1e-14)
    dh = np.log(errors) + RNG.normal(0, 0.5, 50)
    tau, threshold = np.quantile(errors, 0.8), np.quantile(dh, 0.7)
    row = alarm_metrics(dh, errors, tau, threshold)
    flagged, positive = dh > threshold, errors > tau
    assert row["flagged_fraction"] == flagged.mean() and row["positive_fraction"] == positive.mean()
    assert row["recall"] == np.sum(flagged & positive) / positive.sum()
    assert row["precision"] == np.sum(flagged & positive) / flagged.sum()
    assert row["rms_error"] == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-14)
    with pytest.raises(ValueError, match=r"forces must be \(n, 3\) arrays of the same shape"):
        force_errors(true, predicted[:3])


@pytest.mark.mpi
def test_errors_command_per_group_with_the_calibrated_threshold(tmp_path):
    """A 'model' whose error grows with the distance from the cool training set: the command's
    numbers equal alarm_metrics of the engine's dH, per group, with the stored threshold by
    default and --threshold when given; 1 and 2 ranks agree."""
    ase.io.write(tmp_path / "train.extxyz", training_set())
    run("calibrate", tmp_path / "train.extxyz", "-o", tmp_path / "ref.npz", "--folds", 4, folder=tmp_path)
    reference = Reference.load(tmp_path / "ref.npz")
    test = [atoms.copy() for atoms in training_set()[::3]]
    for atoms in test:
        atoms.positions += RNG.normal(0, 0.1, atoms.positions.shape)
    values = reference.delta_entropy(test)
    errors = 0.05 * np.exp(0.3 * np.clip(values, -10, 10)) * RNG.uniform(0.5, 1.5, values.size)
    start = 0
    for atoms in test:
        atoms.arrays["model_forces"] = atoms.get_positions() * 0 + errors[start : start + len(atoms), None] / np.sqrt(3)
        atoms.arrays["dft"] = np.zeros((len(atoms), 3))
        start += len(atoms)
    ase.io.write(tmp_path / "test.extxyz", test)
    groups = np.repeat([atoms.info["config_type"] for atoms in test], [len(atoms) for atoms in test])
    for ranks, extra in ((1, []), (2, []), (1, ["--threshold", "0.5"])):
        run(
            "errors",
            tmp_path / "test.extxyz",
            "--reference",
            tmp_path / "ref.npz",
            "--true",
            "dft",
            "--predicted",
            "model_forces",
            "--tau",
            0.1,
            "--json",
            tmp_path / "e.json",
            "--plot",
            tmp_path / "e.png",
            "--overwrite",
            *extra,
            folder=tmp_path,
            ranks=ranks,
        )
        result = json.loads((tmp_path / "e.json").read_text())
        threshold = 0.5 if extra else reference.calibration.threshold
        assert result["threshold"] == threshold and result["tau"] == 0.1
        for name in ("cool", "hot", "all"):
            rows = groups == name if name != "all" else np.ones(groups.size, bool)
            expected = alarm_metrics(values[rows], errors[rows], 0.1, threshold)
            for key, value in expected.items():
                assert result["groups"][name][key] == pytest.approx(value, rel=1e-6, abs=1e-9, nan_ok=True), key
    missing = run(
        "errors",
        tmp_path / "test.extxyz",
        "--reference",
        tmp_path / "ref.npz",
        "--true",
        "dft",
        "--predicted",
        "nothing",
        folder=tmp_path,
        check=False,
    )
    assert (
        missing.returncode == 1 and "frame 0 of" in missing.stderr and "no per-atom array 'nothing'" in missing.stderr
    )
