"""`quests-lmp reference build FILES -o ref.npz`: training structures -> reference file; prints H and D."""

from __future__ import annotations

import numpy as np

from ..engine.reference import Reference
from . import options
from .datasets import describe, read_dataset, resolve_bandwidth
from .report import write_result


def register(commands) -> None:
    reference = commands.add_parser("reference", help="reference (training) set files")
    build = reference.add_subparsers(dest="action", required=True, metavar="action").add_parser(
        "build", parents=[options.COMMON], help="training structures -> reference file; prints size, H and D")
    build.set_defaults(handler=build_command, command="reference build")
    build.add_argument("files", nargs="+", help="structure files, file@frames allowed")
    build.add_argument("-o", "--output", required=True, help="reference file to write (.npz)")


def build_command(args, world) -> None:
    options.check_outputs(args, [args.output, args.json])
    datasets = [read_dataset(spec, args.format) for spec in args.files]
    descriptor = options.descriptor(args)
    describe(datasets, descriptor, args.quiet)
    frames = [atoms for dataset in datasets for atoms in dataset.frames]
    h = resolve_bandwidth(args.bandwidth, datasets)
    reference = Reference(np.concatenate([d.descriptors for d in datasets]), descriptor.k, descriptor.cutoff, h,
                          sources=args.files)
    reference.save(args.output, overwrite=args.overwrite)
    entropy_value, diversity_value = reference.entropy_and_diversity()
    result = {"reference": args.output, "structures": len(frames), "environments": reference.n_environments,
              "k": reference.k, "cutoff": reference.cutoff, "bandwidth": h, "entropy": entropy_value,
              "diversity": diversity_value, "log_n": float(np.log(reference.n_environments))}
    print(f"{args.output}: {len(frames)} structures, {reference.n_environments} environments, k={reference.k}, "
          f"cutoff={reference.cutoff} A, bandwidth={h:.6g} 1/A\n"
          f"H = {entropy_value:.6f} nats, D = {diversity_value:.6f} nats, log n = {result['log_n']:.6f}")
    write_result(args, result)
