"""The science examples (issue #6) in their --quick form, with the qualitative result each promises."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lammps_runner import BIN

pytestmark = [pytest.mark.lammps, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MLEARN = EXAMPLES.parents[1] / "shared" / "data" / "mlearn"  # the DFT sets beside the repository


def run_quick(tmp_path, name, command, also=(), env=None):
    """Runs an example's `command --quick` in a copy of its folder (and of the examples it uses)."""
    folder = tmp_path / name
    for other in (name, *also):
        shutil.copytree(EXAMPLES / other, tmp_path / other)
    run_there(folder, command, env)
    return folder


def run_there(folder, command, env=None) -> None:
    """`command --quick` in `folder`, with the environment's bin first in PATH and one OpenMP thread."""
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", OMP_NUM_THREADS="1", **(env or {}))
    result = subprocess.run(command + ["--quick"], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_lindemann_entropy_rises_with_noise_and_orders_the_lattices(tmp_path):
    folder = run_quick(tmp_path, "lindemann", [sys.executable, "run.py"])
    results = json.loads((folder / "lindemann.json").read_text())
    entropy = {
        name: np.array([row["entropy"] for row in lattice["rows"]]) for name, lattice in results["lattices"].items()
    }
    for values in entropy.values():
        assert values[0] < 1e-2 and np.all(np.diff(values) > 0)
    at_005 = {name: values[2] for name, values in entropy.items()}  # RMSD / d_nn = 0.05
    assert at_005["BCC"] > at_005["HCP"] > at_005["FCC"], at_005  # as in the full run (README)
    assert results["definitions"]["3D RMSD / (d_nn / 2)"]["paper_statement_holds"]
    assert not results["definitions"]["3D RMSD / d_nn"]["paper_statement_holds"]
    assert (folder / "lindemann.png").stat().st_size > 10_000


def test_melting_entropy_liquid_above_solid(tmp_path):
    folder = run_quick(tmp_path, "melting_entropy", [sys.executable, "run.py"])
    entry = json.loads((folder / "melting_entropy.json").read_text())["temperatures"]["915"]
    assert entry["entropy_at_0.057"]["liquid"] > entry["entropy_at_0.057"]["solid"] + 0.3
    assert 0.3 < entry["difference_at_0.057"] < 1.0 and 0.05 < entry["h(V)"] < 0.065


def test_ta_snap_alarm_only_out_of_the_domain(tmp_path):
    folder = run_quick(tmp_path, "ta_snap_alarm", ["./run.sh"])
    summary = json.loads((folder / "alarm.json").read_text())
    assert not summary["stay"]["halted"] and summary["stay"]["novel_fraction"] == 0.0
    for mode in ("melt", "compress"):
        assert summary[mode]["halted"] and summary[mode]["novel_fraction"] > 0.02, summary[mode]
        assert summary[mode]["largest_novel_fraction_before"] <= 0.02
    assert (folder / "slice.png").stat().st_size > 10_000


def test_dataset_overlap_recovers_the_construction(tmp_path):
    folder = run_quick(tmp_path, "dataset_overlap", ["./run.sh"])
    result = json.loads((folder / "overlap.json").read_text())
    index = {name: i for i, name in enumerate(result["datasets"])}
    overlap = np.array(result["overlap"])
    fcc300 = next(name for name in index if name.startswith("fcc.dump@:"))
    assert overlap[index[fcc300], index["fcc.dump"]] > 0.9  # a known subset inside its superset
    assert overlap[index["vacancy.dump"], index[fcc300]] > 0.9  # one vacancy in 256 sites: mostly bulk
    assert overlap[index["liquid.dump"], index["fcc.dump"]] < 0.05  # the melt is not in the crystal
    assert overlap[index["slab.dump"], index[fcc300]] < overlap[index["vacancy.dump"], index[fcc300]]  # surfaces
    assert (folder / "overlap.png").exists() and (folder / "entropy.png").exists()


def test_solidification_largest_cluster_grows_after_nucleation(tmp_path):
    folder = run_quick(tmp_path, "solidification", ["./run.sh"])
    summary = json.loads((folder / "solidification.json").read_text())
    low, high = summary["cnt_critical_size"]
    assert 10 < low < high < 200
    nucleation = summary["nucleation_frame"]
    assert nucleation is not None and nucleation >= 5, summary["largest"]  # the melt first, then a nucleus
    assert summary["largest_before"] <= high and summary["largest_final"] > 4 * high  # growth after nucleation
    entropy = summary["entropy"]
    assert entropy[-1] < entropy[0] - 0.5  # the crystal holds less information than the melt
    assert (folder / "solidification.png").exists() and (folder / "clusters.png").exists()


def test_alloy_order_species_aware_modes_see_the_disorder_that_blind_dh_misses(tmp_path):
    folder = run_quick(tmp_path, "alloy_order", [sys.executable, "run.py"])
    modes = json.loads((folder / "alloy_order.json").read_text())["modes"]
    novel = {mode: {name: entry["novel_fraction"] for name, entry in row.items()} for mode, row in modes.items()}
    for mode in novel:
        assert novel[mode]["control"] <= 0.02 and novel[mode]["melt"] > 0.99, (mode, novel[mode])
    assert novel["blind"]["swapped"] == novel["blind"]["control"]  # fixed geometry: blind cannot tell
    assert novel["by-centre"]["swapped"] == novel["by-centre"]["control"]  # nor by centre, every site is FCC
    for mode in ("multicomponent", "multicomponent/by-centre"):
        assert novel[mode]["swapped"] > 0.8 and novel[mode]["random"] > 0.8, novel[mode]
    assert novel["blind"]["random"] < 0.1  # relaxation around the disorder is a weak signal


def test_active_learning_picked_environments_remove_the_novelty(tmp_path):
    """Collected during the compression up to the alarm, picked by select, added to the reference:
    the same trajectory re-run against it has fewer novel atoms, and none over the alarm."""
    folder = run_quick(tmp_path, "active_learning", ["./run.sh"], also=["ta_snap_alarm"])  # its in.reference
    results = json.loads((folder / "results.json").read_text())
    assert results["halted"] and results["collected"] >= 1 and results["picked"] >= 1
    before, after = results["ta-bcc-300K"], results["ta-plus-picked"]
    assert before["frames_over_alarm"] >= 1 and after["frames_over_alarm"] == 0
    assert after["novel_atom_frames"] < before["novel_atom_frames"] / 2


def test_exploration_bias_finds_more_and_the_wall_keeps_the_run_inside(tmp_path):
    """examples/exploration --quick (1,000 steps per run): at 300 K the exploration bias collects
    more mutually novel environments than plain MD and than MD 30% hotter, the crystal ending FCC
    at its temperature; at 390 K the wall keeps max dH below 0, which the unbiased run crosses."""
    folder = run_quick(tmp_path, "exploration", ["./run.sh"])
    results = json.loads((folder / "results.json").read_text())
    plain, hotter, explore, wall = (results[name] for name in ("plain", "hotter", "explore", "wall"))
    assert explore["collected"] > 5 * max(plain["collected"], 1) and explore["collected"] > hotter["collected"]
    assert explore["final_fcc_fraction"] >= 0.9 and abs(explore["mean_temperature"] - 300) < 30
    assert hotter["max_dH"] > 0.0 and hotter["evaluations_over_0"] > 0.1
    assert wall["max_dH"] < 0.0 and wall["collected"] == 0 and abs(wall["mean_temperature"] - 390) < 30
    assert (folder / "exploration.png").stat().st_size > 10_000


def test_mlearn_calibrated_alarm_and_the_snap_errors(tmp_path):
    """Li of the mlearn benchmark and its published SNAP at h = 0.015 1/A: a fifth of the training
    set's held-out environments have dH > 0 (the issue measured 23%); dH ranks the SNAP's big
    force errors with AUROC 0.84 and dH > 0 flags 23.9% of the test atoms with recall 75% (the
    issue's table); the threshold calibrated for 5% in-domain false alarms flags about 5% of them.
    The SNAP's error map holds out of sample; a SNAP refitted on Elastic + 300 K AIMD gives the
    issue's held-out-family numbers; fix quests in MD sees the crystal and the liquid the training
    AIMD holds covered, and the liquid hotter than it novel."""
    if not (MLEARN / "Li" / "training.json").is_file():
        pytest.skip(f"the mlearn DFT sets are not beside the repository ({MLEARN})")
    folder = run_quick(tmp_path, "mlearn_alarm", [sys.executable, "run.py"], env={"MLEARN_DATA": str(MLEARN)})
    (li,) = json.loads((folder / "summary.json").read_text())
    zero, calibrated = li["zero"], li["calibrated"]
    assert li["held_out_novel"] == pytest.approx(0.23, abs=0.01) and li["threshold"] > 0
    assert zero["flagged_fraction"] == pytest.approx(0.239, abs=0.002) and zero["auroc"] == pytest.approx(
        0.84, abs=0.01
    )
    assert zero["recall"] == pytest.approx(0.75, abs=0.03) and zero["precision"] == pytest.approx(0.12, abs=0.01)
    assert (
        0.03 < calibrated["flagged_fraction"] < 0.08 and calibrated["precision"] > 3 * calibrated["positive_fraction"]
    )
    assert (
        li["groups"]["Elastic"]["novel_fraction"] == 0.0 and li["groups"]["AIMD-NVT"]["left_out_novel_fraction"] > 0.5
    )
    check = li["error_map"]  # fitted on half of test.json, applied to the other half, both ways
    assert 0.85 < check["within_upper"] < 0.95 and check["measured_over_expected"] == pytest.approx(1.0, abs=0.05)
    assert check["upper_alarm"]["precision"] > 2 * calibrated["positive_fraction"]

    run_there(folder, [sys.executable, "holdout.py"])  # a SNAP refitted on Elastic + 300 K AIMD; the numbers
    (held,) = json.loads((folder / "holdout.json").read_text())
    assert held["structures"] == {"indomain": 66, "heldout": 198, "control": 6}
    assert held["heldout_zero"]["flagged_fraction"] == pytest.approx(0.548, abs=0.01)
    assert held["control_zero"]["flagged_fraction"] == pytest.approx(0.024, abs=0.005)
    assert held["heldout_zero"]["recall"] > 0.75 and held["heldout_zero"]["precision"] > 0.65
    assert held["control_calibrated"]["flagged_fraction"] < 0.05 and held["heldout_calibrated"]["recall"] > 0.7

    run_there(folder, [sys.executable, "heat.py"])  # fix quests in LAMMPS: BCC Li heated through melting
    heat = json.loads((folder / "heat.json").read_text())
    crystal = [r for r in heat["rows"] if r["temperature"] < 400]
    trained_liquid = [r for r in heat["rows"] if heat["melting_K"] + 50 < r["temperature"] < 700]
    beyond = [r for r in heat["rows"] if r["temperature"] > 1100]  # hotter than the training AIMD (907 K)
    assert crystal and trained_liquid and beyond and 400 < heat["melting_K"] < 700
    assert max(r["novel_calibrated"] for r in crystal) <= 0.05
    assert np.mean([r["novel_calibrated"] for r in trained_liquid]) < 0.15
    assert np.mean([r["novel_calibrated"] for r in beyond]) > 0.5
    assert np.mean([r["mean_expected_error"] for r in beyond]) > 1.5 * np.mean(
        [r["mean_expected_error"] for r in crystal]
    )
    assert (folder / "heat.png").stat().st_size > 10_000


def test_phase_boundary_ti_and_information_entropy_pipeline(tmp_path):
    """BCC-FCC Cu in --quick form (108/128 atoms, 3 volumes x 3 temperatures): TI reaches the
    harmonic free energy at 300 K (the centre-of-mass term is 4 meV/atom there, the difference
    measured 0.5 meV/atom), the switches are near-reversible, both routes put BCC's entropy above FCC's, and
    every H is a KDE entropy within [0, log n]."""
    folder = run_quick(tmp_path, "phase_boundary", [sys.executable, "run.py"])
    results = json.loads((folder / "phase_boundary.json").read_text())
    assert abs(results["harmonic_check"]["difference"]) < 2e-3
    # near-reversible: (W_f + W_b) / 2 within the noise of such short switches (-0.007 to 0.019 measured)
    assert all(abs(switch["dissipation"]) < 0.03 for switch in results["ti"]["switches"].values())
    points = results["points"]
    assert len(points) == 9
    for point in points:
        for phase in ("fcc", "bcc"):
            assert 0 < point[phase]["entropy_info"] < np.log(point[phase]["environments"])
            assert point[phase]["entropy_info_error"] > 0
    assert np.mean([p["delta_s_ti"] for p in points]) > 0 and np.mean([p["delta_s_info"] for p in points]) > 0
    assert np.isfinite(results["summary"]["mae_delta_s"])
    assert (folder / "phase_boundary.png").stat().st_size > 10_000
