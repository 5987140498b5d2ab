"""`quests-lmp entropy DATASETS`: H, D and log n of each dataset, optionally averaged over random samples."""

from __future__ import annotations

import numpy as np

from ..engine.information import entropy_and_diversity
from . import options
from .datasets import resolve_bandwidth
from .report import print_table, write_result


def register(commands) -> None:
    command = options.add_command(commands, "entropy", run, "H, D and log n of datasets, optionally sub-sampled")
    command.add_argument("datasets", nargs="+")
    command.add_argument("--sample", type=options.positive(int), help="environments per random sample")
    command.add_argument("--repeats", type=options.positive(int), default=5, help="samples to average (5)")
    command.add_argument("--seed", type=int, default=0)


def run(args, world) -> None:
    options.check_outputs(args, [args.json])
    datasets = options.described(args)
    rng = np.random.default_rng(args.seed)
    rows = []
    for dataset in datasets:
        h = resolve_bandwidth(args.bandwidth, [dataset])
        x = dataset.descriptors
        if args.sample and args.sample < len(x):
            samples = [entropy_and_diversity(x[rng.choice(len(x), args.sample, replace=False)], h)
                       for _ in range(args.repeats)]
            (h_mean, d_mean), (h_std, d_std) = np.mean(samples, axis=0), np.std(samples, axis=0)
            n = args.sample
        else:
            (h_mean, d_mean), (h_std, d_std), n = entropy_and_diversity(x, h), (0.0, 0.0), len(x)
        rows.append({"dataset": dataset.name, "environments": len(x), "sampled": n, "bandwidth": h,
                     "entropy": float(h_mean), "entropy_std": float(h_std), "diversity": float(d_mean),
                     "diversity_std": float(d_std), "log_n": float(np.log(n))})
    print_table(rows, ["dataset", "sampled", "bandwidth", "entropy", "entropy_std", "diversity", "log_n"])
    write_result(args, {"datasets": rows})
