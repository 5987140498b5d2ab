"""`quests-lmp metrics DATASET [-o per-atom.csv]`: H, D and every environment's dH(X_i|X) against its own set."""

from __future__ import annotations

from ..engine.information import entropy_and_diversity_from_self_dh
from . import options
from .distributed import describe_shares, self_dh
from .outputs import per_atom_format_check, write_per_atom
from .report import print_table, write_result


def register(commands) -> None:
    command = options.add_command(
        commands, "metrics", run, "H, D and each environment's dH against its own set", parallel=True
    )
    command.add_argument("dataset")
    command.add_argument("-o", "--output", help="per-atom self dH: .extxyz/.xyz copy (array dH) or .csv")


def run(args, world) -> None:
    per_atom_format_check(args.output)
    options.check_outputs(args, [args.output, args.json])
    (dataset,) = options.datasets(args, world)
    (share,) = describe_shares(world, [dataset], options.descriptor(args, [dataset], world), args.quiet)
    x, centres = share.whole(world)
    h = options.bandwidth(args, [dataset], world)
    values = self_dh(world, x, h, centres if options.by_centre(args) else None, quiet=args.quiet)
    if not world.is_root:
        return
    entropy, diversity = entropy_and_diversity_from_self_dh(values)
    result = {
        "dataset": dataset.name,
        "environments": len(values),
        "bandwidth": h,
        "entropy": entropy,
        "diversity": diversity,
        "min_dH": float(values.min()),
        "mean_dH": float(values.mean()),
        "species": args.species or "blind",
    }
    print_table([result], ["dataset", "environments", "bandwidth", "entropy", "diversity", "min_dH", "mean_dH"])
    if args.output:
        write_per_atom(args.output, dataset, values)
    write_result(args, result)
