"""Analytic gradients (quests_lmp.engine.gradients) against central finite differences, away from
the points where the descriptor is not differentiable (thermal positions: no ties)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from quests_lmp import Descriptor, Reference, delta_entropy
from quests_lmp.engine.gradients import descriptor_vjp, dh_and_gradient

STEPS = (1e-6, 5e-7)  # A: central differences at two steps


@pytest.fixture(scope="module")
def cluster():
    """Positions of an open 108-atom cluster of thermal FCC Cu (surface atoms have < k neighbors)."""
    return thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.1, 3).positions


def assert_equals_finite_differences(analytic, function, points, rows):
    """Central differences of `function` at two steps; a component where they disagree (a kink:
    two cross terms or neighbor distances swap order within the step, which happens at many
    places along any path) is not compared, and at least 90% of them must be."""
    scale = np.abs(analytic[rows]).max()
    compared = 0
    for p in rows:
        for d in range(3):
            estimates = []
            for step in STEPS:
                moved = points.copy()
                moved[p, d] += step
                up = function(moved)
                moved[p, d] -= 2 * step
                estimates.append((up - function(moved)) / (2 * step))
            if abs(estimates[0] - estimates[1]) > 1e-7 * scale:
                continue
            compared += 1
            assert analytic[p, d] == pytest.approx(estimates[0], rel=1e-6, abs=1e-6 * scale), (p, d)
    assert compared >= 0.9 * 3 * len(rows)


@pytest.mark.parametrize("k", [32, 8])
def test_descriptor_vjp_equals_finite_differences(cluster, k):
    descriptor = Descriptor(k=k)
    centers = np.arange(0, len(cluster), 3)
    weights = np.random.default_rng(k).normal(size=(len(centers), descriptor.n_features))
    analytic = descriptor_vjp(descriptor, cluster, centers, weights)

    def objective(points):
        return float(np.sum(weights * descriptor.compute_points(points, centers)))

    assert_equals_finite_differences(analytic, objective, cluster, np.arange(0, len(cluster), 7))
    np.testing.assert_allclose(analytic.sum(axis=0), 0.0, atol=1e-10 * np.abs(analytic).max())  # no net force


def test_dh_and_gradient_values_and_finite_differences():
    rng = np.random.default_rng(0)
    reference = rng.normal(0.0, 0.05, (300, 63))
    test = np.vstack([reference[:5] + rng.normal(0.0, 0.01, (5, 63)), reference[:3] + 2.0])  # covered, far
    dh, gradient = dh_and_gradient(test, reference, 0.015)
    np.testing.assert_allclose(dh[:5], delta_entropy(test[:5], reference, 0.015), rtol=1e-10)
    assert np.all(np.isfinite(dh)) and np.all(dh[5:] > 1e4)  # finite where exp underflows
    step = 1e-7
    for row in (0, 6):
        for feature in (0, 40):
            moved = test[[row, row]].copy()
            moved[0, feature] += step
            moved[1, feature] -= step
            up, down = dh_and_gradient(moved, reference, 0.015)[0]
            assert gradient[row, feature] == pytest.approx((up - down) / (2 * step), rel=1e-6)


def test_force_of_sum_dh_equals_finite_differences(cluster):
    """dE/dpositions of E = sum_i dH_i over the chain rule (descriptor and kernel parts)."""
    reference = Reference.from_structures(
        [thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, s) for s in (1, 2)]
    )
    descriptor, centers = reference.descriptor, np.arange(len(cluster))

    def energy(points):
        return float(
            dh_and_gradient(descriptor.compute_points(points, centers), reference.descriptors, reference.bandwidth)[
                0
            ].sum()
        )

    _, weights = dh_and_gradient(
        descriptor.compute_points(cluster, centers), reference.descriptors, reference.bandwidth
    )
    analytic = descriptor_vjp(descriptor, cluster, centers, weights)
    assert_equals_finite_differences(analytic, energy, cluster, np.arange(0, len(cluster), 11))


def test_periodic_forces_from_ghost_images_summed_onto_their_atoms():
    """A periodic cell as LAMMPS hands it over (atoms, then images as ghosts): the images' shares
    summed onto their atoms give the gradient of sum dH of the periodic structure."""
    from test_collection import domain

    atoms = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.1, 5)
    reference = Reference.from_structures([thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, 1)])
    points, tags, _ = domain(atoms, 5.5)
    centers = np.arange(len(atoms))
    _, weights = dh_and_gradient(
        reference.descriptor.compute_points(points, centers), reference.descriptors, reference.bandwidth
    )
    shares = descriptor_vjp(reference.descriptor, points, centers, weights)
    analytic = np.zeros((len(atoms), 3))
    np.add.at(analytic, tags - 1, shares)

    def energy(positions):
        moved = atoms.copy()
        moved.positions = positions
        return float(
            dh_and_gradient(reference.descriptor.compute(moved), reference.descriptors, reference.bandwidth)[0].sum()
        )

    assert_equals_finite_differences(analytic, energy, atoms.positions, np.arange(0, len(atoms), 9))
    np.testing.assert_allclose(analytic.sum(axis=0), 0.0, atol=1e-10 * np.abs(analytic).max())


def test_vjp_with_the_descriptor_passs_neighbor_lists(cluster):
    """descriptor_vjp with the neighbor lists of describe_with_neighbors equals its own search;
    lists of another shape are refused."""
    from quests_lmp.engine.gradients import describe_with_neighbors

    descriptor, centers = Descriptor(), np.arange(0, len(cluster), 5)
    x, neighbors = describe_with_neighbors(descriptor, cluster, centers)
    np.testing.assert_array_equal(x, descriptor.compute_points(cluster, centers))
    assert np.all(neighbors[:, 0] >= 1) and np.all(neighbors[:, 0] <= descriptor.k)
    weights = np.random.default_rng(1).normal(size=x.shape)
    np.testing.assert_array_equal(
        descriptor_vjp(descriptor, cluster, centers, weights, neighbors),
        descriptor_vjp(descriptor, cluster, centers, weights),
    )
    with pytest.raises(ValueError, match="neighbors must be the"):
        descriptor_vjp(descriptor, cluster, centers, weights, neighbors[:, :5])
