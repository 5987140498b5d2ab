"""Results of the sub-commands: aligned tables on stdout and JSON files."""

from __future__ import annotations

import os

import numpy as np

from .outputs import write_json


def beside(plot):
    """The JSON written next to a plot when --json is not given."""
    return None if plot is None else os.path.splitext(plot)[0] + ".json"


def write_result(args, result: dict) -> None:
    """Writes `result` to --json, or beside --plot when only that is given."""
    path = args.json or beside(getattr(args, "plot", None))
    if path:
        write_json(path, result)


def print_table(rows: list[dict], columns: list[str]) -> None:
    """Right-aligned columns, floats with 6 decimals."""

    def text(value):
        if isinstance(value, (float, np.floating)):
            return f"{value:.6f}"
        return str(value)

    cells = [[text(row[c]) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    for line in [columns] + cells:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths)))
