"""Free energies of solids from thermodynamic integration (TI), and phase boundaries from them
(paper Methods, "Thermodynamic integration", "Phase diagrams from TI"; Fig. 1b/c).

The reference is the Einstein crystal: N atoms of mass m tethered to their lattice sites by springs
of constant K (LAMMPS `fix ti/spring`), whose classical free energy is known (einstein_free_energy).
A nonequilibrium switch solid -> Einstein crystal and back (Freitas, Asta, de Koning 2016) gives
the work W_forward and W_backward of each way, both integrals of (U_Einstein - U_solid) dlambda along
its own path; F_Einstein - F_solid = (W_forward - W_backward) / 2 (switching_free_energy), the
dissipation (W_forward + W_backward) / 2 >= 0 measuring how far from reversible the switch was.
The switch runs with the centre of mass fixed; solid_free_energy adds the term that frees it
(centre_of_mass_correction). harmonic_free_energy is the independent check at low temperature: the
same solid's classical harmonic free energy from its force-constant matrix.
From F at one temperature T0 and the mean energy U(T) of NVT runs at the same volume,
Gibbs-Helmholtz (d(F/T)/dT = -U/T^2) gives F(T) and S(T) = (U - F)/T at every other temperature
(gibbs_helmholtz). PhaseFit maps F(V, T) and P(V, T) of one phase to G(P, T) = F(V(P, T), T) +
P V(P, T), the paper's step-wise mapping, and phase_boundary finds where two phases' G are equal.

Units: eV, K, A, A^3, amu; pressures in GPa; entropies in k_B per atom.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq

BOLTZMANN = 8.617333262e-5  # eV/K
HBAR = 6.582119569e-16  # eV s
AMU = 1.66053906660e-27  # kg
EV_PER_A3_IN_GPA = 160.21766208  # 1 eV/A^3 in GPa
_A2_PER_M2 = 1e20


def einstein_frequency(spring: float, mass: float) -> float:
    """omega = sqrt(K / m) in rad/s of a spring K (eV/A^2) on an atom of mass m (amu)."""
    if not (spring > 0 and mass > 0):
        raise ValueError(f"the spring (eV/A^2) and the mass (amu) must be > 0, got {spring} and {mass}")
    return math.sqrt(spring * 1.602176634e-19 * _A2_PER_M2 / (mass * AMU))


def einstein_free_energy(temperature, spring: float, mass: float):
    """Classical Helmholtz free energy of the Einstein crystal, eV/atom: 3 k T ln(hbar omega / k T).

    Parameters
    ----------
    temperature : float or array, K
        Temperature(s), > 0.
    spring : float, eV/A^2
        Spring constant K tethering each atom to its site (the paper's 34.148 for Cu).
    mass : float, amu
        Atomic mass.

    Returns
    -------
    float or array, eV/atom (each atom on its own site: the centre of mass free, as in MD).

    Raises
    ------
    ValueError
        A temperature, spring or mass not > 0.
    """
    kt = BOLTZMANN * np.asarray(temperature, dtype=np.float64)
    if np.any(~(kt > 0)):
        raise ValueError(f"temperatures must be > 0 K, got {temperature}")
    free = 3.0 * kt * np.log(HBAR * einstein_frequency(spring, mass) / kt)
    return float(free) if np.ndim(free) == 0 else free


class Switching(NamedTuple):
    """A nonequilibrium switch solid <-> Einstein crystal: free energy difference F_Einstein -
    F_solid and dissipation, eV/atom."""

    delta_free_energy: float
    dissipation: float


def switching_work(lambdas, energy_differences) -> float:
    """The work along one path, integral of (U_Einstein - U_solid) dlambda (trapezoid rule) over
    the path's own lambda values, eV/atom when the energies are per atom."""
    lambdas, values = np.asarray(lambdas, dtype=np.float64), np.asarray(energy_differences, dtype=np.float64)
    if lambdas.shape != values.shape or lambdas.ndim != 1 or lambdas.size < 2:
        raise ValueError("lambdas and energy differences must be 1-D arrays of the same length >= 2")
    return float(np.sum(0.5 * (values[1:] + values[:-1]) * np.diff(lambdas)))


def switching_free_energy(forward_work: float, backward_work: float) -> Switching:
    """F_Einstein - F_solid = (W_forward - W_backward) / 2 from the work of the switch solid ->
    Einstein (forward) and back, each an integral of (U_Einstein - U_solid) along its own path;
    the dissipation (W_forward + W_backward) / 2 is >= 0 up to noise."""
    return Switching(0.5 * (forward_work - backward_work), 0.5 * (forward_work + backward_work))


def centre_of_mass_correction(temperature, spring: float, atoms: int, volume: float):
    """F_solid - F_solid(centre of mass fixed) - [F_Einstein - F_Einstein(centre of mass fixed)],
    eV/atom: (k T / N) ln[(N / V) (2 pi k T / (N K))^(3/2)] (as in Freitas et al. 2016).

    A switch run with the centre of mass fixed (no momentum, a thermostat with zero total force)
    measures the free energy difference of the two constrained systems. Freed, the solid's centre
    of mass translates over the box (V), counted once per lattice translation (N of them: one atom
    per primitive cell), and the Einstein crystal's spreads over (2 pi k T / (N K))^(3/2).
    Checked against harmonic_free_energy of Mishin Cu at 300 K (examples/phase_boundary).

    Parameters
    ----------
    temperature : float or array, K
    spring : float, eV/A^2
    atoms : int
        N, atoms in the simulation cell.
    volume : float, A^3
        V, the cell's volume.
    """
    kt = BOLTZMANN * np.asarray(temperature, dtype=np.float64)
    if not (atoms >= 1 and volume > 0 and spring > 0) or np.any(~(kt > 0)):
        raise ValueError(
            "the centre-of-mass term needs T > 0, K > 0, N >= 1 and V > 0, "
            f"got {temperature}, {spring}, {atoms}, {volume}"
        )
    value = kt / atoms * np.log(atoms / volume * (2.0 * math.pi * kt / (atoms * spring)) ** 1.5)
    return float(value) if np.ndim(value) == 0 else value


def solid_free_energy(temperature: float, switching: Switching, spring: float, mass: float, atoms: int, volume: float):
    """F of the solid, eV/atom, from a switch to the Einstein crystal run with the centre of mass
    fixed: F_Einstein - (F_Einstein - F_solid) + centre_of_mass_correction.

    Parameters
    ----------
    temperature : float, K
    switching : Switching
        From switching_free_energy, eV/atom.
    spring, mass : float, eV/A^2 and amu
        The Einstein crystal's spring constant and the atoms' mass.
    atoms, volume : int and float, A^3
        N and V of the switched cell.
    """
    return (
        einstein_free_energy(temperature, spring, mass)
        - switching.delta_free_energy
        + centre_of_mass_correction(temperature, spring, atoms, volume)
    )


def harmonic_free_energy(temperature, hessian_eigenvalues, mass: float, volume: float, energy: float = 0.0):
    """Classical free energy of a harmonic solid, eV/atom: its minimum energy plus (k T / N) times
    the sum over the 3N - 3 vibrational modes of ln(hbar omega / k T), plus the free translation of
    its centre of mass, 3 k T ln(Lambda) - k T ln(V / N) - (3/2) k T ln N, on the convention of
    solid_free_energy (the two agree exactly for a harmonic solid).

    Parameters
    ----------
    temperature : float or array, K
    hessian_eigenvalues : array of 3N values, eV/A^2
        Of the force-constant matrix d^2 U / dx dx (not mass-weighted). The 3 smallest in magnitude
        are the translations (zero up to rounding); the others must be > 0.
    mass : float, amu
    volume : float, A^3
        V, the cell's volume.
    energy : float, eV/atom
        The energy at the minimum.

    Raises
    ------
    ValueError
        A vibrational eigenvalue not > 0 (the structure is not a minimum: it is mechanically unstable).
    """
    values = np.asarray(hessian_eigenvalues, dtype=np.float64)
    if values.ndim != 1 or values.size < 6 or values.size % 3:
        raise ValueError("hessian_eigenvalues must hold 3N values, N >= 2")
    atoms = values.size // 3
    order = np.argsort(np.abs(values))
    vibrations = np.sort(values[order[3:]])
    if not vibrations[0] > 0:
        raise ValueError(
            f"a vibrational eigenvalue is {vibrations[0]:.4g} eV/A^2: the structure is not a minimum (unstable)"
        )
    kt = BOLTZMANN * np.atleast_1d(np.asarray(temperature, dtype=np.float64))
    to_si = 1.602176634e-19 * _A2_PER_M2 / (mass * AMU)  # eV/A^2/amu -> s^-2
    modes = np.log(HBAR * np.sqrt(vibrations * to_si)[:, None] / kt[None, :]).sum(axis=0)
    wavelength = HBAR * np.sqrt(2.0 * math.pi * to_si / kt)  # Lambda = h / sqrt(2 pi m k T), A
    free = energy + kt / atoms * (modes + 3.0 * np.log(wavelength) - np.log(volume / atoms) - 1.5 * math.log(atoms))
    return float(free[0]) if np.ndim(temperature) == 0 else free


def information_free_energy(temperatures, energies, entropies):
    """F = U - k T H (eV/atom) of one phase from its mean energy U (eV/atom) and its information
    entropy H (nats, read as k_B/atom) at each temperature (K): the QUESTS route to free energies,
    whose differences between phases at the same h(V) stand in for those from TI (paper Fig. 1)."""
    t = np.asarray(temperatures, dtype=np.float64)
    return np.asarray(energies, dtype=np.float64) - BOLTZMANN * t * np.asarray(entropies, dtype=np.float64)


class Thermodynamics(NamedTuple):
    """F (eV/atom) and S (k_B/atom) at each temperature (K) of one volume; S's standard errors from
    those of the energies (None when none were given)."""

    temperatures: np.ndarray
    free_energies: np.ndarray
    entropies: np.ndarray
    entropy_errors: np.ndarray | None = None


def gibbs_helmholtz(
    temperatures, energies, reference_temperature: float, reference_free_energy: float, energy_errors=None
):
    """F(T) and S(T) at one volume from F at one temperature and the mean energy U(T) of NVT runs.

    d(F/T)/dT = -U/T^2. U(T) is fitted by a + b T + c T^2 (the harmonic U = 3 k T plus anharmonic
    terms; weighted by 1/error^2 when errors are given), and the integral taken exactly: F(T)/T =
    F0/T0 + a (1/T - 1/T0) - b ln(T/T0) - c (T - T0); S = (U - F)/T with U from the same fit. S is
    linear in (a, b, c), so its standard error follows from their covariance (F0 taken as exact).

    Parameters
    ----------
    temperatures, energies : arrays, K and eV/atom
        Mean potential plus kinetic energy of NVT runs at this volume (at least 3 temperatures).
    reference_temperature, reference_free_energy : K and eV/atom
        F from TI at one temperature (within or near the range).
    energy_errors : array, eV/atom, optional
        Standard errors of the energies (> 0); at least 4 temperatures to use them.

    Returns
    -------
    Thermodynamics at the given temperatures.

    Raises
    ------
    ValueError
        Fewer than 3 temperatures (4 with errors), temperatures or errors not > 0.
    """
    t, u = np.asarray(temperatures, dtype=np.float64), np.asarray(energies, dtype=np.float64)
    if t.ndim != 1 or t.shape != u.shape or t.size < 3 or np.any(~(t > 0)) or not reference_temperature > 0:
        raise ValueError("gibbs_helmholtz needs at least 3 temperatures > 0 K with one energy each")
    t0 = float(reference_temperature)
    if energy_errors is None:
        (c, b, a), covariance = np.polyfit(t, u, 2), None
    else:
        sigma = np.asarray(energy_errors, dtype=np.float64)
        if sigma.shape != t.shape or np.any(~(sigma > 0)) or t.size < 4:
            raise ValueError("energy_errors must be one standard error > 0 per energy, at least 4 temperatures")
        (c, b, a), covariance = np.polyfit(t, u, 2, w=1.0 / sigma, cov="unscaled")
    free = t * (reference_free_energy / t0 + a * (1.0 / t - 1.0 / t0) - b * np.log(t / t0) - c * (t - t0))
    entropies = ((a + b * t + c * t * t) - free) / t / BOLTZMANN
    errors = None
    if covariance is not None:  # dS/d(c, b, a) in k_B/atom per unit coefficient
        jacobian = np.stack([2.0 * t - t0, 1.0 + np.log(t / t0), np.full_like(t, 1.0 / t0)], axis=1) / BOLTZMANN
        errors = np.sqrt(np.einsum("ti,ij,tj->t", jacobian, covariance, jacobian))
    return Thermodynamics(t, free, entropies, errors)


class PhaseFit:
    """One phase's F(V, T) (eV/atom) and P(V, T) (GPa) as polynomials of degree 2 in V (A^3/atom)
    and T (K), fitted by least squares to (V, T) points; G(P, T) = F(V(P, T), T) + P V(P, T)
    (eV/atom) through V(P, T), solved within the fitted volumes."""

    def __init__(self, volumes, temperatures, free_energies, pressures):
        v, t = np.asarray(volumes, dtype=np.float64), np.asarray(temperatures, dtype=np.float64)
        f, p = np.asarray(free_energies, dtype=np.float64), np.asarray(pressures, dtype=np.float64)
        if not (v.shape == t.shape == f.shape == p.shape and v.ndim == 1 and v.size >= 6):
            raise ValueError("a phase fit needs at least 6 (V, T) points with F and P each (degree 2 in V and T)")
        if np.unique(v).size < 3 or np.unique(t).size < 3:
            raise ValueError("a phase fit needs at least 3 volumes and 3 temperatures")
        self._centre, self._scale = (v.mean(), t.mean()), (np.ptp(v), np.ptp(t))  # for a well-conditioned fit
        features = self._features(v, t)
        self.free_coefficients = np.linalg.lstsq(features, f, rcond=None)[0]
        self.pressure_coefficients = np.linalg.lstsq(features, p, rcond=None)[0]
        self.volume_range = (float(v.min()), float(v.max()))

    def _features(self, volume, temperature) -> np.ndarray:
        """1, x, y, x^2, x y, y^2 of the centred and scaled V and T."""
        x, y = np.broadcast_arrays(
            (np.asarray(volume, dtype=np.float64) - self._centre[0]) / self._scale[0],
            (np.asarray(temperature, dtype=np.float64) - self._centre[1]) / self._scale[1],
        )
        return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)

    def free_energy(self, volume, temperature):
        """F(V, T), eV/atom."""
        return self._features(volume, temperature) @ self.free_coefficients

    def pressure(self, volume, temperature):
        """P(V, T), GPa."""
        return self._features(volume, temperature) @ self.pressure_coefficients

    def volume(self, pressure: float, temperature: float) -> float:
        """V (A^3/atom) where P(V, T) = pressure, within the fitted volumes; ValueError outside."""
        low, high = self.volume_range
        ends = [float(self.pressure(v, temperature)) - pressure for v in (low, high)]
        if ends[0] * ends[1] > 0:
            raise ValueError(
                f"P = {pressure:g} GPa at T = {temperature:g} K is outside the fitted volumes {low:g}-{high:g} A^3/atom"
            )
        return float(brentq(lambda v: float(self.pressure(v, temperature)) - pressure, low, high, xtol=1e-12))

    def gibbs(self, pressure: float, temperature: float) -> float:
        """G(P, T) = F(V(P, T), T) + P V(P, T), eV/atom."""
        v = self.volume(pressure, temperature)
        return float(self.free_energy(v, temperature)) + pressure * v / EV_PER_A3_IN_GPA


def fit_phases(phases, volumes, temperatures, free_energies, pressures) -> dict:
    """A PhaseFit per phase label from rows of (phase, V, T, F, P) of all phases (A^3/atom, K,
    eV/atom, GPa), e.g. a table with one row per NVT run."""
    labels = np.asarray(phases).astype(str)
    columns = [np.asarray(c, dtype=np.float64) for c in (volumes, temperatures, free_energies, pressures)]
    if any(c.shape != labels.shape for c in columns) or labels.ndim != 1:
        raise ValueError("phases, volumes, temperatures, free energies and pressures need one value per row each")
    return {label: PhaseFit(*(c[labels == label] for c in columns)) for label in dict.fromkeys(labels)}


def phase_boundary(first: PhaseFit, second: PhaseFit, pressures, temperature_range: tuple[float, float]):
    """T (K) at each pressure (GPa) where the two phases' G are equal, searched within
    temperature_range; nan where G does not cross there, or where a phase's fitted volumes do not
    reach that pressure at an end of the range."""
    low, high = temperature_range
    boundary = []
    for pressure in np.atleast_1d(np.asarray(pressures, dtype=np.float64)):

        def difference(temperature, p=float(pressure)):
            return second.gibbs(p, temperature) - first.gibbs(p, temperature)

        try:
            ends = (difference(low), difference(high))
        except ValueError:  # outside the fitted volumes
            boundary.append(math.nan)
            continue
        boundary.append(brentq(difference, low, high, xtol=1e-9) if ends[0] * ends[1] <= 0 else math.nan)
    return np.array(boundary)
