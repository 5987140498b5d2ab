"""Entropy, dH and diversity: the paper's bounds and identities, stability, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import PERIODIC, thermal
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from quests.entropy import get_bandwidth
from quests_lmp import (
    Descriptor,
    bandwidth_for_volume,
    delta_entropy,
    diversity,
    entropy,
    entropy_and_diversity,
    novelty,
    overlap,
    self_delta_entropy,
)
from quests_lmp.engine import kernel
from quests_lmp.engine.information import entropy_with_error, self_kernel_sum_share

descriptor_sets = arrays(np.float64, st.tuples(st.integers(1, 60), st.just(5)), elements=st.floats(-1.0, 1.0))
bandwidths = st.floats(0.01, 2.0)


@settings(max_examples=60, deadline=None)
@given(descriptor_sets, bandwidths)
def test_bounds_and_identities(x, h):
    n = len(x)
    H, D = entropy_and_diversity(x, h)
    dh_self = self_delta_entropy(x, h)
    assert -1e-12 <= H <= np.log(n) + 1e-12  # 0 <= H <= log n
    assert np.all(dh_self <= 1e-12)  # dH(X_i | X) <= 0
    assert np.all(dh_self >= -np.log(n) - 1e-12)  # dH >= -log n
    assert H == pytest.approx(np.log(n) + dh_self.mean(), abs=1e-12)  # H = log n + mean dH
    assert D == pytest.approx(np.log(np.exp(dh_self).sum()), abs=1e-12)  # Eq. (S21)
    assert -1e-12 <= D <= np.log(n) + 1e-12


@settings(max_examples=40, deadline=None)
@given(descriptor_sets, descriptor_sets, bandwidths)
def test_delta_entropy_lower_bound_and_kernel_sum(x, y, h):
    dh = delta_entropy(y, x, h)
    assert np.all(dh >= -np.log(len(x)) - 1e-12)
    direct = np.exp(-((y[:, None, :] - x[None, :, :]) ** 2).sum(axis=2) / (2 * h * h)).sum(axis=1)
    finite = direct > 1e-250
    np.testing.assert_allclose(dh[finite], -np.log(direct[finite]), rtol=1e-10, atol=1e-10)


def test_far_apart_points_have_entropy_and_diversity_log_n():
    x = np.eye(50) * 10.0
    H, D = entropy_and_diversity(x, 0.015)
    assert H == np.log(50) and D == np.log(50)
    np.testing.assert_array_equal(self_delta_entropy(x, 0.015), 0.0)


def test_identical_points_have_zero_entropy_and_minimal_delta_entropy():
    x = np.ones((30, 63))
    H, D = entropy_and_diversity(x, 0.015)
    assert H == pytest.approx(0.0, abs=1e-14) and D == pytest.approx(0.0, abs=1e-14)
    np.testing.assert_allclose(delta_entropy(x[:3], x, 0.015), -np.log(30), rtol=1e-14)


def test_far_delta_entropy_is_finite_and_exact():
    """Two reference points at squared distances 4 and 4 + 1e-4 from y: dH in closed form."""
    h = 0.015
    x = np.array([[2.0, 0.0], [2.0, 0.01]])
    y = np.zeros((1, 2))
    s = 1 / (2 * h * h)
    expected = 4 * s - np.log(1 + np.exp(-1e-4 * s))
    assert delta_entropy(y, x, h)[0] == pytest.approx(expected, rel=1e-13)
    assert expected > 8000  # exp(-8000) underflows: a plain kernel sum would give inf


def test_rescaling_across_tiles_matches_one_tile(monkeypatch):
    """The running nearest-distance rescale gives the same sums however the columns are tiled."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 7)), rng.normal(size=(40, 7)) * 3
    h = np.array([0.2, 0.7, 3.0])
    one_tile = delta_entropy(y, x, h)
    monkeypatch.setattr(kernel, "TILE_COLS", 7)
    monkeypatch.setattr(kernel, "TILE_ROWS", 3)
    np.testing.assert_allclose(delta_entropy(y, x, h), one_tile, rtol=1e-12, atol=1e-12)


def test_bandwidth_vector_equals_one_call_per_bandwidth():
    x = Descriptor().compute(PERIODIC["fcc"]())
    y = Descriptor().compute(thermal(PERIODIC["fcc"](), 0.1, 4))
    h = np.array([0.015, 0.03, 0.057])
    H, D = entropy_and_diversity(x, h)
    dh = delta_entropy(y, x, h)
    assert H.shape == D.shape == (3,) and dh.shape == (len(y), 3)
    for column, value in enumerate(h):
        assert H[column] == pytest.approx(entropy(x, value), rel=1e-14)
        assert D[column] == pytest.approx(diversity(x, value), rel=1e-14)
        np.testing.assert_allclose(dh[:, column], delta_entropy(y, x, value), rtol=1e-14)


def test_novelty_and_overlap_are_complementary_fractions():
    x = Descriptor().compute(PERIODIC["fcc"]())
    y = np.concatenate([x[:10], x[:10] + 1.0])  # 10 covered, 10 far away
    assert overlap(y, x, 0.015) == 0.5 and novelty(y, x, 0.015) == 0.5
    assert novelty(y, x, 0.015, threshold=1e6) == 0.0


@pytest.mark.parity
def test_bandwidth_for_volume_follows_the_paper():
    # Sec. II.C: 0.057 1/A for the mean volume of solid and liquid Cu (about 12.9 A^3/atom)
    assert bandwidth_for_volume(12.9) == pytest.approx(0.057, abs=0.001)
    # Fig. S8 fit, as published with the reference implementation
    volumes = np.array([6.5, 8.0, 12.9, 20.0, 50.0])
    np.testing.assert_allclose(bandwidth_for_volume(volumes), [get_bandwidth(v) for v in volumes], rtol=1e-12)
    assert np.all(np.diff(bandwidth_for_volume(volumes)) < 0)  # smaller at larger volumes
    with pytest.raises(ValueError, match="volume"):
        bandwidth_for_volume(-1.0)


@pytest.mark.parametrize("h", [0.0, -0.1, float("nan"), "wide", [0.1, -1.0], []])
def test_bad_bandwidth_raises(h):
    with pytest.raises(ValueError, match="bandwidth"):
        entropy(np.zeros((3, 4)), h)


def test_bad_descriptor_sets_raise():
    with pytest.raises(ValueError, match="features"):
        delta_entropy(np.zeros((3, 5)), np.zeros((3, 63)))
    with pytest.raises(ValueError, match="empty"):
        entropy(np.zeros((0, 63)))
    with pytest.raises(ValueError, match="NaN"):
        entropy(np.full((2, 63), np.nan))
    with pytest.raises(ValueError, match="2-D"):
        entropy(np.zeros(63))


def test_members_of_a_set_count_themselves_exactly_once():
    """dH(X_i|X) <= 0 exactly, also where |x|^2 + |x|^2 - 2 x.x rounds to a positive number."""
    x = np.array([[0.14101969, 0.75, 0.14101969, 0.14101969, 0.14101969]] * 2)
    x[1, 1] = 0.14101969
    assert np.all(self_delta_entropy(x, 0.01) <= 0.0)
    assert entropy(x[:1], 0.01) == 0.0
    assert delta_entropy(x[:1], x[:1], 0.01)[0] == 0.0


@pytest.mark.parametrize("tile_side", [512, 7])
def test_self_sums_over_the_upper_triangle_equal_the_full_kernel_sums(monkeypatch, tile_side):
    """A set against itself (symmetric tiles, each once) gives the sums of the general path, also
    for tiles that do not divide n, and the shares of any number of ranks add up to the whole.

    The two paths form |x|^2 + |y|^2 - 2 x.y in GEMMs of different shapes, each rounded to about
    2 eps max|x|^2, which the exponent multiplies by 1/(2 h^2): about 8e-13 relative at h = 0.015
    1/A for these descriptors, 1e-15 at 0.5 (how much of it shows depends on the BLAS kernels of
    the CPU), plus the rounding of the sums themselves."""
    x = Descriptor().compute(thermal(PERIODIC["fcc"](), 0.1, 5))[:45]
    h = np.array([0.015, 0.1, 0.5])
    full = np.exp(kernel.log_kernel_sums(x, x.copy(), h))  # a copy takes the general path
    bound = 2 * np.finfo(float).eps * np.einsum("ij,ij->i", x, x).max() / (2 * h**2) + 50 * np.finfo(float).eps
    monkeypatch.setattr(kernel, "TILE_SIDE", tile_side)
    whole = kernel.self_kernel_sums(x, h)
    assert np.all(np.abs(whole / full - 1) <= bound)
    for shares in (2, 3, 11):
        parts = [kernel.self_kernel_sums(x, h, share, shares) for share in range(shares)]
        assert np.all(np.abs(np.sum(parts, axis=0) / full - 1) <= bound)
        if tile_side == 7:  # 7 x 7 tiles, 28 tile pairs: every share has work
            assert all(part.sum() > 0 for part in parts)


def test_self_sums_do_not_depend_on_the_number_of_threads(monkeypatch):
    x = Descriptor().compute(thermal(PERIODIC["fcc"](), 0.1, 6))
    h = np.array([0.015, 0.057])
    monkeypatch.setattr(kernel, "TILE_SIDE", 16)
    one = kernel.self_kernel_sums(x, h)
    monkeypatch.setattr(kernel.nb, "get_num_threads", lambda: 2)
    np.testing.assert_allclose(kernel.self_kernel_sums(x, h), one, rtol=1e-14)
    np.testing.assert_allclose(self_delta_entropy(x, h), -np.log(one), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_smallest_is_the_first_minimum(dtype):
    rng = np.random.default_rng(7)
    for n in (1, 7, 8, 1023, 1024, 1025, 5000):
        values = rng.integers(0, 50, n).astype(dtype)  # many ties
        assert kernel.smallest(values) == (values.min(), int(np.argmin(values)))
        values[n // 2 :] = -1.0
        assert kernel.smallest(values) == (-1.0, n // 2)


@pytest.mark.parametrize("centres", [None, "two elements"])
def test_self_sums_report_their_progress_up_to_one(monkeypatch, centres):
    x = Descriptor().compute(thermal(PERIODIC["fcc"](), 0.1, 8))
    z = None if centres is None else np.where(np.arange(len(x)) % 3 == 0, 8, 29)
    monkeypatch.setattr(kernel, "TILE_SIDE", 5)
    for share, shares in ((0, 1), (1, 2)):
        fractions = []
        self_kernel_sum_share(x, np.array([0.015]), z, share, shares, fractions.append)
        assert np.all(np.diff(fractions) > 0) and fractions[-1] == pytest.approx(1.0, rel=1e-12)


def test_entropy_with_error_is_h_and_the_spread_of_frame_means():
    """H as entropy() gives it; the error is the standard error of the frames' mean dH, computed
    here directly from self_delta_entropy."""
    x = np.random.default_rng(3).normal(size=(240, 8)) * 0.05
    frames = np.repeat(np.arange(6), 40)
    result = entropy_with_error(x, frames, 0.08)
    assert result.entropy == pytest.approx(entropy(x, 0.08), rel=1e-12)
    means = self_delta_entropy(x, 0.08).reshape(6, 40).mean(axis=1)
    assert result.error == pytest.approx(means.std(ddof=1) / np.sqrt(6), rel=1e-12) and result.error > 0
    with pytest.raises(ValueError, match="at least 2 blocks"):
        entropy_with_error(x, np.zeros(240), 0.08)
    with pytest.raises(ValueError, match="one label per environment"):
        entropy_with_error(x, frames[:10], 0.08)
