"""Python side of the LAMMPS `fix quests` plugin (lammps_plugin/): one engine object per rank.

The C++ fix creates a `FixEngine` once per rank and calls its `evaluate(...)` every N steps, handing
over zero-copy memoryviews of LAMMPS memory (owned + ghost positions and types, the atom mask and
the fix's per-atom output). Nothing here keeps those arrays past the call: LAMMPS reallocates them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..engine.bias import Bias, bias_forces
from ..engine.options import DhOptions, monitoring
from ..engine.reference import Reference
from ..engine.species import atomic_numbers
from ..parallel import World
from .collection import Collector, CollectSettings


class FixEngine:
    """A reference loaded once, and how to compare the group's environments with it.

    options: how dH is computed and what counts as novel (quests_lmp.engine.options.DhOptions;
    its fields may also be given as keywords, e.g. method="approx"); threshold None takes the
    reference's calibrated threshold where it holds, else 0 (`alarm` says which, for the log).
    elements: one element symbol per LAMMPS atom type (type 1 first), as pair_coeff maps them (a
    list, or one space-separated string); with them, atoms of elements the reference lacks are an
    error unless options.unknown is "novel". bias: (kind, strength, level) of bias_with(), checked
    before the reference's index is prepared.
    """

    def __init__(
        self,
        reference_file: str,
        *,
        options: DhOptions | None = None,
        elements=None,
        bias: tuple | None = None,
        **settings,
    ):
        self.dh_options = replace(options or DhOptions(), **settings).checked()
        self.reference = Reference.load(reference_file)
        self.reference_file = str(reference_file)
        self.descriptor = self.reference.descriptor
        self.notice = ""  # a warning for LAMMPS to print once
        self.collector: Collector | None = None  # set by collect_into()
        self.bias: Bias | None = None  # set by bias_with()
        self._forget()
        species, unknown = self.dh_options.species, self.dh_options.unknown
        self.type_numbers = self._type_numbers(elements, species, unknown, reference_file)
        monitor = monitoring(self.reference, self.dh_options, "error" if self.type_numbers is not None else None)
        self.options, self.bandwidth, self.threshold, self.alarm, self.error_map = monitor
        if bias is not None:
            self.bias_with(*bias)
        method = self.dh_options.method
        seconds = self.reference.prepare(method, self.options["by_centre"])  # now, not at the first step
        if seconds and self.options["by_centre"]:
            self.notice = (
                f"{reference_file} has no cluster index of each element: built them in {seconds:.1f} s on "
                f"each rank; store them in the file to skip this: quests-lmp reference index "
                f"{reference_file}"
            )
        elif seconds:
            self.notice = (
                f"{reference_file} has no cluster index: built one in {seconds:.1f} s on each rank; "
                f"store it in the file to skip this: quests-lmp reference index {reference_file}"
            )

    def _type_numbers(self, elements, species, unknown, reference_file) -> np.ndarray | None:
        """Atomic number of each atom type (index 0 unused); None without elements. ValueError for a
        species-aware mode without elements."""
        needs = "multicomponent descriptors" if species is None else f"species {species}"
        if not elements:
            if self.reference.multicomponent is not None or (species not in (None, "blind")):
                raise ValueError(
                    f"{needs} need the element of each atom type, one per type as in pair_coeff: "
                    "add elements Ni Al ... (fix quests) or variable quests_elements string "
                    '"Ni Al ..." (python/invoke)'
                )
            if unknown is not None:
                raise ValueError("unknown needs elements E1 E2 ... (one element per atom type)")
            return None
        numbers = atomic_numbers(elements.split() if isinstance(elements, str) else elements, "elements")
        if self.reference.centres is None and self.reference.multicomponent is None:
            self.notice = (
                f"{reference_file} records no elements (a file of an earlier version): the elements of "
                "the atoms are not checked against it; rebuild it to have them checked"
            )
        return np.concatenate(([0], numbers))

    def collect_into(
        self,
        path: str,
        threshold: float | None = None,
        max_per_evaluation: int | None = None,
        max_per_run: int | None = None,
        discard_above: float | None = None,
        buffer: float | None = None,
        world: World | None = None,
    ) -> None:
        """Collects novel environments into an extxyz file from now on (quests_lmp.lammps.collection).

        threshold, discard_above: nats (None: the novelty threshold, no upper limit); buffer: A
        (None: the cutoff); world: the run's ranks (quests_lmp.parallel.World over LAMMPS's
        communicator), None for one rank. ValueError for a bad setting
        or a file that cannot take the environments (Collector.check_file).
        """
        if self.type_numbers is None:
            raise ValueError(
                "collect writes element symbols: give the element of each atom type, as pair_coeff "
                '(elements E1 E2 ... in fix quests, variable quests_elements string "E1 E2 ..." in the '
                "python/invoke hook)"
            )
        settings = CollectSettings(path, self.threshold if threshold is None else float(threshold))
        for name, value in (
            ("max_per_evaluation", max_per_evaluation),
            ("max_per_run", max_per_run),
            ("discard_above", discard_above),
            ("buffer", buffer),
        ):
            if value is not None:
                setattr(settings, name, value)
        # method approx stops summing below stop_below: candidates need exact values above their threshold
        self.options["stop_below"] = min(self.options["stop_below"], settings.threshold - 1.0)
        self.collector = Collector(
            settings, self.cutoff, self.bandwidth, world, self.options["by_centre"], protected=[self.reference_file]
        )

    def setup(self) -> None:
        """Checks at the start of each run what the whole input decides (the collect file against
        the run's open dumps and logs); ValueError on every rank."""
        if self.collector is not None:
            self.collector.check_file()

    def bias_with(self, kind: str, strength: float, level: float) -> None:
        """Applies a bias energy of dH from now on (quests_lmp.engine.bias): explore (strength
        eV/nat, cap nats) or wall (strength eV/nat^2, threshold nats). ValueError for bad values
        or a setting the gradients do not cover (methods exact and approx, the species-blind
        descriptor, double precision only)."""
        if self.options["method"] == "knn" or self.options["precision"] != "double":
            raise ValueError(
                "bias needs method exact or approx and precision double: forces of method knn and of "
                "float32 sums are not implemented"
            )
        if self.reference.multicomponent is not None:
            raise ValueError(
                "bias needs the species-blind descriptor (species blind or by-centre): forces of "
                "multicomponent descriptors are not implemented"
            )
        if self.options["unknown"] == "novel":
            raise ValueError(
                "bias cannot count atoms of unknown elements as novel (their dH is infinite, with no "
                "force): leave unknown out, or add such environments to the reference"
            )
        self.bias = Bias(kind, float(strength), float(level))

    def evaluate_bias(self, positions, types, n_points: int, nlocal: int, mask, groupbit: int, out, forces) -> tuple:
        """As evaluate(), and the bias forces (eV/A) into `forces` (writable memoryview of
        n_points x 3 doubles, owned then ghosts: the ghosts' for LAMMPS to sum onto their owners);
        returns (this rank's bias energy in eV, then its virial xx yy zz xy xz yz in eV)."""
        force = np.frombuffer(forces, dtype=np.float64, count=3 * n_points).reshape(n_points, 3)
        force[:] = 0.0
        result, points, centre_indices = self._begin(positions, n_points, nlocal, mask, groupbit, out)
        if centre_indices.size == 0:
            return (0.0,) * 7
        numbers = self._numbers(types, n_points)
        method = {name: self.options[name] for name in ("method", "certificate", "stop_below", "by_centre")}
        done = bias_forces(self.bias, self.reference, self.bandwidth, points, centre_indices, numbers=numbers, **method)
        result[centre_indices] = done.dh
        force += done.forces
        self._last = (centre_indices, done.x, numbers)
        return (done.energy, *done.virial.tolist())

    def _begin(self, positions, n_points: int, nlocal: int, mask, groupbit: int, out) -> tuple:
        """(dH output zeroed, points, indices of the group's owned atoms) of an evaluation."""
        result = np.frombuffer(out, dtype=np.float64, count=nlocal)
        result[:] = 0.0
        self._forget()
        points = np.frombuffer(positions, dtype=np.float64, count=3 * n_points).reshape(n_points, 3)
        return result, points, np.flatnonzero(np.frombuffer(mask, dtype=np.int32, count=nlocal) & groupbit)

    def _forget(self) -> None:
        """No evaluated atoms for collect() until the next evaluation: (centre_indices, descriptors, numbers)."""
        self._last = (np.zeros(0, dtype=np.int64), np.zeros((0, self.descriptor.n_features)), None)

    def _numbers(self, types, n_points: int) -> np.ndarray | None:
        """Atomic number of each point from its LAMMPS type (None without elements)."""
        if self.type_numbers is None:
            return None
        atom_types = np.frombuffer(types, dtype=np.int32, count=n_points)
        if atom_types.min() < 1 or atom_types.max() >= self.type_numbers.size:
            raise ValueError(
                f"elements names {self.type_numbers.size - 1} atom types, but the run has atoms "
                f"of type {atom_types.max()}: give one element per atom type"
            )
        return self.type_numbers[atom_types]

    def expected_errors(self, out, nlocal: int, mask, groupbit: int, columns) -> None:
        """Writes (dH, expected force error, its upper quantile) of each owned atom in the group
        into `columns` (writable memoryview of nlocal x 3 doubles; nats, eV/A, eV/A), from the dH
        of the last evaluation in `out` (as evaluate()); zeros for the other atoms."""
        dh = np.frombuffer(out, dtype=np.float64, count=nlocal)
        result = np.frombuffer(columns, dtype=np.float64, count=3 * nlocal).reshape(nlocal, 3)
        result[:] = 0.0
        centre_indices = np.flatnonzero(np.frombuffer(mask, dtype=np.int32, count=nlocal) & groupbit)
        result[centre_indices, 0] = dh[centre_indices]
        result[centre_indices, 1], result[centre_indices, 2] = self.error_map.expected(dh[centre_indices])

    @property
    def cutoff(self) -> float:
        """Descriptor cutoff in A."""
        return self.descriptor.cutoff

    @property
    def ghost_cutoff(self) -> float:
        """A: how far out LAMMPS must provide ghost atoms (the cutoff, plus the collection buffer)."""
        return self.cutoff if self.collector is None else self.collector.radius

    def collect(self, positions, tags, tag_bytes: int, n_points: int, nlocal: int, out, step: int, box) -> int:
        """Collects the novel environments of the last evaluate() call; returns how many were written
        (on every rank: a collective call). positions, out: as evaluate(); tags: memoryview of
        n_points atom IDs of tag_bytes (4 or 8) bytes each; box: (xprd, yprd, zprd, xy, xz, yz, A;
        then periodic flags in x, y, z)."""
        points = np.frombuffer(positions, dtype=np.float64, count=3 * n_points).reshape(n_points, 3)
        ids = np.frombuffer(tags, dtype={4: np.int32, 8: np.int64}[tag_bytes], count=n_points)
        dh = np.frombuffer(out, dtype=np.float64, count=nlocal)
        xprd, yprd, zprd, xy, xz, yz, *pbc = box
        cell = np.array([[xprd, 0.0, 0.0], [xy, yprd, 0.0], [xz, yz, zprd]])
        centre_indices, x, numbers = self._last
        return self.collector.collect(step, points, ids, numbers, centre_indices, x, dh, cell, [bool(p) for p in pbc])

    def evaluate(self, positions, types, n_points: int, nlocal: int, mask, groupbit: int, out) -> None:
        """Writes dH (nats) of the owned atoms in the group into `out`; 0 for the others.

        positions: memoryview of n_points x 3 doubles (owned atoms first, then ghosts), A; types:
        memoryview of n_points ints (LAMMPS atom types); mask: memoryview of at least nlocal ints;
        out: writable memoryview of nlocal doubles.
        """
        result, points, centre_indices = self._begin(positions, n_points, nlocal, mask, groupbit, out)
        if centre_indices.size == 0:
            return
        numbers = self._numbers(types, n_points)
        x = self.descriptor.compute_points(points, centre_indices, numbers)
        result[centre_indices] = self.reference.delta_entropy(
            x, self.bandwidth, centres=None if numbers is None else numbers[centre_indices], **self.options
        )
        self._last = (centre_indices, x, numbers)

    @property
    def has_bias(self) -> bool:
        """Whether a bias applies forces (the fix then evaluates at every force computation)."""
        return self.bias is not None

    @property
    def has_force_error(self) -> bool:
        """Whether each atom gets its expected force error (three per-atom columns)."""
        return self.error_map is not None

    @property
    def collect_file(self) -> str:
        """The file novel environments are appended to; "" without collection."""
        return "" if self.collector is None else self.collector.settings.path
