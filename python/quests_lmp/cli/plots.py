"""--plot FILE: the figures of quests_lmp.analysis.plots, drawn without a display and written as
PNG (800 x 500 pixels; the trajectory's 800 x 700), PDF or SVG (vector, for papers and talks) by
the file's suffix (options.plot_file)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

from ..engine.files import write_atomically

matplotlib.use("Agg")  # the command line writes files only

from ..analysis import plots as draw  # noqa: E402 - after the backend is chosen


def save(axes, path) -> None:
    """Writes the figure of `axes` (one Axes or an array of them, as draw returns) to path, whole
    or not at all, and closes it."""
    _save(np.ravel(np.asarray(axes, dtype=object))[0].figure, path)


def _save(figure, path) -> None:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    kind = Path(path).suffix.lower().lstrip(".")  # png, pdf or svg (options.plot_file)
    write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=draw.DPI, format=kind))
    plt.close(figure)
