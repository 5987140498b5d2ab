"""Method approx, the certified cluster index: its bound holds against exact dH, it never
under-estimates beyond float32 rounding, and it survives the reference file (round trip, old
files, corruption)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from ase.build import bulk
from conftest import APPROX_RELATIVE, APPROX_ROUNDING, thermal
from lammps_runner import memory_mapped
from quests_lmp import Descriptor, Reference
from quests_lmp.engine.archive import read_archive, write_archive
from quests_lmp.engine.cluster_index import ClusterIndex
from quests_lmp.engine.kmeans import kmeans, nearest_centroid
from quests_lmp.engine.reference_file import ReferenceFileError, index_checksum

ROUNDING, RELATIVE = APPROX_ROUNDING, APPROX_RELATIVE


def strained(atoms, factor, seed):
    atoms = atoms.copy()
    atoms.set_cell(atoms.cell * factor, scale_atoms=True)
    return thermal(atoms, 0.1, seed)


@pytest.fixture(scope="module")
def thermal_cu():
    """Reference: FCC Cu at four noise levels (16,000 environments); test: hotter, compressed and
    stretched Cu, from deeply covered to strongly novel."""
    crystal = bulk("Cu", "fcc", a=3.61, cubic=True)
    x = Descriptor().compute(
        [thermal(crystal.repeat(10), sigma, seed) for seed, sigma in enumerate((0.05, 0.08, 0.1, 0.12))]
    )
    y = Descriptor().compute(
        [
            thermal(crystal.repeat(5), 0.16, 7),
            strained(crystal.repeat(4), 0.95, 8),
            strained(crystal.repeat(4), 1.04, 9),
            thermal(crystal.repeat(4), 0.06, 10),
        ]
    )
    reference = Reference(x)
    return reference, y, reference.delta_entropy(y)


@pytest.fixture(scope="module")
def random_points():
    """Clustered random points (not descriptors): many clusters of one to a few shells."""
    rng = np.random.default_rng(3)
    centres = rng.normal(0.0, 0.2, (40, 9))
    x = centres[rng.integers(0, 40, 3000)] + rng.normal(0.0, 0.03, (3000, 9))
    y = np.vstack([centres[rng.integers(0, 40, 300)] + rng.normal(0.0, 0.04, (300, 9)), rng.normal(0.0, 0.3, (100, 9))])
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def assert_certified(approx, exact, certificate, stop_below):
    """The module's promise: never below exact beyond rounding; within the certificate above
    stop_below; at or below stop_below (and so not novel) where it stopped early."""
    error = approx - exact
    assert np.all(error >= -ROUNDING - RELATIVE * np.abs(exact))
    decided = exact > stop_below
    assert decided.sum() > 20
    assert np.all(error[decided] <= certificate + ROUNDING + RELATIVE * np.abs(exact[decided]))
    assert np.all(approx[~decided] <= stop_below + certificate + ROUNDING)
    assert not np.any((exact > 0) & (approx <= 0))  # no novel atom reported covered
    assert not np.any((exact < -certificate - ROUNDING) & (approx > 0))  # no covered atom reported novel


@pytest.mark.parametrize("certificate", [0.1, 0.01])
def test_certificate_holds_on_thermal_copper(thermal_cu, certificate):
    reference, y, exact = thermal_cu
    approx = reference.delta_entropy(y, method="approx", certificate=certificate)
    assert (exact > 0).mean() > 0.2 and (exact < -3).mean() > 0.2  # both sides of the threshold are tested
    assert_certified(approx, exact, certificate, -1.0)


def test_covered_atoms_stop_below_minus_one_and_finish_early(thermal_cu):
    reference, y, exact = thermal_cu
    approx = reference.delta_entropy(y, method="approx")
    stopped = (approx <= -1.0) & (approx - exact > 0.1 + ROUNDING)
    assert stopped.sum() > 100  # deeply covered atoms did not sum their whole neighborhood
    assert np.all(exact[stopped] < -1.0)
    everywhere = reference.delta_entropy(y, method="approx", stop_below=-np.inf)
    assert_certified(everywhere, exact, 0.1, -np.inf)


def test_zero_certificate_sums_every_term(thermal_cu):
    reference, y, exact = thermal_cu
    approx = reference.delta_entropy(y, method="approx", certificate=0.0, stop_below=-np.inf)
    np.testing.assert_allclose(approx, exact, rtol=0, atol=ROUNDING)


@pytest.mark.parametrize("clusters, shell", [(1, 64), (12, 16), (40, 256), (300, 4)])
def test_certificate_holds_on_random_points(random_points, clusters, shell):
    x, y = random_points
    exact = Reference(x, k=5).delta_entropy(y, h=0.03)
    index = ClusterIndex.build(x, clusters, shell_size=shell)
    assert index.n_units >= clusters
    for certificate in (0.1, 0.5):
        approx = index.delta_entropy(y, np.array([0.03]), certificate, -1.0)[:, 0]
        assert_certified(approx, exact, certificate, -1.0)


@pytest.mark.parametrize("clusters, shell", [(5, 64), (10, 8), (200, 2)])
def test_certificate_is_met_where_the_bounds_are_tight(clusters, shell):
    """On a line the triangle-inequality bounds are nearly the distances, so the unvisited mass is
    nearly what the bound says and over-estimates come close to the certificate: this catches a
    stopping rule that is too loose, which the loose bounds of 63 dimensions would hide."""
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.0, 1.0, (4000, 1)), rng.uniform(-0.2, 1.2, (500, 1))
    exact = Reference(x, k=1).delta_entropy(y, h=0.02)
    index = ClusterIndex.build(x, clusters, shell_size=shell)
    for certificate in (0.1, 0.01):
        approx = index.delta_entropy(y, np.array([0.02]), certificate, -np.inf)[:, 0]
        assert_certified(approx, exact, certificate, -np.inf)
        assert (approx - exact).max() > (0.25 * certificate if shell < 64 else 0.0)


def test_several_bandwidths_and_threads(thermal_cu):
    import numba

    reference, y, _ = thermal_cu
    both = reference.delta_entropy(y, h=[0.015, 0.03], method="approx")
    np.testing.assert_array_equal(both[:, 0], reference.delta_entropy(y, h=0.015, method="approx"))
    assert_certified(both[:, 1], reference.delta_entropy(y, h=0.03), 0.1, -1.0)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = reference.delta_entropy(y, method="approx")
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_allclose(both[:, 0], serial, rtol=0, atol=ROUNDING)  # other GEMM blocks: float32 rounding


def test_index_round_trips_through_the_file(tmp_path, thermal_cu):
    reference, y, _ = thermal_cu
    fresh = Reference(reference.descriptors)
    expected = fresh.delta_entropy(y, method="approx")
    path = fresh.save(tmp_path / "indexed.npz")
    loaded = Reference.load(path)
    assert loaded.has_cluster_index
    for name, array in fresh.cluster_index().arrays().items():
        np.testing.assert_array_equal(getattr(loaded.cluster_index(), name), array)
    np.testing.assert_array_equal(loaded.delta_entropy(y, method="approx"), expected)
    rebuilt = Reference(reference.descriptors).build_cluster_index()  # deterministic for a seed
    np.testing.assert_array_equal(rebuilt.members, loaded.cluster_index().members)
    assert memory_mapped(loaded.cluster_index().members)  # shared by the processes of a node


def test_file_without_index_loads_and_builds_it_on_use(tmp_path, thermal_cu):
    reference, y, _ = thermal_cu
    path = Reference(reference.descriptors).save(tmp_path / "plain.npz")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["descriptors.npy", "header.npy"]  # the format before the index
    loaded = Reference.load(path)
    assert not loaded.has_cluster_index
    loaded.delta_entropy(y[:10], method="approx")
    assert loaded.has_cluster_index


def rewrite(path, change):
    """The file's arrays after change(arrays, header), written back with valid outer checksums."""
    from quests_lmp.engine.reference_file import checksum

    arrays = {name: np.array(array) for name, array in read_archive(path).items()}
    header = json.loads(arrays.pop("header").tobytes())
    change(arrays, header)
    header["sha256"] = checksum(arrays["descriptors"], header, arrays.get("centres"))
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(path, "wb") as stream:
        write_archive(stream, arrays)


def test_corrupt_index_is_refused(tmp_path, thermal_cu):
    reference, _, _ = thermal_cu
    path = Reference(reference.descriptors).save(tmp_path / "r.npz")
    reference_index = Reference(reference.descriptors)
    reference_index.cluster_index()
    reference_index.save(path, overwrite=True)

    def flip(arrays, header):
        arrays["index_members"][5, 3] += 1.0

    rewrite(path, flip)
    with pytest.raises(
        ReferenceFileError,
        match=r"the cluster index is corrupted \(checksum mismatch\); rebuild "
        r"it: quests-lmp reference index",
    ):
        Reference.load(path)

    def inconsistent(arrays, header):  # a checksum that matches numbers that make no index
        arrays["index_unit_start"][-1] += 7
        index_arrays = {name.removeprefix("index_"): a for name, a in arrays.items() if name.startswith("index_")}
        header["index"]["sha256"] = index_checksum(index_arrays, header["index"])

    reference_index.save(path, overwrite=True)
    rewrite(path, inconsistent)
    with pytest.raises(
        ReferenceFileError,
        match=r"cluster index is corrupted \(its arrays are inconsistent "
        r"\(unit starts\)\)",
    ):
        Reference.load(path)

    def missing(arrays, header):
        del arrays["index_centroids"]

    reference_index.save(path, overwrite=True)
    rewrite(path, missing)
    with pytest.raises(ReferenceFileError, match="the cluster index is incomplete"):
        Reference.load(path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(method="approx", certificate=-0.1), "certificate must be a number of nats >= 0"),
        (dict(method="approx", certificate=float("nan")), "certificate must be a number of nats >= 0"),
        (dict(method="exact", certificate=0.1), "certificate is a setting of method approx, not exact"),
        (dict(method="approx", precision="single"), "precision single is for method exact"),
        (dict(method="fast"), "method must be 'exact', 'approx' or 'knn'"),
    ],
)
def test_bad_options(thermal_cu, kwargs, message):
    reference, y, _ = thermal_cu
    with pytest.raises(ValueError, match=message):
        reference.delta_entropy(y[:3], **kwargs)


def test_kmeans_assigns_each_point_to_its_nearest_mean(random_points):
    x, _ = random_points
    labels, centroids = kmeans(x, 40, seed=1)
    again, _ = kmeans(x, 40, seed=1)
    np.testing.assert_array_equal(labels, again)
    assert labels.min() == 0 and labels.max() == len(centroids) - 1 and len(np.unique(labels)) == len(centroids)
    for label in range(len(centroids)):
        np.testing.assert_allclose(centroids[label], x[labels == label].mean(axis=0), rtol=0, atol=1e-12)
    assert np.mean(nearest_centroid(x, centroids) == labels) > 0.99  # float32 ties aside, a fixed point
