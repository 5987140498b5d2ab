"""`quests-lmp entropy DATASETS`: H, D and log n of each dataset, exact or estimated from sampled rows.

--method exact (default): every environment's kernel sum over the whole set, O(n^2); the tiles of
the symmetric kernel matrix are split over the MPI ranks, the set held once per node.
--method sampled: the exact kernel sums of --rows environments drawn at random, streamed over the
whole set (O(rows n) work, memory of one chunk per rank), giving H and D with standard errors.
--sample/--repeats instead averages the entropy of random subsets (a smaller set's H: what a
dataset of that size would hold).
"""

from __future__ import annotations

import sys

import numpy as np

from ..engine.information import (
    entropy_and_diversity_from_self_dh,
    entropy_by_element_from_self_dh,
    sampled_entropy_and_diversity,
    sampled_entropy_by_element,
)
from ..engine.species import symbols
from . import options
from .distributed import describe_shares, sampled_self_dh, self_dh
from .report import print_table, write_result

DEFAULT_ROWS = 10000


def register(commands) -> None:
    command = options.add_command(
        commands, "entropy", run, "H, D and log n of datasets, exact or estimated", parallel=True
    )
    command.add_argument("datasets", nargs="+")
    command.add_argument(
        "--method",
        type=_method,
        choices=("exact", "sampled"),
        default="exact",
        help="exact (all n^2 kernel terms, default) or sampled (the exact kernel sums of --rows "
        "random environments: H and D with standard errors; formerly approx)",
    )
    command.add_argument(
        "--rows",
        type=options.positive(int),
        default=DEFAULT_ROWS,
        help=f"sampled: environments whose kernel sums are computed ({DEFAULT_ROWS})",
    )
    command.add_argument("--sample", type=options.positive(int), help="exact: environments per random subset")
    command.add_argument("--repeats", type=options.positive(int), default=5, help="subsets to average (5)")
    command.add_argument("--seed", type=int, default=0)


def _method(text: str) -> str:
    """--method, with approx, its spelling before the glossary (doc/glossary.md), as sampled."""
    if text == "approx":
        print(
            "quests-lmp entropy: --method approx is now --method sampled (approx names the cluster index of "
            "dh); the old spelling will be removed",
            file=sys.stderr,
        )
        return "sampled"
    return text


def run(args, world) -> None:
    options.check_outputs(args, [args.json])
    if args.method == "sampled" and args.sample:
        raise ValueError(
            "--sample averages exact entropies of subsets; --method sampled samples rows of the whole "
            "set: use one of them"
        )
    datasets = options.datasets(args, world)
    descriptor = options.descriptor(args, datasets, world)
    by_centre = options.by_centre(args)
    rng = np.random.default_rng(args.seed)
    shares = describe_shares(world, datasets, descriptor, args.quiet) if args.method == "exact" else None
    rows = []
    for number, dataset in enumerate(datasets):
        h = options.bandwidth(args, [dataset], world)
        if shares is None:
            rows += _approximate(world, dataset, descriptor, h, by_centre, rng, args)
        else:
            rows += _exact(world, shares[number], h, by_centre, rng, args)
    if not world.is_root:
        return
    errors = ["entropy_error", "diversity_error"] if args.method == "sampled" else ["entropy_std", "diversity_std"]
    columns = (
        ["dataset"]
        + (["element"] if by_centre and args.method == "exact" else [])
        + ["environments", "sampled", "bandwidth", "entropy", errors[0], "diversity", errors[1], "log_n"]
    )
    print_table(rows, columns)
    write_result(args, {"datasets": rows, "species": args.species or "blind", "method": args.method})


def _exact(world, share, h, by_centre, rng, args) -> list[dict]:
    """The rows of the table for one dataset: all environments, or the mean of random subsets."""
    x, centres = share.whole(world)
    centres = centres if by_centre else None
    n, name = len(x), share.dataset.name
    subsets = args.sample and args.sample < n
    whole = centres is not None or not subsets
    dh = self_dh(world, x, h, centres, quiet=args.quiet) if whole else None  # all rows, on rank 0
    if subsets:
        picks = [rng.choice(n, args.sample, replace=False) for _ in range(args.repeats)]
        samples = [self_dh(world, x, h, centres, pick, quiet=True) for pick in picks]
    if not world.is_root:
        return []
    if subsets:
        values = np.array([entropy_and_diversity_from_self_dh(part) for part in samples])
        (h_mean, d_mean), (h_std, d_std), sampled = values.mean(axis=0), values.std(axis=0), args.sample
    else:
        (h_mean, d_mean), (h_std, d_std), sampled = entropy_and_diversity_from_self_dh(dh), (0.0, 0.0), n
    rows = [_row(name, "all", n, sampled, h, h_mean, h_std, d_mean, d_std, "std")]
    if centres is not None:  # each element of the whole set (the sampled total is above)
        for element, (count, value, diversity) in entropy_by_element_from_self_dh(dh, centres).items():
            if element != "total":
                rows.append(_row(name, element, count, count, h, value, 0.0, diversity, 0.0, "std"))
    return rows


def _approximate(world, dataset, descriptor, h, by_centre, rng, args) -> list[dict]:
    n = dataset.n_environments
    rows = np.sort(rng.choice(n, min(args.rows, n), replace=False))
    sampled = sampled_self_dh(world, dataset, descriptor, h, rows, by_centre, args.quiet)
    if not world.is_root:
        return []
    dh, centres, counts = sampled
    table = [("all", n, len(rows), sampled_entropy_and_diversity(dh, n))]
    if by_centre:
        elements = sampled_entropy_by_element(dh, centres, counts)
        table += [(name, *values) for name, values in elements.items()]
        left_out = [name for name in symbols(sorted(counts)) if name not in elements]
        if left_out:
            print(
                f"quests-lmp entropy: {dataset.name}: no per-element line for {', '.join(left_out)} (fewer than 2 "
                "of its environments among the sampled rows: raise --rows)",
                file=sys.stderr,
            )
    return [
        _row(
            dataset.name,
            element,
            count,
            sampled,
            h,
            estimate["entropy"],
            estimate["entropy_error"],
            estimate["diversity"],
            estimate["diversity_error"],
            "error",
        )
        for element, count, sampled, estimate in table
    ]


def _row(name, element, n, sampled, h, entropy, entropy_spread, diversity, diversity_spread, spread) -> dict:
    """A table row; log_n is that of the set whose H it is (a subset for --sample, all n for sampled)."""
    return {
        "dataset": name,
        "element": element,
        "environments": int(n),
        "sampled": int(sampled),
        "bandwidth": h,
        "entropy": float(entropy),
        f"entropy_{spread}": float(entropy_spread),
        "diversity": float(diversity),
        f"diversity_{spread}": float(diversity_spread),
        "log_n": float(np.log(sampled if spread == "std" else n)),
    }
