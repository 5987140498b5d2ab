"""`quests-lmp errors TEST --reference REF --predicted KEY`: dH against a model's force errors.

TEST holds true and predicted per-atom forces (eV/A) as extxyz arrays (`--true`, default
`forces`, which ASE also reads as the frame's calculator forces; `--predicted`). Per atom: the force
error |F_predicted - F_true| and dH against the reference. Reported over all atoms and per group
(`--group-key`): Spearman's rank correlation, AUROC and AUPRC of dH for "error > tau", and the
alarm dH > threshold's flagged fraction, recall and precision. tau defaults to twice the RMS
force error of TEST (a model's typical error, doubled: the atoms it gets clearly wrong); the
threshold to the reference's calibrated one where it was calibrated at this bandwidth and
species mode (`quests-lmp calibrate`), else the paper's 0. The plot: error against dH, the
paper's running average (Fig. 4e) and maximum per bin (Fig. S20), tau and the threshold.

With --store, the model's expected force error as a non-decreasing function of dH (and its 90%
quantile; analysis.model_errors.fit_error_map) is fitted on TEST and written into the reference
file, with the bandwidth and species mode it holds at: `fix quests ... force_error yes`, the hook
and the ASE monitor then give each atom its expected force error (eV/A), and an alarm can be set
in eV/A. It needs exact dH (method approx reports atoms deep in the domain with a bound only).
"""

from __future__ import annotations

import numpy as np

from ..analysis.model_errors import alarm_metrics, fit_error_map, force_errors, running_average
from ..engine.calibration import alarm_settings
from ..engine.reference import Reference
from . import options
from .calibrate import UNLABELLED
from .dh import distributed_dh
from .distributed import per_frame
from .outputs import write_csv
from .report import print_table, write_result

COLUMNS = [
    "group",
    "atoms",
    "positive_fraction",
    "spearman",
    "auroc",
    "auprc",
    "flagged_fraction",
    "recall",
    "precision",
    "rms_error",
]


def register(commands) -> None:
    about = "dH against a model's per-atom force errors"
    command = options.add_command(commands, "errors", run, about, [options.CALIBRATED_DH, options.PLOT], parallel=True)
    command.add_argument("test", help="structures with true and predicted forces (extxyz), file@frames allowed")
    command.add_argument("--reference", required=True, help="reference file (.npz) or structures")
    command.add_argument("--true", default="forces", help="per-atom array of the true forces, eV/A (forces)")
    command.add_argument("--predicted", required=True, help="per-atom array of the model's forces, eV/A")
    command.add_argument(
        "--tau",
        type=options.positive(float),
        help="an error above tau (eV/A) is a big one (default: twice the RMS error of TEST)",
    )
    command.add_argument("--group-key", default="config_type", help="extxyz info key of each frame's group")
    command.add_argument("-o", "--output", help="per-atom CSV: frame, atom, group, dH, error")
    command.add_argument(
        "--store",
        action="store_true",
        help="fit the expected force error against dH and write it into the reference file",
    )


def per_atom_array(atoms, key: str) -> np.ndarray:
    """A per-atom (n, 3) array of a frame by name: atoms.arrays, or the calculator's results
    (ASE moves an extxyz `forces` array there). KeyError naming the arrays there are."""
    if key in atoms.arrays:
        return atoms.arrays[key]
    results = getattr(atoms.calc, "results", {}) if atoms.calc is not None else {}
    if key in results:
        return results[key]
    found = sorted(set(atoms.arrays) - {"numbers", "positions"} | set(results))
    raise KeyError(f"no per-atom array '{key}' (there are: {', '.join(found) or 'none'})")


def run(args, world) -> None:
    options.check_outputs(args, [args.output, args.json, args.csv, args.plot])
    if args.store and not args.reference.endswith(".npz"):
        raise ValueError(
            f"--store writes the error map into a reference file (.npz), not {args.reference}: "
            f"build one first (quests-lmp reference build or calibrate)"
        )
    if args.store and args.method != "exact":
        raise ValueError(
            f"--store needs exact dH (--method exact): method {args.method} gives atoms deep in the "
            "domain a bound, not their dH"
        )
    test = options.read(args, args.test, world)
    reference = options.reference(args, world, [test])
    keywords = options.dh_keywords(args, reference, world)
    threshold, source = alarm_settings(keywords, reference.calibration, reference.bandwidth, args.threshold)

    def labels(index, atoms):
        try:
            errors = force_errors(per_atom_array(atoms, args.true), per_atom_array(atoms, args.predicted))
        except (KeyError, ValueError) as error:
            raise ValueError(f"frame {index} of {args.test}: {error.args[0]}") from None
        return errors, str(atoms.info.get(args.group_key, UNLABELLED))

    per_structure = per_frame(world, test, labels, everywhere=False)
    values, _ = distributed_dh(world, test, reference, keywords, args)
    if not world.is_root:
        return
    errors = np.concatenate([e for e, _ in per_structure])
    groups = np.repeat([g for _, g in per_structure], test.atom_counts)
    tau = args.tau if args.tau is not None else 2.0 * float(np.sqrt(np.mean(errors**2)))
    table = {
        name: alarm_metrics(values[groups == name], errors[groups == name], tau, threshold)
        for name in sorted(set(groups.tolist()))
    }
    table["all"] = alarm_metrics(values, errors, tau, threshold)
    binned = running_average(values, errors)
    print(
        f"{values.size} atoms of {args.test} against {args.reference} (h = {reference.bandwidth:.6g} 1/A): "
        f"big error = above tau {tau:.4g} eV/A; alarm: {source}"
    )
    rows = [{"group": name, **row} for name, row in table.items()]
    print_table(rows, COLUMNS)
    if args.csv:
        write_csv(args.csv, COLUMNS, [[row[c] for c in COLUMNS] for row in rows])
    if args.output:
        frames = np.repeat(np.arange(test.n_frames), test.atom_counts)
        atoms = np.concatenate([np.arange(n) for n in test.atom_counts])
        write_csv(
            args.output,
            ["frame", "atom", "group", "dH", "error"],
            zip(frames.tolist(), atoms.tolist(), groups.tolist(), values.tolist(), errors.tolist()),
        )
    error_map = _store(args, values, errors, reference.bandwidth, keywords["by_centre"]) if args.store else None
    if args.plot:
        from . import plots

        plots.save(plots.draw.force_errors(values, errors, binned, tau, threshold, error_map), args.plot)
    write_result(
        args,
        {
            "test": args.test,
            "reference": args.reference,
            "bandwidth": reference.bandwidth,
            "tau": tau,
            "threshold": threshold,
            "threshold_from": source,
            "groups": table,
            "running_average": {key: value.tolist() for key, value in binned.items()},
            **({"error_map": error_map.as_dict()} if error_map else {}),
        },
    )


def _store(args, values, errors, bandwidth: float, by_centre: bool):
    """Fits the error map and writes it into the reference file (as loaded, whatever --bandwidth
    the comparison used); returns it."""
    error_map = fit_error_map(values, errors, bandwidth, by_centre, model=f"{args.predicted} of {args.test}")
    stored = Reference.load(args.reference)
    stored.error_map = error_map
    stored.save(args.reference, overwrite=True)
    print(
        f"{args.reference}: error map stored ({len(error_map.dh)} knots from {error_map.atoms} atoms, h = "
        f"{bandwidth:.6g} 1/A{', by centre' if by_centre else ''}): expected force error "
        f"{error_map.mean[0]:.4g} eV/A at dH = {error_map.dh[0]:.4g} to {error_map.mean[-1]:.4g} eV/A at dH = "
        f"{error_map.dh[-1]:.4g} nats"
    )
    return error_map
