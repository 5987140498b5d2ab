"""The calibrated alarm a reference file carries (quests_lmp.analysis.calibration computes it).

A reference file's header may hold one calibration: the dH threshold (nats) that held-out
environments of the training set exceed at a chosen in-domain false-alarm rate, valid at the
bandwidth and species mode it was computed with, and a summary per group. Files without one load
and work as before.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


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
        if not isinstance(values, dict):
            raise ValueError(f"a calibration is a dict, got {type(values).__name__}")
        missing = sorted({f for f in cls.__dataclass_fields__} - values.keys())
        if missing:
            raise ValueError(f"the calibration lacks {', '.join(missing)}")
        numbers = ("threshold", "false_alarm", "bandwidth", "held_out_zero")
        if not all(isinstance(values[name], (int, float)) and math.isfinite(values[name]) for name in numbers):
            raise ValueError("the calibration's threshold, rate and bandwidth must be finite numbers")
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})


def alarm_threshold(calibration: Calibration | None, bandwidth: float, by_centre: bool,
                    given: float | None = None) -> tuple[float, str]:
    """The alarm's threshold (nats) and a line saying where it came from: `given` where the user
    set one; else the calibrated threshold where it holds (calibrated at this bandwidth, 1/A, and
    species mode); else the paper's dH > 0 (the line then says why a calibration does not apply)."""
    if given is not None:
        return float(given), f"threshold {float(given):.6g} nats, as given"
    if calibration is None:
        return 0.0, "threshold 0 nats (the paper's dH > 0; no calibration in the reference)"
    if not math.isclose(calibration.bandwidth, bandwidth, rel_tol=1e-12) or calibration.by_centre != by_centre:
        return 0.0, (f"threshold 0 nats (the paper's dH > 0): the reference was calibrated at h = "
                     f"{calibration.bandwidth:.6g} 1/A{', by centre' if calibration.by_centre else ''}, this run uses "
                     f"h = {bandwidth:.6g} 1/A{', by centre' if by_centre else ''}")
    return calibration.threshold, (f"threshold {calibration.threshold:.6g} nats, calibrated for "
                                   f"{calibration.false_alarm:.0%} false alarms on held-out training environments "
                                   f"(the paper's dH > 0 flags {calibration.held_out_zero:.0%} of them)")


def alarm_settings(options: dict, calibration: Calibration | None, bandwidth: float,
                   given: float | None = None) -> tuple[float, str]:
    """alarm_threshold for dH options (Reference.delta_entropy keywords, with by_centre), whose
    approx stop level it lowers to 1 nat under the threshold; returns (threshold, the line)."""
    threshold, line = alarm_threshold(calibration, bandwidth, options["by_centre"], given)
    options["stop_below"] = min(options["stop_below"], threshold - 1.0)
    return threshold, line
