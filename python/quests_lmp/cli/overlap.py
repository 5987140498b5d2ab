"""`quests-lmp overlap DATASETS`: the overlap matrix (fraction of dataset i covered by dataset j)."""

from __future__ import annotations

import numpy as np

from ..engine.information import delta_entropy, entropy
from ..engine.species import atomic_numbers, symbol_order, symbols
from . import options
from .datasets import resolve_bandwidth, short_names, write_csv
from .progress import Progress
from .report import beside, print_table, write_result


def register(commands) -> None:
    command = options.add_command(commands, "overlap", run, "overlap matrix of datasets (fraction of i covered by j)",
                                  [options.PLOT])
    command.add_argument("datasets", nargs="+")
    command.add_argument("--threshold", type=float, default=0.0, help="covered: dH <= threshold (nats, 0)")


def run(args, world) -> None:
    options.check_outputs(args, [args.csv, args.plot, args.json or beside(args.plot)])
    datasets = options.described(args)
    h = resolve_bandwidth(args.bandwidth, datasets)
    names = [dataset.name for dataset in datasets]
    by_centre = options.by_centre(args)
    centres = [dataset.centres if by_centre else None for dataset in datasets]
    matrix = np.empty((len(datasets), len(datasets)))
    elements = symbols(symbol_order(np.concatenate([d.centres for d in datasets]))) if by_centre else []
    per_element = {name: np.full((len(datasets), len(datasets)), np.nan) for name in elements}
    with Progress("overlap", len(datasets) ** 2, enabled=not args.quiet) as bar:
        for j, covering in enumerate(datasets):
            for i, covered in enumerate(datasets):
                dh = delta_entropy(covered.descriptors, covering.descriptors, h, centres[i], centres[j])
                matrix[i, j] = np.mean(dh <= args.threshold)
                for name, z in zip(elements, atomic_numbers(elements)):
                    mine = covered.centres == z
                    if mine.any():  # NaN where dataset i has no atom of the element
                        per_element[name][i, j] = np.mean(dh[mine] <= args.threshold)
                bar.advance()
    entropies = [entropy(dataset.descriptors, h, centre) for dataset, centre in zip(datasets, centres)]
    print(f"overlap[i, j] = fraction of dataset i with dH(x | dataset j) <= {args.threshold:g} (h = {h:.6g} 1/A"
          f"{', by centre' if by_centre else ''})")
    columns = ["dataset"] + [str(j) for j in range(len(names))] + ["entropy"]
    print_table([{"dataset": name, **dict(zip(map(str, range(len(names))), row)), "entropy": value}
                 for name, row, value in zip(names, matrix, entropies)], columns)
    for name, table in per_element.items():
        print(f"{name} atoms:")
        print_table([{"dataset": dataset, **dict(zip(map(str, range(len(names))), row))}
                     for dataset, row in zip(names, table)], columns[:-1])
    if args.csv:
        write_csv(args.csv, ["dataset"] + names, [[name] + row.tolist() for name, row in zip(names, matrix)])
    if args.plot:
        from .plots import overlap_plot

        overlap_plot(args.plot, short_names(names), matrix)
    write_result(args, {"datasets": names, "bandwidth": h, "threshold": args.threshold, "species": args.species or "blind",
                        "overlap": matrix.tolist(), "entropy": entropies,
                        **({"overlap_by_element": {name: [[None if np.isnan(v) else v for v in row] for row in table.tolist()]
                                   for name, table in per_element.items()}}
                           if by_centre else {})})
