"""Figures of the command line (matplotlib, no display needed): 800 x 500 pixels as PNG (the
trajectory's 800 x 700), or PDF and SVG (vector, for papers and talks) by the file's suffix
(options.plot_file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engine.files import write_atomically

SIZE_INCHES, DPI = (8.0, 5.0), 100


def _figure(rows: int = 1, columns: int = 1, size: tuple[float, float] = SIZE_INCHES):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(rows, columns, figsize=size, dpi=DPI, squeeze=False)
    return figure, axes.ravel()


def _frame_axis(steps: list[int] | None, n_frames: int) -> tuple[np.ndarray, str]:
    """x values and label of a per-frame plot: the MD steps where the input has them, else frame numbers."""
    if steps is None:
        return np.arange(n_frames), "frame"
    return np.asarray(steps), "MD step (TIMESTEP)"


def _save(figure, path) -> None:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    kind = Path(path).suffix.lower().lstrip(".")  # png, pdf or svg (options.plot_file)
    write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=DPI, format=kind))
    plt.close(figure)


def trajectory_plot(path, name: str, steps: list[int] | None, table: dict, against: str, threshold: float) -> None:
    """A figure of a trajectory for a talk (800 x 700 pixels): the title says what was compared;
    H of each frame under log n, the most its n environments can hold; mean and max dH on an axis
    linear within 1 nat of 0 and logarithmic beyond (symlog), with dH = 0 and the threshold; the
    fraction of the atoms above the threshold."""
    x, x_label = _frame_axis(steps, len(table["entropy"]))
    figure, (top, middle, bottom) = _figure(3, 1, size=(8.0, 7.0))
    figure.suptitle(f"{name} against {against}", fontsize=14)
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
    bottom.fill_between(x, table["novel_fraction"], color="tab:red", alpha=0.35, step="mid")
    bottom.plot(
        x,
        table["novel_fraction"],
        color="tab:red",
        lw=1.5,
        drawstyle="steps-mid",
        label=f"atoms with dH > {threshold:.3g} nats",
    )
    bottom.set_ylim(0.0, 1.0)
    bottom.set_ylabel("fraction", fontsize=12)
    bottom.set_xlabel(x_label, fontsize=12)
    bottom.legend(fontsize=10, loc="upper left")
    for axis in (top, middle, bottom):
        axis.tick_params(labelsize=11)
    _save(figure, path)


def clusters_plot(path, title: str, steps: list[int] | None, largest, all_sizes) -> None:
    """Largest cluster over steps or frames, and the distribution of cluster sizes over all frames (log-log)."""
    x, x_label = _frame_axis(steps, len(largest))
    figure, (left, right) = _figure(1, 2)
    left.plot(x, largest, color="black")
    left.set_xlabel(x_label)
    left.set_ylabel("largest cluster (atoms)")
    if len(all_sizes):
        sizes, counts = np.unique(all_sizes, return_counts=True)
        right.loglog(sizes, counts, "o", color="tab:blue")
    right.set_xlabel("cluster size (atoms)")
    right.set_ylabel("number of clusters")
    figure.suptitle(title)
    _save(figure, path)


def learning_curve_plot(path, title: str, sizes, mean, std, fit: tuple[float, float, float] | None) -> None:
    """H against dataset size with its spread, the Eq. 9 fit and its asymptote."""
    from ..analysis.learning import learning_model

    figure, (axis,) = _figure()
    axis.errorbar(sizes, mean, yerr=std, fmt="o", color="black", label="H of random subsets")
    if fit is not None:
        grid = np.geomspace(min(sizes), max(sizes), 200)
        axis.plot(grid, learning_model(grid, *fit), color="tab:blue", label="a - b exp(-c (log N)^2)")
        axis.axhline(fit[0], color="tab:blue", ls="--", lw=0.8, label=f"asymptote {fit[0]:.3f} nats")
    axis.set_xscale("log")
    axis.set_xlabel("environments N")
    axis.set_ylabel("H (nats)")
    axis.set_title(title)
    axis.legend()
    _save(figure, path)


def overlap_plot(path, names: list[str], matrix: np.ndarray) -> None:
    """Heat map of overlap[i, j]: fraction of dataset i covered by dataset j (dH <= 0); names label the axes."""
    figure, (axis,) = _figure()
    image = axis.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis")
    axis.set_xticks(range(len(names)), names, rotation=30, ha="right")
    axis.set_yticks(range(len(names)), names)
    axis.set_xlabel("reference dataset")
    axis.set_ylabel("test dataset")
    for (i, j), value in np.ndenumerate(matrix):
        axis.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value < 0.5 else "black")
    figure.colorbar(image, ax=axis, label="overlap")
    _save(figure, path)


def selection_plot(path, title: str, fractions, picked_dh, threshold: float) -> None:
    """The pool's novel fraction after each pick (0: before any), and the dH of each pick."""
    figure, (left, right) = _figure(1, 2)
    left.plot(np.arange(len(fractions)), fractions, marker="o")
    left.set(
        xlabel="picks added to the training set",
        ylabel=f"novel fraction of the pool (dH > {threshold:g})",
        ylim=(0, None),
    )
    right.plot(np.arange(1, len(picked_dh) + 1), picked_dh, marker="o")
    right.axhline(threshold, color="grey", linestyle="--")
    right.set(xlabel="pick", ylabel="dH of the pick (nats)")
    figure.suptitle(title)
    _save(figure, path)


def calibration_plot(path, groups, held_out, left_out, threshold: float, false_alarm: float) -> None:
    """Held-out dH of each group (box: quartiles, whiskers: 5th and 95th percentiles), k folds by
    structure and, where given, the group left out; the calibrated threshold and dH = 0."""
    figure, (axis,) = _figure()
    names = sorted(set(np.asarray(groups).tolist()))
    series = [("held out (k folds)", held_out, "tab:blue", -0.2)]
    if left_out is not None:
        series.append(("group left out", left_out, "tab:orange", 0.2))
    for label, values, colour, shift in series:
        data = [np.clip(values[np.asarray(groups) == name], -1e3, 1e3) for name in names]
        boxes = axis.boxplot(
            data,
            positions=np.arange(len(names)) + shift,
            widths=0.35,
            whis=(5, 95),
            showfliers=False,
            patch_artist=True,
        )
        for box in boxes["boxes"]:
            box.set(facecolor=colour, alpha=0.6)
        axis.plot([], [], color=colour, lw=8, alpha=0.6, label=label)
    axis.axhline(
        threshold, color="tab:red", lw=1.5, label=f"threshold {threshold:.2f} ({false_alarm:.0%} false alarms)"
    )
    axis.axhline(0.0, color="gray", lw=1.0, ls="--", label="dH = 0")
    axis.set_yscale("symlog", linthresh=5.0)  # linear where decisions are made, log for far outliers
    axis.set_xticks(np.arange(len(names)), names, rotation=20 if len(names) > 4 else 0)
    axis.set_ylabel("held-out dH (nats)", fontsize=12)
    axis.set_title("Training set against itself: held-out dH per group", fontsize=13)
    axis.legend(fontsize=9, loc="upper left")
    _save(figure, path)


def errors_plot(path, dh, errors, binned: dict, tau: float, threshold: float, error_map=None) -> None:
    """A model's per-atom force error against dH: point density, the paper's running average
    (Fig. 4e) and maximum per bin (Fig. S20), the big-error level tau, the alarm threshold and,
    where given, an ErrorMap's mean and upper quantile."""
    figure, (axis,) = _figure()
    finite = np.isfinite(dh)
    floor = max(float(np.min(errors[errors > 0])) if np.any(errors > 0) else 1e-3, 1e-4)
    axis.hexbin(
        dh[finite], np.maximum(errors[finite], floor), gridsize=60, yscale="log", bins="log", cmap="Greys", mincnt=1
    )
    axis.plot(binned["centres"], binned["mean"], "o-", color="tab:blue", lw=2, label="running average (Fig. 4e)")
    axis.plot(binned["centres"], binned["max"], "s--", color="tab:purple", lw=1.2, label="maximum per bin (Fig. S20)")
    if error_map is not None:
        axis.plot(error_map.dh, error_map.mean, "-", color="tab:green", lw=2.5, label="error map: mean")
        axis.plot(
            error_map.dh,
            error_map.upper,
            ":",
            color="tab:green",
            lw=2.5,
            label=f"error map: {error_map.quantile:.0%} quantile",
        )
    axis.axhline(tau, color="tab:orange", lw=1.5, label=f"tau = {tau:.3g} eV/A")
    axis.axvline(threshold, color="tab:red", lw=1.5, label=f"alarm: dH > {threshold:.3g}")
    axis.set_yscale("log")
    axis.set_xlabel("dH against the reference (nats)", fontsize=12)
    axis.set_ylabel("|F_model - F_true| (eV/A)", fontsize=12)
    axis.set_title("Force error against dH", fontsize=13)
    axis.legend(fontsize=9, loc="lower right")
    _save(figure, path)
