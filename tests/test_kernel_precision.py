"""Precision single of exact dH (quests_lmp.engine.kernel): float32 products of the vectors less the
reference mean and float32 exponentials, float64 sums, the nearest distance in float64. Within
5e-5 nats of double at the paper's h = 0.015 1/A on thermal, hot and strained Cu; the identities
of dH keep holding."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from quests_lmp import Descriptor, Reference
from quests_lmp.engine.fastexp import exp_neg_single


@pytest.fixture(scope="module")
def cu():
    """A thermal FCC Cu reference (4,224 environments) and test environments: thermal, hot (0.2 A)
    and 2% expanded (novel), 4,000 of each."""
    descriptor = Descriptor()
    frames = [
        thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), sigma, seed)
        for seed, sigma in enumerate([0.05, 0.08, 0.1] * 6)
    ]
    reference = Reference(np.vstack([descriptor.compute(atoms) for atoms in frames])[:4224])
    tests = [
        thermal(bulk("Cu", "fcc", a=a, cubic=True).repeat(10), sigma, seed)
        for a, sigma, seed in ((3.615, 0.08, 91), (3.615, 0.2, 92), (3.69, 0.12, 93))
    ]
    return reference, np.vstack([descriptor.compute(atoms)[:4000] for atoms in tests])


@pytest.mark.parametrize("h", [0.015, [0.015, 0.03, 0.06]])
def test_single_is_within_5e_5_nats_of_double(cu, h):
    reference, y = cu
    double = reference.delta_entropy(y, h)
    single = reference.delta_entropy(y, h, precision="single")
    assert np.all(np.isfinite(single)) and single.shape == double.shape
    assert np.abs(single - double).max() <= 5e-5  # 2e-5 here; 9e-5 without the nearest distance in float64
    near = np.abs(double) < 1.0  # where the novelty decision is made
    assert near.sum() > 100 and np.abs(single - double)[near].max() <= 1e-5
    assert (double > 0).sum() > 500 and (double < 0).sum() > 500  # novel and covered atoms both tested
    flipped = (single > 0) != (double > 0)  # a novelty decision may differ only within the error
    assert np.all(np.abs(double[flipped]) <= 1e-4)


def test_single_keeps_the_identities(cu):
    reference, _ = cu
    x = reference.descriptors
    own = reference.delta_entropy(x, precision="single")
    assert own.max() <= 0.0  # dH(X_i | X) <= 0: the own term is exactly 1
    assert own.min() >= -np.log(len(x))
    np.testing.assert_allclose(own, reference.delta_entropy(x), atol=1e-4)


def test_exp_neg_single_is_within_2e_7_of_exp():
    t = np.concatenate([np.linspace(0.0, 80.0, 100_001), [1e-30, 0.5, 79.9999]]).astype(np.float32)
    out = np.empty(t.size, dtype=np.float32)
    exp_neg_single(t, 0.0, 1.0, out)
    exact = np.exp(-t.astype(np.float64))
    assert np.abs(out / exact - 1.0).max() <= 2e-7


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(precision="half"), "precision must be 'single' or 'double', got 'half'"),
        (dict(precision="single", method="approx"), "precision single is for method exact"),
    ],
)
def test_bad_precision(cu, kwargs, message):
    reference, y = cu
    with pytest.raises(ValueError, match=message):
        reference.delta_entropy(y[:3], **kwargs)
