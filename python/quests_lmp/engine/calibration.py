"""The calibrated alarm a reference file carries (quests_lmp.analysis computes it).

A reference file's header may hold one calibration: the dH threshold (nats) that held-out
environments of the training set exceed at a chosen in-domain false-alarm rate, valid at the
bandwidth and species mode it was computed with, and a summary per group
(analysis.calibration). It may also hold one error map: a model's expected per-atom force error
(eV/A) as a non-decreasing function of dH (analysis.model_errors), from which an alarm in eV/A
becomes a threshold in nats. Files without them load and work as before.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Calibration:
    """The calibrated alarm of a reference (stored in its file's header).

    threshold: nats; false_alarm: the in-domain rate it was set for; bandwidth: 1/A (valid only
    there); folds, seed: of the held-out split; by_centre: the species mode of the dH;
    group_key: the extxyz info key of the groups; groups: per-group summary (group_table);
    held_out_zero: fraction of held-out dH above 0, the paper's alarm's in-domain rate.
    """

    threshold: float
    false_alarm: float
    bandwidth: float
    folds: int
    seed: int
    by_centre: bool
    group_key: str
    held_out_zero: float
    groups: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Calibration:
        """ValueError naming what is missing or of the wrong kind."""
        stored = _stored_fields(cls, values, "a calibration")
        numbers = ("threshold", "false_alarm", "bandwidth", "held_out_zero")
        if not all(isinstance(stored[name], (int, float)) and math.isfinite(stored[name]) for name in numbers):
            raise ValueError("the calibration's threshold, rate and bandwidth must be finite numbers")
        return cls(**stored)


def _stored_fields(cls, values, what: str, optional=()) -> dict:
    """The fields of dataclass `cls` in a dict read from a file header; ValueError where it is not
    a dict or lacks one that is not `optional` (what: "a calibration", "an error map")."""
    if not isinstance(values, dict):
        raise ValueError(f"{what} is a dict, got {type(values).__name__}")
    missing = sorted(set(cls.__dataclass_fields__) - set(optional) - values.keys())
    if missing:
        raise ValueError(f"the {what.split(' ', 1)[1]} lacks {', '.join(missing)}")
    return {name: values[name] for name in cls.__dataclass_fields__ if name in values}


def alarm_threshold(
    calibration: Calibration | None, bandwidth: float, by_centre: bool, given: float | None = None
) -> tuple[float, str]:
    """The alarm's threshold (nats) and a line saying where it came from: `given` where the user
    set one; else the calibrated threshold where it holds (calibrated at this bandwidth, 1/A, and
    species mode); else the paper's dH > 0 (the line then says why a calibration does not apply)."""
    if given is not None:
        return float(given), f"threshold {float(given):.6g} nats, as given"
    if calibration is None:
        return 0.0, "threshold 0 nats (the paper's dH > 0; no calibration in the reference)"
    if not math.isclose(calibration.bandwidth, bandwidth, rel_tol=1e-12) or calibration.by_centre != by_centre:
        return 0.0, (
            f"threshold 0 nats (the paper's dH > 0): the reference was calibrated at h = "
            f"{calibration.bandwidth:.6g} 1/A{', by centre' if calibration.by_centre else ''}, this run uses "
            f"h = {bandwidth:.6g} 1/A{', by centre' if by_centre else ''}"
        )
    return calibration.threshold, (
        f"threshold {calibration.threshold:.6g} nats, calibrated for "
        f"{calibration.false_alarm:.0%} false alarms on held-out training environments "
        f"(the paper's dH > 0 flags {calibration.held_out_zero:.0%} of them)"
    )


def alarm_settings(
    options: dict,
    calibration: Calibration | None,
    bandwidth: float,
    given: float | None = None,
    error_map: ErrorMap | None = None,
    force_alarm: float | None = None,
) -> tuple[float, str]:
    """The alarm's threshold (nats) and the line saying where it came from, for dH options
    (Reference.delta_entropy keywords, with by_centre), whose approx stop level it lowers to 1 nat
    under the threshold. force_alarm (eV/A): the dH above which the error map's expected force
    error exceeds it (error_map_in_force; `given` is then None: DhOptions.checked refuses both);
    else alarm_threshold. ValueError where the map does not hold."""
    if force_alarm is None:
        threshold, line = alarm_threshold(calibration, bandwidth, options["by_centre"], given)
    else:
        threshold = error_map_in_force(error_map, bandwidth, options["by_centre"]).threshold_for(force_alarm)
        line = (
            f"threshold {threshold:.6g} nats, where the expected force error exceeds {force_alarm:g} eV/A "
            f"(the reference's error map{' of ' + error_map.model if error_map.model else ''})"
        )
    options["stop_below"] = min(options["stop_below"], threshold - 1.0)
    return threshold, line


@dataclass
class ErrorMap:
    """A model's expected per-atom force error as a monotone function of dH (stored in a reference
    file's header; quests_lmp.analysis.model_errors.fit_error_map fits it).

    dh: knots (nats, increasing); mean, upper: the mean and the `quantile` quantile of the force
    error |F_model - F_true| (eV/A) there, both non-decreasing. Between knots the map is linear,
    outside them constant (an atom beyond the fitted range gets the value of the nearest knot, so
    dH = inf gets the largest). Valid at the bandwidth (1/A) and species mode (by_centre) the dH
    were computed with; atoms: how many atoms it was fitted on; model: what the errors are of.
    """

    dh: list
    mean: list
    upper: list
    quantile: float
    bandwidth: float
    by_centre: bool
    atoms: int
    model: str = ""

    def __post_init__(self):
        knots, mean, upper = (np.asarray(v, dtype=np.float64) for v in (self.dh, self.mean, self.upper))
        if not (knots.ndim == 1 and knots.size >= 1 and mean.shape == knots.shape and upper.shape == knots.shape):
            raise ValueError("an error map needs dh, mean and upper lists of the same length, at least one knot")
        if not (np.all(np.isfinite(knots)) and np.all(np.isfinite(mean)) and np.all(np.isfinite(upper))):
            raise ValueError("an error map's knots and errors must be finite")
        if np.any(np.diff(knots) <= 0) or np.any(np.diff(mean) < 0) or np.any(np.diff(upper) < 0):
            raise ValueError("an error map's knots must increase and its errors must not decrease")
        if not 0 < self.quantile < 1:
            raise ValueError(f"an error map's quantile must be in (0, 1), got {self.quantile}")
        self.dh, self.mean, self.upper = knots.tolist(), mean.tolist(), upper.tolist()

    def expected(self, dh) -> tuple[np.ndarray, np.ndarray]:
        """(mean, upper quantile) of the force error (eV/A) at each dH (nats)."""
        dh = np.asarray(dh, dtype=np.float64)
        return np.interp(dh, self.dh, self.mean), np.interp(dh, self.dh, self.upper)

    def threshold_for(self, error: float) -> float:
        """The dH (nats) above which the expected force error exceeds `error` (eV/A): map(dH) > error
        exactly where dH > it. ValueError where every atom or none would exceed it."""
        mean = np.asarray(self.mean)
        if not error >= mean[0]:
            raise ValueError(
                f"every atom's expected force error is above {error:g} eV/A (the map's smallest is "
                f"{mean[0]:.4g} eV/A): choose a larger alarm"
            )
        if error >= mean[-1]:
            raise ValueError(
                f"no atom's expected force error exceeds {error:g} eV/A (the map's largest is "
                f"{mean[-1]:.4g} eV/A): choose a smaller alarm"
            )
        i = int(np.searchsorted(mean, error, side="right")) - 1  # mean[i] <= error < mean[i + 1]
        return self.dh[i] + (error - mean[i]) / (mean[i + 1] - mean[i]) * (self.dh[i + 1] - self.dh[i])

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ErrorMap:
        """ValueError naming what is missing or wrong."""
        return cls(**_stored_fields(cls, values, "an error map", optional=("model",)))


def error_map_in_force(error_map: ErrorMap | None, bandwidth: float, by_centre: bool) -> ErrorMap:
    """The reference's error map where it holds at this bandwidth (1/A) and species mode;
    ValueError saying why not otherwise (none stored, or fitted at other settings)."""
    if error_map is None:
        raise ValueError(
            "the reference has no error map: fit one with quests-lmp errors TEST --reference REF "
            "--predicted KEY --store"
        )
    if not math.isclose(error_map.bandwidth, bandwidth, rel_tol=1e-12) or error_map.by_centre != by_centre:
        raise ValueError(
            f"the reference's error map was fitted at h = {error_map.bandwidth:.6g} 1/A"
            f"{', by centre' if error_map.by_centre else ''}, this run uses h = {bandwidth:.6g} 1/A"
            f"{', by centre' if by_centre else ''}: use that bandwidth and species mode, or fit the "
            "map again at these"
        )
    return error_map
