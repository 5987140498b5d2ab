"""`quests-lmp overlap DATASETS`: the overlap matrix (fraction of dataset i covered by dataset j)."""

from __future__ import annotations

import numpy as np

from ..engine.information import entropy, overlap
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
    matrix = np.empty((len(datasets), len(datasets)))
    with Progress("overlap", len(datasets) ** 2, enabled=not args.quiet) as bar:
        for j, covering in enumerate(datasets):
            for i, covered in enumerate(datasets):
                matrix[i, j] = overlap(covered.descriptors, covering.descriptors, h, args.threshold)
                bar.advance()
    entropies = [entropy(dataset.descriptors, h) for dataset in datasets]
    print(f"overlap[i, j] = fraction of dataset i with dH(x | dataset j) <= {args.threshold:g} (h = {h:.6g} 1/A)")
    print_table([{"dataset": name, **dict(zip(map(str, range(len(names))), row)), "entropy": value}
                 for name, row, value in zip(names, matrix, entropies)],
                ["dataset"] + [str(j) for j in range(len(names))] + ["entropy"])
    if args.csv:
        write_csv(args.csv, ["dataset"] + names, [[name] + row.tolist() for name, row in zip(names, matrix)])
    if args.plot:
        from .plots import overlap_plot

        overlap_plot(args.plot, short_names(names), matrix)
    write_result(args, {"datasets": names, "bandwidth": h, "threshold": args.threshold,
                        "overlap": matrix.tolist(), "entropy": entropies})
