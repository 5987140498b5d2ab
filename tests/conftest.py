"""Shared test structures: thermalised crystals, cells, slabs, molecules, random points."""

from __future__ import annotations

import os

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111, molecule
from hypothesis import settings
from quests_lmp.engine.kernel import SINGLE_ROUNDING

# CI runs the same hypothesis examples every time (a red CI must be reproducible); local runs
# draw new examples and keep exploring.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def thermal(atoms: Atoms, sigma: float = 0.05, seed: int = 0) -> Atoms:
    """A copy with Gaussian noise of `sigma` A per coordinate: no exact distance ties remain."""
    atoms = atoms.copy()
    atoms.positions += np.random.default_rng(seed).normal(0.0, sigma, atoms.positions.shape)
    return atoms


def on_reference_grid(atoms: Atoms) -> Atoms:
    """Periodic structure moved onto fractional coordinates with 12 decimals, wrapped.

    The reference package rounds fractional coordinates to 12 decimals before it builds
    neighbors, which shifts atoms by up to 1e-12 * cell length and changes descriptor
    elements near the cutoff (where w -> 0) by up to ~1e-10 relative. On this grid its rounding
    is a no-op, so parity tests compare the descriptor itself.
    """
    atoms = atoms.copy()
    fractional = np.round(atoms.positions @ np.linalg.inv(atoms.cell.array), 12) % 1.0
    atoms.positions = fractional @ atoms.cell.array
    return atoms


def cu_cluster(n: int = 20, seed: int = 0) -> Atoms:
    """A compact n-atom Cu cluster without a cell (a finite molecule-like structure)."""
    crystal = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(4)
    center = crystal.positions.mean(axis=0)
    nearest = np.argsort(np.linalg.norm(crystal.positions - center, axis=1))[:n]
    return thermal(Atoms("Cu" * n, positions=crystal.positions[nearest]), 0.05, seed)


def slab() -> Atoms:
    """FCC(111) slab, periodic in-plane, open along z."""
    atoms = thermal(fcc111("Cu", size=(3, 3, 4), a=3.61, vacuum=0.0), 0.05, 3)
    atoms.pbc = [True, True, False]
    return atoms


PERIODIC = {
    "fcc": lambda: thermal(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3), 0.05, 1),
    "bcc": lambda: thermal(bulk("Fe", "bcc", a=2.87, cubic=True).repeat(3), 0.05, 2),
    "hcp": lambda: thermal(bulk("Mg", "hcp", a=3.21, c=5.21).repeat((3, 3, 2)), 0.05, 3),
    "diamond": lambda: thermal(bulk("Si", "diamond", a=5.43, cubic=True).repeat(2), 0.05, 4),
    "triclinic": lambda: thermal(bulk("Cu", "fcc", a=3.61).repeat((4, 3, 3)), 0.05, 5),
    "8-atom cell": lambda: thermal(bulk("Si", "diamond", a=5.43, cubic=True), 0.05, 6),
}
OPEN = {
    "20-atom cluster": lambda: cu_cluster(20),
    "5-atom molecule": lambda: thermal(molecule("CH4"), 0.02, 7),
    "random points": lambda: Atoms("X40", positions=np.random.default_rng(8).uniform(0.0, 7.0, (40, 3))),
}


@pytest.fixture(params=sorted(PERIODIC))
def periodic_structure(request) -> Atoms:
    return on_reference_grid(PERIODIC[request.param]())


@pytest.fixture(params=sorted(OPEN))
def open_structure(request) -> Atoms:
    return OPEN[request.param]()


# method approx: float32 distances in the cluster index's unit GEMMs, whose rounding also depends on
# the queries that visit a unit together: values sit up to about this far below the exact sum's,
# in nats plus per nat of |dH| (quests_lmp.engine.cluster_index), and two evaluations in other
# batches agree to the same bound
APPROX_ROUNDING, APPROX_RELATIVE = 1e-4, 1e-6


def float32_disagreement(reference, atoms, bandwidth: float | None = None) -> float:
    """nats: how far two precision-single evaluations of the same atoms' dH may differ when their
    rows were evaluated in other batches (LAMMPS's atom order and count, a rank's share, another
    process): twice the rounding quests_lmp.engine.kernel documents, SINGLE_ROUNDING |y - mean|
    |x - mean| / (2 h^2), with the largest norms of the two sets."""
    h = reference.bandwidth if bandwidth is None else bandwidth
    x = reference.descriptors
    mean = x.mean(axis=0)
    y = reference.descriptor.compute(atoms)
    largest = np.linalg.norm(y - mean, axis=1).max() * np.linalg.norm(x - mean, axis=1).max()
    return 2 * SINGLE_ROUNDING * largest / (2 * h**2)


# Two analytic phases for the phase-boundary tests: (e eV/atom, s k_B/atom, V0 A^3/atom, B GPa) with
# F = e + B (V - V0)^2 / (2 V0) - T s and P = -dF/dV, so G = e - T s + (P V0 - P^2 V0 / 2B) / 160.2.
ANALYTIC_PHASES = {"fcc": (-3.00, 0.0, 7.30, 1200.0), "bcc": (-2.98, 0.05, 7.28, 1100.0)}


def analytic_points(e, s, v0, modulus):
    """V, T, F, P of one analytic phase on a 4 x 5 grid of V (A^3/atom) and T (3000-5000 K)."""
    from quests_lmp.analysis.thermodynamics import BOLTZMANN, EV_PER_A3_IN_GPA

    v, t = np.meshgrid(np.linspace(v0 - 1.2, v0 + 0.6, 4), np.linspace(3000.0, 5000.0, 5))
    v, t = v.ravel(), t.ravel()
    free = e + modulus * (v - v0) ** 2 / (2 * v0) / EV_PER_A3_IN_GPA - t * s * BOLTZMANN
    return v, t, free, -modulus * (v - v0) / v0


def analytic_boundary(pressures) -> np.ndarray:
    """T (K) where G_bcc = G_fcc of ANALYTIC_PHASES at each pressure (GPa), in closed form."""
    from quests_lmp.analysis.thermodynamics import BOLTZMANN, EV_PER_A3_IN_GPA

    (fcc_e, fcc_s, fcc_v, fcc_b), (bcc_e, bcc_s, bcc_v, bcc_b) = ANALYTIC_PHASES.values()
    p = np.asarray(pressures, dtype=np.float64)
    gap = (bcc_e - fcc_e) + (p * (bcc_v - fcc_v) - p * p * (bcc_v / (2 * bcc_b) - fcc_v / (2 * fcc_b))) / (
        EV_PER_A3_IN_GPA
    )
    return gap / ((bcc_s - fcc_s) * BOLTZMANN)
