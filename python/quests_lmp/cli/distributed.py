"""The analyses of the command line spread over MPI ranks (quests_lmp.parallel), with the serial answer.

Every dataset's environments are split into contiguous blocks, one per rank (World.block), and
each rank reads and describes only the frames that hold its block. Exact quantities then need
each rank's rows against the whole set: `Share.whole` puts the descriptors of all ranks in one
shared copy per node (8 (2k-1) bytes per environment and node). Approximate entropy streams
instead: memory per rank is one chunk of descriptors plus the sampled rows, for any input size.

Per-row values against another set (dH of a test set) are computed by one rank each exactly as
in a serial run and gathered in order, so they equal the serial ones to rounding of the BLAS
blocking (tested to 1e-12). A set against itself (H, D, self dH) is split by tiles of its
symmetric kernel matrix instead (half the work of rows): each rank adds its tiles' terms to
sums over the whole set, and rank 0 adds the ranks' sums in rank order. These, and the sampled
kernel sums, differ from the serial run only in the order of additions (about 1e-15 relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.information import delta_entropy, self_kernel_sum_share
from ..engine.validation import check_bandwidths
from .datasets import Dataset, environment_chunks
from .progress import Progress


@dataclass
class Share:
    """One rank's block [start, stop) of a dataset's environments: descriptors (1/A), centres."""

    dataset: Dataset
    start: int
    stop: int
    descriptors: np.ndarray
    centres: np.ndarray

    def whole(self, world) -> tuple[np.ndarray, np.ndarray]:
        """(descriptors, centres) of the whole dataset on every rank, one copy per node."""
        return world.concatenate(self.descriptors), world.concatenate(self.centres)


def describe_shares(world, datasets: list[Dataset], descriptor, quiet: bool = False) -> list[Share]:
    """Each rank's Share of every dataset, described on that rank only."""
    shares = []
    with Progress(
        "descriptors",
        sum(world.block(d.n_environments)[1] - world.block(d.n_environments)[0] for d in datasets),
        enabled=world.is_root and not quiet,
    ) as bar:
        for dataset in datasets:
            start, stop = world.block(dataset.n_environments)

            def work():
                chunks = []
                for chunk in environment_chunks(dataset, descriptor, start, stop):
                    chunks.append(chunk)
                    bar.advance(len(chunk[0]))
                return _joined(chunks)

            x, centres = world.each(work)
            shares.append(Share(dataset, start, stop, _same_width(world, x), centres))
    return shares


def _joined(chunks) -> tuple[np.ndarray, np.ndarray]:
    """The (descriptors, centres) chunks joined; empty arrays for no chunk (see _same_width)."""
    chunks = list(chunks)
    if not chunks:
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    return np.concatenate([x for x, _ in chunks]), np.concatenate([z for _, z in chunks])


def _same_width(world, x: np.ndarray) -> np.ndarray:
    """A rank without environments gets the others' descriptor width (multicomponent widths vary)."""
    width = max(world.allgather(x.shape[1] if len(x) else 0))
    return x if len(x) else np.zeros((0, width))


def self_dh(world, x: np.ndarray, h, centres=None, rows=None, quiet: bool = False) -> np.ndarray | None:
    """dH(X_i|X) of every member of a set (or of the subset x[rows], against that subset): each
    rank adds its share of the kernel matrix's tiles (self_kernel_sum_share), rank 0 adds the
    shares in rank order; the whole array on rank 0 (None elsewhere). Rank 0's progress bar
    stands for all ranks (each has the same number of tiles, to one).

    x: the whole set's descriptors on every rank (Share.whole); centres: given for by centre.
    """
    if rows is not None:
        x, centres = x[rows], None if centres is None else centres[rows]
    bandwidths, scalar = check_bandwidths(h)

    def share():
        with Progress("kernel sums", len(x), enabled=world.is_root and not quiet) as bar:
            return self_kernel_sum_share(x, bandwidths, centres, world.rank, world.size, bar.reach)

    parts = world.gather(world.each(share))
    if not world.is_root:
        return None
    dh = -np.log(np.sum(parts, axis=0))
    return dh[:, 0] if scalar else dh


def block_dh(y: np.ndarray, x: np.ndarray, h, y_centres=None, x_centres=None) -> np.ndarray:
    """dH(y_i | x) (nats) of a rank's block of rows, which may be empty."""
    return delta_entropy(y, x, h, y_centres, x_centres) if len(y) else np.zeros(0)


def sampled_self_dh(
    world, dataset: Dataset, descriptor, h, rows: np.ndarray, by_centre: bool, quiet: bool = False
) -> tuple[np.ndarray, np.ndarray, dict] | None:
    """(exact dH(X_i|X) of the environments `rows` (sorted global indices) against the whole
    dataset, their centres, the environments of each element in the dataset: atomic number ->
    count) on rank 0, None elsewhere. Two streamed passes over this rank's block: the sampled
    rows are described, then every environment once, in chunks."""
    start, stop = world.block(dataset.n_environments)
    mine = rows[(rows >= start) & (rows < stop)]

    x, z = world.each(lambda: _joined(environment_chunks(dataset, descriptor, start, stop, rows=mine)))
    samples, sample_centres = world.concatenate(_same_width(world, x)), world.concatenate(z)

    def kernel_sums():
        total, counts = np.full(len(samples), -np.inf), np.zeros(119, dtype=np.int64)  # per atomic number
        with Progress("kernel sums", stop - start, enabled=world.is_root and not quiet) as bar:
            for chunk, centres in environment_chunks(dataset, descriptor, start, stop):
                dh = delta_entropy(
                    samples, chunk, h, sample_centres if by_centre else None, centres if by_centre else None
                )
                total = np.logaddexp(total, -dh)
                counts += np.bincount(centres, minlength=counts.size)
                bar.advance(len(chunk))
        return total, counts

    parts = world.gather(world.each(kernel_sums))
    if not world.is_root:
        return None
    total, counts = parts[0]
    for part, part_counts in parts[1:]:
        total, counts = np.logaddexp(total, part), counts + part_counts
    return -total, np.asarray(sample_centres), {int(z): int(c) for z, c in enumerate(counts) if c}


def per_frame(world, dataset: Dataset, value, progress: str | None = None, everywhere: bool = True) -> list | None:
    """value(index, atoms) of every frame of a dataset, in order: each rank reads and evaluates a
    block of the frames, one at a time. The list is on every rank, or with everywhere=False on
    rank 0 only (None elsewhere). progress: the label of a bar on rank 0 (its block stands for
    every rank's: the blocks are equal to one frame)."""
    start, stop = world.block(dataset.n_frames)

    def work():
        values = []
        with Progress(progress or "", stop - start, enabled=world.is_root and progress is not None) as bar:
            for index in range(start, stop):
                (atoms,) = dataset.read([index])
                values.append(value(index, atoms))
                bar.advance()
        return values

    mine = world.each(work)
    parts = world.allgather(mine) if everywhere else world.gather(mine)
    return None if parts is None else [item for part in parts for item in part]
