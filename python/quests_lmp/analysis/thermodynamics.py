"""Free energies of solids from thermodynamic integration (TI), and phase boundaries from them
(paper Methods, "Thermodynamic integration", "Phase diagrams from TI"; Fig. 1b/c).

The reference is the Einstein crystal: N atoms of mass m tethered to their lattice sites by springs
of constant K (LAMMPS `fix ti/spring`), whose classical free energy is known (einstein_free_energy).
A nonequilibrium switch solid -> Einstein crystal and back (Freitas, Asta, de Koning 2016) gives
the work W_forward and W_backward of each way, both integrals of (U_Einstein - U_solid) dlambda along
its own path; F_solid = F_Einstein - (W_forward - W_backward) / 2 (switching_free_energy), the
dissipation (W_forward + W_backward) / 2 >= 0 measuring how far from reversible the switch was.
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


class Thermodynamics(NamedTuple):
    """F (eV/atom) and S (k_B/atom) at each temperature (K) of one volume."""

    temperatures: np.ndarray
    free_energies: np.ndarray
    entropies: np.ndarray


def gibbs_helmholtz(temperatures, energies, reference_temperature: float, reference_free_energy: float):
    """F(T) and S(T) at one volume from F at one temperature and the mean energy U(T) of NVT runs.

    d(F/T)/dT = -U/T^2. U(T) is fitted by a + b T + c T^2 (the harmonic U = 3 k T plus anharmonic
    terms), and the integral taken exactly: F(T)/T = F0/T0 + a (1/T - 1/T0) - b ln(T/T0) - c (T -
    T0); S = (U - F)/T with U from the same fit.

    Parameters
    ----------
    temperatures, energies : arrays, K and eV/atom
        Mean potential plus kinetic energy of NVT runs at this volume (at least 3 temperatures).
    reference_temperature, reference_free_energy : K and eV/atom
        F from TI at one temperature (within or near the range).

    Returns
    -------
    Thermodynamics at the given temperatures.

    Raises
    ------
    ValueError
        Fewer than 3 temperatures, or temperatures not > 0.
    """
    t, u = np.asarray(temperatures, dtype=np.float64), np.asarray(energies, dtype=np.float64)
    if t.ndim != 1 or t.shape != u.shape or t.size < 3 or np.any(~(t > 0)) or not reference_temperature > 0:
        raise ValueError("gibbs_helmholtz needs at least 3 temperatures > 0 K with one energy each")
    c, b, a = np.polyfit(t, u, 2)
    t0 = float(reference_temperature)
    free = t * (reference_free_energy / t0 + a * (1.0 / t - 1.0 / t0) - b * np.log(t / t0) - c * (t - t0))
    entropies = ((a + b * t + c * t * t) - free) / t / BOLTZMANN
    return Thermodynamics(t, free, entropies)


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


def phase_boundary(first: PhaseFit, second: PhaseFit, pressures, temperature_range: tuple[float, float]):
    """T (K) at each pressure (GPa) where the two phases' G are equal, searched within
    temperature_range; nan where G does not cross there."""
    low, high = temperature_range
    boundary = []
    for pressure in np.atleast_1d(np.asarray(pressures, dtype=np.float64)):

        def difference(temperature, p=float(pressure)):
            return second.gibbs(p, temperature) - first.gibbs(p, temperature)

        ends = (difference(low), difference(high))
        boundary.append(brentq(difference, low, high, xtol=1e-9) if ends[0] * ends[1] <= 0 else math.nan)
    return np.array(boundary)
