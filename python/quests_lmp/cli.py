"""The `quests-lmp` command line: the paper's dataset and trajectory analyses over the engine.

    quests-lmp reference build FILES -o ref.npz   training structures -> reference file (+ H, D)
    quests-lmp entropy DATASETS                   H, D, log n; --sample N --repeats R
    quests-lmp dh TEST --reference REF            per-atom dH -> extxyz (array dH) or CSV; summary
    quests-lmp overlap DATASETS                   overlap matrix (fraction covered), CSV + heat map
    quests-lmp trajectory TRAJ [--reference REF]  per frame H, mean/max dH, novel fraction; CSV + plot
    quests-lmp clusters TRAJ --reference REF      clusters of atoms with dH <= 0, per frame; CSV + plot
    quests-lmp learning-curve DATASET             H against size, asymptote fit (Eq. 9), information gap
    quests-lmp compress DATASET --size N          a subset that keeps the most information -> extxyz
    quests-lmp plugin-path                        folder of the LAMMPS plugin questsplugin.so

A dataset is `file[@frames]` in any format ASE reads (`md.dump@::10`). Every command takes -k,
--cutoff, --bandwidth (1/A or `auto` for the paper's h(V)), --threads, --quiet, --overwrite and
--json; `dh` and `trajectory` also run under `mpiexec -n P`. Mistakes give one line and exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from .clusters import DEFAULT_DISTANCE, cluster_sizes
from .compression import METHODS, select_structures
from .datasets import (Dataset, check_outputs, describe, load_reference, per_atom_format_check, read_dataset,
                       resolve_bandwidth, write_csv, write_json, write_per_atom, write_structures)
from .descriptor import DEFAULT_CUTOFF, DEFAULT_K, Descriptor
from .information import entropy, entropy_and_diversity, overlap
from .lammps_fix import plugin_dir
from .learning import asymptote, sampled_entropy, subset_sizes
from .parallel import RankFailure, World
from .progress import Progress
from .reference import Reference

CHUNK = 16384  # environments per dH evaluation


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    world = World()
    started = time.perf_counter()
    try:
        if getattr(args, "threads", None):
            import numba

            numba.set_num_threads(args.threads)
        args.handler(args, world)
    except (ValueError, OSError, RankFailure) as error:
        if world.is_root:
            print(f"quests-lmp {args.command}: error: {error}", file=sys.stderr)
        return 1
    if world.is_root and not getattr(args, "quiet", True):
        print(f"quests-lmp {args.command}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


# --- commands ---------------------------------------------------------------------------------


def reference_build(args, world) -> None:
    check_outputs([args.output, args.json], args.overwrite)
    datasets = [read_dataset(spec, args.format) for spec in args.files]
    describe(datasets, _descriptor(args), args.quiet)
    frames = [atoms for dataset in datasets for atoms in dataset.frames]
    h = resolve_bandwidth(args.bandwidth, datasets)
    reference = Reference(np.concatenate([d.descriptors for d in datasets]), _k(args), _cutoff(args), h,
                          sources=args.files)
    reference.save(args.output, overwrite=args.overwrite)
    entropy_value, diversity_value = reference.entropy_and_diversity()
    result = {"reference": args.output, "structures": len(frames), "environments": reference.n_environments,
              "k": reference.k, "cutoff": reference.cutoff, "bandwidth": h, "entropy": entropy_value,
              "diversity": diversity_value, "log_n": float(np.log(reference.n_environments))}
    print(f"{args.output}: {len(frames)} structures, {reference.n_environments} environments, k={reference.k}, "
          f"cutoff={reference.cutoff} A, bandwidth={h:.6g} 1/A\n"
          f"H = {entropy_value:.6f} nats, D = {diversity_value:.6f} nats, log n = {result['log_n']:.6f}")
    _write_json(args, result)


def entropy_command(args, world) -> None:
    check_outputs([args.json], args.overwrite)
    datasets = _described(args)
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
    _print_table(rows, ["dataset", "sampled", "bandwidth", "entropy", "entropy_std", "diversity", "log_n"])
    _write_json(args, {"datasets": rows})


def dh_command(args, world) -> None:
    per_atom_format_check(args.output)
    check_outputs([args.output, args.json], args.overwrite)
    test = read_dataset(args.test, args.format)
    reference = _reference(args)
    values = _distributed_dh(world, test.frames, reference, args)
    if not world.is_root:
        return
    novel = values > args.threshold
    result = {"test": args.test, "reference": args.reference, "environments": int(values.size),
              "bandwidth": reference.bandwidth, "method": args.method, "threshold": args.threshold,
              "max_dH": float(values.max()), "mean_dH": float(values.mean()),
              "novel_fraction": float(novel.mean()), "novel_count": int(novel.sum())}
    print(f"{values.size} environments of {args.test} against {reference.n_environments} of {args.reference} "
          f"(h = {reference.bandwidth:.6g} 1/A, {args.method}):\n"
          f"max dH = {result['max_dH']:.6f}, mean dH = {result['mean_dH']:.6f} nats, "
          f"novel (dH > {args.threshold:g}): {result['novel_count']} ({result['novel_fraction']:.4%})")
    if args.output:
        write_per_atom(args.output, test.frames, values)
    _write_json(args, result)


def overlap_command(args, world) -> None:
    check_outputs([args.csv, args.plot, args.json or _beside(args.plot)], args.overwrite)
    datasets = _described(args)
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
    _print_table([{"dataset": name, **dict(zip(map(str, range(len(names))), row)), "entropy": value}
                  for name, row, value in zip(names, matrix, entropies)],
                 ["dataset"] + [str(j) for j in range(len(names))] + ["entropy"])
    if args.csv:
        write_csv(args.csv, ["dataset"] + names, [[name] + row.tolist() for name, row in zip(names, matrix)])
    if args.plot:
        from .plots import overlap_plot

        overlap_plot(args.plot, names, matrix)
    _write_json(args, {"datasets": names, "bandwidth": h, "threshold": args.threshold,
                       "overlap": matrix.tolist(), "entropy": entropies})


def trajectory_command(args, world) -> None:
    per_atom_format_check(args.output)
    check_outputs([args.output, args.csv, args.plot, args.json or _beside(args.plot)], args.overwrite)
    trajectory = read_dataset(args.trajectory, args.format)
    frames = trajectory.frames
    if args.reference:
        reference, against = _reference(args), args.reference
    else:
        descriptor = _descriptor(args)
        h = resolve_bandwidth(args.bandwidth, [Dataset(args.trajectory, frames[:1])])
        reference = Reference(descriptor.compute_atoms(frames[0]), descriptor.k, descriptor.cutoff, h)
        against = "the first frame"
    start, stop = world.block(len(frames))

    def work():
        rows, values = [], []
        with Progress("frames", stop - start, enabled=world.is_root and not args.quiet) as bar:
            for index in range(start, stop):
                x = reference.descriptor.compute_atoms(frames[index], index=index)
                dh = reference.delta_entropy(x, method=args.method, neighbors=args.neighbors)
                rows.append([index, len(x), entropy(x, reference.bandwidth), dh.mean(), dh.max(),
                             np.mean(dh > args.threshold)])
                values.append(dh)
                bar.advance()
        return rows, values

    gathered = world.run(work)
    if not world.is_root:
        return
    rows = [row for part_rows, _ in gathered for row in part_rows]
    header = ["frame", "atoms", "entropy", "mean_dH", "max_dH", "novel_fraction"]
    table = {name: np.array([row[i] for row in rows]) for i, name in enumerate(header)}
    _print_table([dict(zip(header, row)) for row in rows], header)
    if args.output:
        write_per_atom(args.output, frames, np.concatenate([v for _, part in gathered for v in part]))
    if args.csv:
        write_csv(args.csv, header, rows)
    if args.plot:
        from .plots import trajectory_plot

        trajectory_plot(args.plot, table["frame"], table, against)
    _write_json(args, {"trajectory": args.trajectory, "reference": against, "bandwidth": reference.bandwidth,
                       "threshold": args.threshold, **{name: values.tolist() for name, values in table.items()}})


def clusters_command(args, world) -> None:
    check_outputs([args.csv, args.plot, args.json or _beside(args.plot)], args.overwrite)
    trajectory = read_dataset(args.trajectory, args.format)
    reference = _reference(args)
    rows, all_sizes = [], []
    with Progress("frames", len(trajectory.frames), enabled=not args.quiet) as bar:
        for index, atoms in enumerate(trajectory.frames):
            dh = reference.delta_entropy(reference.descriptor.compute_atoms(atoms, index=index))
            solid_like = dh <= args.threshold
            sizes = cluster_sizes(atoms, solid_like, args.distance)
            all_sizes.append(sizes)
            rows.append([index, len(atoms), int(solid_like.sum()), len(sizes),
                         int(sizes[0]) if len(sizes) else 0])
            bar.advance()
    header = ["frame", "atoms", "solid_like", "clusters", "largest"]
    _print_table([dict(zip(header, row)) for row in rows], header)
    if args.csv:
        write_csv(args.csv, header, rows)
    if args.plot:
        from .plots import clusters_plot

        clusters_plot(args.plot, [row[0] for row in rows], [row[4] for row in rows], np.concatenate(all_sizes))
    _write_json(args, {"trajectory": args.trajectory, "reference": args.reference, "distance": args.distance,
                       "threshold": args.threshold, **{name: [row[i] for row in rows] for i, name in enumerate(header)},
                       "sizes": [sizes.tolist() for sizes in all_sizes]})


def learning_curve_command(args, world) -> None:
    check_outputs([args.plot, args.json or _beside(args.plot)], args.overwrite)
    (dataset,) = _described(args)
    x = dataset.descriptors
    h = resolve_bandwidth(args.bandwidth, [dataset])
    rng = np.random.default_rng(args.seed)
    sizes = subset_sizes(len(x), args.points, args.smallest)
    samples = []
    with Progress("learning curve", len(sizes), enabled=not args.quiet) as bar:
        for size in sizes:
            samples.append(sampled_entropy(x, h, int(size), args.repeats, rng))
            bar.advance()
    mean, std = np.array([s.mean() for s in samples]), np.array([s.std() for s in samples])
    fit = asymptote(sizes, mean)
    gap = fit[0] - mean
    rows = [{"N": int(n), "entropy": m, "entropy_std": s, "information_gap": g}
            for n, m, s, g in zip(sizes, mean, std, gap)]
    _print_table(rows, ["N", "entropy", "entropy_std", "information_gap"])
    print(f"f(N) = a - b exp(-c (log N)^2): a = {fit[0]:.6f} nats (asymptote), b = {fit[1]:.6g}, c = {fit[2]:.6g}; "
          f"information gap of the full set: {gap[-1]:.6f} nats")
    if args.plot:
        from .plots import learning_curve_plot

        learning_curve_plot(args.plot, sizes, mean, std, fit)
    _write_json(args, {"dataset": dataset.name, "bandwidth": h, "repeats": args.repeats, "sizes": sizes.tolist(),
                       "entropy": mean.tolist(), "entropy_std": std.tolist(),
                       "fit": dict(zip("abc", fit)), "asymptote": fit[0], "information_gap": gap.tolist()})


def compress_command(args, world) -> None:
    check_outputs([args.output, args.json], args.overwrite)
    (dataset,) = _described(args)
    h = resolve_bandwidth(args.bandwidth, [dataset])
    n = len(dataset.frames)
    if args.fraction is not None and not 0 < args.fraction <= 1:
        raise ValueError(f"--fraction must be in (0, 1], got {args.fraction}")
    size = args.size if args.size is not None else max(1, round(args.fraction * n))
    offsets = np.cumsum([0] + [len(atoms) for atoms in dataset.frames])
    blocks = [dataset.descriptors[offsets[i]:offsets[i + 1]] for i in range(n)]
    chosen = select_structures(blocks, h, size, args.method, np.random.default_rng(args.seed), args.quiet)
    subset = np.concatenate([blocks[i] for i in chosen])
    full_h, full_d = entropy_and_diversity(dataset.descriptors, h)
    sub_h, sub_d = entropy_and_diversity(subset, h)
    result = {"dataset": dataset.name, "method": args.method, "bandwidth": h, "structures": n, "kept": len(chosen),
              "environments": len(dataset.descriptors), "kept_environments": len(subset),
              "entropy": full_h, "diversity": full_d, "subset_entropy": sub_h, "subset_diversity": sub_d,
              "information_gap": full_h - sub_h, "indices": [int(i) for i in chosen]}
    print(f"kept {len(chosen)} of {n} structures ({len(subset)} of {len(dataset.descriptors)} environments, "
          f"{args.method}): H = {sub_h:.6f} vs {full_h:.6f} nats (gap {full_h - sub_h:.6f}), "
          f"D = {sub_d:.6f} vs {full_d:.6f} nats")
    write_structures(args.output, [dataset.frames[i] for i in chosen])
    _write_json(args, result)


def plugin_path(args, world) -> None:
    folder = plugin_dir()
    if not os.path.isfile(os.path.join(folder, "questsplugin.so")):
        raise FileNotFoundError(f"no questsplugin.so in {folder}; reinstall with `pip install .`")
    print(folder)


# --- helpers ----------------------------------------------------------------------------------


def _distributed_dh(world, frames, reference, args):
    """dH of every environment of `frames`, split over the ranks; the whole array on rank 0."""
    offsets = np.cumsum([0] + [len(atoms) for atoms in frames])
    start, stop = world.block(int(offsets[-1]))

    def work():
        descriptor, parts, pending = reference.descriptor, [], []
        with Progress("dH", stop - start, enabled=world.is_root and not args.quiet) as bar:
            for index, atoms in enumerate(frames):
                low, high = max(start, offsets[index]), min(stop, offsets[index + 1])
                if low < high:
                    pending.append(descriptor.compute_atoms(atoms, np.arange(low, high) - offsets[index], index))
                if pending and (sum(map(len, pending)) >= CHUNK or index == len(frames) - 1):
                    x = np.concatenate(pending)
                    parts.append(reference.delta_entropy(x, method=args.method, neighbors=args.neighbors))
                    bar.advance(len(x))
                    pending = []
        return np.concatenate(parts) if parts else np.zeros(0)

    gathered = world.run(work)
    return np.concatenate(gathered) if world.is_root else None


def _described(args) -> list[Dataset]:
    specs = args.datasets if hasattr(args, "datasets") else [args.dataset]
    datasets = [read_dataset(spec, args.format) for spec in specs]
    describe(datasets, _descriptor(args), args.quiet)
    return datasets


def _reference(args) -> Reference:
    return load_reference(args.reference, args.k, args.cutoff, args.bandwidth, args.format, args.quiet)


def _descriptor(args) -> Descriptor:
    return Descriptor(_k(args), _cutoff(args))


def _k(args) -> int:
    return DEFAULT_K if args.k is None else args.k


def _cutoff(args) -> float:
    return DEFAULT_CUTOFF if args.cutoff is None else args.cutoff


def _beside(plot):
    """The JSON written next to a plot when --json is not given."""
    return None if plot is None else os.path.splitext(plot)[0] + ".json"


def _write_json(args, result: dict) -> None:
    path = args.json or _beside(getattr(args, "plot", None))
    if path:
        write_json(path, result)


def _print_table(rows: list[dict], columns: list[str]) -> None:
    def text(value):
        if isinstance(value, (float, np.floating)):
            return f"{value:.6f}"
        return str(value)

    cells = [[text(row[c]) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    for line in [columns] + cells:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths)))


# --- arguments --------------------------------------------------------------------------------


def _bandwidth(text: str):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in 1/A or 'auto', got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0 (1/A) or 'auto', got {text}")
    return text


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    options = common.add_argument_group("common options")
    options.add_argument("-k", type=_positive(int), help=f"neighbours per descriptor (default {DEFAULT_K})")
    options.add_argument("--cutoff", type=_positive(float), help=f"descriptor cutoff in A (default {DEFAULT_CUTOFF})")
    options.add_argument("--bandwidth", type=_bandwidth,
                         help="kernel bandwidth in 1/A, or 'auto' for the paper's h(V) (default: the reference "
                              "file's, else 0.015)")
    options.add_argument("--format", help="ASE format of the input files, if not guessed (e.g. lammps-dump-text)")
    options.add_argument("--threads", type=_positive(int), help="numba threads (default: all cores)")
    options.add_argument("--json", help="write the results as JSON to this file")
    options.add_argument("--overwrite", action="store_true", help="replace existing output files")
    options.add_argument("-q", "--quiet", action="store_true", help="no progress bar or timing on stderr")
    dh_options = argparse.ArgumentParser(add_help=False)
    dh_options.add_argument("--method", choices=("exact", "approx"), default="exact",
                            help="exact (Eq. 6) or approx (SI Eq. S19, conservative); default exact")
    dh_options.add_argument("--neighbors", type=_positive(int), default=128, help="neighbours of approx (128)")
    dh_options.add_argument("--threshold", type=float, default=0.0, help="novel: dH > threshold (nats, 0)")
    plot_options = argparse.ArgumentParser(add_help=False)
    plot_options.add_argument("--csv", help="write the table as CSV to this file")
    plot_options.add_argument("--plot", help="write a PNG plot (and its JSON beside it) to this file")

    parser = argparse.ArgumentParser(prog="quests-lmp", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    def add(name, handler, help, parents=()):
        command = commands.add_parser(name, help=help, description=help, parents=[common, *parents])
        command.set_defaults(handler=handler)
        return command

    reference = commands.add_parser("reference", help="reference (training) set files")
    build = reference.add_subparsers(dest="action", required=True, metavar="action").add_parser(
        "build", parents=[common], help="training structures -> reference file; prints size, H and D")
    build.set_defaults(handler=reference_build, command="reference build")
    build.add_argument("files", nargs="+", help="structure files, file@frames allowed")
    build.add_argument("-o", "--output", required=True, help="reference file to write (.npz)")

    command = add("entropy", entropy_command, "H, D and log n of datasets, optionally sub-sampled")
    command.add_argument("datasets", nargs="+")
    command.add_argument("--sample", type=_positive(int), help="environments per random sample")
    command.add_argument("--repeats", type=_positive(int), default=5, help="samples to average (5)")
    command.add_argument("--seed", type=int, default=0)

    command = add("dh", dh_command, "dH of test environments against a reference", [dh_options])
    command.add_argument("test", help="test structures (file@frames)")
    command.add_argument("--reference", required=True, help="reference file (.npz) or structures")
    command.add_argument("-o", "--output", help="per-atom dH: .extxyz/.xyz copy (array dH) or .csv")

    command = add("overlap", overlap_command, "overlap matrix of datasets (fraction of i covered by j)",
                  [plot_options])
    command.add_argument("datasets", nargs="+")
    command.add_argument("--threshold", type=float, default=0.0, help="covered: dH <= threshold (nats, 0)")

    command = add("trajectory", trajectory_command, "per-frame H and dH against a reference or the first frame",
                  [dh_options, plot_options])
    command.add_argument("trajectory", help="trajectory (LAMMPS dump, extxyz, ...; file@frames)")
    command.add_argument("--reference", help="reference file (.npz) or structures (default: the first frame)")
    command.add_argument("-o", "--output", help="per-atom dH: .extxyz/.xyz copy (array dH) or .csv")

    command = add("clusters", clusters_command, "clusters of solid-like atoms (dH <= threshold) per frame",
                  [plot_options])
    command.add_argument("trajectory")
    command.add_argument("--reference", required=True, help="reference of the solid: .npz or structures")
    command.add_argument("--distance", type=_positive(float), default=DEFAULT_DISTANCE,
                         help=f"atoms closer than this (A) join a cluster ({DEFAULT_DISTANCE})")
    command.add_argument("--threshold", type=float, default=0.0, help="solid-like: dH <= threshold (nats, 0)")

    command = add("learning-curve", learning_curve_command, "H against dataset size, asymptote and gap",
                  [plot_options])
    command.add_argument("dataset")
    command.add_argument("--points", type=_positive(int), default=8, help="dataset sizes (8, log-spaced)")
    command.add_argument("--smallest", type=_positive(int), default=10, help="smallest size (10)")
    command.add_argument("--repeats", type=_positive(int), default=3, help="random subsets per size (3)")
    command.add_argument("--seed", type=int, default=0)

    command = add("compress", compress_command, "subset of structures that keeps the most information")
    command.add_argument("dataset")
    size = command.add_mutually_exclusive_group(required=True)
    size.add_argument("--size", type=_positive(int), help="structures to keep")
    size.add_argument("--fraction", type=float, help="fraction of the structures to keep")
    command.add_argument("--method", choices=METHODS, default="greedy", help="greedy (default) or random")
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("-o", "--output", required=True, help="subset to write (.extxyz)")

    command = commands.add_parser("plugin-path", help="print the folder of the LAMMPS plugin (questsplugin.so)")
    command.set_defaults(handler=plugin_path)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
