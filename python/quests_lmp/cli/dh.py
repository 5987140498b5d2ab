"""`quests-lmp dh TEST --reference REF`: per-atom dH of test structures (extxyz or CSV) and a summary.

Runs under `mpiexec -n P`: the environments are split over the ranks, the results gathered on rank 0.
"""

from __future__ import annotations

import numpy as np

from ..engine.species import element_rows, mode_name, symbols
from . import options
from .datasets import per_atom_format_check, write_per_atom
from .progress import Progress
from .report import print_table, write_result

CHUNK = 16384  # environments per dH evaluation


def register(commands) -> None:
    command = options.add_command(commands, "dh", run, "dH of test environments against a reference", [options.DH])
    command.add_argument("test", help="test structures (file@frames)")
    command.add_argument("--reference", required=True, help="reference file (.npz) or structures")
    command.add_argument("-o", "--output", help="per-atom dH: .extxyz/.xyz copy (array dH) or .csv")


def run(args, world) -> None:
    per_atom_format_check(args.output)
    options.check_outputs(args, [args.output, args.json])
    test = options.read(args, args.test)
    reference = options.reference(args)
    method = options.dh_method(args, reference, world)
    values = _distributed_dh(world, test.frames, reference, method, args)
    if not world.is_root:
        return
    novel = values > args.threshold
    result = {"test": args.test, "reference": args.reference, "environments": int(values.size),
              "bandwidth": reference.bandwidth, **_described(method),
              "threshold": args.threshold,
              "max_dH": float(values.max()), "mean_dH": float(values.mean()),
              "novel_fraction": float(novel.mean()), "novel_count": int(novel.sum()),
              "by_element": by_element(values, test.centres, args.threshold)}
    print(f"{values.size} environments of {args.test} against {reference.n_environments} of {args.reference} "
          f"(h = {reference.bandwidth:.6g} 1/A, {args.method}, species {species_name(method, reference)}):\n"
          f"max dH = {result['max_dH']:.6f}, mean dH = {result['mean_dH']:.6f} nats, "
          f"novel (dH > {args.threshold:g}): {result['novel_count']} ({result['novel_fraction']:.4%})")
    if len(result["by_element"]) > 1:
        print_table([{"element": name, **row} for name, row in result["by_element"].items()],
                    ["element", "environments", "max_dH", "mean_dH", "novel_count", "novel_fraction"])
    if args.output:
        write_per_atom(args.output, test, values)
    write_result(args, result)


def _described(method: dict) -> dict:
    """The dH options for the JSON result: method and precision, the method's own setting, by_centre."""
    return {key: value for key, value in method.items()
            if key in ("method", "precision", "by_centre") or (key in ("neighbors", "certificate") and value is not None)}


def species_name(method: dict, reference) -> str:
    """The species mode in use, named as --species names it."""
    return mode_name(reference.multicomponent is not None, method["by_centre"])


def by_element(values: np.ndarray, centres: np.ndarray, threshold: float) -> dict:
    """Per centre element (by symbol): environments, max and mean dH (nats), novel count and fraction."""
    table = {}
    groups = element_rows(centres)
    for name, rows in sorted(zip(symbols(groups), groups.values())):
        part = values[rows]
        table[name] = {"environments": int(part.size), "max_dH": float(part.max()), "mean_dH": float(part.mean()),
                       "novel_count": int(np.sum(part > threshold)), "novel_fraction": float(np.mean(part > threshold))}
    return table


def _distributed_dh(world, frames, reference, method, args):
    """dH of every environment of `frames`, split over the ranks; the whole array on rank 0."""
    offsets = np.cumsum([0] + [len(atoms) for atoms in frames])
    start, stop = world.block(int(offsets[-1]))

    def work():
        descriptor, parts, pending, centres = reference.descriptor, [], [], []
        with Progress("dH", stop - start, enabled=world.is_root and not args.quiet) as bar:
            for index, atoms in enumerate(frames):
                low, high = max(start, offsets[index]), min(stop, offsets[index + 1])
                if low < high:
                    rows = np.arange(low, high) - offsets[index]
                    pending.append(descriptor.compute_atoms(atoms, rows, index))
                    centres.append(atoms.numbers[rows])
                if pending and (sum(map(len, pending)) >= CHUNK or index == len(frames) - 1):
                    x = np.concatenate(pending)
                    parts.append(reference.delta_entropy(x, centres=np.concatenate(centres), **method))
                    bar.advance(len(x))
                    pending, centres = [], []
        return np.concatenate(parts) if parts else np.zeros(0)

    gathered = world.run(work)
    return np.concatenate(gathered) if world.is_root else None
