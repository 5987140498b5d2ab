"""Parity with the paper's reference implementation (PyPI `quests`), used here only as an oracle.

Descriptors are compared element-wise to 1e-10 relative. Entropies and diversities are compared to
1e-10 relative. dH is a logarithm that crosses zero, so it is compared to 1e-10 relative to
max(|dH|, 1 nat): the reference computes |y - x|^2 as |y|^2 + |x|^2 - 2 y.x, whose rounding
(~1e-15 absolute) times 1/(2 h^2) = 2222 A^2 gives absolute errors of ~1e-12 nats at any dH.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from conftest import on_reference_grid, slab, thermal
from quests.descriptor import get_descriptors
from quests.entropy import delta_entropy as reference_delta_entropy
from quests.entropy import diversity as reference_diversity
from quests.entropy import entropy as reference_entropy
from quests_lmp import Descriptor, Reference, delta_entropy, diversity, entropy

pytestmark = pytest.mark.parity

BANDWIDTHS = [0.015, 0.057]


def assert_delta_entropy_close(ours, reference):
    np.testing.assert_array_less(np.abs(ours - reference), 1e-10 * np.maximum(np.abs(reference), 1.0))


def test_descriptors_match_reference_for_periodic_cells(periodic_structure):
    np.testing.assert_allclose(
        Descriptor().compute(periodic_structure), get_descriptors([periodic_structure]), rtol=1e-10, atol=0
    )


def test_descriptors_match_reference_for_open_structures(open_structure):
    np.testing.assert_allclose(
        Descriptor().compute(open_structure), get_descriptors([open_structure]), rtol=1e-10, atol=0
    )


def slab_and_vacuum_twin(seed: int = 0):
    """The reference treats any partly periodic cell as open; a vacuum gap wider than the cutoff
    along z makes its fully periodic form equivalent to our [True, True, False]."""
    open_slab = thermal(slab(), 0.02, seed) if seed else slab()
    padded = open_slab.copy()
    padded.center(vacuum=6.0, axis=2)  # 12 A of vacuum between periodic copies along z
    padded.pbc = True
    padded = on_reference_grid(padded)
    open_slab.positions = padded.positions
    return open_slab, padded


def test_slab_matches_reference_with_vacuum_instead_of_open_boundary():
    open_slab, padded = slab_and_vacuum_twin()
    np.testing.assert_allclose(Descriptor().compute(open_slab), get_descriptors([padded]), rtol=1e-10, atol=0)


@pytest.mark.parametrize("h", BANDWIDTHS)
def test_slab_information_matches_reference(h):
    open_slab, padded = slab_and_vacuum_twin()
    hot_slab, hot_padded = slab_and_vacuum_twin(seed=21)
    x, y = Descriptor().compute(open_slab), Descriptor().compute(hot_slab)
    x_ref, y_ref = get_descriptors([padded]), get_descriptors([hot_padded])
    assert entropy(x, h) == pytest.approx(reference_entropy(x_ref, h), rel=1e-10, abs=0)
    assert diversity(x, h) == pytest.approx(reference_diversity(x_ref, h), rel=1e-10, abs=0)
    assert_delta_entropy_close(delta_entropy(y, x, h), reference_delta_entropy(y_ref, x_ref, h))


@pytest.mark.parametrize("h", BANDWIDTHS)
def test_entropy_and_diversity_match_reference(periodic_structure, h):
    x = Descriptor().compute(periodic_structure)
    assert entropy(x, h) == pytest.approx(reference_entropy(x, h), rel=1e-10, abs=0)
    assert diversity(x, h) == pytest.approx(reference_diversity(x, h), rel=1e-10, abs=0)


@pytest.mark.parametrize("h", BANDWIDTHS)
def test_entropy_matches_reference_for_open_structures(open_structure, h):
    x = Descriptor().compute(open_structure)
    assert entropy(x, h) == pytest.approx(reference_entropy(x, h), rel=1e-10, abs=0)
    assert diversity(x, h) == pytest.approx(reference_diversity(x, h), rel=1e-10, abs=0)


@pytest.mark.parametrize("h", BANDWIDTHS)
def test_delta_entropy_matches_reference(periodic_structure, h):
    """dH of a hotter copy of each structure against the structure's environments."""
    reference_x = Descriptor().compute(periodic_structure)
    test_x = Descriptor().compute(on_reference_grid(thermal(periodic_structure, 0.12, seed=11)))
    expected = reference_delta_entropy(test_x, reference_x, h)
    assert np.all(np.isfinite(expected)), "choose test data where the reference is finite"
    assert_delta_entropy_close(delta_entropy(test_x, reference_x, h), expected)


@pytest.mark.parametrize("h", BANDWIDTHS)
def test_delta_entropy_matches_reference_for_open_structures(open_structure, h):
    reference_x = Descriptor().compute(open_structure)
    test_x = Descriptor().compute(thermal(open_structure, 0.05, seed=14))
    expected = reference_delta_entropy(test_x, reference_x, h)
    assert np.all(np.isfinite(expected)), "choose test data where the reference is finite"
    assert_delta_entropy_close(delta_entropy(test_x, reference_x, h), expected)


def test_bandwidth_vector_matches_reference_per_bandwidth(periodic_structure):
    x = Descriptor().compute(periodic_structure)
    y = Descriptor().compute(on_reference_grid(thermal(periodic_structure, 0.1, seed=12)))
    h = np.array(BANDWIDTHS)
    np.testing.assert_allclose(entropy(x, h), reference_entropy(x, h), rtol=1e-10, atol=0)
    assert_delta_entropy_close(delta_entropy(y, x, h), reference_delta_entropy(y, x, h))


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_finite_where_reference_is_infinite_and_equal_where_it_is_finite():
    """Far from the reference, the reference's kernel sum underflows to 0 and its dH is inf."""
    crystal = on_reference_grid(thermal(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3)))
    reference_x = Descriptor().compute(crystal)
    compressed = crystal.copy()
    compressed.set_cell(crystal.cell * 0.8, scale_atoms=True)
    test_x = np.concatenate([Descriptor().compute(thermal(crystal, 0.1, seed=3)), Descriptor().compute(compressed)])
    expected = reference_delta_entropy(test_x, reference_x, 0.015)
    ours = delta_entropy(test_x, reference_x, 0.015)
    infinite = ~np.isfinite(expected)
    assert infinite.sum() > 0 and (~infinite).sum() > 0, "test data must have both regimes"
    assert np.all(np.isfinite(ours))
    assert_delta_entropy_close(ours[~infinite], expected[~infinite])
    # Where the reference overflows, dH is dominated by the nearest reference vector.
    nearest = ((test_x[infinite, None, :] - reference_x[None, :, :]) ** 2).sum(axis=2).min(axis=1)
    assert np.all(ours[infinite] >= nearest / (2 * 0.015**2) - np.log(len(reference_x)) - 1e-6)
    assert np.all(ours[infinite] <= nearest / (2 * 0.015**2) + 1e-6)
    assert np.all(ours[infinite] > 700)  # exp(-700) is where double precision runs out


def test_reference_file_delta_entropy_matches_reference(tmp_path, periodic_structure):
    path = Reference.from_structures(periodic_structure).save(tmp_path / "ref.npz")
    test = on_reference_grid(thermal(periodic_structure, 0.1, seed=13))
    expected = reference_delta_entropy(get_descriptors([test]), get_descriptors([periodic_structure]), 0.015)
    assert_delta_entropy_close(Reference.load(path).delta_entropy(test), expected)


def compression_set():
    """Twelve small FCC Cu structures of different strains and temperatures (descriptors), their
    entropies at h = 0.1 1/A (wide enough that no kernel sum underflows: the reference's -log
    stays finite, so the two rank the candidates alike), and the first four as a reference set."""
    blocks = [
        Descriptor().compute(
            thermal(bulk("Cu", "fcc", a=3.5 + 0.02 * i, cubic=True).repeat(2), 0.02 + 0.015 * (i % 5), i)
        )
        for i in range(12)
    ]
    return blocks, np.array([reference_entropy(block, h=0.1) for block in blocks])


@pytest.mark.parametrize("method", ["fps", "msc", "msc_conditional"])
def test_compression_methods_pick_what_the_reference_picks(method):
    from quests.compression import fps as reference_methods
    from quests_lmp.analysis.compression import select_structures

    blocks, entropies = compression_set()
    if method == "msc_conditional":
        candidates, existing = blocks[4:], blocks[:4]
        expected = reference_methods.msc_conditional(candidates, entropies[4:], 5, existing, h=0.1)
        reference = (np.concatenate(existing), None)
    else:
        candidates, reference = blocks, None
        expected = getattr(reference_methods, method)(blocks, entropies, 5, **({"h": 0.1} if method == "msc" else {}))
    ours = select_structures(candidates, 0.1, 5, method, np.random.default_rng(0), reference=reference)
    assert ours.tolist() == [int(i) for i in expected]


def test_mean_fps_picks_what_the_reference_picks_from_the_same_start():
    """The reference draws its start from numpy's global generator; from that start, the same picks."""
    from quests.compression.baseline import mean_fps
    from quests_lmp.analysis.compression import farthest_points

    blocks, entropies = compression_set()
    np.random.seed(3)
    expected = [int(i) for i in mean_fps(blocks, entropies, 6)]
    means = np.array([block.mean(axis=0) for block in blocks])
    assert farthest_points(means, 6, expected[0], lambda: None).tolist() == expected
