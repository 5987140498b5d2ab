"""Self-coverage of real DFT training sets and the calibrated alarm (mlearn Li and Ge).

    python run.py            # Li and Ge at h = 0.015 1/A and at h(V): about 2 min on 2 cores
    python run.py --quick    # Li at 0.015 1/A only (the test)

For each set: `quests-lmp calibrate` of training.json (5 folds by structure, groups from the
records' `group`, threshold at 5% in-domain false alarms), then `quests-lmp dh` of test.json
against the calibrated reference; summary.json and the table of the README.
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

HERE = Path(__file__).resolve().parent
CLI = str(Path(sys.executable).with_name("quests-lmp"))


def quests(*arguments) -> None:
    subprocess.run([CLI, *map(str, arguments), "--overwrite", "--quiet"], check=True, cwd=HERE, stdout=subprocess.DEVNULL)


def one(element: str, bandwidth: str) -> dict:
    tag = f"{element}-h{bandwidth}"
    quests("calibrate", f"{element}_training.extxyz", "--group-key", "group", "--bandwidth", bandwidth,
           "-o", f"{tag}.npz", "--json", f"{tag}-calibration.json", "--plot", f"{tag}-calibration.png")
    calibration = json.loads((HERE / f"{tag}-calibration.json").read_text())
    quests("dh", f"{element}_test.extxyz", "--reference", f"{tag}.npz", "-o", f"{tag}-test.csv")
    with open(HERE / f"{tag}-test.csv") as stream:
        test = np.array([float(row["dH"]) for row in csv.DictReader(stream)])
    return {"element": element, "bandwidth": calibration["bandwidth"], "threshold": calibration["threshold"],
            "held_out_novel": calibration["held_out_zero"], "held_out_flagged": calibration["false_alarm"],
            "test_novel": float(np.mean(test > 0)), "test_flagged": float(np.mean(test > calibration["threshold"])),
            "groups": calibration["groups"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    elements, bandwidths = (["Li"], ["0.015"]) if args.quick else (["Li", "Ge"], ["0.015", "auto"])
    for element in elements:
        for part in PARTS:
            ase.io.write(HERE / f"{element}_{part}.extxyz", read_mlearn(source(element, part)), format="extxyz")
    rows = [one(element, h) for element in elements for h in bandwidths]
    (HERE / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("| set | h (1/A) | threshold (nats) | held-out dH > 0 | test dH > 0 | test > threshold |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['element']} | {row['bandwidth']:.4f} | {row['threshold']:.2f} | {row['held_out_novel']:.1%} "
              f"| {row['test_novel']:.1%} | {row['test_flagged']:.1%} |")


if __name__ == "__main__":
    main()
