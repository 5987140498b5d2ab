"""Arguments shared by the sub-commands, their checks, and what they stand for (descriptor, reference)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np

from ..engine.cluster_index import STOP_BELOW
from ..engine.descriptor import DEFAULT_CUTOFF, DEFAULT_K, Descriptor, MulticomponentDescriptor
from ..engine.information import DEFAULT_BANDWIDTH, bandwidth_for_volume
from ..engine.options import DhOptions, species_options
from ..engine.periodic import widest_gap
from ..engine.reference import Reference
from ..engine.species import MODES, species_mode
from ..engine.validation import MIN_BANDWIDTH
from .datasets import Dataset, describe, load_reference, read_dataset, split_spec
from .distributed import per_frame
from .outputs import check_output_paths


def bandwidth_argument(text: str):
    """--bandwidth: a usable bandwidth (1/A) or 'auto'; kept as text until the datasets are read."""
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in 1/A or 'auto', got {text!r}") from None
    if not np.isfinite(value) or value < MIN_BANDWIDTH:
        raise argparse.ArgumentTypeError(f"must be a finite number >= {MIN_BANDWIDTH:g} (1/A) or 'auto', got {text}")
    return text


def element_list(text: str) -> list[str]:
    """--elements: element symbols separated by commas or spaces ("Ni,Al" or "Ni Al")."""
    names = text.replace(",", " ").split()
    if not names:
        raise argparse.ArgumentTypeError("expected element symbols, e.g. Ni,Al (one per LAMMPS atom type)")
    return names


PLOT_FORMATS = (".png", ".pdf", ".svg")


def plot_file(text: str) -> str:
    """An argument type: a plot's file name, whose suffix (.png, .pdf or .svg) is its format."""
    if Path(text).suffix.lower() not in PLOT_FORMATS:
        raise argparse.ArgumentTypeError(
            f"a plot is written as PNG, PDF or SVG: name it *.png, *.pdf or *.svg, got {text!r}"
        )
    return text


def positive(kind):
    """An argument type: `kind` (int or float) parsed from the text, > 0."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    options = common.add_argument_group("common options")
    options.add_argument("-k", type=positive(int), help=f"neighbors per descriptor (default {DEFAULT_K})")
    options.add_argument("--cutoff", type=positive(float), help=f"descriptor cutoff in A (default {DEFAULT_CUTOFF})")
    options.add_argument(
        "--bandwidth",
        type=bandwidth_argument,
        help="kernel bandwidth in 1/A, or 'auto' for the paper's h(V) (default: the reference file's, else 0.015)",
    )
    options.add_argument("--format", help="ASE format of the input files, if not guessed (e.g. lammps-dump-text)")
    options.add_argument(
        "--species",
        choices=MODES,
        help="blind (the paper's method), by-centre (each atom against environments of its own "
        "element), multicomponent (per-element descriptors) or multicomponent/by-centre "
        "(default: a reference file's own descriptors, else blind)",
    )
    options.add_argument(
        "--elements",
        type=element_list,
        metavar="E1,E2,...",
        help="element of each LAMMPS atom type (type 1 first) for dumps and data files that do "
        "not name their elements, as in pair_coeff",
    )
    options.add_argument("--threads", type=positive(int), help="numba threads (default: all cores)")
    options.add_argument("--json", help="write the results as JSON to this file")
    options.add_argument("--overwrite", action="store_true", help="replace existing output files")
    options.add_argument("-q", "--quiet", action="store_true", help="no progress bar or timing on stderr")
    return common


def _dh(threshold: float | None = 0.0) -> argparse.ArgumentParser:
    """The dH options of DhOptions marked for the CLI, as --name flags; threshold: the default of
    --threshold (None: the command decides, the reference's calibrated threshold where it has one)."""
    dh = argparse.ArgumentParser(add_help=False)
    for option in fields(DhOptions):
        if not option.metadata["cli"]:
            continue
        doc, choices = option.metadata["doc"], option.metadata["choices"]
        if option.name == "threshold" and threshold is not None:
            doc = f"novel: dH > threshold (nats, {threshold:g})"
        flag = "--" + option.name.replace("_", "-")
        if option.metadata["read"] == "yes/no":
            dh.add_argument(flag, action="store_true", help=doc)
            continue
        default = threshold if option.name == "threshold" else option.default
        dh.add_argument(flag, type=_TYPES[option.metadata["read"]], choices=choices or None, default=default, help=doc)
    return dh


_TYPES = {"word": str, "number": float, "integer": positive(int), "positive number": positive(float)}


def _plot() -> argparse.ArgumentParser:
    plot = argparse.ArgumentParser(add_help=False)
    plot.add_argument("--csv", help="write the table as CSV to this file")
    plot.add_argument("--plot", type=plot_file, help="write a plot to this file (.png, .pdf or .svg)")
    return plot


COMMON, DH, PLOT = _common(), _dh(), _plot()  # parent parsers: every command, dH commands, tables
CALIBRATED_DH = _dh(threshold=None)  # dH options whose threshold defaults to a calibrated one


def add_command(commands, name: str, handler, help: str, parents=(), parallel: bool = False) -> argparse.ArgumentParser:
    """A sub-command with the common options (and `parents`) that runs handler(args, world);
    parallel: it splits its work over MPI ranks (else rank 0 does it all under mpiexec)."""
    command = commands.add_parser(name, help=help, description=help, parents=[COMMON, *parents])
    command.set_defaults(handler=handler, parallel=parallel)
    return command


def by_centre(args) -> bool:
    """Whether --species compares by centre element."""
    return args.species is not None and species_mode(args.species)[1]


def descriptor(args, datasets=(), world=None) -> Descriptor:
    """The Descriptor of -k, --cutoff (the paper's defaults where not given) and --species: the
    multicomponent one over the elements of all `datasets` where --species asks for it (world:
    each rank reads a block of the frames to find them)."""
    k, cutoff = DEFAULT_K if args.k is None else args.k, DEFAULT_CUTOFF if args.cutoff is None else args.cutoff
    if args.species is None or not species_mode(args.species)[0]:
        return Descriptor(k, cutoff)
    if world is None:
        numbers = [dataset.centres for dataset in datasets]
    else:
        numbers = [
            z for dataset in datasets for z in per_frame(world, dataset, lambda _, atoms: np.unique(atoms.numbers))
        ]
    return MulticomponentDescriptor(np.unique(np.concatenate(numbers)), k, cutoff)


def read(args, spec: str, world=None) -> Dataset:
    """The frame index of one dataset named on the command line, with --format and --elements
    (world: indexed on rank 0 only)."""
    return read_dataset(spec, args.format, args.elements, world)


def datasets(args, world=None) -> list[Dataset]:
    """The frame indexes of the datasets named on the command line."""
    specs = args.datasets if hasattr(args, "datasets") else [args.dataset]
    return [read(args, spec, world) for spec in specs]


def described(args) -> list[Dataset]:
    """The datasets named on the command line, read and described."""
    sets = datasets(args)
    describe(sets, descriptor(args, sets), args.quiet)
    return sets


def reference(args, world=None, compared=()) -> Reference:
    """The reference of --reference: a reference file, or structures described here (--species;
    under MPI by every rank, with a progress bar on rank 0 only). --bandwidth auto takes h(V) of
    the reference structures, or for a reference file (which keeps no structures) of the datasets
    `compared` with it."""
    if args.reference.endswith(".npz"):
        loaded = Reference.load(args.reference, k=args.k, cutoff=args.cutoff)
        if args.bandwidth is not None:
            loaded.bandwidth = bandwidth(args, list(compared), world, loaded.cutoff)
        return loaded
    dataset = read(args, args.reference)
    quiet = args.quiet or (world is not None and not world.is_root)
    return load_reference(dataset, descriptor(args, [dataset]), bandwidth(args, [dataset], world), quiet)


def bandwidth(args, datasets, world=None, cutoff: float | None = None) -> float:
    """--bandwidth in 1/A: the number given, h(V) of the datasets' bulk-like frames for 'auto'
    (resolve_bandwidth; cutoff: A, --cutoff's by default), or the default."""
    cutoff = cutoff if cutoff is not None else DEFAULT_CUTOFF if args.cutoff is None else args.cutoff
    return resolve_bandwidth(args.bandwidth, datasets, world=world, cutoff=cutoff, quiet=args.quiet)


def resolve_bandwidth(
    value: str | None,
    datasets: list[Dataset],
    default: float = DEFAULT_BANDWIDTH,
    world=None,
    cutoff: float = DEFAULT_CUTOFF,
    quiet: bool = False,
) -> float:
    """A number (1/A) from --bandwidth: itself, 'auto' = the paper's h(V) at the mean atomic volume
    of the datasets' bulk-like frames (SI Eq. S20), or `default` when not given. Bulk-like: fully
    periodic, with no empty layer wider than the descriptor cutoff (A) along a cell vector, which
    no environment spans (a slab's vacuum would count as volume). What was averaged is said on
    stderr unless quiet. world: the frames are read in blocks by the ranks."""
    if value is None:
        return default
    if value != "auto":
        return float(value)

    def volume(atoms):
        if not all(atoms.pbc) or widest_gap(atoms.positions, atoms.cell.array) > cutoff:
            return None
        return atoms.get_volume() / len(atoms)

    if world is None:
        volumes = [volume(atoms) for d in datasets for atoms in d.frames]
    else:
        volumes = [v for d in datasets for v in per_frame(world, d, lambda _, atoms: volume(atoms))]
    bulk = [v for v in volumes if v is not None]
    names = ", ".join(d.name for d in datasets) or "no structures"
    if not bulk:
        raise ValueError(
            f"--bandwidth auto needs bulk-like frames (fully periodic, no vacuum layer wider than the "
            f"{cutoff:g} A cutoff) for the atomic volume of h(V), and {names} has none of "
            f"{len(volumes)}; give a number in 1/A instead"
        )
    h = bandwidth_for_volume(float(np.mean(bulk)))
    if not quiet and (world is None or world.is_root):
        skipped = len(volumes) - len(bulk)
        print(
            f"--bandwidth auto: h = {h:.6g} 1/A, h(V) at the mean atomic volume {np.mean(bulk):.4g} A^3 of "
            f"{len(bulk)} bulk-like frames of {names}"
            + (f" ({skipped} open or with vacuum left out)" if skipped else ""),
            file=sys.stderr,
            flush=True,
        )
    return h


def dh_options(args) -> DhOptions:
    """The DhOptions of the command line's dH flags (the bandwidth is the reference's, set by
    reference()), checked."""
    given = {name: getattr(args, name) for name in DhOptions.names() if name != "bandwidth" and hasattr(args, name)}
    return DhOptions(**given).checked()


def dh_keywords(args, reference: Reference, world) -> dict:
    """The keyword arguments of Reference.delta_entropy for --method, --species and their options
    (checked), with the cluster index of approx loaded or built now (said on stderr: every rank
    builds its own)."""
    checked = dh_options(args)
    keywords = checked.method_keywords(min(STOP_BELOW, (checked.threshold or 0.0) - 1.0))
    keywords.update(species_options(reference, args.species, args.unknown))
    if args.method == "approx" and (keywords["by_centre"] or not reference.has_cluster_index):
        if world.is_root and not args.quiet:
            what = (
                "a cluster index for each element of the reference (per-element indexes are not stored in "
                "reference files)"
                if keywords["by_centre"]
                else "the cluster index of the reference (store it in "
                "a reference file: quests-lmp reference index FILE)"
            )
            print(f"building {what}; {reference.n_environments} environments", file=sys.stderr, flush=True)
    reference.prepare(args.method, keywords["by_centre"])
    return keywords


def check_outputs(args, paths) -> None:
    """The output files of a command checked against --overwrite and against its own input files."""
    inputs = [
        split_spec(spec)[0]
        for name in ("files", "datasets", "dataset", "test", "trajectory", "reference", "table")
        for spec in _as_list(getattr(args, name, None))
    ]
    check_output_paths(paths, args.overwrite, inputs)


def _as_list(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]
