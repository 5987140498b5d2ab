"""`quests-lmp reference build FILES -o ref.npz`: training structures -> reference file; prints H and D.
`quests-lmp reference index ref.npz`: adds the cluster index of method approx to a reference file (and,
for several elements, each element's, for species by-centre)."""

from __future__ import annotations

import sys
import time

import numpy as np

from ..engine.information import entropy_and_diversity_from_self_dh, entropy_by_element_from_self_dh
from ..engine.reference import Reference
from . import options
from .datasets import reference_of
from .distributed import describe_shares, self_dh
from .report import print_table, write_result

INDEX_AUTO_SIZE = 50_000  # environments from which `reference build` stores the cluster index by default


def register(commands) -> None:
    reference = commands.add_parser("reference", help="reference (training) set files")
    actions = reference.add_subparsers(dest="action", required=True, metavar="action")
    build = actions.add_parser(
        "build", parents=[options.COMMON], help="training structures -> reference file; prints size, H and D"
    )
    build.set_defaults(handler=build_command, command="reference build", parallel=True)
    build.add_argument("files", nargs="+", help="structure files, file@frames allowed")
    build.add_argument("-o", "--output", required=True, help="reference file to write (.npz)")
    index_argument(build)
    index = actions.add_parser(
        "index",
        parents=[options.COMMON],
        help="adds the cluster index of --method approx (and each element's) to a reference file",
    )
    index.set_defaults(handler=index_command, command="reference index")
    index.add_argument("reference", help="reference file (.npz), rewritten in place (whole or not at all)")
    index.add_argument("-o", "--output", help="write the indexed reference here instead (.npz)")


def build_command(args, world) -> None:
    """Under mpiexec the ranks describe blocks of the structures and split H and D; rank 0 builds
    the cluster index and writes the file."""
    options.check_outputs(args, [args.output, args.json])
    datasets, descriptor, x, centres, h = described_files(args, world)
    by_centre = options.by_centre(args)
    dh = self_dh(world, x, h, centres if by_centre else None, quiet=args.quiet)
    if not world.is_root:
        return
    reference = reference_of(datasets, descriptor, h, x, centres)
    index_if_asked(args, reference)
    reference.save(args.output, overwrite=args.overwrite)
    entropy_value, diversity_value = entropy_and_diversity_from_self_dh(dh)
    structures = sum(dataset.n_frames for dataset in datasets)
    result = {
        "reference": args.output,
        "structures": structures,
        "environments": reference.n_environments,
        "k": reference.k,
        "cutoff": reference.cutoff,
        "bandwidth": h,
        "elements": reference.elements,
        "multicomponent": reference.multicomponent,
        "by_centre": by_centre,
        "entropy": entropy_value,
        "diversity": diversity_value,
        "log_n": float(np.log(reference.n_environments)),
        "cluster_index": reference.has_cluster_index,
    }
    kind = "multicomponent" if reference.multicomponent else "species-blind"
    print(
        f"{args.output}: {structures} structures, {reference.n_environments} environments "
        f"({' '.join(reference.elements)}), {kind} descriptors, k={reference.k}, cutoff={reference.cutoff} A, "
        f"bandwidth={h:.6g} 1/A\n"
        f"H = {entropy_value:.6f} nats, D = {diversity_value:.6f} nats, log n = {result['log_n']:.6f}"
        f"{' (by centre: the union of the elements)' if by_centre else ''}"
    )
    if by_centre:
        result["by_element"] = element_table(entropy_by_element_from_self_dh(dh, centres))
    write_result(args, result)


def index_argument(command) -> None:
    """--index of the commands that write a reference file."""
    command.add_argument(
        "--index",
        choices=("auto", "yes", "no"),
        default="auto",
        help=f"store the cluster index of --method approx (and each element's): auto (from "
        f"{INDEX_AUTO_SIZE:,} environments), yes or no",
    )


def index_if_asked(args, reference: Reference) -> None:
    """Builds the cluster indexes that --index asks to store with the reference."""
    if args.index == "yes" or (args.index == "auto" and reference.n_environments >= INDEX_AUTO_SIZE):
        build_indexes(reference, args.quiet)


def described_files(args, world) -> tuple:
    """(datasets, descriptor, descriptors, centres, bandwidth in 1/A) of the structure files
    args.files: each rank describes a block, every rank gets the whole set (one copy per node)."""
    datasets = [options.read(args, spec, world) for spec in args.files]
    descriptor = options.descriptor(args, datasets, world)
    wholes = [share.whole(world) for share in describe_shares(world, datasets, descriptor, args.quiet)]
    x, centres = wholes[0] if len(wholes) == 1 else [np.concatenate(parts) for parts in zip(*wholes)]
    return datasets, descriptor, x, centres, options.bandwidth(args, datasets, world)


def element_table(table: dict) -> dict:
    """Prints entropy_by_element's table; returns it as {element: {environments, entropy, diversity}}."""
    rows = {
        name: {"environments": n, "entropy": value, "diversity": diversity}
        for name, (n, value, diversity) in table.items()
    }
    print_table(
        [{"element": name, **row} for name, row in rows.items()], ["element", "environments", "entropy", "diversity"]
    )
    return rows


def index_command(args, world) -> None:
    output = args.output or args.reference
    options.check_outputs(args, [args.output, args.json])
    reference = Reference.load(args.reference)
    seconds, by_element = build_indexes(reference, args.quiet)
    reference.save(output, overwrite=True if args.output is None else args.overwrite)
    index = reference.cluster_index()
    result = {
        "reference": output,
        "environments": reference.n_environments,
        "clusters": index.n_clusters,
        "units": index.n_units,
        "seconds": seconds,
        "by_element": {
            name: {"environments": part.members.shape[0], "clusters": part.n_clusters, "units": part.n_units}
            for name, part in by_element.items()
        },
    }
    print(
        f"{output}: cluster index of {reference.n_environments} environments in {index.n_clusters} clusters, "
        f"{index.n_units} units ({seconds:.1f} s)"
    )
    for name, part in by_element.items():
        print(
            f"  {name} (species by-centre): {part.members.shape[0]} environments in {part.n_clusters} clusters, "
            f"{part.n_units} units"
        )
    write_result(args, result)


def build_indexes(reference: Reference, quiet: bool) -> tuple[float, dict]:
    """Builds the reference's cluster index anew and, for several elements, each element's (for
    species by-centre); returns the seconds they took and the element indexes by symbol."""
    several = reference.elements is not None and len(reference.elements) > 1
    if not quiet:
        print(
            f"building the cluster index of {reference.n_environments} environments"
            f"{' and of each element' if several else ''}",
            file=sys.stderr,
            flush=True,
        )
    start = time.perf_counter()
    reference.build_cluster_index()
    by_element = reference.build_element_indexes() if several else {}
    return time.perf_counter() - start, by_element
