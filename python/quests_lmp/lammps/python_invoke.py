"""QUESTS dH inside LAMMPS builds with the PYTHON package but no PLUGIN (`fix python/invoke` path).

The same engine and numbers as `fix quests` (quests_lmp.lammps.fix.FixEngine), wired in by two deck lines:

    variable quests_reference string train.npz      # parameters: LAMMPS variables quests_<name>
    variable quests_every     equal  50
    python   quests_setup input 1 SELF format p here "from quests_lmp.python_invoke import quests_setup"
    python   quests_setup invoke

`quests_setup` reads the parameters, loads the reference once per MPI rank and defines:
  fix quests_dH all property/atom d_quests_dH      per-atom dH (nats), 0 outside the group (with
                                                   quests_force_error yes also d_quests_force_error
                                                   and d_quests_force_error_upper, eV/A)
  fix quests all python/invoke N end_of_step ...   evaluation every N steps
  v_quests_max, v_quests_mean, v_quests_novel_fraction, v_quests_novel_count, v_quests_evaluated,
  v_quests_collected, v_quests_collected_total,
  v_quests_max_force_error                         python-style variables for thermo and fix halt
With variable quests_collect string FILE, novel environments are appended to FILE as in fix quests's
collect keyword (quests_lmp.lammps.collection).
Every failure is agreed on by all ranks and ends LAMMPS with one `ERROR: QUESTS: ...` line and exit
code 1, never a hang. Works with LAMMPS 29 Sep 2021 (Debian bookworm) and later. See
doc/python_invoke.md.
"""

from __future__ import annotations

import difflib
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field

import numpy as np

from ..engine.options import HOOK, DhOptions, read_value
from ..engine.validation import failure_message
from ..parallel import World
from .fix import FixEngine

COLLECT_PARAMETERS = ("collect_threshold", "collect_max", "discard_above", "collect_buffer")
PARAMETERS = ("reference", "every", "group", *DhOptions.names(), "elements", "collect", *COLLECT_PARAMETERS)
PROPERTY = "quests_dH"
FORCE_ERROR_PROPERTIES = ("quests_force_error", "quests_force_error_upper")  # eV/A, with quests_force_error yes
STATISTICS = (
    "max",
    "mean",
    "novel_fraction",
    "novel_count",
    "evaluated",
    "collected",
    "collected_total",
    "max_force_error",
)
DEFAULT_SKIN = 2.0  # A: LAMMPS's default neighbor skin in metal and real units
BOX_AT_END_OF_STEP = ("deform", "deform/pressure", "press/berendsen")  # fix styles this hook refuses


class QuestsHookError(ValueError):
    """A user mistake found by the hook: reported as one LAMMPS ERROR line."""


@dataclass
class Settings:
    """The hook's parameters, named and defaulted as the keywords of `fix quests`: those of dH are
    the fields of quests_lmp.engine.options.DhOptions."""

    reference: str
    every: int
    group: str = "all"
    options: DhOptions = field(default_factory=DhOptions)
    elements: list[str] | None = None
    collect: str | None = None  # extxyz file of novel environments; the rest as in FixEngine.collect_into
    collect_threshold: float | None = None
    collect_max: int | None = None
    collect_max_total: int | None = None
    discard_above: float | None = None
    collect_buffer: float | None = None

    @classmethod
    def from_strings(cls, values: dict[str, str]) -> Settings:
        """Parses the variables' texts; a QuestsHookError names the variable and what it needs."""
        for name in ("reference", "every"):
            if name not in values:
                raise QuestsHookError(
                    f"variable quests_{name} is not defined; define it before quests_setup (e.g. {_EXAMPLES[name]})"
                )
        settings = cls(reference=values["reference"], every=_integer(values, "every"), group=values.get("group", "all"))
        if settings.every < 1:
            raise QuestsHookError(f"quests_every must be > 0 (evaluate every N steps), got {values['every']}")
        try:
            settings.options = DhOptions.from_text(values, HOOK)
        except ValueError as error:
            raise QuestsHookError(str(error)) from None
        if "elements" in values:
            settings.elements = values["elements"].split()
        settings._read_collect(values)
        return settings

    def _read_collect(self, values: dict[str, str]) -> None:
        """The collect parameters, as fix quests's keywords (collect_max: one or two integers)."""
        given = [name for name in COLLECT_PARAMETERS if name in values]
        self.collect = values.get("collect")
        if given and not self.collect:
            raise QuestsHookError(
                f"quests_{given[0]} needs variable quests_collect string FILE (the extxyz file "
                "the environments are appended to)"
            )
        for name in ("collect_threshold", "discard_above", "collect_buffer"):
            if name in values:
                setattr(self, name, _number(values, name))
        if "collect_max" in values:
            counts = values["collect_max"].split()
            if not 1 <= len(counts) <= 2:
                raise QuestsHookError(
                    f"quests_collect_max must be one or two integers (per evaluation, in all), "
                    f"got '{values['collect_max']}'"
                )
            self.collect_max, *total = (_integer({"collect_max": count}, "collect_max") for count in counts)
            self.collect_max_total = total[0] if total else None


_EXAMPLES = {"reference": "variable quests_reference string train.npz", "every": "variable quests_every equal 50"}


class Hook:
    """State of the hook on one rank: the engine, the settings and the last global statistics."""

    def __init__(self, lmp, settings: Settings, world: World):
        self.lmp, self.settings, self.world = lmp, settings, world
        self.engine = FixEngine(settings.reference, options=settings.options, elements=settings.elements)
        if settings.collect:
            self.engine.collect_into(
                settings.collect,
                settings.collect_threshold,
                settings.collect_max,
                settings.collect_max_total,
                settings.discard_above,
                settings.collect_buffer,
                world if world.size > 1 else None,
            )
        self.statistics = dict.fromkeys(STATISTICS, 0.0)
        self.setup_step = lmp.extract_global("ntimestep")
        self.evaluated_step = None

    def statistic(self, name: str) -> float:
        """A global statistic for a python-style variable; a QuestsHookError where it was not computed.

        On a step that is a multiple of N, the values must be of that step. They are not when
        LAMMPS did not call fix python/invoke, as in a minimization (LAMMPS 2021 calls it only in MD).
        """
        step = self.lmp.extract_global("ntimestep")
        if step % self.settings.every == 0 and step not in (self.setup_step, self.evaluated_step):
            _fail_during_run(
                self.world,
                f"dH was not evaluated at step {step}: fix python/invoke is not called "
                "during minimization, so v_quests_* would be stale; use fix quests (the "
                "plugin) to watch a minimization",
            )
        return self.statistics[name]

    def evaluate(self, lmp) -> tuple[float, float, int, int, float]:
        """dH of the group's owned atoms into d_quests_dH (and their expected force errors, eV/A);
        returns this rank's (max, sum, novel, n, max expected force error)."""
        if self.evaluated_step is None:  # the run's dumps and logs are open now
            self.engine.setup()
        nlocal, nghost = lmp.extract_global("nlocal"), lmp.extract_global("nghost")
        positions = lmp.numpy.extract_atom("x", nelem=nlocal + nghost, dim=3)
        types = lmp.numpy.extract_atom("type", nelem=nlocal + nghost) if nlocal + nghost else None
        in_group = lmp.extract_variable("quests_in_group", "all", 1)  # atom-style: copied, nlocal values
        mask = np.asarray(in_group[:nlocal] if nlocal else [], dtype=np.int32)
        dh = lmp.numpy.extract_atom("d_" + PROPERTY, nelem=nlocal) if nlocal else np.zeros(0)
        points = np.ascontiguousarray(positions if nlocal + nghost else np.zeros((0, 3)), dtype=np.float64)
        types = np.ascontiguousarray(types if types is not None else np.zeros(0), dtype=np.int32)
        self.engine.evaluate(points, types, nlocal + nghost, nlocal, mask, 1, dh)
        in_group = mask.astype(bool)
        largest_error = -math.inf
        if self.settings.options.force_error and nlocal:
            columns = np.zeros((nlocal, 3))
            self.engine.expected_errors(np.ascontiguousarray(dh), nlocal, mask, 1, columns)
            for column, name in enumerate(FORCE_ERROR_PROPERTIES, start=1):
                lmp.numpy.extract_atom("d_" + name, nelem=nlocal)[:] = columns[:, column]
            largest_error = columns[in_group, 1].max(initial=-math.inf)
        values = dh[in_group]
        novel = values > self.engine.threshold
        return (values.max(initial=-math.inf), float(values.sum()), int(novel.sum()), int(values.size), largest_error)

    def collect(self, lmp) -> None:
        """Collects the novel environments of the last evaluation (every rank, after evaluate())."""
        nlocal, nghost = lmp.extract_global("nlocal"), lmp.extract_global("nghost")
        n = nlocal + nghost
        points = np.ascontiguousarray(
            lmp.numpy.extract_atom("x", nelem=n, dim=3) if n else np.zeros((0, 3)), dtype=np.float64
        )
        tags = np.ascontiguousarray(lmp.numpy.extract_atom("id", nelem=n) if n else np.zeros(0, dtype=np.int32))
        dh = np.ascontiguousarray(lmp.numpy.extract_atom("d_" + PROPERTY, nelem=nlocal) if nlocal else np.zeros(0))
        low, high, xy, yz, xz, periodic, _ = lmp.extract_box()
        box = (*(top - bottom for bottom, top in zip(low, high)), xy, xz, yz, *periodic)
        written = self.engine.collect(points, tags, tags.itemsize, n, nlocal, dh, lmp.extract_global("ntimestep"), box)
        self.statistics["collected"] = float(written)
        self.statistics["collected_total"] += written

    def reduce(self, local) -> None:
        """Global max, mean, novel fraction, counts and largest expected force error from every
        rank's (max, sum, novel, n, max expected force error)."""
        maximum, total, novel, count, largest_error = zip(*local)
        n = sum(count)
        self.statistics.update(
            {
                "max": max(maximum) if n else 0.0,
                "mean": sum(total) / n if n else 0.0,
                "novel_fraction": sum(novel) / n if n else 0.0,
                "novel_count": float(sum(novel)),
                "evaluated": float(n),
                "max_force_error": max(largest_error) if n and self.settings.options.force_error else 0.0,
            }
        )


_hook: Hook | None = None


def quests_setup(lmpptr) -> None:
    """Reads the quests_* variables, loads the reference and defines the fixes and variables."""
    global _hook
    from lammps import lammps

    lmp = lammps(ptr=lmpptr)
    world = World(comm=lmp.get_mpi_comm())
    _hook = hook = None
    try:
        if lmp.has_id("fix", "quests") or lmp.has_id("fix", "quests_dH"):
            raise QuestsHookError(
                "quests_setup was already invoked: the hook is set up once per LAMMPS instance "
                "(fix quests exists); to start over with other parameters, use `clear` first"
            )
        _check_units(lmp)
        settings = Settings.from_strings(_read_variables(lmp))
        if not lmp.has_id("group", settings.group):
            raise QuestsHookError(f"group '{settings.group}' (quests_group) does not exist")
        hook = Hook(lmp, settings, world)
        _check_ghost_cutoff(lmp, world, hook.engine)
        _check_fixes(lmp, world)
        failure = None
    except Exception as error:  # noqa: BLE001 - every rank must learn of any rank's failure
        failure = failure_message(error)
    _agree_or_quit(lmp, world, failure, "setup")
    _hook = hook
    if world.is_root:
        print(f"QUESTS: alarm at {hook.engine.alarm}", flush=True)
        if hook.engine.notice:
            print(f"WARNING: QUESTS: {hook.engine.notice}", flush=True)

    import __main__

    __main__.quests_end_of_step = quests_end_of_step
    for name in STATISTICS:
        setattr(__main__, f"quests_{name}", _statistic_getter(name))
    commands = [
        f"variable quests_in_group atom gmask({settings.group})",
        f"fix quests_dH all property/atom d_{PROPERTY}"
        + "".join(f" d_{name}" for name in FORCE_ERROR_PROPERTIES if settings.options.force_error),
        f"fix quests all python/invoke {settings.every} end_of_step quests_end_of_step",
    ]
    for name in STATISTICS:
        commands += [
            f"variable quests_{name} python quests_{name}",
            f"python quests_{name} return v_quests_{name} format f exists",
        ]
    for command in commands:
        lmp.command(command)


def quests_end_of_step(lmpptr) -> None:
    """Called by `fix python/invoke` every N steps on every rank."""
    from lammps import lammps

    lmp = lammps(ptr=lmpptr)
    hook = _hook
    try:
        local, failure = hook.evaluate(lmp), None
    except Exception as error:  # noqa: BLE001 - every rank must learn of any rank's failure
        local, failure = (-math.inf, 0.0, 0, 0, -math.inf), failure_message(error)
    gathered = hook.world.allgather((failure, local))
    failures = [message for message, _ in gathered if message]
    if failures:  # no LAMMPS command may run now: every rank raises, LAMMPS stops the run cleanly
        _fail_during_run(hook.world, f"dH evaluation failed at step {lmp.extract_global('ntimestep')}: {failures[0]}")
    hook.reduce([values for _, values in gathered])
    hook.evaluated_step = lmp.extract_global("ntimestep")
    if hook.settings.collect:
        try:
            hook.collect(lmp)
        except Exception as error:  # noqa: BLE001 - a rank failing inside the collective calls: end the job
            print(
                f"ERROR: QUESTS: collecting novel environments into {hook.settings.collect} failed at step "
                f"{lmp.extract_global('ntimestep')}: {failure_message(error)}",
                flush=True,
            )
            hook.world.abort()


def _fail_during_run(world: World, reason: str) -> None:
    """Ends the run on every rank that calls it: no LAMMPS command may run now, so rank 0 prints the
    one ERROR line and the exception stops LAMMPS cleanly (exit code 1)."""
    message = f"ERROR: QUESTS: {reason}"
    if world.is_root:
        print(message, flush=True)
    sys.tracebacklimit = 0  # LAMMPS prints the exception: one line, no traceback
    raise QuestsHookError(message)


def _statistic_getter(name: str):
    def value() -> float:
        return _hook.statistic(name) if _hook is not None else 0.0

    value.__name__ = f"quests_{name}"
    return value


def _read_variables(lmp) -> dict[str, str]:
    """Texts of the defined quests_<name> variables, read through LAMMPS's own `python input v_`."""
    import __main__

    values = {}

    def receive(text):
        values[current] = text.strip()

    own = {*PARAMETERS, "in_group", *STATISTICS}  # the hook's own variables survive `clear`
    unknown = [
        name
        for name in lmp.available_ids("variable")
        if name.startswith("quests_") and name[len("quests_") :] not in own
    ]
    if unknown:
        names = [f"quests_{name}" for name in PARAMETERS]
        close = difflib.get_close_matches(unknown[0][len("quests_") :], PARAMETERS, n=1)
        hint = f" (did you mean quests_{close[0]}?)" if close else ""
        raise QuestsHookError(
            f"variable {unknown[0]} is not a parameter of the hook{hint}; its parameters are "
            f"{', '.join(names)}, and it defines quests_in_group and the v_quests_* statistics"
        )
    __main__.quests_receive = receive
    for current in PARAMETERS:
        if lmp.has_id("variable", f"quests_{current}"):
            lmp.command(f"python quests_receive input 1 v_quests_{current} format s exists")
            lmp.command("python quests_receive invoke")
    del __main__.quests_receive
    return values


def _check_units(lmp) -> None:
    units = lmp.extract_global("units")
    if units not in ("metal", "real"):
        raise QuestsHookError(f"QUESTS needs positions in Angstrom: use units metal or real, not {units}")


def _check_ghost_cutoff(lmp, world: World, engine: FixEngine) -> None:
    """Ghost atoms must reach the descriptor cutoff (plus the collect buffer when collecting) plus
    the neighbor skin (LAMMPS's default, 2 A).

    Python cannot read the pair style's cutoff in LAMMPS 2021 and cannot issue commands during a
    run, so this is checked at setup against what `info communication` reports then: the
    `comm_modify cutoff` (or, after a first run, the ghost cutoff that run used).
    """
    lines = [line for line in _info(lmp, world, "communication") if line.startswith("Communication cutoff")]
    ghost_cutoff = float(lines[0].split("=")[1].split()[0]) if lines else 0.0
    needed = engine.ghost_cutoff + DEFAULT_SKIN
    parts = f"{engine.cutoff:g}"
    if engine.ghost_cutoff > engine.cutoff:
        parts += f" + collect buffer {engine.ghost_cutoff - engine.cutoff:g}"
    if ghost_cutoff < needed - 1e-12:
        raise QuestsHookError(
            f"ghost atoms must reach the descriptor cutoff plus the neighbor skin ({parts} + "
            f"{DEFAULT_SKIN:g} A), but the communication cutoff is {ghost_cutoff:g} A: add "
            f"'comm_modify cutoff {needed:g}' before quests_setup"
        )


def _check_fixes(lmp, world: World) -> None:
    """Refuses fixes that change the box at the end of a step: this hook cannot refresh the ghost
    atoms after them (LAMMPS 2021 runs no command from Python during a run), so dH would not
    belong to the positions dumped. fix quests (the plugin) handles them."""
    for line in _info(lmp, world, "fixes"):
        if line.startswith("Fix[") and "style =" in line:
            fix_id = line.split(":", 1)[1].split(",")[0].strip()
            style = line.split("style =", 1)[1].split(",")[0].strip()
            if style in BOX_AT_END_OF_STEP:
                raise QuestsHookError(
                    f"fix {fix_id} ({style}) changes the box at the end of a step; fix "
                    "python/invoke cannot refresh the ghost atoms after it, so dH would not "
                    "belong to the dumped positions: use fix quests (the plugin) for this run"
                )


def _info(lmp, world: World, topic: str) -> list[str]:
    """Lines of LAMMPS's `info TOPIC` (written by rank 0), on every rank."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "info")
        lmp.command(f"info {topic} out overwrite {path}")  # written by rank 0 only
        text = open(path).read() if world.is_root else ""
    return world.bcast(text).splitlines()


def _agree_or_quit(lmp, world: World, failure: str | None, stage: str) -> None:
    failures = [message for message in world.allgather(failure) if message]
    if failures:
        _quit(lmp, f"{stage} failed: {failures[0]}")


def _quit(lmp, message: str) -> None:
    """Ends LAMMPS on every rank with one ERROR line (screen and log) and exit code 1."""
    text = message.replace('"', "'").replace("$", "(dollar)")
    lmp.command(f'print """ERROR: QUESTS: {text}"""')
    lmp.command("quit 1")


def _integer(values: dict[str, str], name: str) -> int:
    return _read(values, name, "integer")


def _number(values: dict[str, str], name: str) -> float:
    return _read(values, name, "number")


def _read(values: dict[str, str], name: str, kind: str):
    """Variable quests_<name> read as `kind` (quests_lmp.engine.options.read_value)."""
    try:
        return read_value(kind, values[name], f"quests_{name}", HOOK)
    except ValueError as error:
        raise QuestsHookError(str(error)) from None
