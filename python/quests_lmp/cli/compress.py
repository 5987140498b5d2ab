"""`quests-lmp compress DATASET --size N -o subset.extxyz`: a subset of structures that keeps the most information."""

from __future__ import annotations

import numpy as np

from ..analysis.compression import METHODS, select_structures
from ..engine.information import entropy_and_diversity
from . import options
from .datasets import resolve_bandwidth, write_structures
from .progress import Progress
from .report import write_result


def register(commands) -> None:
    command = options.add_command(commands, "compress", run, "subset of structures that keeps the most information")
    command.add_argument("dataset")
    size = command.add_mutually_exclusive_group(required=True)
    size.add_argument("--size", type=options.positive(int), help="structures to keep")
    size.add_argument("--fraction", type=float, help="fraction of the structures to keep")
    command.add_argument("--method", choices=METHODS, default="greedy", help="greedy (default) or random")
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("-o", "--output", required=True, help="subset to write (.extxyz)")


def run(args, world) -> None:
    options.check_outputs(args, [args.output, args.json])
    (dataset,) = options.described(args)
    h = resolve_bandwidth(args.bandwidth, [dataset])
    n = len(dataset.frames)
    if args.fraction is not None and not 0 < args.fraction <= 1:
        raise ValueError(f"--fraction must be in (0, 1], got {args.fraction}")
    size = args.size if args.size is not None else max(1, round(args.fraction * n))
    offsets = np.cumsum([0] + [len(atoms) for atoms in dataset.frames])
    blocks = [dataset.descriptors[offsets[i]:offsets[i + 1]] for i in range(n)]
    by_centre = options.by_centre(args)
    centres = [atoms.numbers for atoms in dataset.frames] if by_centre else None
    with Progress(f"{args.method} selection", size, enabled=not args.quiet and args.method == "greedy") as bar:
        chosen = select_structures(blocks, h, size, args.method, np.random.default_rng(args.seed), bar.advance,
                                   centres)
    subset = np.concatenate([blocks[i] for i in chosen])
    subset_centres = np.concatenate([centres[i] for i in chosen]) if by_centre else None
    full_h, full_d = entropy_and_diversity(dataset.descriptors, h, dataset.centres if by_centre else None)
    sub_h, sub_d = entropy_and_diversity(subset, h, subset_centres)
    result = {"dataset": dataset.name, "method": args.method, "bandwidth": h, "species": args.species or "blind",
              "structures": n, "kept": len(chosen),
              "environments": len(dataset.descriptors), "kept_environments": len(subset),
              "entropy": full_h, "diversity": full_d, "subset_entropy": sub_h, "subset_diversity": sub_d,
              "information_gap": full_h - sub_h, "indices": [int(i) for i in chosen]}
    print(f"kept {len(chosen)} of {n} structures ({len(subset)} of {len(dataset.descriptors)} environments, "
          f"{args.method}): H = {sub_h:.6f} vs {full_h:.6f} nats (gap {full_h - sub_h:.6f}), "
          f"D = {sub_d:.6f} vs {full_d:.6f} nats")
    write_structures(args.output, [dataset.frames[i] for i in chosen])
    write_result(args, result)
