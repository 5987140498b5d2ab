"""`quests-lmp overlap DATASETS`: the overlap matrix (fraction of dataset i covered by dataset j)."""

from __future__ import annotations

import numpy as np

from ..engine.information import entropy_and_diversity_from_self_dh
from ..engine.species import atomic_numbers, symbol_order, symbols
from . import options
from .datasets import short_names
from .distributed import block_dh, describe_shares, self_dh
from .outputs import write_csv
from .progress import Progress
from .report import beside, print_table, write_result


def register(commands) -> None:
    command = options.add_command(
        commands,
        "overlap",
        run,
        "overlap matrix of datasets (fraction of i covered by j)",
        [options.PLOT],
        parallel=True,
    )
    command.add_argument("datasets", nargs="+")
    command.add_argument("--threshold", type=float, default=0.0, help="covered: dH <= threshold (nats, 0)")


def run(args, world) -> None:
    options.check_outputs(args, [args.csv, args.plot, args.json or beside(args.plot)])
    datasets = options.datasets(args, world)
    shares = describe_shares(world, datasets, options.descriptor(args, datasets, world), args.quiet)
    h = options.bandwidth(args, datasets, world)
    names = [dataset.name for dataset in datasets]
    by_centre = options.by_centre(args)
    wholes = [share.whole(world) for share in shares]  # each dataset once per node
    elements = symbols(symbol_order(np.concatenate([z for _, z in wholes]))) if by_centre else []
    numbers = atomic_numbers(elements) if elements else []
    # covered[i, j, 0]: environments of i covered by j; [i, j, 1 + e]: those of element e; this rank's block
    covered = np.zeros((len(datasets), len(datasets), 1 + len(elements)), dtype=np.int64)
    with Progress("overlap", len(datasets) ** 2, enabled=world.is_root and not args.quiet) as bar:
        for j, (x, x_centres) in enumerate(wholes):
            for i, share in enumerate(shares):
                dh = world.each(
                    lambda: block_dh(
                        share.descriptors, x, h, share.centres if by_centre else None, x_centres if by_centre else None
                    )
                )
                inside = dh <= args.threshold
                covered[i, j] = [inside.sum()] + [inside[share.centres == z].sum() for z in numbers]
                bar.advance()
    entropies = [self_dh(world, x, h, z if by_centre else None, quiet=args.quiet) for x, z in wholes]
    totals = world.gather(covered)
    if not world.is_root:
        return
    covered = np.sum(totals, axis=0)
    counts = [[len(x)] + [int(np.sum(z == number)) for number in numbers] for x, z in wholes]
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN where dataset i has no atom of the element
        fractions = covered / np.array(counts, dtype=np.float64)[:, None, :]
    matrix = fractions[:, :, 0]
    per_element = {name: fractions[:, :, 1 + e] for e, name in enumerate(elements)}
    entropies = [entropy_and_diversity_from_self_dh(dh)[0] for dh in entropies]
    print(
        f"overlap[i, j] = fraction of dataset i with dH(x | dataset j) <= {args.threshold:g} (h = {h:.6g} 1/A"
        f"{', by centre' if by_centre else ''})"
    )
    columns = ["dataset"] + [str(j) for j in range(len(names))] + ["entropy"]
    print_table(
        [
            {"dataset": name, **dict(zip(map(str, range(len(names))), row)), "entropy": value}
            for name, row, value in zip(names, matrix, entropies)
        ],
        columns,
    )
    for name, table in per_element.items():
        print(f"{name} atoms:")
        print_table(
            [{"dataset": dataset, **dict(zip(map(str, range(len(names))), row))} for dataset, row in zip(names, table)],
            columns[:-1],
        )
    if args.csv:
        write_csv(args.csv, ["dataset"] + names, [[name] + row.tolist() for name, row in zip(names, matrix)])
    if args.plot:
        from . import plots

        plots.save(plots.draw.overlap(short_names(names), matrix), args.plot)
    write_result(
        args,
        {
            "datasets": names,
            "bandwidth": h,
            "threshold": args.threshold,
            "species": args.species or "blind",
            "overlap": matrix.tolist(),
            "entropy": entropies,
            **(
                {
                    "overlap_by_element": {
                        name: [[None if np.isnan(v) else v for v in row] for row in table.tolist()]
                        for name, table in per_element.items()
                    }
                }
                if by_centre
                else {}
            ),
        },
    )
