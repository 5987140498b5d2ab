"""`quests-lmp dh TEST --reference REF`: per-atom dH of test structures (extxyz or CSV) and a summary.

With --force-error, also each atom's expected force error and its upper quantile (eV/A) from the
reference's error map (`quests-lmp errors --store`), as fix quests's force_error gives them.

Runs under `mpiexec -n P`: the environments are split over the ranks, the results gathered on rank 0.
"""

from __future__ import annotations

import numpy as np

from ..engine.calibration import error_map_in_force
from ..engine.species import element_rows, mode_name, symbols
from . import options
from .datasets import environment_chunks
from .outputs import per_atom_format_check, write_per_atom
from .progress import Progress
from .report import print_table, write_result


def register(commands) -> None:
    command = options.add_command(
        commands, "dh", run, "dH of test environments against a reference", [options.DH], parallel=True
    )
    command.add_argument("test", help="test structures (file@frames)")
    command.add_argument("--reference", required=True, help="reference file (.npz) or structures")
    command.add_argument("-o", "--output", help="per-atom dH: .extxyz/.xyz copy (array dH) or .csv")
    command.add_argument(
        "--force-error", action="store_true", help="also the expected force error (eV/A) of the reference's error map"
    )


def run(args, world) -> None:
    per_atom_format_check(args.output)
    options.check_outputs(args, [args.output, args.json])
    test = options.read(args, args.test, world)
    reference = options.reference(args, world, [test])
    keywords = options.dh_keywords(args, reference, world)
    error_map = (
        error_map_in_force(reference.error_map, reference.bandwidth, keywords["by_centre"])
        if args.force_error
        else None
    )
    values, centres = distributed_dh(world, test, reference, keywords, args)
    if not world.is_root:
        return
    errors = dict(zip(("expected_force_error", "force_error_upper"), error_map.expected(values))) if error_map else {}
    novel = values > args.threshold
    result = {
        "test": args.test,
        "reference": args.reference,
        "environments": int(values.size),
        "bandwidth": reference.bandwidth,
        **_described(keywords),
        "threshold": args.threshold,
        "max_dH": float(values.max()),
        "mean_dH": float(values.mean()),
        "novel_fraction": float(novel.mean()),
        "novel_count": int(novel.sum()),
        "by_element": by_element(values, centres, args.threshold),
        **({"max_expected_force_error": float(errors["expected_force_error"].max())} if errors else {}),
    }
    print(
        f"{values.size} environments of {args.test} against {reference.n_environments} of {args.reference} "
        f"(h = {reference.bandwidth:.6g} 1/A, {args.method}, species {species_name(keywords, reference)}):\n"
        f"max dH = {result['max_dH']:.6f}, mean dH = {result['mean_dH']:.6f} nats, "
        f"novel (dH > {args.threshold:g}): {result['novel_count']} ({result['novel_fraction']:.4%})"
    )
    if errors:
        print(
            f"expected force error (error map of {reference.error_map.model or 'the reference'}): max "
            f"{result['max_expected_force_error']:.4g} eV/A"
        )
    if len(result["by_element"]) > 1:
        print_table(
            [{"element": name, **row} for name, row in result["by_element"].items()],
            ["element", "environments", "max_dH", "mean_dH", "novel_count", "novel_fraction"],
        )
    if args.output:
        write_per_atom(args.output, test, values, more=errors)
    write_result(args, result)


def _described(keywords: dict) -> dict:
    """The dH options for the JSON result: method and precision, the method's own setting, by_centre."""
    return {
        key: value
        for key, value in keywords.items()
        if key in ("method", "precision", "by_centre") or (key in ("neighbors", "certificate") and value is not None)
    }


def species_name(keywords: dict, reference) -> str:
    """The species mode in use, named as --species names it."""
    return mode_name(reference.multicomponent is not None, keywords["by_centre"])


def by_element(values: np.ndarray, centres: np.ndarray, threshold: float) -> dict:
    """Per centre element (by symbol): environments, max and mean dH (nats), novel count and fraction."""
    table = {}
    groups = element_rows(centres)
    for name, rows in sorted(zip(symbols(groups), groups.values())):
        part = values[rows]
        table[name] = {
            "environments": int(part.size),
            "max_dH": float(part.max()),
            "mean_dH": float(part.mean()),
            "novel_count": int(np.sum(part > threshold)),
            "novel_fraction": float(np.mean(part > threshold)),
        }
    return table


def distributed_dh(world, test, reference, keywords, args):
    """(dH, centre atomic number) of every environment of the test dataset, each rank reading and
    evaluating a block of them; both arrays on rank 0 (None elsewhere)."""
    start, stop = world.block(test.n_environments)

    def work():
        values, centres = [], []
        with Progress("dH", stop - start, enabled=world.is_root and not args.quiet) as bar:
            for x, z in environment_chunks(test, reference.descriptor, start, stop):
                values.append(reference.delta_entropy(x, centres=z, **keywords))
                centres.append(z)
                bar.advance(len(x))
        return (
            np.concatenate(values) if values else np.zeros(0),
            np.concatenate(centres) if centres else np.zeros(0, dtype=np.int64),
        )

    gathered = world.run(work)
    if not world.is_root:
        return None, None
    return tuple(np.concatenate([part[i] for part in gathered]) for i in (0, 1))
