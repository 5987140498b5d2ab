"""Local environments carved out of structures (quests_lmp.engine.carve): the centre and every atom
closer than the buffer keep their descriptors, in periodic, triclinic, mixed and open structures."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, fcc111
from conftest import thermal
from quests_lmp import Descriptor
from quests_lmp.engine.carve import carve


def with_pbc(atoms, pbc):
    atoms.pbc = pbc
    return atoms


STRUCTURES = {
    "small periodic cell (many images)": lambda: thermal(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2), 0.05, 1),
    "triclinic": lambda: thermal(bulk("Cu", "fcc", a=3.6).repeat((3, 4, 5)), 0.05, 2),
    "slab, open in z": lambda: thermal(with_pbc(fcc111("Cu", (4, 4, 5), vacuum=6.0), (True, True, False)), 0.05, 3),
    "open cluster": lambda: thermal(with_pbc(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3), False), 0.05, 4),
}


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_descriptors_within_the_buffer_are_those_of_the_structure(name):
    atoms = STRUCTURES[name]()
    atoms.arrays["id"] = np.arange(len(atoms)) + 1
    descriptor, buffer = Descriptor(), 3.0  # beyond the nearest neighbors (2.55 A)
    x = descriptor.compute(atoms)
    for centre in (0, len(atoms) // 2, len(atoms) - 1):
        cluster = carve(atoms, centre, descriptor.cutoff + buffer)
        distances = np.linalg.norm(cluster.positions - cluster.positions[0], axis=1)
        assert not cluster.pbc.any() and distances[0] == 0 and np.all(np.diff(distances) >= -1e-12)
        assert distances.max() <= descriptor.cutoff + buffer
        assert cluster.arrays["source_index"][0] == centre and cluster.arrays["centre"].sum() == 1
        np.testing.assert_array_equal(cluster.arrays["id"], cluster.arrays["source_index"] + 1)
        inner = np.flatnonzero(distances < buffer)
        assert inner.size > 1
        y = descriptor.compute_atoms(cluster, inner)
        np.testing.assert_allclose(y, x[cluster.arrays["source_index"][inner]], rtol=1e-12, atol=1e-15)


def test_every_image_within_the_radius_is_kept_once():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)  # 4 atoms, 3.6 A cell: many images of each
    cluster = carve(atoms, 0, 7.0)
    offsets = cluster.positions - atoms.positions[0]
    assert len({tuple(np.round(p, 6)) for p in offsets}) == len(cluster)  # no point twice
    # the same count from an explicit lattice sum
    grid = np.array([(i, j, k) for i in range(-3, 4) for j in range(-3, 4) for k in range(-3, 4)]) @ atoms.cell
    points = (atoms.positions[None, :, :] + grid[:, None, :]).reshape(-1, 3) - atoms.positions[0]
    assert len(cluster) == int(np.sum(np.linalg.norm(points, axis=1) <= 7.0))


@pytest.mark.parametrize(
    "centre, radius, message",
    [
        (4, 5.0, "centre atom 4 is not in a structure of 4 atoms"),
        (0, -1.0, "carving radius must be a finite number > 0"),
    ],
)
def test_bad_carving_requests(centre, radius, message):
    with pytest.raises(ValueError, match=message):
        carve(bulk("Cu", "fcc", a=3.6, cubic=True), centre, radius)
