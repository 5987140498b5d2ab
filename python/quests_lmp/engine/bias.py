"""Bias energies of dH and their forces (issue 14): novelty-seeking exploration and a domain wall.

Over the evaluated atoms i, with dH_i the exact dH against a reference (nats):

    explore:  E = -lambda * sum_i [c - softplus(c - dH_i)]     lambda in eV/nat, cap c in nats
    wall:     E = (lambda / 2) * sum_i max(dH_i - t, 0)^2      lambda in eV/nat^2, threshold t in nats

softplus(z) = log(1 + e^z). explore rewards dH with slope -lambda where dH << c and stops
rewarding it above the cap (the reward saturates at lambda * c), so a run cannot gain energy
without bound by leaving the domain; it is smooth everywhere. wall is zero for dH <= t and grows
quadratically above (continuous force). Forces are -dE/d(positions) through the analytic
gradients of quests_lmp.engine.gradients, on owned and ghost points alike. dH is exact (Eq. 6) or
the certified partial sum of method approx, whose forces are those of the same partial sum:
where an atom's visited units change, its dH (and E) jumps by up to the certificate, so NVE
conserves energy only with the exact method. Approx sums until the certificate holds wherever
the bias depends on dH (every atom for explore, above the threshold less 1 nat for wall), never
stopping early at the alarm's level. In species by-centre mode each dH is taken against
the reference environments of its centre's element (the descriptor stays species-blind).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cluster_index import STOP_BELOW
from .deprecation import renamed_keywords
from .descriptor import _as_centre_indices
from .gradients import describe_with_neighbors, descriptor_vjp
from .reference import Reference

KINDS = ("explore", "wall")


@dataclass(frozen=True)
class Bias:
    """kind: "explore" or "wall"; strength: lambda (eV/nat for explore, eV/nat^2 for wall); level:
    the cap c (explore) or the threshold t (wall), nats."""

    kind: str
    strength: float
    level: float

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"bias must be explore or wall, got '{self.kind}'")
        if not (math.isfinite(self.strength) and self.strength > 0):
            raise ValueError(f"the bias strength must be a finite number > 0 (eV per nat), got {self.strength}")
        if not math.isfinite(self.level):
            raise ValueError(
                f"the bias {'cap' if self.kind == 'explore' else 'threshold'} must be a finite number "
                f"of nats, got {self.level}"
            )

    def energies(self, dh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(energy of each atom, eV; dE/d dH of each atom, eV/nat)."""
        if self.kind == "wall":
            excess = np.maximum(dh - self.level, 0.0)
            return 0.5 * self.strength * excess * excess, self.strength * excess
        z = self.level - dh
        softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
        sigmoid = np.exp(-np.logaddexp(0.0, -z))
        return -self.strength * (self.level - softplus), -self.strength * sigmoid

    @property
    def stop_below(self) -> float:
        """nats: the level below which method approx may stop summing an atom's dH for this bias.
        wall: energy and force are 0 below the threshold, so an atom certainly below it less a
        margin of 1 nat (as the alarm's stop level) may stop; explore: the reward's slope is
        -lambda everywhere below the cap, so every sum runs until its certificate holds (-inf)."""
        return self.level - 1.0 if self.kind == "wall" else -math.inf


@dataclass
class BiasResult:
    """x: (n_centres, d) descriptors, 1/A; dh: (n_centres,) nats; energy: eV (these centres'
    share); forces: (n_points, 3) eV/A on every point, ghosts' to be summed onto their owners;
    virial: (6,) eV, sum over points of r_a F_b in LAMMPS's order xx, yy, zz, xy, xz, yz."""

    x: np.ndarray
    dh: np.ndarray
    energy: float
    forces: np.ndarray
    virial: np.ndarray


@renamed_keywords(centers="centre_indices")
def bias_forces(
    bias: Bias,
    reference: Reference,
    bandwidth: float,
    points,
    centre_indices,
    *,
    method: str = "exact",
    certificate: float | None = None,
    stop_below: float = STOP_BELOW,
    by_centre: bool = False,
    numbers=None,
) -> BiasResult:
    """dH, bias energy, forces and virial of the environments of points[centre_indices].

    Parameters
    ----------
    bias : Bias
    reference : Reference
        A species-blind reference (its descriptor describes the points).
    bandwidth : float, 1/A
    points : (n, 3) array, A
        Owned atoms then ghosts (as Descriptor.compute_points).
    centre_indices : int or 1-D array of int
        m (the first m points) or the indices of the evaluated points.
    method, certificate, stop_below
        How dH is summed: "exact" or "approx" (Reference.delta_entropy_and_gradient); approx sums
        each atom until its certificate holds unless it is certainly below both stop_below and
        the bias's own stop level (Bias.stop_below), so the energy and forces are those of dH
        within the certificate wherever the bias acts.
    by_centre : bool
        Species by-centre: each environment against the reference environments of its centre's
        element (numbers needed).
    numbers : (n,) array of int, optional
        Atomic number of each point.

    Returns
    -------
    BiasResult

    Raises
    ------
    ValueError
        A multicomponent reference, method knn, numbers not one per point, by_centre without
        numbers or with a centre element the reference lacks, and as Descriptor.compute_points.
    """
    if reference.multicomponent is not None:
        raise ValueError("forces of multicomponent descriptors are not implemented: use a species-blind reference")
    points = np.asarray(points, dtype=np.float64)
    x, neighbors = describe_with_neighbors(reference.descriptor, points, centre_indices)
    centre_indices = _as_centre_indices(centre_indices, len(points))  # a count m: the first m points
    if numbers is not None and np.shape(numbers) != (len(points),):
        raise ValueError(
            f"numbers must hold one atomic number per point ({len(points)}), got shape {np.shape(numbers)}"
        )
    centres = None if numbers is None else np.asarray(numbers)[centre_indices]
    dh, gradient = reference.delta_entropy_and_gradient(
        x,
        bandwidth,
        method=method,
        certificate=certificate,
        stop_below=min(stop_below, bias.stop_below),
        by_centre=by_centre,
        centres=centres,
    )
    energies, slopes = bias.energies(dh)
    forces = -descriptor_vjp(reference.descriptor, points, centre_indices, slopes[:, None] * gradient, neighbors)
    virial = np.einsum("pa,pb->ab", points, forces)
    return BiasResult(
        x,
        dh,
        float(energies.sum()),
        forces,
        np.array([virial[0, 0], virial[1, 1], virial[2, 2], virial[0, 1], virial[0, 2], virial[1, 2]]),
    )
