"""The vectorised exp(-t) used by the kernel sums, against math.exp."""

from __future__ import annotations

import math

import numpy as np
from quests_lmp.engine.fastexp import CLAMP, exp_neg, total


def test_exp_neg_within_one_ulp_of_math_exp():
    rng = np.random.default_rng(0)
    t = np.concatenate(
        [
            [0.0, 1e-300, 1e-17, math.log(2) / 2, math.log(2), 1.0, 699.9, CLAMP],
            rng.uniform(0, 1, 100_000),
            rng.uniform(0, CLAMP, 100_000),
        ]
    )
    out = np.empty_like(t)
    exp_neg(t, 0.0, 1.0, out)
    expected = np.array([math.exp(-v) for v in t])
    np.testing.assert_array_less(np.abs(out - expected), 2.3e-16 * expected)
    assert out[0] == 1.0  # a point's own kernel term is exactly 1


def test_exp_neg_applies_offset_scale_and_clamp():
    values = np.array([3.0, 3.5, 1e6, np.inf])
    out = np.empty(4)
    exp_neg(values, 3.0, 2.0, out)
    np.testing.assert_allclose(out[:2], [1.0, math.exp(-1.0)], rtol=2.3e-16)
    assert out[2] == out[3] == math.exp(-CLAMP) > 0  # far terms are negligible, never NaN


def test_total_is_the_sum():
    values = np.random.default_rng(1).uniform(size=10_001)
    exact = math.fsum(values)
    assert abs(total(values) - exact) <= 1e-13 * exact
