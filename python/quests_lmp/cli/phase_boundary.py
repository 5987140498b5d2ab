"""`quests-lmp phase-boundary POINTS.csv --pressures P [P ...]`: the temperature where two phases'
Gibbs free energies are equal, from per-phase points at fixed volume and temperature (paper
Fig. 1c; Methods, "Phase diagrams from TI").

POINTS.csv has a header and one row per NVT run: phase (any label; exactly two), volume
(A^3/atom), temperature (K), pressure (GPa), and either free_energy (eV/atom, e.g. from TI) or
energy (eV/atom) and entropy (k_B/atom: an information entropy from `quests-lmp entropy` at h(V),
giving F = U - k T H). Each phase needs 3 volumes and 3 temperatures (F and P are fitted by
polynomials of degree 2 in V and T); G(P, T) = F(V(P, T), T) + P V(P, T).
"""

from __future__ import annotations

import csv

import numpy as np

from ..analysis.thermodynamics import fit_phases, information_free_energy, phase_boundary
from . import options
from .report import print_table, write_result

NEEDED = ("phase", "volume", "temperature", "pressure")


def register(commands) -> None:
    command = options.add_command(
        commands, "phase-boundary", run, "where two phases' G(P, T) are equal, from per-phase (V, T) points"
    )
    command.add_argument("table", metavar="POINTS.csv", help=f"columns {', '.join(NEEDED)} and free_energy, "
                         "or energy and entropy (module docstring)")  # fmt: skip
    command.add_argument("--pressures", nargs="+", type=float, required=True, metavar="P", help="pressures, GPa")
    command.add_argument(
        "--temperatures", nargs=2, type=options.positive(float), metavar=("LOW", "HIGH"),
        help="K: the range searched (default: that of the points)",
    )  # fmt: skip


def read_points(path: str) -> dict:
    """Columns of POINTS.csv as arrays (phase as text), with F from energy and entropy where no
    free_energy column is given; ValueError naming the problem."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path} has no rows: it needs a header and one row per (phase, V, T) point")
    columns = set(rows[0])
    wanted = NEEDED + (("free_energy",) if "free_energy" in columns else ("energy", "entropy"))
    missing = [name for name in wanted if name not in columns]
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {', '.join(missing)}: it needs {', '.join(NEEDED)} and free_energy "
            "(eV/atom), or energy (eV/atom) and entropy (k_B/atom)"
        )
    table = {"phase": np.array([row["phase"].strip() for row in rows])}
    for name in wanted[1:]:
        try:
            table[name] = np.array([float(row[name]) for row in rows])
        except (TypeError, ValueError):
            raise ValueError(f"{path}: column {name} must hold a number in every row") from None
    if "free_energy" not in table:
        table["free_energy"] = information_free_energy(table["temperature"], table["energy"], table["entropy"])
    return table


def run(args, world) -> None:
    options.check_outputs(args, [args.json])
    table = read_points(args.table)
    fits = fit_phases(table["phase"], table["volume"], table["temperature"], table["free_energy"], table["pressure"])
    if len(fits) != 2:
        raise ValueError(f"{args.table} holds {len(fits)} phase(s) ({', '.join(fits)}); give exactly two")
    (first, first_fit), (second, second_fit) = fits.items()
    span = tuple(args.temperatures) if args.temperatures else (table["temperature"].min(), table["temperature"].max())
    temperatures = phase_boundary(first_fit, second_fit, args.pressures, span)
    rows = []
    for pressure, temperature in zip(args.pressures, temperatures):
        above = ""
        if np.isfinite(temperature):  # the phase of lower G at the top of the range
            above = second if second_fit.gibbs(pressure, span[1]) < first_fit.gibbs(pressure, span[1]) else first
        rows.append({"pressure": pressure, "temperature": float(temperature), "stable_above": above})
    print_table(rows, ["pressure", "temperature", "stable_above"])
    write_result(args, {"phases": [first, second], "temperature_range": list(span), "boundary": rows})
