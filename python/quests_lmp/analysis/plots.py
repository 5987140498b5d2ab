"""Figures of the analyses, drawn on Matplotlib axes: each function draws on the axes it is given
(`ax=`, or `axes=` for a figure of several panels) or on a new figure, and returns them, so that a
user composes them into figures of their own; `quests-lmp ... --plot FILE` saves them
(quests_lmp.cli.plots).

    import matplotlib.pyplot as plt
    from quests_lmp.analysis import plots

    figure, ax = plt.subplots()
    plots.overlap(["fcc", "bcc"], matrix, ax=ax)
"""

from __future__ import annotations

import numpy as np

SIZE_INCHES, DPI = (8.0, 5.0), 100  # 800 x 500 pixels


def _axes(given, rows: int = 1, columns: int = 1, size: tuple[float, float] = SIZE_INCHES):
    """The axes to draw on: `given` (one Axes, or a sequence of rows x columns), else those of a
    new figure."""
    if given is not None:
        return np.ravel(np.asarray(given, dtype=object)) if rows * columns > 1 else given
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(rows, columns, figsize=size, dpi=DPI, squeeze=False)
    return axes.ravel() if rows * columns > 1 else axes[0, 0]


def _frame_axis(steps, n_frames: int) -> tuple[np.ndarray, str]:
    """x values and label of a per-frame plot: the MD steps where the input has them, else frame numbers."""
    if steps is None:
        return np.arange(n_frames), "frame"
    return np.asarray(steps), "MD step (TIMESTEP)"


def trajectory(
    table: dict, steps=None, name: str = "trajectory", against: str = "the reference", threshold=0.0, axes=None
):
    """A trajectory for a talk (three panels, 800 x 700 pixels on a new figure): H of each frame
    under log n, the most its n environments can hold; mean and max dH (nats) on an axis linear
    within 1 nat of 0 and logarithmic beyond (symlog), with dH = 0 and the threshold (nats); the
    fraction of atoms above the threshold. table: per-frame columns entropy, atoms, max_dH,
    mean_dH, novel_fraction (quests-lmp trajectory); steps: MD steps (None: frame numbers).
    Returns the three Axes."""
    x, x_label = _frame_axis(steps, len(table["entropy"]))
    top, middle, bottom = _axes(axes, 3, 1, size=(8.0, 7.0))
    top.figure.suptitle(f"{name} against {against}", fontsize=14)
    top.plot(x, table["entropy"], color="black", lw=2, label="H of the frame")
    top.plot(x, np.log(table["atoms"]), color="gray", ls="--", lw=1.5, label="log n (every environment distinct)")
    top.set_ylabel("H (nats)", fontsize=12)
    top.legend(fontsize=10, loc="lower right")
    middle.plot(x, table["max_dH"], color="tab:red", lw=2, label="max dH")
    middle.plot(x, table["mean_dH"], color="tab:blue", lw=2, label="mean dH")
    middle.axhline(0.0, color="gray", lw=1, ls=":", label="dH = 0")
    middle.axhline(threshold, color="black", lw=1.5, ls="--", label=f"threshold {threshold:.3g} nats")
    middle.set_yscale("symlog", linthresh=1.0)
    middle.set_ylabel("dH (nats)", fontsize=12)
    middle.legend(fontsize=10, loc="upper left", ncol=2)
    above = f"atoms with dH > {threshold:.3g} nats"
    bottom.fill_between(x, table["novel_fraction"], color="tab:red", alpha=0.35, step="mid")
    bottom.plot(x, table["novel_fraction"], color="tab:red", lw=1.5, drawstyle="steps-mid", label=above)
    bottom.set_ylim(0.0, 1.0)
    bottom.set_ylabel("fraction", fontsize=12)
    bottom.set_xlabel(x_label, fontsize=12)
    bottom.legend(fontsize=10, loc="upper left")
    for axis in (top, middle, bottom):
        axis.tick_params(labelsize=11)
    return np.array([top, middle, bottom], dtype=object)


def clusters(largest, all_sizes, steps=None, title: str = "", axes=None):
    """Largest cluster (atoms) over steps or frames, and the distribution of cluster sizes over all
    frames (log-log). Returns the two Axes."""
    x, x_label = _frame_axis(steps, len(largest))
    left, right = _axes(axes, 1, 2)
    left.plot(x, largest, color="black")
    left.set_xlabel(x_label)
    left.set_ylabel("largest cluster (atoms)")
    if len(all_sizes):
        sizes, counts = np.unique(all_sizes, return_counts=True)
        right.loglog(sizes, counts, "o", color="tab:blue")
    right.set_xlabel("cluster size (atoms)")
    right.set_ylabel("number of clusters")
    left.figure.suptitle(title)
    return np.array([left, right], dtype=object)


def learning_curve(sizes, mean, std, fit=None, title: str = "", ax=None):
    """H (nats) against dataset size with its spread, the Eq. 9 fit (a, b, c) and its asymptote.
    Returns the Axes."""
    from .learning import learning_model

    ax = _axes(ax)
    ax.errorbar(sizes, mean, yerr=std, fmt="o", color="black", label="H of random subsets")
    if fit is not None:
        grid = np.geomspace(min(sizes), max(sizes), 200)
        ax.plot(grid, learning_model(grid, *fit), color="tab:blue", label="a - b exp(-c (log N)^2)")
        ax.axhline(fit[0], color="tab:blue", ls="--", lw=0.8, label=f"asymptote {fit[0]:.3f} nats")
    ax.set_xscale("log")
    ax.set_xlabel("environments N")
    ax.set_ylabel("H (nats)")
    ax.set_title(title)
    ax.legend()
    return ax


def overlap(names: list[str], matrix, ax=None):
    """Heat map of overlap[i, j], the fraction of dataset i covered by dataset j (dH <= 0); names
    label the axes. Returns the Axes."""
    ax = _axes(ax)
    image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("reference dataset")
    ax.set_ylabel("test dataset")
    for (i, j), value in np.ndenumerate(np.asarray(matrix)):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value < 0.5 else "black")
    ax.figure.colorbar(image, ax=ax, label="overlap")
    return ax


def selection(fractions, picked_dh, threshold: float = 0.0, title: str = "", axes=None):
    """The pool's novel fraction after each pick (0: before any), and the dH (nats) of each pick.
    Returns the two Axes."""
    left, right = _axes(axes, 1, 2)
    left.plot(np.arange(len(fractions)), fractions, marker="o")
    left.set(
        xlabel="picks added to the training set",
        ylabel=f"novel fraction of the pool (dH > {threshold:g})",
        ylim=(0, None),
    )
    right.plot(np.arange(1, len(picked_dh) + 1), picked_dh, marker="o")
    right.axhline(threshold, color="grey", linestyle="--")
    right.set(xlabel="pick", ylabel="dH of the pick (nats)")
    left.figure.suptitle(title)
    return np.array([left, right], dtype=object)


def calibration(groups, held_out, left_out, threshold: float, false_alarm: float, ax=None):
    """Held-out dH (nats) of each group (box: quartiles, whiskers: 5th and 95th percentiles), k
    folds by structure and, where given, the group left out; the calibrated threshold and dH = 0.
    Returns the Axes."""
    ax = _axes(ax)
    names = sorted(set(np.asarray(groups).tolist()))
    series = [("held out (k folds)", held_out, "tab:blue", -0.2)]
    if left_out is not None:
        series.append(("group left out", left_out, "tab:orange", 0.2))
    for label, values, colour, shift in series:
        data = [np.clip(values[np.asarray(groups) == name], -1e3, 1e3) for name in names]
        positions = np.arange(len(names)) + shift
        boxes = ax.boxplot(data, positions=positions, widths=0.35, whis=(5, 95), showfliers=False, patch_artist=True)
        for box in boxes["boxes"]:
            box.set(facecolor=colour, alpha=0.6)
        ax.plot([], [], color=colour, lw=8, alpha=0.6, label=label)
    alarms = f"threshold {threshold:.2f} ({false_alarm:.0%} false alarms)"
    ax.axhline(threshold, color="tab:red", lw=1.5, label=alarms)
    ax.axhline(0.0, color="gray", lw=1.0, ls="--", label="dH = 0")
    ax.set_yscale("symlog", linthresh=5.0)  # linear where decisions are made, log for far outliers
    ax.set_xticks(np.arange(len(names)), names, rotation=20 if len(names) > 4 else 0)
    ax.set_ylabel("held-out dH (nats)", fontsize=12)
    ax.set_title("Training set against itself: held-out dH per group", fontsize=13)
    ax.legend(fontsize=9, loc="upper left")
    return ax


def force_errors(dh, errors, binned: dict, tau: float, threshold: float, error_map=None, ax=None):
    """A model's per-atom force error (eV/A) against dH (nats): point density, the paper's running
    average (Fig. 4e) and maximum per bin (Fig. S20) from `binned` (centres, mean, max), the
    big-error level tau, the alarm threshold and, where given, an ErrorMap's mean and upper
    quantile. Returns the Axes."""
    ax = _axes(ax)
    finite = np.isfinite(dh)
    floor = max(float(np.min(errors[errors > 0])) if np.any(errors > 0) else 1e-3, 1e-4)
    ax.hexbin(
        dh[finite], np.maximum(errors[finite], floor), gridsize=60, yscale="log", bins="log", cmap="Greys", mincnt=1
    )
    ax.plot(binned["centres"], binned["mean"], "o-", color="tab:blue", lw=2, label="running average (Fig. 4e)")
    ax.plot(binned["centres"], binned["max"], "s--", color="tab:purple", lw=1.2, label="maximum per bin (Fig. S20)")
    if error_map is not None:
        ax.plot(error_map.dh, error_map.mean, "-", color="tab:green", lw=2.5, label="error map: mean")
        quantile = f"error map: {error_map.quantile:.0%} quantile"
        ax.plot(error_map.dh, error_map.upper, ":", color="tab:green", lw=2.5, label=quantile)
    ax.axhline(tau, color="tab:orange", lw=1.5, label=f"tau = {tau:.3g} eV/A")
    ax.axvline(threshold, color="tab:red", lw=1.5, label=f"alarm: dH > {threshold:.3g}")
    ax.set_yscale("log")
    ax.set_xlabel("dH against the reference (nats)", fontsize=12)
    ax.set_ylabel("|F_model - F_true| (eV/A)", fontsize=12)
    ax.set_title("Force error against dH", fontsize=13)
    ax.legend(fontsize=9, loc="lower right")
    return ax
