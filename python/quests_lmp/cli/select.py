"""`quests-lmp select POOL... --reference TRAIN --budget B -o picked.extxyz`: what to compute with DFT next.

From trajectories, dumps or collected environments (the pool), picks up to B structures
(`--units structures`) or local environments (`--units environments`: each written as the open
cluster of atoms within cutoff + `--buffer` of its centre) that are novel with respect to the
training set and to each other (quests_lmp.analysis.selection), and reports the pool's novel
fraction before and after adding them to the training set. In a pool frame with a per-atom
"centre" array (a carved environment), only its centre atoms are candidates. Runs under
`mpiexec -n P`: the ranks split the frames for the dH against the training set; rank 0 picks.
"""

from __future__ import annotations

import numpy as np

from ..analysis.selection import select_novel
from ..engine.carve import carve
from . import options
from .datasets import md_step, short_names
from .distributed import per_frame
from .outputs import write_csv, write_structures
from .progress import Progress
from .report import beside, write_result


def register(commands) -> None:
    about = "a budget of novel structures or environments for DFT"
    command = options.add_command(commands, "select", run, about, [options.DH, options.PLOT], parallel=True)
    command.add_argument("pool", nargs="+", help="candidate structures: trajectories, dumps, collected files")
    command.add_argument("--reference", required=True, help="the training set: reference file (.npz) or structures")
    command.add_argument("--budget", type=options.positive(int), required=True, help="most candidates to pick")
    command.add_argument(
        "--units",
        choices=("structures", "environments"),
        default="structures",
        help="pick whole structures (default) or single environments, written as clusters",
    )
    command.add_argument(
        "--buffer", type=float, help="environments: atoms kept beyond the cutoff (A, default: the cutoff again)"
    )
    command.add_argument("-o", "--output", required=True, help="the picks (.extxyz)")


def run(args, world) -> None:
    options.check_outputs(args, [args.output, args.json or beside(args.plot), args.plot, args.csv])
    if args.buffer is not None and not (np.isfinite(args.buffer) and args.buffer >= 0):
        raise ValueError(f"--buffer must be a finite number >= 0 (A), got {args.buffer}")
    pools = [options.read(args, spec, world) for spec in args.pool]
    reference = options.reference(args, world, pools)
    keywords = options.dh_keywords(args, reference, world)
    candidates = _candidates(world, pools, reference, keywords, args.quiet)
    if not world.is_root:
        return
    x, centres, training_dh, places = candidates
    groups = places[:, 0] if args.units == "structures" else np.arange(len(x))
    by_centre = keywords["by_centre"]
    with Progress("picks", args.budget, enabled=not args.quiet) as bar:
        selection = select_novel(
            x,
            groups,
            training_dh,
            reference.bandwidth,
            args.budget,
            args.threshold,
            centres if by_centre else None,
            bar.advance,
        )
    frames = _Frames(pools)
    if args.units == "structures":
        picked = [
            _structure(frames, places, training_dh, int(g), float(dh)) for g, dh in zip(selection.picks, selection.dh)
        ]
    else:
        radius = reference.descriptor.cutoff + (reference.descriptor.cutoff if args.buffer is None else args.buffer)
        picked = [
            _environment(frames, places, int(row), float(dh), radius) for row, dh in zip(selection.picks, selection.dh)
        ]
    fractions = selection.novel_fraction
    print(
        f"picked {len(picked)} {args.units} of {len(np.unique(groups))} (budget {args.budget}) from "
        f"{len(x)} candidate environments against {reference.n_environments} of {args.reference}: novel "
        f"(dH > {args.threshold:g}) {fractions[0]:.4%} before, {fractions[-1]:.4%} after adding them"
    )
    if len(picked) < args.budget:
        print(f"  no candidate left with dH > {args.threshold:g}: the pool is covered", flush=True)
    write_structures(args.output, picked)
    origins = [[atoms.info["source"], atoms.info["frame"], atoms.info.get("atom")] for atoms in picked]
    header = ["pick", "source", "frame", "atom", "dH", "novel_fraction"]
    rows = [
        [i + 1, *origin, dh, fraction]
        for i, (origin, dh, fraction) in enumerate(zip(origins, selection.dh.tolist(), fractions[1:].tolist()))
    ]
    if args.csv:
        write_csv(args.csv, header, rows)
    if args.plot:
        from . import plots

        title = f"{' '.join(short_names(args.pool))} against {short_names([args.reference])[0]}"
        plots.save(plots.draw.selection(fractions, selection.dh, args.threshold, title), args.plot)
    write_result(
        args,
        {
            "pool": args.pool,
            "reference": args.reference,
            "units": args.units,
            "budget": args.budget,
            "bandwidth": reference.bandwidth,
            "threshold": args.threshold,
            "candidates": int(len(x)),
            "picked": len(picked),
            "picks": [dict(zip(header, row)) for row in rows],
            "novel_fraction": fractions.tolist(),
        },
    )


def _candidates(world, pools, reference, keywords, quiet: bool):
    """(descriptors, centre atomic numbers, dH against the training set, (frame, atom) of each) of
    every candidate environment of the pools, frames numbered across the pools in order, on rank 0
    (None elsewhere); each rank reads and evaluates a block of each pool's frames."""

    def frame(index, atoms):
        rows = np.flatnonzero(atoms.arrays["centre"]) if "centre" in atoms.arrays else np.arange(len(atoms))
        x = reference.descriptor.compute_atoms(atoms, rows, index)
        return x, atoms.numbers[rows], reference.delta_entropy(x, centres=atoms.numbers[rows], **keywords), rows

    parts, first = [], 0
    for pool in pools:
        values = per_frame(world, pool, frame, None if quiet else "dH", everywhere=False)
        if world.is_root:
            parts += [
                (*value[:3], np.column_stack([np.full(len(value[3]), first + i), value[3]]))
                for i, value in enumerate(values)
            ]
        first += pool.n_frames
    return tuple(np.concatenate([part[i] for part in parts]) for i in range(4)) if world.is_root else None


class _Frames:
    """The pools' frames, numbered across the pools in order, read when asked for."""

    def __init__(self, pools):
        self.places = [(pool, position) for pool in pools for position in range(pool.n_frames)]

    def __getitem__(self, frame: int):
        pool, position = self.places[frame]
        (atoms,) = pool.read([position])
        atoms.info.update({"source": pool.name, "frame": frame})
        return atoms


def _structure(frames: _Frames, places, training_dh, frame: int, dh: float):
    """A picked structure, with its per-atom dH against the training set and where it came from."""
    atoms = frames[frame]
    rows = places[:, 0] == frame
    if rows.sum() == len(atoms):
        atoms.arrays["dH"] = training_dh[rows]
    atoms.info["max_dH"] = dh
    return atoms


def _environment(frames: _Frames, places, row: int, dh: float, radius: float):
    """A picked environment as the open cluster around its centre atom, labelled with its origin."""
    frame, atom = (int(v) for v in places[row])
    source = frames[frame]
    cluster = carve(source, atom, radius)
    cluster.info.update({"source": source.info["source"], "frame": frame, "atom": atom, "dH": dh, "radius": radius})
    step = md_step(source)
    if step is not None:
        cluster.info["timestep"] = step
    return cluster
