"""Descriptor: values from the equations, invariances, periodic forms and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from conftest import PERIODIC, slab, thermal
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from quests_lmp import Descriptor
from quests_lmp.engine.periodic import periodic_images


def w(r, cutoff=5.0):
    return (1 - (r / cutoff) ** 2) ** 2 if r < cutoff else 0.0


def test_three_atoms_by_hand():
    """X1 and X2 of an isolated triangle, written out from Eqs. (1)-(3) with k = 3."""
    positions = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    x = Descriptor(k=3, cutoff=5.0).compute(Atoms("Cu3", positions=positions))
    r01, r02, r12 = 2.0, 3.0, np.sqrt(13.0)
    # atom 0: neighbors 1 (2 A) then 2 (3 A); one pair (1, 2) at r12.
    # X2: the rows of neighbors 1 and 2 each hold c (their one cross term) and a zero for the
    # missing third neighbor, whose own row is zero. Largest column: (c + c + 0) / k; next: 0.
    c = np.sqrt(w(r01) * w(r02)) / r12
    np.testing.assert_allclose(x[0], [w(r01) / r01, w(r02) / r02, 0.0, 2 * c / 3, 0.0], rtol=1e-14)
    # atom 2: neighbors 0 (3 A), 1 (sqrt 13 A); pair (0, 1) at 2 A.
    c2 = np.sqrt(w(r02) * w(r12)) / r01
    np.testing.assert_allclose(x[2], [w(r02) / r02, w(r12) / r12, 0.0, 2 * c2 / 3, 0.0], rtol=1e-14)


def test_shape_and_zero_padding_for_fewer_atoms_than_k():
    x = Descriptor(k=32).compute(Atoms("Cu5", positions=np.random.default_rng(0).uniform(0, 2.5, (5, 3))))
    assert x.shape == (5, 63)
    assert np.all(x[:, :4] > 0) and np.all(x[:, 4:32] == 0)
    assert np.all(x[:, 32:35] > 0) and np.all(x[:, 35:] == 0)


def test_neighbors_beyond_the_cutoff_do_not_count():
    far = Atoms("Cu2", positions=[[0, 0, 0], [5.0, 0, 0]])
    np.testing.assert_array_equal(Descriptor(cutoff=5.0).compute(far), 0.0)


def test_list_of_structures_is_stacked_in_order():
    a, b = PERIODIC["fcc"](), PERIODIC["bcc"]()
    d = Descriptor()
    np.testing.assert_array_equal(d.compute([a, b]), np.concatenate([d.compute(a), d.compute(b)]))


@pytest.mark.parametrize("name", sorted(PERIODIC))
def test_cell_and_its_supercell_give_the_same_environments(name):
    """Periodic-image invariance: also covers cells smaller than the cutoff (8-atom cell, k = 32)."""
    atoms = PERIODIC[name]()
    x = Descriptor().compute(atoms)
    x_super = Descriptor().compute(atoms.repeat(2))
    for copy in range(8):
        np.testing.assert_allclose(x_super[copy * len(atoms) : (copy + 1) * len(atoms)], x, rtol=1e-9, atol=1e-13)


def test_raw_points_equal_periodic_form_with_independently_built_ghosts():
    """Owned atoms + a 3x3x3 block of images (as a parallel domain would hand over)."""
    atoms = PERIODIC["triclinic"]()
    owned = atoms.positions
    shifts = np.array([[i, j, k] for i in (0, -1, 1) for j in (0, -1, 1) for k in (0, -1, 1)]) @ atoms.cell.array
    points = np.concatenate([owned + shift for shift in shifts])  # shift (0,0,0) first
    np.testing.assert_allclose(
        Descriptor().compute_points(points, len(owned)), Descriptor().compute(atoms), rtol=1e-10, atol=1e-14
    )


def test_raw_points_with_a_subset_of_centers():
    points = thermal(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3)).positions
    all_x = Descriptor().compute_points(points, len(points))
    picked = np.array([5, 0, 17])
    np.testing.assert_array_equal(Descriptor().compute_points(points, picked), all_x[picked])


def test_slab_equals_slab_with_vacuum():
    open_slab = slab()
    padded = open_slab.copy()
    padded.center(vacuum=6.0, axis=2)
    padded.pbc = True
    open_slab.positions = padded.positions
    np.testing.assert_allclose(Descriptor().compute(open_slab), Descriptor().compute(padded), rtol=1e-10, atol=1e-14)


def test_wire_periodic_along_one_direction_only():
    wire = thermal(bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 3)))
    wire.pbc = [False, False, True]
    x = Descriptor().compute(wire)
    np.testing.assert_allclose(Descriptor().compute(wire.repeat((1, 1, 2)))[: len(wire)], x, rtol=1e-9, atol=1e-13)
    # a wire with a zero cell vector along an open direction is fine too
    wire.cell[0] = 0.0
    np.testing.assert_allclose(Descriptor().compute(wire), x, rtol=1e-10, atol=1e-14)


def rotation(angles):
    a, b, c = angles
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rx @ ry @ rz


clusters = arrays(np.float64, st.tuples(st.integers(2, 40), st.just(3)), elements=st.floats(0.0, 8.0))
angles = st.tuples(*[st.floats(0, 2 * np.pi)] * 3)
shift = arrays(np.float64, 3, elements=st.floats(-50.0, 50.0))


def well_separated(points):
    distances = np.linalg.norm(points[:, None] - points[None], axis=2) + np.eye(len(points)) * 10
    return distances.min() > 0.5


@settings(max_examples=30, deadline=None)
@given(clusters, angles, shift, st.randoms(use_true_random=False))
def test_open_structures_are_invariant(points, euler, translation, random):
    if not well_separated(points):
        return
    d = Descriptor(k=12, cutoff=4.0)
    x = d.compute(Atoms(f"X{len(points)}", positions=points))
    moved = d.compute(Atoms(f"X{len(points)}", positions=points @ rotation(euler).T + translation))
    order = list(range(len(points)))
    random.shuffle(order)
    permuted = d.compute(Atoms(f"X{len(points)}", positions=points[order]))
    np.testing.assert_allclose(moved, x, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(permuted, x[order], rtol=1e-12, atol=1e-15)


@settings(max_examples=15, deadline=None)
@given(angles, shift, st.integers(0, 10_000))
def test_periodic_cells_are_invariant(euler, translation, seed):
    atoms = thermal(bulk("Cu", "fcc", a=3.61).repeat((3, 3, 2)), 0.08, seed)
    x = Descriptor().compute(atoms)
    moved = atoms.copy()
    moved.positions = atoms.positions @ rotation(euler).T + translation
    moved.cell = atoms.cell.array @ rotation(euler).T
    np.testing.assert_allclose(Descriptor().compute(moved), x, rtol=1e-8, atol=1e-12)
    order = np.random.default_rng(seed).permutation(len(atoms))
    np.testing.assert_allclose(Descriptor().compute(atoms[order]), x[order], rtol=1e-10, atol=1e-14)


def test_periodic_images_cover_a_cell_much_smaller_than_the_cutoff():
    atoms = Atoms("Cu", positions=[[0, 0, 0]], cell=np.eye(3) * 2.0, pbc=True)
    points = periodic_images(atoms.positions, atoms.cell.array, atoms.pbc, 5.0)
    distances = np.linalg.norm(points[1:], axis=1)
    # every lattice point within 5 A: count them directly
    grid = np.array([[i, j, k] for i in range(-3, 4) for j in range(-3, 4) for k in range(-3, 4)]) * 2.0
    assert np.sum(distances < 5.0) == np.sum(np.linalg.norm(grid, axis=1) < 5.0) - 1


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Atoms(), "empty"),
        (lambda: Atoms("Cu2", positions=[[0, 0, 0], [np.nan, 0, 0]]), "NaN"),
        (lambda: Atoms("Cu", cell=[[1, 0, 0], [2, 0, 0], [0, 0, 1]], pbc=True), "zero-volume"),
        (lambda: Atoms("Cu", cell=[[1, 0, 0], [0, 0, 0], [0, 0, 1]], pbc=True), "zero-volume"),
        (lambda: Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 0]]), "overlapping atoms"),
    ],
)
def test_bad_structures_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        Descriptor().compute(make())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 0}, "k must be"),
        ({"k": 2.5}, "k must be"),
        ({"cutoff": 0.0}, "cutoff must be"),
        ({"cutoff": -1}, "cutoff must be"),
        ({"cutoff": float("nan")}, "cutoff must be"),
    ],
)
def test_bad_parameters_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Descriptor(**kwargs)


def test_bad_points_raise_clear_errors():
    with pytest.raises(ValueError, match="shape"):
        Descriptor().compute_points(np.zeros((4, 2)), 2)
    with pytest.raises(ValueError, match="centre_indices"):
        Descriptor().compute_points(np.random.default_rng(0).uniform(size=(4, 3)), 5)
    with pytest.raises(ValueError, match="list"):
        Descriptor().compute([1, 2])
    with pytest.raises(ValueError, match="no structures"):
        Descriptor().compute([])


@pytest.mark.parametrize("length", list(range(1, 65)))
def test_sorting_network_sorts_every_length(length):
    """Random columns, columns with ties, and every 0-1 column for short lengths (0-1 principle)."""
    from quests_lmp.engine.descriptor import _sort_columns_descending, _sorting_network

    rng = np.random.default_rng(length)
    columns = [rng.uniform(size=length), rng.integers(0, 3, size=length).astype(float)]
    if length <= 12:
        columns += [np.array([(bits >> i) & 1 for i in range(length)], float) for bits in range(2**length)]
    table = np.ascontiguousarray(np.array(columns).T)
    _sort_columns_descending(table, _sorting_network(length), table.shape[1])
    np.testing.assert_array_equal(table, -np.sort(-np.array(columns), axis=1).T)
