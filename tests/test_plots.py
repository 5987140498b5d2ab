"""quests_lmp.analysis.plots: each figure draws on the axes a user hands over, or on a new figure,
and returns them; the CLI only saves them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from quests_lmp.analysis import plots  # noqa: E402

TABLE = {
    "entropy": np.array([3.0, 3.2]),
    "atoms": np.array([108, 108]),
    "max_dH": np.array([-1.0, 4.0]),
    "mean_dH": np.array([-3.0, -2.0]),
    "novel_fraction": np.array([0.0, 0.25]),
}


def test_figures_draw_on_the_axes_given():
    figure, grid = plt.subplots(2, 3)
    open_figures = plt.get_fignums()
    assert plots.overlap(["a", "b"], np.array([[1.0, 0.2], [0.5, 1.0]]), ax=grid[0, 0]) is grid[0, 0]
    assert grid[0, 0].get_xlabel() == "reference dataset" and len(grid[0, 0].texts) == 4
    assert plots.learning_curve([10, 100], [1.0, 2.0], [0.1, 0.1], (2.5, 1.0, 0.1), ax=grid[0, 1]) is grid[0, 1]
    drawn = plots.trajectory(TABLE, [0, 100], "md.dump", "train.npz", 0.5, axes=[grid[1, 0], grid[1, 1], grid[1, 2]])
    assert list(drawn) == [grid[1, 0], grid[1, 1], grid[1, 2]] and grid[1, 1].get_yscale() == "symlog"
    assert list(grid[1, 2].lines[0].get_xdata()) == [0, 100] and figure.get_suptitle() == "md.dump against train.npz"
    assert all(axis.figure is figure for axis in figure.axes) and plt.get_fignums() == open_figures  # no new one
    plt.close(figure)


def test_figures_make_their_own_without_axes():
    axis = plots.selection([0.5, 0.2], [3.0], threshold=0.0, title="pool")[1]
    assert axis.get_ylabel() == "dH of the pick (nats)" and axis.figure.get_suptitle() == "pool"
    left, right = plots.clusters([3, 5], np.array([1, 1, 3, 5]), steps=None, title="md")
    assert left.get_xlabel() == "frame" and right.get_xscale() == "log" and left.figure is right.figure
    plt.close("all")
