"""Species-aware QUESTS: the multicomponent descriptor (parity with the reference package), by-centre
comparisons (equal to each element's subset on its own), and species kept in reference files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk
from conftest import cu_cluster, on_reference_grid, slab, thermal
from quests.descriptor import get_descriptors_multicomponent
from quests_lmp import (
    Descriptor,
    MulticomponentDescriptor,
    Reference,
    ReferenceFileError,
    delta_entropy,
    entropy,
    entropy_and_diversity,
    entropy_by_element,
    self_delta_entropy,
)
from quests_lmp.engine.archive import read_archive
from quests_lmp.engine.reference_file import checksum

H = 0.015


def alloy(symbols=("Ni", "Al"), fractions=(0.75, 0.25), cell=None, seed=0, sigma=0.05):
    """A random substitutional alloy on an FCC lattice (periodic), thermalised."""
    atoms = bulk("Ni", "fcc", a=3.52, cubic=True).repeat(3) if cell is None else cell
    rng = np.random.default_rng(seed)
    atoms.symbols = rng.choice(list(symbols), size=len(atoms), p=list(fractions))
    return thermal(atoms, sigma, seed + 1)


def vacuum_twin(atoms, axes=(0, 1, 2)):
    """A fully periodic copy with more than the cutoff of vacuum along the open `axes`: the reference
    package treats every cell as periodic, so this is what it must be given for an open direction."""
    padded = atoms.copy()
    for axis in axes:
        padded.center(vacuum=6.0, axis=axis)
    padded.pbc = True
    padded = on_reference_grid(padded)
    open_atoms = atoms.copy()
    open_atoms.positions = padded.positions
    return open_atoms, padded


def assert_parity(ours_frames, oracle_frames, elements):
    ours = MulticomponentDescriptor(elements).compute(ours_frames)
    oracle = get_descriptors_multicomponent(oracle_frames, species=list(elements))
    assert ours.shape == oracle.shape
    np.testing.assert_allclose(ours, oracle, rtol=1e-10, atol=0)


@pytest.mark.parametrize("symbols, fractions", [(("Ni", "Al"), (0.75, 0.25)), (("Ni", "Al", "Cr"), (0.5, 0.3, 0.2))])
def test_multicomponent_matches_reference_package_for_periodic_cells(symbols, fractions):
    frame = on_reference_grid(alloy(symbols, fractions))
    assert_parity(frame, [frame], symbols)


def test_multicomponent_matches_reference_package_for_a_triclinic_cell():
    frame = on_reference_grid(alloy(cell=bulk("Ni", "fcc", a=3.52).repeat((4, 3, 3)), seed=4))
    assert_parity(frame, [frame], ("Ni", "Al"))


def test_multicomponent_matches_reference_package_for_open_and_mixed_boundaries():
    cluster = cu_cluster(30, seed=2)
    cluster.symbols[::3] = "Ag"
    cluster.cell = np.eye(3) * 10.0
    open_cluster, padded_cluster = vacuum_twin(cluster)
    film = slab()
    film.symbols[::4] = "Au"
    open_film, padded_film = vacuum_twin(film, axes=(2,))
    assert_parity([open_cluster, open_film], [padded_cluster, padded_film], ("Cu", "Ag", "Au"))


def test_multicomponent_matches_reference_package_when_a_frame_lacks_an_element():
    frames = [on_reference_grid(alloy(seed=5)), on_reference_grid(alloy(("Ni",), (1.0,), seed=6))]
    assert_parity(frames, frames, ("Al", "Ni"))


def test_multicomponent_structure_and_invariances():
    frame = alloy(("Ni", "Al", "Cr"), (0.5, 0.3, 0.2), seed=7)
    descriptor = MulticomponentDescriptor(["Ni", "Cr", "Al"], k=8, cutoff=4.0)
    x = descriptor.compute(frame)
    assert descriptor.n_features == 4 * 15 and list(descriptor.elements) == [13, 24, 28]  # Al, Cr, Ni
    blind = Descriptor(8, 4.0).compute(frame)
    np.testing.assert_array_equal(x[:, :8], blind[:, :8])
    np.testing.assert_array_equal(x[:, 32:39], blind[:, 8:])
    for part, z in enumerate(descriptor.elements, start=1):  # own-element blocks are zero elsewhere
        others = frame.numbers != z
        assert not x[others, part * 8 : (part + 1) * 8].any() and x[~others, part * 8].any()
    order = np.random.default_rng(0).permutation(len(frame))
    moved = frame[order]
    moved.rotate(33, "x", rotate_cell=True)
    moved.translate([1.0, -2.0, 0.5])
    np.testing.assert_allclose(descriptor.compute(moved), x[order], rtol=1e-10, atol=1e-13)
    assert MulticomponentDescriptor(["Ni"]).n_features == 63  # one element: the blind descriptor


def test_multicomponent_needs_numbers_and_distinct_elements():
    with pytest.raises(ValueError, match="atomic number of each"):
        MulticomponentDescriptor(["Ni", "Al"]).compute_points(np.zeros((2, 3)) + [[0, 0, 0], [2, 0, 0]], 2)
    with pytest.raises(ValueError, match="distinct"):
        MulticomponentDescriptor(["Ni", "Ni"])
    with pytest.raises(ValueError, match="'Xx' is not an element"):
        MulticomponentDescriptor(["Ni", "Xx"])


@pytest.fixture(scope="module")
def training():
    return [alloy(seed=10), alloy(seed=12, sigma=0.08)]


@pytest.fixture(scope="module")
def test_frame():
    return alloy(seed=20, sigma=0.1)


@pytest.mark.parametrize("multicomponent", [False, True])
def test_by_centre_equals_each_element_on_its_own(training, test_frame, multicomponent):
    reference = Reference.from_structures(training, multicomponent=multicomponent)
    descriptor = reference.descriptor
    y = descriptor.compute(test_frame)
    x = descriptor.compute(training)
    x_centres = np.concatenate([frame.numbers for frame in training])
    dh = reference.delta_entropy(test_frame, by_centre=True)
    for z in (13, 28):
        rows = test_frame.numbers == z
        alone = delta_entropy(y[rows], x[x_centres == z], H)
        np.testing.assert_allclose(dh[rows], alone, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            delta_entropy(y, x, H, test_frame.numbers, x_centres)[rows], alone, rtol=1e-12, atol=1e-12
        )
    table = entropy_by_element(x, x_centres, H)
    for symbol, z in (("Al", 13), ("Ni", 28)):
        n, h_value, d_value = table[symbol]
        assert n == np.sum(x_centres == z)
        assert h_value == pytest.approx(entropy(x[x_centres == z], H), rel=1e-12)
    n, total_h, total_d = table["total"]
    p = np.array([table["Al"][0], table["Ni"][0]]) / n
    assert total_h == pytest.approx(p @ [table["Al"][1], table["Ni"][1]] - p @ np.log(p), rel=1e-12)
    assert total_d == pytest.approx(np.log(np.exp(table["Al"][2]) + np.exp(table["Ni"][2])), rel=1e-12)
    assert (total_h, total_d) == pytest.approx(reference.entropy_and_diversity(by_centre=True), rel=1e-12)
    self_dh = self_delta_entropy(x, H, centres=x_centres)
    assert np.all(self_dh <= 0) and np.all(self_dh >= -np.log(n))
    assert total_h == pytest.approx(np.log(n) + self_dh.mean(), rel=1e-12)
    assert 0 <= total_h <= np.log(n)


def test_by_centre_separates_elements_that_the_blind_method_confuses():
    """The same geometry with the species shuffled: the blind descriptor cannot tell, and neither can
    by-centre with it (every centre keeps an FCC environment that the reference holds for its
    element); the multicomponent descriptor sees the arrangement of each element."""
    ordered = thermal(bulk("Ni", "fcc", a=3.52, cubic=True).repeat(3), 0.02, 1)
    ordered.symbols[::4] = "Al"  # L1_2-like: each cubic cell's corner atom
    swapped = ordered.copy()
    swapped.numbers = np.random.default_rng(3).permutation(ordered.numbers)
    for multicomponent, by_centre, expect_novel in [
        (False, False, False),
        (False, True, False),
        (True, False, True),
        (True, True, True),
    ]:
        reference = Reference.from_structures(ordered, multicomponent=multicomponent)
        dh = reference.delta_entropy(swapped, by_centre=by_centre)
        assert (np.mean(dh > 0) > 0.5) == expect_novel, (multicomponent, by_centre)


def test_approx_and_knn_by_centre_agree_with_exact(training, test_frame):
    reference = Reference.from_structures(training)
    exact = reference.delta_entropy(test_frame, by_centre=True)
    approx = reference.delta_entropy(test_frame, by_centre=True, method="approx", certificate=0.05, stop_below=-np.inf)
    assert np.all(approx >= exact - 1e-4) and np.all(approx <= exact + 0.05 + 1e-4)
    assert reference.element_part("Al").has_cluster_index and not reference.has_cluster_index
    knn = reference.delta_entropy(test_frame, by_centre=True, method="knn", neighbors=1000)
    np.testing.assert_allclose(knn, exact, atol=1e-6)


def test_elements_the_reference_lacks(training):
    reference = Reference.from_structures(training)
    stranger = alloy(("Ni", "Al", "Cr"), (0.5, 0.3, 0.2), seed=30)
    with pytest.raises(ValueError, match="element Cr is not in the reference .*Al Ni.*unknown novel"):
        reference.delta_entropy(stranger, by_centre=True)
    with pytest.raises(ValueError, match="element Cr is not in the reference"):
        reference.delta_entropy(stranger, unknown="error")
    chromium = stranger.numbers == 24
    for by_centre in (False, True):
        dh = reference.delta_entropy(stranger, by_centre=by_centre, unknown="novel")
        assert np.all(np.isinf(dh[chromium])) and np.all(np.isfinite(dh[~chromium]))
    blind = reference.delta_entropy(stranger)  # the paper's method compares any atoms
    assert np.all(np.isfinite(blind))
    with pytest.raises(ValueError, match="needs the element of each test environment"):
        reference.delta_entropy(reference.descriptor.compute(stranger), by_centre=True)


def test_species_are_kept_in_the_file(tmp_path, training):
    reference = Reference.from_structures(training, multicomponent=True)
    assert reference.elements == ["Al", "Ni"] and reference.multicomponent == ["Al", "Ni"]
    assert np.all(np.diff(reference.centres.astype(int)) >= 0)  # grouped by element
    loaded = Reference.load(reference.save(tmp_path / "alloy.npz"))
    np.testing.assert_array_equal(loaded.centres, reference.centres)
    np.testing.assert_array_equal(loaded.descriptors, reference.descriptors)
    assert loaded.elements == ["Al", "Ni"] and loaded.multicomponent == ["Al", "Ni"]
    assert isinstance(loaded.descriptor, MulticomponentDescriptor)
    assert "elements Al Ni, multicomponent" in repr(loaded)
    frame = alloy(seed=40)
    np.testing.assert_array_equal(
        loaded.delta_entropy(frame, by_centre=True), reference.delta_entropy(frame, by_centre=True)
    )


def test_each_elements_cluster_index_is_stored_and_loaded(tmp_path, training, test_frame):
    """Per-element indexes (species by-centre, method approx) go into the file (format version 3)
    and come back (memory-mapped where large, as every array of the file): nothing is built at load,
    and dH is the same as with the indexes built."""
    reference = Reference.from_structures(training)
    plain = Reference.load(reference.save(tmp_path / "plain.npz"))

    def format_version(name):
        return json.loads(read_archive(tmp_path / name)["header"].tobytes())["format_version"]

    assert plain.prepare("approx", by_centre=True) > 0  # built at every load
    assert format_version("plain.npz") == 2  # the format of files without them
    built = reference.build_element_indexes()
    assert sorted(built) == ["Al", "Ni"] and not reference.has_cluster_index
    loaded = Reference.load(reference.save(tmp_path / "indexed.npz"))
    assert format_version("indexed.npz") == 3
    assert loaded.prepare("approx", by_centre=True) == 0.0 and not loaded.has_cluster_index
    for name, index in built.items():
        stored = loaded.element_part(name).cluster_index()
        np.testing.assert_array_equal(stored.members, index.members)
    options = dict(by_centre=True, method="approx", certificate=0.05, stop_below=-np.inf)
    np.testing.assert_array_equal(
        loaded.delta_entropy(test_frame, **options), reference.delta_entropy(test_frame, **options)
    )
    np.testing.assert_array_equal(
        Reference.load(plain.save(tmp_path / "again.npz")).element_part("Al").cluster_index().members,
        built["Al"].members,
    )  # built on use, then stored; the same for a seed
    copper = Reference.from_structures([alloy(("Cu",), (1.0,), seed=3)])
    assert list(copper.build_element_indexes()) == ["Cu"] and copper.has_cluster_index  # one element: the whole's
    assert copper.element_part("Cu").cluster_index() is copper.cluster_index()


def test_corrupted_element_indexes_are_refused(tmp_path, training):
    from test_cluster_index import rewrite

    reference = Reference.from_structures(training)
    reference.build_element_indexes()

    def flip(arrays, header):
        arrays["index_z13_members"][2, 1] += 1.0

    def missing(arrays, header):
        for name in [name for name in arrays if name.startswith("index_z13_")]:
            del arrays[name]

    def extra(arrays, header):
        arrays["index_z13_spare"] = np.zeros(3)

    def swapped(arrays, header):  # each element's index under the other's number, checksums intact
        names = [name for name in arrays if name.startswith("index_z")]
        arrays.update(
            {
                name.replace("_z13_", "_z0_").replace("_z28_", "_z13_").replace("_z0_", "_z28_"): arrays.pop(name)
                for name in names
            }
        )
        entries = header["element_indexes"]
        header["element_indexes"] = {"13": entries["28"], "28": entries["13"]}

    for change, message in (
        (
            flip,
            r"the cluster index is corrupted \(checksum mismatch\); rebuild it: quests-lmp "
            r"reference index",
        ),
        (missing, "the per-element cluster indexes are incomplete"),
        (extra, "the per-element cluster indexes are incomplete or hold unknown arrays"),
        (swapped, f"the cluster index of element 13 does not match its {np.sum(reference.centres == 13)} environments"),
    ):
        path = reference.save(tmp_path / f"{change.__name__}.npz")
        rewrite(path, change)
        with pytest.raises(ReferenceFileError, match=message):
            Reference.load(path)


def test_regrouping_keeps_rows_with_their_centres():
    x = np.random.default_rng(1).random((6, 63))
    centres = np.array([28, 13, 28, 13, 13, 28])
    reference = Reference(x, centres=centres)
    np.testing.assert_array_equal(reference.centres, [13, 13, 13, 28, 28, 28])
    np.testing.assert_array_equal(reference.descriptors, x[[1, 3, 4, 0, 2, 5]])
    grouped = Reference(reference.descriptors, centres=reference.centres)
    assert np.shares_memory(grouped.descriptors, reference.descriptors)
    with pytest.raises(ValueError, match="6 atomic numbers"):
        Reference(x, centres=centres[:5])


def test_corrupted_species_records_are_refused(tmp_path, training):
    reference = Reference.from_structures(training)
    header = reference._header() | {"elements": ["Al", "Cu"]}
    header["sha256"] = checksum(reference.descriptors, header, reference.centres)
    with open(tmp_path / "bad.npz", "wb") as stream:
        np.savez(
            stream,
            descriptors=reference.descriptors,
            centres=reference.centres,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        )
    with pytest.raises(ReferenceFileError, match="species records are inconsistent"):
        Reference.load(tmp_path / "bad.npz")
    header = reference._header()
    header["sha256"] = checksum(reference.descriptors, header, reference.centres)
    with open(tmp_path / "swapped.npz", "wb") as stream:
        np.savez(
            stream,
            descriptors=reference.descriptors,
            centres=np.sort(reference.centres)[::-1].copy(),
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        )
    with pytest.raises(ReferenceFileError, match="species records are inconsistent"):
        Reference.load(tmp_path / "swapped.npz")


def test_blind_entropy_is_unchanged_by_species(training):
    reference = Reference.from_structures(training)
    x = Descriptor().compute(training)
    assert reference.entropy_and_diversity() == pytest.approx(entropy_and_diversity(x, H), rel=1e-12)
