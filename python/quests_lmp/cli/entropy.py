"""`quests-lmp entropy DATASETS`: H, D and log n of each dataset, optionally averaged over random samples."""

from __future__ import annotations

import numpy as np

from ..engine.information import entropy_and_diversity, entropy_by_element
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
    by_centre = options.by_centre(args)
    rows = []
    for dataset in datasets:
        h = resolve_bandwidth(args.bandwidth, [dataset])
        x, centres = dataset.descriptors, dataset.centres if by_centre else None
        if args.sample and args.sample < len(x):
            picks = [rng.choice(len(x), args.sample, replace=False) for _ in range(args.repeats)]
            samples = [entropy_and_diversity(x[pick], h, None if centres is None else centres[pick]) for pick in picks]
            (h_mean, d_mean), (h_std, d_std) = np.mean(samples, axis=0), np.std(samples, axis=0)
            n = args.sample
        else:
            (h_mean, d_mean), (h_std, d_std), n = entropy_and_diversity(x, h, centres), (0.0, 0.0), len(x)
        rows.append({"dataset": dataset.name, "element": "all", "environments": len(x), "sampled": n,
                     "bandwidth": h, "entropy": float(h_mean), "entropy_std": float(h_std),
                     "diversity": float(d_mean), "diversity_std": float(d_std), "log_n": float(np.log(n))})
        if by_centre:  # each element of the whole set (the sampled total is above)
            for name, (count, value, diversity) in entropy_by_element(x, centres, h).items():
                if name != "total":
                    rows.append({"dataset": dataset.name, "element": name, "environments": count, "sampled": count,
                                 "bandwidth": h, "entropy": value, "entropy_std": 0.0, "diversity": diversity,
                                 "diversity_std": 0.0, "log_n": float(np.log(count))})
    columns = ["dataset"] + (["element"] if by_centre else []) + ["sampled", "bandwidth", "entropy", "entropy_std",
                                                                  "diversity", "log_n"]
    print_table(rows, columns)
    write_result(args, {"datasets": rows, "species": args.species or "blind"})
