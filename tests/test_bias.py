"""Bias energies of dH (quests_lmp.engine.bias): forces are -dE/dpositions (central differences,
away from the descriptor's kinks) on periodic, triclinic, open and mixed-pbc structures for both
bias forms and both methods (exact and approx), they sum to zero, and the virial is the strain
derivative."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from quests_lmp import Reference
from quests_lmp.engine.bias import Bias, bias_forces
from quests_lmp.engine.periodic import periodic_images
from test_gradients import assert_equals_finite_differences

CU = bulk("Cu", "fcc", a=3.615, cubic=True)


def structures():
    """Thermal Cu hotter than the reference: a periodic cube, a triclinic periodic cell, an open
    cluster and a slab periodic in x and y only."""
    triclinic = thermal(bulk("Cu", "fcc", a=3.615).repeat((4, 4, 4)), 0.09, 6)
    open_cluster = thermal(CU.repeat(3), 0.09, 7)
    open_cluster.pbc = False
    slab = thermal(CU.repeat((3, 3, 3)), 0.09, 8)
    slab.pbc = (True, True, False)
    return {"periodic": thermal(CU.repeat(3), 0.09, 5), "triclinic": triclinic, "open": open_cluster, "mixed-pbc": slab}


@pytest.fixture(scope="module")
def reference():
    """432 thermal Cu environments, with the cluster index of method approx built."""
    reference = Reference.from_structures([thermal(CU.repeat(3), 0.05, seed) for seed in (1, 2, 3, 4)])
    reference.build_cluster_index()
    return reference


@pytest.fixture(scope="module")
def system(reference):
    return reference, structures()["periodic"]


METHODS = {"exact": {}, "approx": {"method": "approx", "certificate": 0.1, "stop_below": -1.0}}


def periodic(bias, reference, atoms, method="exact"):
    """(BiasResult over the atoms and their images, forces on the atoms with the images' shares
    summed onto them)."""
    points, owners = periodic_images(atoms.positions, atoms.cell.array, atoms.pbc, reference.cutoff, sources=True)
    result = bias_forces(bias, reference, reference.bandwidth, points, np.arange(len(atoms)), **METHODS[method])
    forces = np.zeros((len(atoms), 3))
    np.add.at(forces, owners, result.forces)
    return result, forces


def energy_of(bias, reference, atoms, method="exact"):
    def energy(positions):
        moved = atoms.copy()
        moved.positions = positions
        return periodic(bias, reference, moved, method)[0].energy

    return energy


BIASES = [Bias("explore", 0.05, 2.0), Bias("wall", 0.02, -1.0)]
CASES = [(structure, bias, method) for structure in structures() for bias in BIASES for method in METHODS]


@pytest.mark.parametrize("structure, bias, method", CASES, ids=[f"{s}-{b.kind}-{m}" for s, b, m in CASES])
def test_forces_are_minus_the_energy_gradient(reference, structure, bias, method):
    atoms = structures()[structure]
    result, forces = periodic(bias, reference, atoms, method)
    assert bias.kind != "wall" or 0 < np.sum(result.dh > bias.level) < len(atoms)  # the wall acts on some atoms
    assert_equals_finite_differences(
        -forces, energy_of(bias, reference, atoms, method), atoms.positions, np.arange(0, len(atoms), 9)
    )
    np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=1e-10 * np.abs(forces).max())  # no net force
    # no net torque: the virial is symmetric, so its six components are all of it
    points = periodic_images(atoms.positions, atoms.cell.array, atoms.pbc, reference.cutoff)
    full = np.einsum("pa,pb->ab", points, result.forces)
    np.testing.assert_allclose(full - full.T, 0.0, atol=1e-10 * np.abs(full).max())
    np.testing.assert_allclose(result.virial, full[[0, 1, 2, 0, 0, 1], [0, 1, 2, 1, 2, 2]])


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("bias", [Bias("explore", 0.05, 2.0), Bias("wall", 0.02, -3.0)], ids=lambda b: b.kind)
def test_by_centre_forces_are_minus_the_energy_gradient(bias, method):
    """Species by-centre (Ni3Al with antisites): each dH against its element's reference
    environments (the values of Reference.delta_entropy(by_centre=True)), forces -dE/dr."""
    from lammps_runner import ni3al

    reference = Reference.from_structures([ni3al(seed, 0.06) for seed in (1, 2)])
    reference.build_cluster_index()
    for element in ("Ni", "Al"):
        reference.element_part(element).build_cluster_index()
    atoms = ni3al(3, 0.09, antisites=6)

    def biased(positions):
        moved = atoms.copy()
        moved.positions = positions
        points, owners = periodic_images(moved.positions, moved.cell.array, moved.pbc, reference.cutoff, sources=True)
        result = bias_forces(
            bias,
            reference,
            reference.bandwidth,
            points,
            np.arange(len(atoms)),
            **METHODS[method],
            by_centre=True,
            numbers=moved.numbers[owners],
        )
        forces = np.zeros((len(atoms), 3))
        np.add.at(forces, owners, result.forces)
        return result, forces

    result, forces = biased(atoms.positions)
    points, owners = periodic_images(atoms.positions, atoms.cell.array, atoms.pbc, reference.cutoff, sources=True)
    first = bias_forces(
        bias,
        reference,
        reference.bandwidth,
        points,
        len(atoms),
        **METHODS[method],
        by_centre=True,
        numbers=atoms.numbers[owners],
    )  # the first len(atoms) points: the same atoms
    np.testing.assert_array_equal(first.dh, result.dh)
    options = dict(METHODS[method], **({"stop_below": min(-1.0, bias.stop_below)} if method == "approx" else {}))
    expected = reference.delta_entropy(atoms, by_centre=True, **options)  # approx: summed as far as the bias needs
    np.testing.assert_allclose(
        result.dh, expected, rtol=1e-9 if method == "exact" else 0, atol=1e-10 if method == "exact" else 1e-4
    )  # approx: float64 here, float32 terms there
    assert bias.kind != "wall" or 0 < np.sum(result.dh > bias.level) < len(atoms)
    assert_equals_finite_differences(
        -forces, lambda positions: biased(positions)[0].energy, atoms.positions, np.arange(0, len(atoms), 23)
    )
    np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=1e-10 * np.abs(forces).max())


def test_by_centre_needs_the_elements_and_known_ones(system):
    reference = Reference.from_structures([thermal(CU.repeat(2), 0.05, 1)])
    points = thermal(CU.repeat(2), 0.05, 2).positions
    with pytest.raises(ValueError, match="needs the element of each test environment's centre"):
        bias_forces(BIASES[0], reference, reference.bandwidth, points, np.arange(8), by_centre=True)
    with pytest.raises(ValueError, match=r"numbers must hold one atomic number per point \(32\), got shape \(8,\)"):
        bias_forces(
            BIASES[0], reference, reference.bandwidth, points, np.arange(8), by_centre=True, numbers=np.full(8, 29)
        )
    with pytest.raises(ValueError, match="element Ni is not in the reference"):
        bias_forces(
            BIASES[0],
            reference,
            reference.bandwidth,
            points,
            np.arange(8),
            by_centre=True,
            numbers=np.full(len(points), 28),
        )


def test_approx_is_a_certified_partial_sum(reference):
    """Method approx's dH (the partial sum the forces differentiate) lies within the certificate
    above the exact value wherever the bias depends on dH (explore: every atom; wall: above its
    threshold less 1 nat), so the energy is exact's to within the certificate, whatever stop level
    the alarm asks for; below that approx may stop early."""
    cool = thermal(CU.repeat(3), 0.05, 9)  # inside the reference: every exact dH well below -1
    cut_short = []
    for bias, atoms in (
        (Bias("explore", 0.05, -2.0), structures()["periodic"]),
        (Bias("wall", 0.2, -1.4), cool),
        (Bias("wall", 0.02, -1.0), structures()["periodic"]),
    ):
        exact, _ = periodic(bias, reference, atoms)
        approx, _ = periodic(bias, reference, atoms, "approx")  # the alarm's stop level -1 asked for
        certified = exact.dh > bias.stop_below
        excess = approx.dh - exact.dh
        assert np.all(excess[certified] >= -1e-5) and np.all(excess[certified] <= 0.1 + 1e-5)
        assert np.all(approx.dh[~certified] <= bias.stop_below + 1e-5) and np.all(excess[~certified] >= -1e-5)
        slope = bias.strength * (0.1 if bias.kind == "explore" else 0.1 + max(exact.dh.max() - bias.level, 0.0))
        assert abs(approx.energy - exact.energy) <= slope * len(atoms) * 1.0001
        if bias.kind == "explore":
            assert certified.all() and exact.dh.min() < -3.0  # summed on far below the alarm's level
        elif atoms is cool:
            assert exact.dh.max() < bias.level and exact.energy == approx.energy == 0.0
        cut_short.append(np.sum(excess > 1e-3))
    assert cut_short[0] == 0 < cut_short[1]  # explore: none, the cool crystal's wall: some sums cut short


@pytest.mark.parametrize("structure, method", [("periodic", "exact"), ("triclinic", "exact"), ("triclinic", "approx")])
@pytest.mark.parametrize("bias", BIASES, ids=lambda b: b.kind)
def test_virial_is_minus_the_strain_derivative(reference, structure, method, bias):
    """E(cell (1 + e)) for a homogeneous strain e: dE/de_ab = -sum_p r_a F_b = -W_ab. A strain moves
    every atom, so a kink of the descriptor (two cross terms swapping order) lies within 1e-7 of
    strain here: steps of 1e-8, where the rounding of E (about 1e-13 relative) limits the match
    to about 1e-5 of the largest component."""
    atoms = structures()[structure]
    result, _ = periodic(bias, reference, atoms, method)
    w = result.virial
    virial = np.array([[w[0], w[3], w[4]], [w[3], w[1], w[5]], [w[4], w[5], w[2]]])
    compared = 0
    for a, b in [(0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2)]:
        estimates = []
        for step in (2e-8, 1e-8):  # disagreeing estimates (a kink within the step) skip the component
            energies = []
            for sign in (1, -1):
                strain = np.eye(3)
                strain[a, b] += sign * step
                strained = atoms.copy()
                strained.set_cell(atoms.cell.array @ strain.T, scale_atoms=True)
                energies.append(periodic(bias, reference, strained, method)[0].energy)
            estimates.append((energies[0] - energies[1]) / (2 * step))
        if abs(estimates[0] - estimates[1]) > 2e-5 * np.abs(virial).max():
            continue
        compared += 1
        assert estimates[1] == pytest.approx(-virial[a, b], rel=0, abs=2e-5 * np.abs(virial).max())
    assert compared >= 4


def test_energies_and_bad_parameters():
    dh = np.array([-50.0, -1.0, 0.0, 2.0, 400.0])
    energies, slopes = Bias("wall", 2.0, 0.5).energies(dh)
    np.testing.assert_allclose(energies, [0, 0, 0, 2.25, 0.5 * 2 * 399.5**2])
    np.testing.assert_allclose(slopes, [0, 0, 0, 3.0, 2 * 399.5])
    energies, slopes = Bias("explore", 1.0, 3.0).energies(dh)
    assert np.all(np.isfinite(energies)) and np.all(np.diff(energies) < 0)  # rewards dH
    assert energies[0] == pytest.approx(-dh[0], rel=1e-12) and energies[-1] == pytest.approx(-3.0, rel=1e-12)
    assert slopes[0] == pytest.approx(-1.0) and abs(slopes[-1]) < 1e-100  # saturated above the cap
    for kind, strength, level, message in [
        ("push", 1.0, 0.0, "bias must be explore or wall"),
        ("wall", 0.0, 0.0, "strength must be a finite number > 0"),
        ("explore", 1.0, float("inf"), "cap must be a finite number"),
    ]:
        with pytest.raises(ValueError, match=message):
            Bias(kind, strength, level)


def test_ase_calculator_adds_the_bias_to_any_calculator(system):
    """QuestsBias(EMT()): energy, forces and stress are EMT's plus the bias's; forces are -dE/dr and the
    stress is the strain derivative of the total energy per volume (ASE's numerical stress)."""
    from ase.calculators.emt import EMT
    from ase.calculators.fd import calculate_numerical_stress
    from quests_lmp.ase import QuestsBias

    reference, atoms = system
    bias = BIASES[1]
    atoms = atoms.copy()
    atoms.calc = QuestsBias(EMT(), reference, bias.kind, bias.strength, bias.level)
    expected, forces = periodic(bias, reference, atoms)
    plain = atoms.copy()
    plain.calc = EMT()
    assert atoms.get_potential_energy() == pytest.approx(plain.get_potential_energy() + expected.energy, rel=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), plain.get_forces() + forces, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(atoms.calc.results["dH"], expected.dh, rtol=1e-9, atol=1e-10)  # other image order
    stress = atoms.get_stress()
    numerical = calculate_numerical_stress(atoms, eps=1e-8, force_consistent=False)
    np.testing.assert_allclose(stress, numerical, rtol=0, atol=2e-5 * np.abs(stress).max())


def test_ase_calculator_refuses_bad_parameters(system):
    from ase.calculators.emt import EMT
    from quests_lmp.ase import QuestsBias

    with pytest.raises(ValueError, match="bias must be explore or wall"):
        QuestsBias(EMT(), system[0], "push", 1.0, 0.0)
    with pytest.raises(ValueError, match="forces of method knn are not implemented"):
        QuestsBias(EMT(), system[0], "wall", 1.0, 0.0, method="knn")
    with pytest.raises(ValueError, match="certificate is a setting of method approx"):
        QuestsBias(EMT(), system[0], "wall", 1.0, 0.0, certificate=0.1)


def test_ase_calculator_with_method_approx(system):
    """QuestsBias(method="approx"): the engine's approximate forces, -dE/dr of its partial sums."""
    from ase.calculators.emt import EMT
    from quests_lmp.ase import QuestsBias

    reference, atoms = system
    atoms = atoms.copy()
    bias = BIASES[0]
    atoms.calc = QuestsBias(EMT(), reference, bias.kind, bias.strength, bias.level, method="approx", certificate=0.1)
    expected, forces = periodic(bias, reference, atoms, "approx")
    plain = atoms.copy()
    plain.calc = EMT()
    np.testing.assert_allclose(atoms.get_forces(), plain.get_forces() + forces, rtol=1e-10, atol=1e-12)
    assert atoms.calc.results["bias_energy"] == pytest.approx(expected.energy, rel=1e-10)
