"""Collection of novel environments (quests_lmp.lammps.collection) on one rank, from owned and ghost
points as LAMMPS hands them over: order, merging of neighbors, coverage, caps, and a file of
whole frames whose centres give their dH again."""

from __future__ import annotations

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from quests_lmp import Descriptor, Reference
from quests_lmp.lammps.collection import Collector, CollectSettings
from quests_lmp.parallel import World


def domain(atoms, reach):
    """(points, tags, numbers) of a one-rank domain: the atoms, then their periodic images within
    `reach` (A) of the box, as ghost atoms."""
    cell = np.asarray(atoms.cell)
    shifts = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if (i, j, k) != (0, 0, 0)])
    points, tags = [atoms.positions], [np.arange(len(atoms)) + 1]
    lengths = np.diag(cell)
    for shift in shifts:
        moved = atoms.positions + shift @ cell
        near = np.all((moved > -reach) & (moved < lengths + reach), axis=1)
        points.append(moved[near])
        tags.append(np.flatnonzero(near) + 1)
    tags = np.concatenate(tags)
    return np.concatenate(points), tags, atoms.numbers[tags - 1]


@pytest.fixture(scope="module")
def system():
    """A 500-atom FCC Cu box with a hot spot (novel atoms) around atom 0, and a cool reference."""
    reference = Reference.from_structures(
        [thermal(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(4), 0.03, s) for s in range(2)]
    )
    atoms = thermal(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(5), 0.03, 7)
    distances = atoms.get_distances(0, range(len(atoms)), mic=True)
    hot = distances < 4.0
    atoms.positions[hot] += np.random.default_rng(1).normal(0.0, 0.25, (hot.sum(), 3))
    points, tags, numbers = domain(atoms, 11.0)
    centers = np.arange(len(atoms))
    x = Descriptor().compute_points(points, centers)
    dh = reference.delta_entropy(x)
    return reference, atoms, points, tags, numbers, centers, x, dh


def collect(system, path, **settings):
    reference, atoms, points, tags, numbers, centers, x, dh = system
    collector = Collector(CollectSettings(str(path), **settings), reference.descriptor.cutoff, reference.bandwidth)
    written = collector.collect(100, points, tags, numbers, centers, x, dh, atoms.cell, atoms.pbc)
    return written, ase.io.read(path, ":") if written else []


def test_collected_centres_give_their_dh_again(system, tmp_path, monkeypatch):
    """To 1e-10 from the clusters as cut out; to 1e-6 nats or 1e-7 relative from the file, whose coordinates ASE's
    extxyz writer rounds to 1e-8 A (dH moves by about 1e-7 nats per 1e-8 A at h = 0.015 1/A)."""
    reference, atoms, points, tags, numbers, centers, x, dh = system
    cut = []
    append = Collector._append
    monkeypatch.setattr(Collector, "_append", lambda self, clusters: (cut.extend(clusters), append(self, clusters)))
    written, clusters = collect(system, tmp_path / "c.extxyz", max_per_evaluation=5)
    assert 1 <= written <= 5 and len(clusters) == written == len(cut)
    for cluster in cut:
        recomputed = reference.delta_entropy(Descriptor().compute_atoms(cluster, [0]))[0]
        assert recomputed == pytest.approx(dh[cluster.info["centre_id"] - 1], rel=1e-10)
    novel = dh[centers] > 0
    assert clusters[0].info["centre_id"] == int(np.argmax(dh[centers])) + 1  # the most novel atom first
    for cluster in clusters:
        centre = cluster.info["centre_id"] - 1
        assert cluster.info["timestep"] == 100 and cluster.arrays["centre"][0] and novel[centre]
        assert cluster.arrays["id"][0] == centre + 1 and cluster.info["dH"] == dh[centre]
        # ghosts' dH from their owners, with the 8 decimals extxyz keeps per atom
        np.testing.assert_allclose(cluster.arrays["dH"], dh[cluster.arrays["id"] - 1], rtol=0, atol=1e-8)
        recomputed = reference.delta_entropy(Descriptor().compute_atoms(cluster, [0]))[0]
        assert recomputed == pytest.approx(dh[centre], rel=1e-7, abs=1e-6)
        distances = np.linalg.norm(cluster.positions - cluster.positions[0], axis=1)
        assert distances.max() <= 10.0  # (an 18 A box: some atoms appear as two images)
    centres = np.array([cluster.positions[0] for cluster in clusters])
    gaps = [np.min(np.linalg.norm(centres[:i] - centres[i], axis=1)) for i in range(1, len(centres))]
    assert all(gap > 5.0 for gap in gaps)  # a neighbor within the buffer is merged into the first cluster


def test_caps_coverage_and_discard(system, tmp_path):
    reference, atoms, points, tags, numbers, centers, x, dh = system
    assert collect(system, tmp_path / "a.extxyz", max_per_evaluation=1)[0] == 1
    top = float(dh.max())
    assert (
        collect(system, tmp_path / "b.extxyz", discard_above=top - 1e-9, max_per_evaluation=1)[1][0].info["centre_id"]
        != int(np.argmax(dh[centers])) + 1
    )
    assert collect(system, tmp_path / "n.extxyz", threshold=top)[0] == 0  # nothing above the threshold
    collector = Collector(
        CollectSettings(str(tmp_path / "r.extxyz"), max_per_run=3), reference.descriptor.cutoff, reference.bandwidth
    )
    first = collector.collect(1, points, tags, numbers, centers, x, dh, atoms.cell, atoms.pbc)
    again = collector.collect(2, points, tags, numbers, centers, x, dh, atoms.cell, atoms.pbc)
    assert first == 3 and again == 0  # the run's cap, and the same environments are covered now
    bigger = Collector(
        CollectSettings(str(tmp_path / "s.extxyz"), max_per_evaluation=2),
        reference.descriptor.cutoff,
        reference.bandwidth,
    )
    assert bigger.collect(1, points, tags, numbers, centers, x, dh, atoms.cell, atoms.pbc) == 2
    assert bigger.collect(2, points, tags, numbers, centers, x, dh, atoms.cell, atoms.pbc) == 2  # the next ones
    steps = [cluster.info["timestep"] for cluster in ase.io.read(tmp_path / "s.extxyz", ":")]
    assert steps == [1, 1, 2, 2]


def test_by_centre_coverage_counts_only_the_same_element(system, tmp_path):
    """Species blind, the environments collected around Cu atoms cover the same geometry around Ni
    atoms; by centre they do not (as dH compares each atom with its own element only), and they
    still cover the Cu atoms."""
    reference, atoms, points, tags, numbers, centers, x, dh = system
    nickel = np.full_like(numbers, 28)
    counts = {}
    for by_centre in (False, True):
        collector = Collector(
            CollectSettings(str(tmp_path / f"{by_centre}.extxyz"), max_per_evaluation=100),
            reference.descriptor.cutoff,
            reference.bandwidth,
            by_centre=by_centre,
        )
        counts[by_centre] = [
            collector.collect(step, points, tags, elements, centers, x, dh, atoms.cell, atoms.pbc)
            for step, elements in enumerate((numbers, nickel, numbers))
        ]
    first = counts[False][0]
    assert first >= 2 and counts == {False: [first, 0, 0], True: [first, first, 0]}


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"max_per_evaluation": 0}, "collect_max must be >= 1"),
        ({"discard_above": -1.0}, "must be above the collect threshold"),
        ({"buffer": -2.0}, "collect_buffer must be a finite number >= 0"),
    ],
)
def test_bad_collect_settings(settings, message):
    with pytest.raises(ValueError, match=message):
        Collector(CollectSettings("c.extxyz", **settings), 5.0, 0.015)


class TwoRanks:
    """The part of a communicator World uses, as rank 1 of 2 sees it (values of rank 0: None)."""

    def Get_rank(self):  # noqa: N802 - mpi4py's name
        return 1

    def Get_size(self):  # noqa: N802 - mpi4py's name
        return 2

    def gather(self, value, root=0):
        return None

    def bcast(self, value, root=0):
        return "from rank 0"

    def allgather(self, value):
        return [None, value]


def test_world_wraps_any_communicator(tmp_path):
    """World over a communicator it did not make (LAMMPS's, or the fix's HostComm): rank, size,
    split, exchanges and failure agreement go through that communicator."""
    world = World(comm=TwoRanks())
    assert (world.rank, world.size, world.is_root, world.block(5)) == (1, 2, False, (3, 5))
    assert world.gather(7) is None and world.bcast(None) == "from rank 0" and world.allgather(7) == [None, 7]
    assert world.each(lambda: 3) == 3
    with pytest.raises(TypeError, match="agree needs an mpi4py communicator"):
        world.agree(None)
    collector = Collector(CollectSettings(str(tmp_path / "c.extxyz")), 5.0, 0.015, world=World(mpi=False))
    assert collector.is_root and collector.world.size == 1
