"""The alarm of `fix quests` for ASE molecular dynamics: attach a monitor to any ASE dynamics.

    from quests_lmp.ase import NoveltyAlarm, QuestsMonitor

    monitor = QuestsMonitor(dyn, atoms, "train.npz", log="quests.csv", stop_fraction=0.02,
                            novel_frames="novel.extxyz")
    dyn.attach(monitor, interval=50)
    try:
        dyn.run(100000)
    except NoveltyAlarm as alarm:
        print(alarm)                   # the step, and how many atoms left the training domain

Every call computes dH (nats) of every atom against the reference with the same engine as
`fix quests` (Reference.delta_entropy), stores it on the atoms as `atoms.arrays["dH"]` (with
force_error=True also the expected force error of the reference's error map,
`atoms.arrays["expected_force_error"]` and `["force_error_upper"]`, eV/A), appends a line (step,
time, max, mean, novel fraction, novel count[, max expected force error]) to the CSV log, appends the frame to
`novel_frames` when it has novel atoms, and raises NoveltyAlarm once the novel fraction exceeds
`stop_fraction`. Works with any ASE calculator; only positions, cell, pbc and (for the
species-aware modes) the atoms' elements are read. Each line and each frame is appended in one
write(), so a run killed between calls leaves whole lines and frames; in an MPI run of ASE
(ase.parallel.world, e.g. GPAW's), every rank evaluates and only rank 0 writes, as ASE's loggers;
the same where a script run under mpiexec never starts MPI (rank 0 by the launcher's numbering).

QuestsBias wraps any calculator and adds the bias energy of `fix quests ... bias` (exploration
or a training-domain wall, quests_lmp.engine.bias) with its forces and stress:

    atoms.calc = QuestsBias(EMT(), "train.npz", "wall", strength=0.01, level=-1.0)
"""

from __future__ import annotations

import os
import warnings
from dataclasses import replace

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.parallel import world
from ase.units import fs

from .engine.bias import Bias, bias_forces
from .engine.files import append_whole, check_folder, extxyz_text
from .engine.options import DhOptions, monitoring, species_options
from .engine.periodic import periodic_images
from .engine.reference import Reference
from .parallel import launched_rank

LOG_COLUMNS = ("step", "time_fs", "max_dH", "mean_dH", "novel_fraction", "novel_count")
FORCE_ERROR_COLUMN = "max_force_error"  # eV/A, logged with force_error=True


class NoveltyAlarm(RuntimeError):
    """Raised by QuestsMonitor when the novel fraction exceeds its stop_fraction; ends dyn.run().

    Attributes: step (the dynamics' step), fraction and count of novel atoms, max_dH (nats).
    """

    def __init__(self, step: int, fraction: float, count: int, max_dh: float):
        super().__init__(
            f"QUESTS alarm at step {step}: {count} atoms ({fraction:.2%}) are outside the reference "
            f"(dH > threshold), max dH = {max_dh:.4g} nats"
        )
        self.step, self.fraction, self.count, self.max_dH = step, fraction, count, max_dh


class QuestsMonitor:
    """Per-atom dH of an ASE simulation against a reference, for `dyn.attach(monitor, interval=N)`.

    Parameters
    ----------
    dynamics : ase.md.MolecularDynamics or ase.optimize.Optimizer, optional
        Where the step number (nsteps) and time come from; None counts the calls instead.
    atoms : ase.Atoms
        The simulated atoms (positions in A); dH is stored on them as atoms.arrays["dH"].
    reference : Reference or str or path
        The reference (training) set, or a file written by `quests-lmp reference build`.
    options : quests_lmp.engine.options.DhOptions, optional
        How dH is computed and what counts as novel, as the keywords of fix quests; its fields
        may also be given as keywords: bandwidth (1/A), method ("exact", "approx", "knn"),
        neighbors, certificate (nats), precision, threshold (nats; by default the reference's
        calibrated threshold where it holds at this bandwidth and species mode, else 0:
        `alarm_source` says which), species, unknown, force_error (also each atom's expected
        force error and its upper quantile, eV/A, from the reference's error map:
        atoms.arrays["expected_force_error"] and ["force_error_upper"], and the largest in the
        log and statistics) and force_alarm (eV/A: novel where the expected force error exceeds
        it).
    log : str or path, optional
        CSV file, one line per call (LOG_COLUMNS); appended to, as ASE's MDLogger does (the header
        is written where the file is new or empty).
    stop_fraction : float, optional
        Raise NoveltyAlarm once the novel fraction exceeds it; None never stops (see `alarm`).
    novel_frames : str or path, optional
        extxyz file to which each frame with novel atoms is appended, with its dH array.

    After each call, `statistics` holds the logged values and `alarm` tells whether the stop
    fraction was passed.

    Raises
    ------
    ValueError
        A bad method, neighbors, certificate, precision, bandwidth, species, unknown or
        stop_fraction, a reference file that cannot be used, or force_error / force_alarm without
        an error map that holds at this bandwidth and species mode.
    FileNotFoundError
        A missing reference file, or an output folder that does not exist.
    """

    def __init__(
        self,
        dynamics,
        atoms,
        reference,
        *,
        log=None,
        stop_fraction: float | None = None,
        novel_frames=None,
        options: DhOptions | None = None,
        **settings,
    ):
        self.dh_options = replace(options or DhOptions(), **settings).checked()
        self.reference = reference if isinstance(reference, Reference) else Reference.load(reference)
        monitor = monitoring(self.reference, self.dh_options)
        self.options, self.bandwidth, self.threshold, self.alarm_source, self.error_map = monitor
        force_error = self.error_map is not None
        self.columns = LOG_COLUMNS + ((FORCE_ERROR_COLUMN,) if force_error else ())
        self.reference.prepare(self.dh_options.method, self.options["by_centre"])
        if stop_fraction is not None and not 0 <= stop_fraction < 1:
            raise ValueError(f"stop_fraction must be in [0, 1) (a fraction of the atoms), got {stop_fraction!r}")
        self.dynamics, self.atoms, self.stop_fraction = dynamics, atoms, stop_fraction
        for path in (log, novel_frames):
            if path is not None:
                check_folder(path)
        if _writer_rank() != 0:  # an MPI run: rank 0 writes, as ASE's loggers
            log = novel_frames = None
        self.log, self.novel_frames = log, novel_frames
        if self.log is not None and (not os.path.exists(log) or os.path.getsize(log) == 0):
            append_whole(log, ",".join(self.columns) + "\n")
        self.calls, self.alarm, self.statistics = 0, False, {}

    def __call__(self) -> None:
        """Evaluates dH now; raises NoveltyAlarm when the novel fraction exceeds stop_fraction."""
        dh = self.reference.delta_entropy(self.atoms, self.bandwidth, **self.options)
        self.atoms.arrays["dH"] = dh
        novel = dh > self.threshold
        step = self.dynamics.nsteps if self.dynamics is not None else self.calls
        time = self.dynamics.get_time() / fs if hasattr(self.dynamics, "get_time") else float("nan")
        self.statistics = {
            "step": int(step),
            "time_fs": float(time),
            "max_dH": float(dh.max()),
            "mean_dH": float(dh.mean()),
            "novel_fraction": float(novel.mean()),
            "novel_count": int(novel.sum()),
        }
        if self.error_map is not None:
            mean, upper = self.error_map.expected(dh)
            self.atoms.arrays["expected_force_error"], self.atoms.arrays["force_error_upper"] = mean, upper
            self.statistics[FORCE_ERROR_COLUMN] = float(mean.max())
        self.calls += 1
        if self.log is not None:
            append_whole(self.log, ",".join(repr(self.statistics[name]) for name in self.columns) + "\n")
        if self.novel_frames is not None and novel.any():
            append_whole(self.novel_frames, extxyz_text(self.atoms))
        if self.stop_fraction is not None and self.statistics["novel_fraction"] > self.stop_fraction:
            self.alarm = True
            raise NoveltyAlarm(
                int(step), self.statistics["novel_fraction"], self.statistics["novel_count"], self.statistics["max_dH"]
            )


def _writer_rank() -> int:
    """This process's rank for writing: ASE's (ase.parallel.world, MPI's where mpi4py or a parallel
    calculator was imported first), or where ASE's world is serial in a job of several ranks (each
    rank then runs its own copy of the dynamics) the launcher's, with a warning."""
    if world.size > 1:
        return world.rank
    rank, ranks = launched_rank()
    if ranks > 1 and rank == 0:
        warnings.warn(
            f"QuestsMonitor: this job has {ranks} MPI ranks but ASE runs serially on each, every rank "
            "running its own copy of the dynamics (import mpi4py before ASE to share an MPI "
            "calculator's work, or run one process); rank 0 alone writes the log and frames",
            stacklevel=3,
        )
    return rank


class QuestsBias(Calculator):
    """Any ASE calculator plus a bias energy of dH against a reference (as `fix quests ... bias`).

    kind: "explore" (strength eV/nat, level = the cap in nats) or "wall" (strength eV/nat^2,
    level = the threshold in nats); reference: a reference file or a species-blind Reference;
    bandwidth: 1/A (None: the reference's); method: "exact" or "approx" (the certified partial
    sums of a large reference, certificate in nats, 0.1 by default; its forces are those of the
    partial sum, quests_lmp.engine.bias); species: "blind" (default) or "by-centre" (each atom
    against the reference environments of its element). Energy (eV), forces (eV/A) and, for
    periodic cells, stress (eV/A^3) are the calculator's plus the bias's; results["dH"] holds
    each atom's dH (nats) and results["bias_energy"] the bias part.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(
        self,
        calculator: Calculator,
        reference,
        kind: str,
        strength: float,
        level: float,
        *,
        bandwidth: float | None = None,
        method: str = "exact",
        certificate: float | None = None,
        species: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.calculator = calculator
        self.reference = reference if isinstance(reference, Reference) else Reference.load(reference)
        if self.reference.multicomponent is not None:
            raise ValueError(
                "QuestsBias needs a species-blind reference: forces of multicomponent descriptors are not implemented"
            )
        options = DhOptions(bandwidth=bandwidth, method=method, certificate=certificate, species=species).checked()
        if method == "knn":
            raise ValueError(
                "QuestsBias: forces of method knn are not implemented; use exact, or approx for a large reference"
            )
        self.options = options.method_keywords()
        self.by_centre = species_options(self.reference, species)["by_centre"]
        self.bias = Bias(kind, float(strength), float(level))
        self.bandwidth = self.reference.bandwidth if options.bandwidth is None else options.bandwidth

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        base = atoms.copy()
        base.calc = self.calculator
        points, owners = periodic_images(
            atoms.positions, atoms.cell.array, atoms.pbc, self.reference.descriptor.cutoff, sources=True
        )
        method = {name: self.options[name] for name in ("method", "certificate", "stop_below")}
        centres = np.arange(len(atoms))
        numbers = atoms.numbers[owners]
        done = bias_forces(
            self.bias,
            self.reference,
            self.bandwidth,
            points,
            centres,
            by_centre=self.by_centre,
            numbers=numbers,
            **method,
        )
        forces = np.zeros((len(atoms), 3))
        np.add.at(forces, owners, done.forces)
        energy = base.get_potential_energy() + done.energy
        self.results.update(
            {
                "energy": energy,
                "free_energy": energy,
                "forces": base.get_forces() + forces,
                "dH": done.dh,
                "bias_energy": done.energy,
            }
        )
        if "stress" in properties:
            xx, yy, zz, xy, xz, yz = done.virial  # stress = dE/d(strain) / V = -virial / V (Voigt order)
            self.results["stress"] = base.get_stress() - np.array([xx, yy, zz, yz, xz, xy]) / atoms.get_volume()
