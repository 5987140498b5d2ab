"""`quests-lmp learning-curve DATASET`: H against dataset size, the asymptote fit (Eq. 9) and the gap."""

from __future__ import annotations

import numpy as np

from ..analysis.learning import asymptote, subset_picks, subset_sizes
from ..engine.information import entropy_and_diversity_from_self_dh
from . import options
from .datasets import short_names
from .distributed import describe_shares, self_dh
from .progress import Progress
from .report import beside, print_table, write_result


def register(commands) -> None:
    command = options.add_command(
        commands, "learning-curve", run, "H against dataset size, asymptote and gap", [options.PLOT], parallel=True
    )
    command.add_argument("dataset")
    command.add_argument("--points", type=options.positive(int), default=8, help="dataset sizes (8, log-spaced)")
    command.add_argument("--smallest", type=options.positive(int), default=10, help="smallest size (10)")
    command.add_argument("--repeats", type=options.positive(int), default=3, help="random subsets per size (3)")
    command.add_argument("--seed", type=int, default=0)


def run(args, world) -> None:
    options.check_outputs(args, [args.plot, args.json or beside(args.plot)])
    (dataset,) = options.datasets(args, world)
    (share,) = describe_shares(world, [dataset], options.descriptor(args, [dataset], world), args.quiet)
    x, centres = share.whole(world)
    centres = centres if options.by_centre(args) else None
    h = options.bandwidth(args, [dataset], world)
    rng = np.random.default_rng(args.seed)
    sizes = subset_sizes(len(x), args.points, args.smallest)
    samples = []
    with Progress("learning curve", len(sizes), enabled=world.is_root and not args.quiet) as bar:
        for size in sizes:
            picks = subset_picks(len(x), int(size), args.repeats, rng)
            dhs = [self_dh(world, x, h, centres, pick, quiet=True) for pick in picks]
            if world.is_root:
                samples.append(np.array([entropy_and_diversity_from_self_dh(dh)[0] for dh in dhs]))
            bar.advance()
    if not world.is_root:
        return
    mean, std = np.array([s.mean() for s in samples]), np.array([s.std() for s in samples])
    fit = asymptote(sizes, mean)
    gap = fit[0] - mean
    rows = [
        {"N": int(n), "entropy": m, "entropy_std": s, "information_gap": g} for n, m, s, g in zip(sizes, mean, std, gap)
    ]
    print_table(rows, ["N", "entropy", "entropy_std", "information_gap"])
    print(
        f"f(N) = a - b exp(-c (log N)^2): a = {fit[0]:.6f} nats (asymptote), b = {fit[1]:.6g}, c = {fit[2]:.6g}; "
        f"information gap of the full set: {gap[-1]:.6f} nats"
    )
    if args.plot:
        from . import plots

        plots.save(plots.draw.learning_curve(sizes, mean, std, fit, short_names([dataset.name])[0]), args.plot)
    write_result(
        args,
        {
            "dataset": dataset.name,
            "bandwidth": h,
            "species": args.species or "blind",
            "repeats": args.repeats,
            "sizes": sizes.tolist(),
            "entropy": mean.tolist(),
            "entropy_std": std.tolist(),
            "fit": dict(zip("abc", fit)),
            "asymptote": fit[0],
            "information_gap": gap.tolist(),
        },
    )
