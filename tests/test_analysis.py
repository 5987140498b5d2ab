"""Known answers for the analyses behind the command line: clusters, the learning-curve fit,
greedy compression, the split of work over MPI ranks and the progress bar."""

from __future__ import annotations

import io

import numpy as np
import pytest
from ase import Atoms
from quests_lmp.analysis.clusters import cluster_sizes
from quests_lmp.analysis.compression import select_structures
from quests_lmp.analysis.learning import asymptote, learning_model, subset_sizes
from quests_lmp.cli.progress import Progress
from quests_lmp.parallel import World


def simple_cubic(n=4, spacing=2.5, pbc=True):
    grid = np.array([(i, j, k) for i in range(n) for j in range(n) for k in range(n)], dtype=float)
    return Atoms("Cu" * n**3, positions=grid * spacing, cell=[n * spacing] * 3, pbc=pbc)


@pytest.mark.parametrize(
    "planes, pbc, expected",
    [
        ((0, 3), True, [32]),  # planes x=0 and x=3 touch through the periodic boundary (2.5 A)
        ((0, 3), False, [16, 16]),  # ... but not in an open box (7.5 A apart)
        ((0, 2), True, [16, 16]),  # 5 A apart either way
        ((1,), True, [16]),
        ((), True, []),
    ],
)
def test_cluster_sizes_known_answers(planes, pbc, expected):
    atoms = simple_cubic(pbc=pbc)
    nodes = np.isin(np.round(atoms.positions[:, 0] / 2.5).astype(int), planes)
    assert cluster_sizes(atoms, nodes, 3.0).tolist() == expected


def test_cluster_distance_joins_diagonal_neighbors_only_when_long_enough():
    atoms = simple_cubic()
    nodes = np.zeros(len(atoms), dtype=bool)
    nodes[[0, 21]] = True  # (0,0,0) and (1,1,1): 4.33 A apart
    assert cluster_sizes(atoms, nodes, 3.0).tolist() == [1, 1]
    assert cluster_sizes(atoms, nodes, 4.5).tolist() == [2]


def test_learning_fit_recovers_its_parameters():
    sizes = subset_sizes(100000, 12)
    values = learning_model(sizes.astype(float), 9.0, 7.5, 0.05)
    np.testing.assert_allclose(asymptote(sizes, values), (9.0, 7.5, 0.05), rtol=1e-6)
    assert sizes[0] == 10 and sizes[-1] == 100000 and np.all(np.diff(sizes) > 0)


def test_greedy_compression_skips_duplicates():
    rng = np.random.default_rng(0)
    blocks = [rng.normal(size=(20, 5)) * scale for scale in (1.0, 1.0, 2.0)]
    blocks.insert(1, blocks[0].copy())  # structure 1 repeats structure 0
    chosen = select_structures(blocks, 0.5, 3, "greedy", rng)
    assert sorted(chosen) in ([0, 2, 3], [1, 2, 3])
    random = select_structures(blocks, 0.5, 3, "random", np.random.default_rng(1))
    assert len(set(random.tolist())) == 3 and np.all(np.diff(random) > 0)
    with pytest.raises(ValueError, match="between 1 and the number of structures"):
        select_structures(blocks, 0.5, 5, "greedy", rng)


@pytest.mark.parametrize("n, size", [(10, 3), (2, 4), (0, 2), (7, 1)])
def test_rank_blocks_partition_the_work(n, size):
    world = World()
    blocks = []
    for rank in range(size):
        world.rank, world.size = rank, size
        blocks.append(world.block(n))
    assert blocks[0][0] == 0 and blocks[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))
    lengths = [stop - start for start, stop in blocks]
    assert max(lengths) - min(lengths) <= 1


def test_progress_is_silent_off_a_terminal():
    stream = io.StringIO()
    with Progress("work", 10, stream=stream) as bar:
        bar.advance(10)
    assert stream.getvalue() == ""


def test_progress_draws_on_a_terminal_unless_quiet():
    for enabled, drawn in ((True, True), (False, False)):
        stream = io.StringIO()
        stream.isatty = lambda: True
        with Progress("work", 10, enabled=enabled, stream=stream) as bar:
            bar.advance(10)
        assert ("work: 100%" in stream.getvalue() and "10/10" in stream.getvalue()) == drawn


def test_progress_reaches_a_fraction_of_its_total():
    for fractions, shown in (([0.5], "5/10"), ([0.26, 1.0], "10/10")):
        stream = io.StringIO()
        stream.isatty = lambda: True
        with Progress("sums", 10, stream=stream) as bar:
            for fraction in fractions:
                bar.reach(fraction)
        assert stream.getvalue().rstrip().split("\r")[-1].split("|")[2].strip().startswith(shown)


def test_kmeans_compression_keeps_the_central_member_of_each_group():
    """Three groups of three structures whose mean descriptors sit at -e, 0 and +e around a group
    centre: k-means finds the groups, and of each the member at its centre is kept."""
    rng = np.random.default_rng(4)
    base = rng.normal(size=(6, 5))
    blocks, central = [], []
    for group, centre in enumerate(np.eye(5)[:3] * 10.0):
        for offset in (-0.1, 0.0, 0.1):
            if offset == 0.0:
                central.append(len(blocks))
            blocks.append(base - base.mean(axis=0) + centre + offset)
    order = rng.permutation(len(blocks))
    shuffled = [blocks[i] for i in order]
    chosen = select_structures(shuffled, 0.5, 3, "kmeans", np.random.default_rng(0))
    assert sorted(order[chosen].tolist()) == central


def test_compression_methods_check_their_reference():
    blocks = [np.random.default_rng(i).normal(size=(4, 5)) for i in range(3)]
    with pytest.raises(ValueError, match="msc_conditional needs a reference"):
        select_structures(blocks, 0.5, 2, "msc_conditional", np.random.default_rng(0))
    with pytest.raises(ValueError, match="the other methods take none"):
        select_structures(blocks, 0.5, 2, "msc", np.random.default_rng(0), reference=(blocks[0], None))
    with pytest.raises(ValueError, match="method must be one of"):
        select_structures(blocks, 0.5, 2, "k_means", np.random.default_rng(0))


def test_selection_picks_each_novel_group_once_and_stops_when_covered():
    """Training covers group A; the pool holds A again and near-copies of two novel groups, B (far)
    and C (farther): C is picked first, then B, then nothing is novel (dH > 0.5: a near-copy at
    kernel 0.95 covers) and picking stops."""
    from quests_lmp.analysis.selection import select_novel
    from quests_lmp.engine.information import delta_entropy

    rng = np.random.default_rng(5)
    h = 0.1
    a, b, c = (rng.normal(size=(1, 5)) * 0.01 + shift for shift in (0.0, 1.0, 3.0))
    training = a + rng.normal(size=(20, 5)) * 0.01
    pool = np.concatenate(
        [a + rng.normal(size=(4, 5)) * 0.01, b + rng.normal(size=(3, 5)) * 0.01, c + rng.normal(size=(3, 5)) * 0.01]
    )
    training_dh = delta_entropy(pool, training, h)
    selection = select_novel(pool, np.arange(len(pool)), training_dh, h, budget=5, threshold=0.5)
    assert len(selection.picks) == 2 and selection.picks[0] in (7, 8, 9) and selection.picks[1] in (4, 5, 6)
    assert selection.picks[0] == int(np.argmax(training_dh)) and selection.dh[0] == training_dh.max()
    assert selection.novel_fraction.tolist() == [0.6, 0.3, 0.0]
    grouped = select_novel(pool, np.array([0] * 4 + [1] * 3 + [2] * 3), training_dh, h, budget=1, threshold=0.5)
    assert grouped.picks.tolist() == [2] and grouped.novel_fraction.tolist() == [0.6, 0.3]
    with pytest.raises(ValueError, match="budget must be at least 1"):
        select_novel(pool, np.arange(len(pool)), training_dh, h, budget=0)
