"""quests_lmp.analysis.thermodynamics: the Einstein crystal's free energy, the switching estimate,
Gibbs-Helmholtz and the phase boundary, each against a case with a closed-form answer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import ANALYTIC_PHASES, analytic_boundary, analytic_points
from quests_lmp.analysis.thermodynamics import (
    BOLTZMANN,
    HBAR,
    PhaseFit,
    centre_of_mass_correction,
    einstein_free_energy,
    einstein_frequency,
    fit_phases,
    gibbs_helmholtz,
    harmonic_free_energy,
    information_free_energy,
    phase_boundary,
    solid_free_energy,
    switching_free_energy,
    switching_work,
)

SPRING, COPPER = 34.148, 63.546  # eV/A^2 (the paper's), amu


def test_the_einstein_crystal_obeys_its_own_thermodynamics():
    """S = -dF/dT = 3 k (1 + ln(kT / hbar omega)) and U = F + T S = 3 k T (classical)."""
    t = np.array([300.0, 1000.0, 4000.0])
    free = einstein_free_energy(t, SPRING, COPPER)
    step = 1e-3
    entropy = -(einstein_free_energy(t + step, SPRING, COPPER) - einstein_free_energy(t - step, SPRING, COPPER)) / (
        2 * step
    )
    hbar_omega = HBAR * einstein_frequency(SPRING, COPPER)
    np.testing.assert_allclose(entropy, 3 * BOLTZMANN * (1 + np.log(BOLTZMANN * t / hbar_omega)), rtol=1e-8)
    np.testing.assert_allclose(free + t * entropy, 3 * BOLTZMANN * t, rtol=1e-7)
    # hbar sqrt(K/m) of Cu on the paper's spring, from the SI constants: 34.148 eV/A^2 / 63.546 amu
    # = 5.1846e27 s^-2, omega = 7.2005e13 rad/s
    assert hbar_omega == pytest.approx(0.047395, abs=2e-6)


def test_gibbs_helmholtz_is_exact_for_the_einstein_crystal():
    t = np.linspace(3000.0, 5000.0, 9)
    result = gibbs_helmholtz(t, 3 * BOLTZMANN * t, 4000.0, einstein_free_energy(4000.0, SPRING, COPPER))
    np.testing.assert_allclose(result.free_energies, einstein_free_energy(t, SPRING, COPPER), rtol=1e-12, atol=1e-14)
    hbar_omega = HBAR * einstein_frequency(SPRING, COPPER)
    np.testing.assert_allclose(result.entropies, 3 * (1 + np.log(BOLTZMANN * t / hbar_omega)), rtol=1e-10)


def test_switching_gives_the_free_energy_and_the_dissipation():
    lambdas = np.linspace(0.0, 1.0, 101)
    assert switching_work(lambdas, 2.0 + 3.0 * lambdas) == pytest.approx(3.5, rel=1e-14)  # exact for a line
    result = switching_free_energy(forward_work=0.31, backward_work=-0.27)
    assert result.delta_free_energy == pytest.approx(0.29) and result.dissipation == pytest.approx(0.02)


def test_gibbs_helmholtz_errors_are_the_spread_of_repeated_estimates():
    """Energies with Gaussian noise of known sigma, 4000 times: the predicted standard error of S
    is the observed spread of the estimates (within the 2-3% of 4000 samples)."""
    t = np.linspace(3000.0, 5000.0, 9)
    sigma = np.full(t.size, 0.002)
    rng = np.random.default_rng(11)
    f0 = einstein_free_energy(4000.0, SPRING, COPPER)
    estimates = np.array(
        [gibbs_helmholtz(t, 3 * BOLTZMANN * t + rng.normal(0, sigma), 4000.0, f0).entropies for _ in range(4000)]
    )
    predicted = gibbs_helmholtz(t, 3 * BOLTZMANN * t, 4000.0, f0, energy_errors=sigma).entropy_errors
    np.testing.assert_allclose(estimates.std(axis=0), predicted, rtol=0.06)
    assert gibbs_helmholtz(t, 3 * BOLTZMANN * t, 4000.0, f0).entropy_errors is None
    with pytest.raises(ValueError, match="one standard error > 0"):
        gibbs_helmholtz(t, 3 * BOLTZMANN * t, 4000.0, f0, energy_errors=np.zeros(t.size))


def test_a_harmonic_solid_switched_to_its_einstein_crystal_closes_the_cycle():
    """A solid whose 3N - 3 vibrations all have the spring's K switches to the Einstein crystal
    with no work: F_solid from solid_free_energy (Einstein + the centre-of-mass term) must then be
    its harmonic free energy exactly. Without the centre-of-mass term it would be off by ~4 meV/atom."""
    atoms, temperature = 108, np.array([300.0, 4000.0])
    eigenvalues = np.r_[np.zeros(3), np.full(3 * atoms - 3, SPRING)]
    harmonic = harmonic_free_energy(temperature, eigenvalues, COPPER, 7.0 * atoms, energy=-3.2)
    for t, value in zip(temperature, harmonic):
        solid = solid_free_energy(t, switching_free_energy(0.0, 0.0), SPRING, COPPER, atoms, 7.0 * atoms)
        assert value == pytest.approx(solid - 3.2, rel=1e-13)
    term = centre_of_mass_correction(300.0, SPRING, atoms, 7.0 * atoms)
    assert term == pytest.approx(
        BOLTZMANN * 300 / atoms * np.log(1 / 7.0 * (2 * np.pi * BOLTZMANN * 300 / (atoms * SPRING)) ** 1.5), rel=1e-12
    )
    assert -5e-3 < term < -3e-3
    with pytest.raises(ValueError, match="not a minimum"):
        harmonic_free_energy(300.0, np.r_[np.zeros(3), -1.0, np.full(8, SPRING)], COPPER, 28.0)


def test_harmonic_entropy_is_minus_the_temperature_derivative():
    """S = -dF/dT = (k/N) sum (1 - ln(hbar omega / k T)) + the translation's share, by finite differences."""
    eigenvalues = np.r_[np.zeros(3), np.linspace(3.0, 40.0, 3 * 32 - 3)]
    t = np.array([300.0, 3000.0])
    step = 1e-3
    free = lambda temperature: harmonic_free_energy(temperature, eigenvalues, COPPER, 7.0 * 32)  # noqa: E731
    entropy = -(free(t + step) - free(t - step)) / (2 * step)
    energy = free(t) + t * entropy  # classical: k T per vibration, 3 k T / 2 for the centre of mass
    np.testing.assert_allclose(energy, 3 * BOLTZMANN * t * (1 - 0.5 / 32), rtol=1e-6)


def test_information_free_energy_is_u_minus_kth():
    t, u, h = np.array([3000.0, 4000.0]), np.array([-2.0, -1.8]), np.array([0.4, 0.5])
    np.testing.assert_allclose(information_free_energy(t, u, h), u - BOLTZMANN * t * h, rtol=1e-15)


def test_phase_boundary_of_two_analytic_phases():
    """G = e - T s + (P V0 - P^2 V0 / 2B) / 160.2: the boundary T(P) in closed form."""
    first, second = (PhaseFit(*analytic_points(*ANALYTIC_PHASES[name])) for name in ("fcc", "bcc"))
    pressures = np.array([20.0, 40.0, 60.0])
    expected = analytic_boundary(pressures)
    found = phase_boundary(first, second, pressures, (1000.0, 8000.0))
    np.testing.assert_allclose(found, expected, rtol=1e-8)
    assert first.volume(50.0, 4000.0) == pytest.approx(7.30 * (1 - 50.0 / 1200.0), rel=1e-10)
    assert math.isnan(phase_boundary(first, second, [50.0], (1000.0, 1500.0))[0])  # no crossing there
    assert math.isnan(phase_boundary(first, second, [900.0], (1000.0, 8000.0))[0])  # beyond the fitted volumes
    rows = [(label, *point) for label, phase in ANALYTIC_PHASES.items() for point in zip(*analytic_points(*phase))]
    fits = fit_phases(*zip(*rows))
    assert list(fits) == ["fcc", "bcc"]
    np.testing.assert_allclose(phase_boundary(fits["fcc"], fits["bcc"], pressures, (1000.0, 8000.0)), found, rtol=1e-12)
    with pytest.raises(ValueError, match="outside the fitted volumes"):
        first.volume(900.0, 4000.0)


SWITCH = """units metal
lattice fcc 3.0366
region box block 0 4 0 4 0 4
create_box 1 box
create_atoms 1 box
mass 1 63.546
pair_style zero 3.0
pair_coeff * *
velocity all create 6000 1 dist gaussian mom yes
fix solid all spring/self 10.0
fix ti all ti/spring 34.148 4000 2000 function 2
fix heat all langevin 3000 3000 0.1 7 zero yes
fix nve all nve
fix out all print 1 "$(f_ti:%.10g) $(f_solid:%.10g) $(f_ti[2]:%.12g)" file work.txt screen no
run 12000
"""


@pytest.mark.lammps
def test_switching_in_lammps_recovers_a_known_free_energy(tmp_path):
    """fix ti/spring switches a 'solid' that is itself an Einstein crystal (springs of 10 eV/A^2,
    defined before ti/spring so that it scales their forces; the thermostat after it, so that it
    does not) to the paper's 34.148 eV/A^2 and back: (W_f - W_b)/2 is 3 k T ln(omega_1 / omega_2)
    within the dissipation of this short switch (measured 0.3% off, dissipation 0.014 eV/atom)."""
    from lammps_runner import assert_ran, run_lammps

    assert_ran(run_lammps(SWITCH, tmp_path))
    einstein, solid, rate = np.loadtxt(tmp_path / "work.txt", comments="#").T  # rate: dlambda per step
    work = (einstein - solid) * rate / 256  # eV/atom per step
    result = switching_free_energy(work[rate > 0].sum(), work[rate < 0].sum())
    exact = einstein_free_energy(3000.0, SPRING, COPPER) - einstein_free_energy(3000.0, 10.0, COPPER)
    assert 0 < result.dissipation < 0.05 and exact == pytest.approx(0.4762, abs=1e-4)
    assert result.delta_free_energy == pytest.approx(exact, rel=0.01)
