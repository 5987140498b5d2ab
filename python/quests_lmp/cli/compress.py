"""`quests-lmp compress DATASET --size N -o subset.extxyz`: a subset of structures that keeps the most information.

Runs under `mpiexec -n P`: the descriptors are described in blocks and shared per node, each rank
evaluates the greedy method's candidates for a block of the structures, and H and D are split by
kernel tiles (quests_lmp.cli.distributed).
"""

from __future__ import annotations

import numpy as np

from ..analysis.compression import METHODS, Split, select_structures
from ..engine.information import entropy_and_diversity_from_self_dh
from . import options
from .distributed import describe_shares, self_dh
from .outputs import write_structures
from .progress import Progress
from .report import write_result


def register(commands) -> None:
    command = options.add_command(
        commands, "compress", run, "subset of structures that keeps the most information", parallel=True
    )
    command.add_argument("dataset")
    size = command.add_mutually_exclusive_group(required=True)
    size.add_argument("--size", type=options.positive(int), help="structures to keep")
    size.add_argument("--fraction", type=float, help="fraction of the structures to keep")
    command.add_argument(
        "--method",
        choices=METHODS,
        default="greedy",
        help="greedy (default), random, or the reference package's fps, mean_fps, kmeans, msc, "
        "msc_conditional (doc/cli.md)",
    )
    command.add_argument(
        "--reference",
        help="msc_conditional: the existing set (.npz reference file or structures), "
        "whose descriptor and bandwidth then apply",
    )
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("-o", "--output", required=True, help="subset to write (.extxyz)")


def run(args, world) -> None:
    options.check_outputs(args, [args.output, args.json])
    if args.fraction is not None and not 0 < args.fraction <= 1:
        raise ValueError(f"--fraction must be in (0, 1], got {args.fraction}")
    if (args.reference is not None) != (args.method == "msc_conditional"):
        raise ValueError("--reference (the existing set) goes with --method msc_conditional, and only with it")
    (dataset,) = options.datasets(args, world)
    by_centre = options.by_centre(args)
    if args.reference:
        reference = options.reference(args, world, [dataset])
        descriptor, h = reference.descriptor, reference.bandwidth
        existing = (reference.descriptors, reference.centres if by_centre else None)
    else:
        descriptor, h, existing = options.descriptor(args, [dataset], world), None, None
    (share,) = describe_shares(world, [dataset], descriptor, args.quiet)
    x, all_centres = share.whole(world)
    if h is None:
        h = options.bandwidth(args, [dataset], world)
    n = dataset.n_frames
    size = args.size if args.size is not None else max(1, round(args.fraction * n))
    offsets = np.cumsum([0, *dataset.atom_counts])
    blocks = [x[offsets[i] : offsets[i + 1]] for i in range(n)]
    centres = [all_centres[offsets[i] : offsets[i + 1]] for i in range(n)] if by_centre else None
    with Progress(
        f"{args.method} selection",
        size,
        enabled=world.is_root and not args.quiet and args.method not in ("random", "kmeans"),
    ) as bar:
        split = Split(range(*world.block(n)), lambda work: world.allgather(world.each(work)))
        chosen = select_structures(
            blocks, h, size, args.method, np.random.default_rng(args.seed), bar.advance, centres, split, existing
        )
    rows = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in chosen])
    z = all_centres if by_centre else None
    full = self_dh(world, x, h, z, quiet=args.quiet)
    kept = self_dh(world, x, h, z, rows, quiet=True)
    if not world.is_root:
        return
    (full_h, full_d), (sub_h, sub_d) = (
        entropy_and_diversity_from_self_dh(full),
        entropy_and_diversity_from_self_dh(kept),
    )
    result = {
        "dataset": dataset.name,
        "method": args.method,
        "bandwidth": h,
        "species": args.species or "blind",
        "structures": n,
        "kept": len(chosen),
        "environments": len(x),
        "kept_environments": len(rows),
        "entropy": full_h,
        "diversity": full_d,
        "subset_entropy": sub_h,
        "subset_diversity": sub_d,
        "information_gap": full_h - sub_h,
        "indices": [int(i) for i in chosen],
    }
    print(
        f"kept {len(chosen)} of {n} structures ({len(rows)} of {len(x)} environments, "
        f"{args.method}): H = {sub_h:.6f} vs {full_h:.6f} nats (gap {full_h - sub_h:.6f}), "
        f"D = {sub_d:.6f} vs {full_d:.6f} nats"
    )
    write_structures(args.output, dataset.read(chosen))
    write_result(args, result)
