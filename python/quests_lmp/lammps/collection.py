"""Novel local environments collected during MD: the `collect` keywords of fix quests and the hook.

At each evaluation the owned group atoms with threshold < dH <= discard_above are candidates.
Rank 0 takes them in order of dH, largest first (ties: smaller atom ID), from all ranks, so the
outcome does not depend on the number of ranks:
- a candidate within `buffer` of a centre accepted at this evaluation is merged: its whole
  environment is in that centre's cluster already (quests_lmp.engine.carve), so it counts as
  collected without a cluster of its own;
- a candidate whose environment is covered by the reference together with the environments
  collected so far (dH against their union <= threshold) is skipped, so the file holds mutually
  novel environments: each is novel after the ones before it were added to the training set
  (by centre, as its dH: against the collected environments of its own element);
- at most max_per_evaluation are accepted per evaluation and max_per_run per run.
Only the candidates' dH and IDs travel to rank 0 first; their descriptors and positions follow in
batches, in order, until the evaluation's quota is filled. The owners of the accepted atoms cut
out their clusters (every owned or ghost atom within cutoff + buffer, so the ghosts must reach that
far), each member's dH comes from the rank that owns it, and rank 0 appends the clusters to the
file in one write() of complete extxyz frames: a run killed between writes leaves whole frames
(a kill inside a large write() may still cut it between pages: doc/fix_quests.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from ..engine.carve import points_within
from ..engine.files import append_whole, appendable_extxyz, extxyz_text
from ..engine.information import delta_entropy
from ..parallel import World


@dataclass
class CollectSettings:
    """path: the extxyz file appended to; threshold, discard_above: nats; max_per_evaluation,
    max_per_run: counts; buffer: A beyond the descriptor cutoff (None: the cutoff again)."""

    path: str
    threshold: float = 0.0
    max_per_evaluation: int = 10
    max_per_run: int = 1000
    discard_above: float = math.inf
    buffer: float | None = None

    def check(self) -> None:
        """ValueError naming the setting that is out of range."""
        if not self.path:
            raise ValueError("collect needs a file name")
        if self.max_per_evaluation < 1 or self.max_per_run < 1:
            raise ValueError("collect_max must be >= 1 (environments per evaluation and per run)")
        if not self.discard_above > self.threshold:
            raise ValueError(
                f"discard_above ({self.discard_above}) must be above the collect threshold ({self.threshold})"
            )
        if self.buffer is not None and not (math.isfinite(self.buffer) and self.buffer >= 0):
            raise ValueError(f"collect_buffer must be a finite number >= 0 (A), got {self.buffer}")


class Collector:
    """One per rank. world: the run's ranks (a quests_lmp.parallel.World over LAMMPS's
    communicator), or None for one rank; by_centre: whether dH compares
    each atom only with environments of its own element (then so does the coverage by the
    environments collected); protected: files the run reads, never appended to.

    The file is checked now and again by check_file() at the start of each run (ValueError on
    every rank): a folder that exists, a regular file, not one the run reads or writes otherwise,
    empty or extxyz already."""

    def __init__(
        self,
        settings: CollectSettings,
        cutoff: float,
        bandwidth: float,
        world: World | None = None,
        by_centre: bool = False,
        protected=(),
    ):
        settings.check()
        self.settings, self.bandwidth, self.by_centre = settings, bandwidth, by_centre
        self.world = world or World(mpi=False)
        self.protected = tuple(protected)
        self.check_file()
        self.buffer = cutoff if settings.buffer is None else settings.buffer
        self.radius = cutoff + self.buffer  # A: how far the ghost atoms must reach
        # descriptors and atomic numbers of the centres written in this run (rank 0)
        self.collected, self.collected_numbers = None, np.zeros(0, dtype=np.int64)
        self.written = 0

    @property
    def is_root(self) -> bool:
        return self.world.is_root

    def collect(
        self,
        step: int,
        points: np.ndarray,
        tags: np.ndarray,
        numbers: np.ndarray,
        centre_indices: np.ndarray,
        x: np.ndarray,
        dh: np.ndarray,
        cell: np.ndarray,
        pbc,
    ) -> int:
        """Collects at one evaluation; returns the environments written (on every rank).

        points: (n, 3) owned then ghost positions (A); tags: (n,) atom IDs; numbers: (n,) atomic
        numbers; centre_indices: indices of the evaluated owned atoms, x their descriptors (1/A); dh:
        (nlocal,) dH of the owned atoms (nats, 0 outside the group; a ghost's comes from its
        owner); cell: (3, 3) box vectors as rows (A) and pbc its periodic directions, for distances
        between candidates of different ranks.
        """
        s = self.settings
        values = dh[centre_indices]
        rows = np.flatnonzero((values > s.threshold) & (values <= s.discard_above))
        if self.written >= s.max_per_run:
            rows = rows[:0]
        own = dict(zip(tags[centre_indices[rows]].tolist(), rows.tolist()))
        ranked = self.world.gather((values[rows], tags[centre_indices[rows]]))
        if self.is_root:
            dh_all, tags_all = (np.concatenate([part[i] for part in ranked]) for i in (0, 1))
            ranked = tags_all[np.lexsort((tags_all, -dh_all))].tolist()
        accepted = self._decide(
            ranked, own, points, numbers, centre_indices, x, dh, np.asarray(cell, dtype=np.float64), pbc
        )
        if accepted:
            clusters = {
                tag: self._cluster(step, points, tags, numbers, dh[centre_indices[own[tag]]], centre_indices[own[tag]])
                for tag in accepted
                if tag in own
            }
            self._write(accepted, self.world.gather(clusters), tags[: dh.size], dh)
        self.written += len(accepted)
        return len(accepted)

    def _write(self, accepted: list[int], parts: list | None, owned_tags: np.ndarray, dh: np.ndarray) -> None:
        """Rank 0 fills in the members' dH, each from the rank that owns the atom, and appends the
        clusters in the order accepted."""
        found = {tag: cluster for part in parts for tag, cluster in part.items()} if self.is_root else {}
        members = self.world.bcast(
            np.unique(np.concatenate([cluster.arrays["id"] for cluster in found.values()])) if self.is_root else None
        )
        mine = np.isin(owned_tags, members)
        values = self.world.gather((owned_tags[mine], dh[mine]))
        if not self.is_root:
            return
        ids, dhs = (np.concatenate([part[i] for part in values]) for i in (0, 1))
        order = np.argsort(ids)
        for cluster in found.values():
            cluster.arrays["dH"] = dhs[order[np.searchsorted(ids, cluster.arrays["id"], sorter=order)]]
        self._append([found[tag] for tag in accepted])

    def check_file(self) -> None:
        """ValueError on every rank where rank 0, the writer, cannot append to the file."""
        problem = self.world.bcast(appendable_extxyz(self.settings.path, self.protected) if self.is_root else None)
        if problem:
            raise ValueError(f"cannot collect into {self.settings.path}: {problem}")

    def _decide(self, ranked, own, points, numbers, centre_indices, x, dh, cell, pbc) -> list[int]:
        """The atom IDs to write, in order, on every rank. ranked: on rank 0, every candidate's ID
        in order; own: this rank's candidates, ID -> row of centre_indices."""
        room = min(self.settings.max_per_evaluation, self.settings.max_per_run - self.written)
        accepted, centres_at = [], np.zeros((0, 3))
        start, batch = 0, 4 * room
        while True:
            request = self.world.bcast(ranked[start : start + batch] if self.is_root and len(accepted) < room else None)
            if not request:
                return self.world.bcast(accepted if self.is_root else None)
            parts = self.world.gather(
                {
                    tag: (
                        x[own[tag]],
                        points[centre_indices[own[tag]]],
                        dh[centre_indices[own[tag]]],
                        numbers[centre_indices[own[tag]]],
                    )
                    for tag in request
                    if tag in own
                }
            )
            if not self.is_root:
                continue
            found = {tag: value for part in parts for tag, value in part.items()}
            for tag in request:
                if len(accepted) == room:
                    break
                descriptor, position, dh_reference, number = found[tag]
                merged = _nearest_distance(position, centres_at, cell, pbc) <= self.buffer
                if not merged and self._covered(descriptor, number, dh_reference):
                    continue
                # a merged candidate's whole environment is in the file too, in its neighbor's cluster
                self.collected = (
                    descriptor[None, :] if self.collected is None else np.vstack([self.collected, descriptor])
                )
                self.collected_numbers = np.append(self.collected_numbers, number)
                if not merged:
                    accepted.append(tag)
                    centres_at = np.vstack([centres_at, position])
            start += batch

    def _covered(self, x: np.ndarray, number: int, dh_reference: float) -> bool:
        """Whether an environment (descriptor x, centre of atomic number `number`) is covered
        (dH <= threshold) by the reference together with the environments collected in this run:
        exp(-dH) is a kernel sum, and sums over sets add (by centre: the sums over its element's)."""
        if self.collected is None:
            return False
        centres = (np.array([number]), self.collected_numbers) if self.by_centre else (None, None)
        dh_collected = delta_entropy(x[None, :], self.collected, self.bandwidth, *centres)[0]
        return bool(-np.logaddexp(-dh_reference, -dh_collected) <= self.settings.threshold)

    def _cluster(self, step, points, tags, numbers, dh_centre, centre) -> Atoms:
        """The open cluster around an owned atom, from the owned and ghost points (members' dH
        are filled in by the writer)."""
        members = points_within(points, centre, self.radius)
        cluster = Atoms(numbers=numbers[members], positions=points[members], pbc=False)
        cluster.arrays["id"] = tags[members].astype(np.int64)
        cluster.arrays["centre"] = np.arange(members.size) == 0
        cluster.info.update(
            {"timestep": int(step), "centre_id": int(tags[centre]), "dH": float(dh_centre), "radius": self.radius}
        )
        return cluster

    def _append(self, clusters: list[Atoms]) -> None:
        """Appends complete frames in one write() (O_APPEND): never a partial frame in the file."""
        append_whole(self.settings.path, extxyz_text(clusters))  # rank 0 alone


def _nearest_distance(position: np.ndarray, others: np.ndarray, cell: np.ndarray, pbc) -> float:
    """Smallest distance (A) from a position to others, nearest periodic images (inf if none)."""
    if len(others) == 0:
        return math.inf
    offsets = others - position
    periodic = np.asarray(pbc, dtype=bool)
    if periodic.any():
        fractions = np.linalg.solve(cell.T, offsets.T).T
        fractions[:, periodic] -= np.round(fractions[:, periodic])
        offsets = fractions @ cell
    return float(np.sqrt(np.einsum("ij,ij->i", offsets, offsets).min()))
