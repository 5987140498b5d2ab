"""`quests-lmp calibrate TRAIN... -o train.npz`: a reference file with its alarm calibrated on the
training set itself (quests_lmp.analysis.calibration), no model needed.

Each frame's group is an extxyz info key (--group-key; config_type by default, the convention of
GAP and MACE training sets; `group` in the mlearn sets). Every environment's dH is taken held out
by structure (k folds, stratified by group) and, with two groups or more, with its whole group
left out. The threshold that a fraction --false-alarm of the held-out dH exceeds is stored in the
file with the bandwidth, folds and per-group summary; the table, JSON, CSV and plot give the
per-group novel fractions and quantiles. Under mpiexec the ranks describe and evaluate blocks of
the environments; rank 0 writes the file.
"""

from __future__ import annotations

import numpy as np

from ..analysis.calibration import (
    DEFAULT_FALSE_ALARM,
    DEFAULT_FOLDS,
    QUANTILES,
    calibration_of,
    held_out_dh,
    structure_folds,
)
from . import options
from .datasets import reference_of
from .distributed import per_frame
from .outputs import write_csv
from .reference import described_files, index_argument, index_if_asked
from .report import print_table, write_result

UNLABELLED = "(none)"  # the group of frames without the --group-key info
COLUMNS = [
    "group",
    "structures",
    "environments",
    "novel_fraction",
    "flagged_fraction",
    *[f"q{round(100 * q)}" for q in QUANTILES],
    "max",
]
LEFT_OUT_COLUMNS = ["left_out_novel_fraction", "left_out_flagged_fraction", "left_out_median"]


def register(commands) -> None:
    command = options.add_command(
        commands,
        "calibrate",
        run,
        "training structures -> reference file with an alarm threshold calibrated on held-out environments",
        [options.PLOT],
        parallel=True,
    )
    command.add_argument("files", nargs="+", help="training structures, file@frames allowed")
    command.add_argument("-o", "--output", required=True, help="reference file to write (.npz)")
    command.add_argument(
        "--group-key",
        default="config_type",
        help="extxyz info key of each frame's group (default config_type; mlearn: group)",
    )
    command.add_argument(
        "--folds", type=int, default=DEFAULT_FOLDS, help=f"folds of structures for the held-out dH ({DEFAULT_FOLDS})"
    )
    command.add_argument(
        "--false-alarm",
        type=float,
        default=DEFAULT_FALSE_ALARM,
        help=f"fraction of held-out (in-domain) environments the threshold flags ({DEFAULT_FALSE_ALARM})",
    )
    command.add_argument("--seed", type=int, default=0, help="of the folds (0)")
    index_argument(command)


def run(args, world) -> None:
    options.check_outputs(args, [args.output, args.json, args.csv, args.plot])
    if not 0 < args.false_alarm < 1:
        raise ValueError(f"--false-alarm must be in (0, 1), got {args.false_alarm}")
    datasets, descriptor, x, centres, h = described_files(args, world)
    by_centre = options.by_centre(args)
    structure_groups = np.array(
        [
            str(label)
            for dataset in datasets
            for label in per_frame(world, dataset, lambda _, atoms: atoms.info.get(args.group_key, UNLABELLED))
        ]
    )
    counts = np.concatenate([dataset.atom_counts for dataset in datasets])
    structures = np.repeat(np.arange(counts.size), counts)
    groups = structure_groups[structures]
    folds = structure_folds(structure_groups, args.folds, args.seed)[structures]
    z = centres if by_centre else None
    rows = np.arange(*world.block(len(x)))
    several = np.unique(groups).size > 1
    parts = world.run(
        lambda: (held_out_dh(x, folds, h, z, rows), held_out_dh(x, groups, h, z, rows) if several else None)
    )
    if not world.is_root:
        return
    held_out = np.concatenate([part[0] for part in parts])
    left_out = np.concatenate([part[1] for part in parts]) if several else None
    calibration = calibration_of(
        held_out,
        left_out,
        groups,
        structures,
        args.false_alarm,
        bandwidth=h,
        folds=args.folds,
        seed=args.seed,
        by_centre=by_centre,
        group_key=args.group_key,
    )
    reference = reference_of(datasets, descriptor, h, x, centres)
    reference.calibration = calibration
    index_if_asked(args, reference)
    reference.save(args.output, overwrite=args.overwrite)
    _report(args, calibration, counts.size, reference.n_environments)
    if args.plot:
        from . import plots

        plots.save(
            plots.draw.calibration(groups, held_out, left_out, calibration.threshold, calibration.false_alarm),
            args.plot,
        )


def _report(args, calibration, n_structures: int, n_environments: int) -> None:
    """The summary line, the per-group table (stdout, --csv) and the JSON."""
    columns = COLUMNS + (LEFT_OUT_COLUMNS if "left_out_median" in calibration.groups["all"] else [])
    rows = [{"group": name, **values} for name, values in calibration.groups.items()]
    print(
        f"{args.output}: {n_structures} structures, {n_environments} environments, h = {calibration.bandwidth:.6g} "
        f"1/A, {calibration.folds} folds by structure (groups: {args.group_key})\n"
        f"threshold {calibration.threshold:.6f} nats flags {calibration.false_alarm:.2%} of held-out environments; "
        f"dH > 0 flags {calibration.held_out_zero:.2%}"
    )
    print_table(rows, columns)
    if args.csv:
        write_csv(args.csv, columns, [[row[c] for c in columns] for row in rows])
    write_result(
        args,
        {"reference": args.output, "structures": n_structures, "environments": n_environments, **calibration.as_dict()},
    )
