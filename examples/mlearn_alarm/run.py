"""Self-coverage of real DFT training sets, the calibrated alarm, and the errors of real models
(mlearn Li and Ge with their published SNAP potentials).

    python run.py            # Li and Ge at h = 0.010, 0.015, 0.020, 0.030 1/A and h(V): 2 min on 2 cores
    python run.py --quick    # Li at 0.015 1/A only (the test)

For each set: the SNAP forces of every structure (snap.py); `quests-lmp calibrate` of
training.json (5 folds by structure, groups from the records' `group`, threshold at 5% in-domain
false alarms); `quests-lmp errors` of test.json against the calibrated reference, a big error
being above twice the SNAP's RMS force error on its own training set, once with the calibrated
threshold and once with the paper's dH > 0; the SNAP's error map (`errors --store`) fitted on
half of test.json's structures and checked on the other half, both ways; summary.json and the
tables of the README.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import ase.io
import numpy as np
from mlearn import PARTS, read_mlearn, source
from snap import snap_forces

HERE = Path(__file__).resolve().parent
CLI = str(Path(sys.executable).with_name("quests-lmp"))
BANDWIDTHS = ["0.010", "0.015", "0.020", "0.030", "auto"]  # 1/A; auto: h(V) of the training set


def quests(*arguments) -> None:
    """quests-lmp with these arguments, in this folder."""
    subprocess.run(
        [CLI, *map(str, arguments), "--overwrite", "--quiet"], check=True, cwd=HERE, stdout=subprocess.DEVNULL
    )


def calibrate(training: str, bandwidth: str, tag: str, *extra) -> dict:
    """`quests-lmp calibrate` of a training set (groups from the records' `group`) into TAG.npz;
    its JSON result (TAG-calibration.json)."""
    outputs = f"-o {tag}.npz --json {tag}-calibration.json"
    quests("calibrate", training, "--group-key", "group", "--bandwidth", bandwidth, *outputs.split(), *extra)
    return json.loads((HERE / f"{tag}-calibration.json").read_text())


def errors(test: str, reference: str, predicted: str, tau: float, *extra) -> None:
    """`quests-lmp errors` of a test set's per-atom `predicted` forces against its DFT forces."""
    quests(
        "errors", test, "--reference", reference, "--true", "dft_forces", "--predicted", predicted, "--tau", tau, *extra
    )


def one(element: str, bandwidth: str, tau: float) -> dict:
    tag = f"{element}-h{bandwidth}"
    calibration = calibrate(f"{element}_training.extxyz", bandwidth, tag, "--plot", f"{tag}-calibration.png")
    row = {
        "element": element,
        "bandwidth": calibration["bandwidth"],
        "threshold": calibration["threshold"],
        "held_out_novel": calibration["held_out_zero"],
        "tau": tau,
        "groups": calibration["groups"],
    }
    for alarm, extra in (("calibrated", []), ("zero", ["--threshold", "0"])):
        outputs = [
            "--group-key",
            "group",
            "--json",
            f"{tag}-errors-{alarm}.json",
            "--plot",
            f"{tag}-errors-{alarm}.png",
        ]
        errors(f"{element}_test.extxyz", f"{tag}.npz", "snap_forces", tau, *outputs, *extra)
        row[alarm] = json.loads((HERE / f"{tag}-errors-{alarm}.json").read_text())["groups"]["all"]
    row["error_map"] = error_map_check(element, tag, tau)
    return row


def error_map_check(element: str, tag: str, tau: float) -> dict:
    """The SNAP's error map out of sample: fitted (`errors --store`) on the even test structures
    and applied (`dh --force-error`) to the odd ones, then the other way round. Returns the
    fraction of atoms whose error is within the map's 90% quantile, mean measured over mean
    expected error (all atoms, and the 10% of highest dH), and the eV/A alarms 'expected error >
    tau' and '90% quantile > tau': flagged fraction, recall and precision for error > tau."""
    test = f"{element}_test.extxyz"
    dh, expected, upper, measured = [], [], [], []
    for fitted, checked in (("0::2", "1::2"), ("1::2", "0::2")):
        mapped = f"{tag}-map{fitted[0]}.npz"
        (HERE / mapped).write_bytes((HERE / f"{tag}.npz").read_bytes())
        errors(f"{test}@{fitted}", mapped, "snap_forces", tau, "--store")
        quests("dh", f"{test}@{checked}", "--reference", mapped, "--force-error", "-o", f"{tag}-map{fitted[0]}.csv")
        with open(HERE / f"{tag}-map{fitted[0]}.csv") as stream:
            rows = list(csv.DictReader(stream))
        dh += [float(r["dH"]) for r in rows]
        expected += [float(r["expected_force_error"]) for r in rows]
        upper += [float(r["force_error_upper"]) for r in rows]
        measured += [
            np.linalg.norm(a.arrays["snap_forces"] - a.arrays["dft_forces"], axis=1)
            for a in ase.io.read(HERE / test, checked)
        ]
    dh, expected, upper, measured = map(np.asarray, (dh, expected, upper, np.concatenate(measured)))
    top = dh >= np.quantile(dh, 0.9)
    result = {
        "within_upper": float(np.mean(measured <= upper)),
        "measured_over_expected": float(measured.mean() / expected.mean()),
        "top_measured_over_expected": float(measured[top].mean() / expected[top].mean()),
    }
    big = measured > tau
    for name, values in (("mean_alarm", expected), ("upper_alarm", upper)):
        flagged = values > tau
        result[name] = {
            "flagged_fraction": float(flagged.mean()),
            "recall": float(np.sum(flagged & big) / big.sum()) if big.any() else float("nan"),
            "precision": float(np.sum(flagged & big) / flagged.sum()) if flagged.any() else float("nan"),
        }
    return result


def quick(doc: str) -> bool:
    """Whether the script (whose docstring is `doc`) was asked for its --quick version."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the test's short version")
    return parser.parse_args().quick


def main() -> None:
    elements, bandwidths = (["Li"], ["0.015"]) if quick(__doc__) else (["Li", "Ge"], BANDWIDTHS)
    rows = []
    for element in elements:
        for part in PARTS:
            frames = read_mlearn(source(element, part))
            snap_forces(frames, element)
            ase.io.write(HERE / f"{element}_{part}.extxyz", frames, format="extxyz")
            if part == "training":  # a big error: twice the model's RMS force error on its training set
                errors = np.concatenate(
                    [np.linalg.norm(a.arrays["snap_forces"] - a.arrays["dft_forces"], axis=1) for a in frames]
                )
                tau = 2.0 * float(np.sqrt(np.mean(errors**2)))
        rows += [one(element, h, tau) for h in bandwidths]
    (HERE / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(
        "| set | h (1/A) | threshold (nats) | held-out dH > 0 | AUROC | test dH > 0 | recall / precision "
        "| test dH > threshold | recall / precision |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        zero, calibrated = row["zero"], row["calibrated"]
        print(
            f"| {row['element']} | {row['bandwidth']:.4f} | {row['threshold']:.2f} | {row['held_out_novel']:.1%} "
            f"| {zero['auroc']:.2f} | {zero['flagged_fraction']:.1%} | {_pair(zero)} "
            f"| {calibrated['flagged_fraction']:.1%} | {_pair(calibrated)} |"
        )
    print(
        "\n| set | h (1/A) | within 90% quantile | measured / expected (all, top 10% dH) "
        "| expected > tau: flagged, recall / precision | 90% quantile > tau: flagged, recall / precision |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        check = row["error_map"]
        print(
            f"| {row['element']} | {row['bandwidth']:.4f} | {check['within_upper']:.1%} "
            f"| {check['measured_over_expected']:.2f}, {check['top_measured_over_expected']:.2f} "
            + "".join(
                f"| {check[name]['flagged_fraction']:.1%}, {_pair(check[name])} "
                for name in ("mean_alarm", "upper_alarm")
            )
            + "|"
        )


def _pair(metrics: dict) -> str:
    """recall / precision as percentages, '-' where undefined (nothing flagged)."""
    return " / ".join("-" if np.isnan(metrics[key]) else f"{metrics[key]:.0%}" for key in ("recall", "precision"))


if __name__ == "__main__":
    main()
