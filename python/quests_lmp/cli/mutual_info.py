"""`quests-lmp mutual-info A B`: how much two datasets share: mutual information and a distance (nats).

    I = H(A) + H(B) - H(A+B),  H(A|B) = H(A) - I,  H(B|A) = H(B) - I,  d = H(A+B) - I

with H(A+B) the entropy of the union (all environments of both). d / H(A+B) is 0 for identical
sets and 1 for sets that share nothing.
"""

from __future__ import annotations

import numpy as np

from ..engine.information import entropy_and_diversity_from_self_dh
from . import options
from .distributed import describe_shares, self_dh
from .report import print_table, write_result


def register(commands) -> None:
    command = options.add_command(
        commands,
        "mutual-info",
        run,
        "mutual information, conditional entropies and distance of two datasets",
        parallel=True,
    )
    command.add_argument("datasets", nargs=2, metavar="DATASET")


def run(args, world) -> None:
    options.check_outputs(args, [args.json])
    datasets = options.datasets(args, world)
    shares = describe_shares(world, datasets, options.descriptor(args, datasets, world), args.quiet)
    h = options.bandwidth(args, datasets, world)
    by_centre = options.by_centre(args)
    wholes = [share.whole(world) for share in shares]
    union = [np.concatenate(parts) for parts in zip(*wholes)]
    entropies = [self_dh(world, x, h, z if by_centre else None, quiet=args.quiet) for x, z in [*wholes, union]]
    if not world.is_root:
        return
    first, second, both = [entropy_and_diversity_from_self_dh(dh)[0] for dh in entropies]
    shared = first + second - both
    result = {
        "datasets": [d.name for d in datasets],
        "bandwidth": h,
        "species": args.species or "blind",
        "entropy": [first, second],
        "union_entropy": both,
        "mutual_information": shared,
        "conditional_entropy": [first - shared, second - shared],
        "distance": both - shared,
        "normalised_distance": (both - shared) / both if both > 0 else 0.0,
    }
    print_table(
        [
            {"quantity": name, "nats": value}
            for name, value in [
                ("H(A)", first),
                ("H(B)", second),
                ("H(A+B)", both),
                ("I(A;B)", shared),
                ("H(A|B)", first - shared),
                ("H(B|A)", second - shared),
                ("d = H(A+B) - I", both - shared),
                ("d / H(A+B)", result["normalised_distance"]),
            ]
        ],
        ["quantity", "nats"],
    )
    write_result(args, result)
