"""The two steps of run.sh after `quests-lmp select`.

    python analyse.py add        # ta-plus-picked.npz: the reference plus the picked environments
    python analyse.py summary    # results.json: novel fraction of the trajectory before and after

Each picked frame is an open cluster of every atom within `radius` = cutoff + buffer of its centre
atom: the atoms within the buffer of the centre have their whole environment in it (the outer
atoms lack neighbors), so those join the reference, as fix quests counted them when it collected.
In a real campaign, DFT labels these clusters and the potential is retrained on them.
"""

import json
import sys
from pathlib import Path

import ase.io
import numpy as np
from quests_lmp import Descriptor, Reference
from quests_lmp.lammps.thermo import read_thermo


def add() -> None:
    reference = Reference.load("ta-bcc-300K.npz")
    picked = ase.io.read("for-dft.extxyz", ":")
    descriptor = Descriptor(reference.k, reference.cutoff)
    whole = [
        np.flatnonzero(
            np.linalg.norm(cluster.positions - cluster.positions[0], axis=1)
            <= cluster.info["radius"] - reference.cutoff
        )
        for cluster in picked
    ]
    added = np.vstack([descriptor.compute_atoms(cluster, rows) for cluster, rows in zip(picked, whole)])
    numbers = np.concatenate([cluster.numbers[rows] for cluster, rows in zip(picked, whole)])
    Reference(
        np.vstack([reference.descriptors, added]),
        reference.k,
        reference.cutoff,
        reference.bandwidth,
        centres=np.concatenate([reference.centres, numbers]),
    ).save("ta-plus-picked.npz", overwrite=True)
    print(f"ta-plus-picked.npz: {reference.n_environments} + {len(added)} environments of {len(picked)} clusters")


def thermo(log: str, columns: int) -> np.ndarray:
    """Rows of the thermo tables of `columns` columns (quests_lmp.lammps.thermo.read_thermo, which
    keeps rows holding inf or nan)."""
    return np.array([row for run in read_thermo(log) if len(run) == columns for row in zip(*run.values())])


def summary() -> None:
    compress = thermo("compress.log", 9)  # step temp press pe vol max_dH novel_fraction collected total
    collected = ase.io.read("novel.extxyz", ":")
    selection = json.loads(Path("select.json").read_text())
    results = {
        "alarm_step": int(compress[-1, 0]),
        "halted": "Fix halt condition for fix-id stop met" in Path("compress.log").read_text(),
        "collected": len(collected),
        "collected_steps": sorted({int(c.info["timestep"]) for c in collected}),
        "picked": selection["picked"],
        "select_novel_fraction": selection["novel_fraction"],
    }
    print(
        f"compression: alarm at step {results['alarm_step']}, {len(collected)} environments collected at "
        f"{len(results['collected_steps'])} evaluations, {selection['picked']} picked for DFT"
    )
    for name in ("ta-bcc-300K", "ta-plus-picked"):
        rows = thermo(f"rerun-{name}.log", 4)  # step max_dH novel_fraction novel_count
        results[name] = {
            "frames": len(rows),
            "max_novel_fraction": float(rows[:, 2].max()),
            "mean_novel_fraction": float(rows[:, 2].mean()),
            "novel_atom_frames": int(rows[:, 3].sum()),
            "frames_over_alarm": int(np.sum(rows[:, 2] > 0.02)),
            "first_novel_step": int(rows[rows[:, 3] > 0, 0].min()) if np.any(rows[:, 3] > 0) else None,
        }
        entry = results[name]
        print(
            f"{name + '.npz':>20}: {entry['frames']} frames, novel fraction max {entry['max_novel_fraction']:.3f} "
            f"mean {entry['mean_novel_fraction']:.4f}, {entry['novel_atom_frames']} novel atom-frames, "
            f"{entry['frames_over_alarm']} frames over the 2% alarm"
        )
    Path("results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("results.json")


if __name__ == "__main__":
    {"add": add, "summary": summary}[sys.argv[1]]()
