"""A model's expected force error as a monotone function of dH (issue 32, parts 2 and 3): fitted by
`quests-lmp errors --store` (analysis.model_errors.fit_error_map), kept in the reference file, and
applied identically by the API, `quests-lmp dh`, `fix quests` (force_error, force_alarm), the
python/invoke hook and the ASE monitor, on 1 and 2 ranks."""

from __future__ import annotations

import csv
import json

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from lammps_runner import (
    DEBIAN_ENV,
    assert_ran,
    cu_deck,
    dump_columns,
    hook_cu_deck,
    run_debian_lammps,
    run_lammps,
    thermo_rows,
    write_data,
)
from quests_lmp import Reference
from quests_lmp.analysis.model_errors import fit_error_map, non_decreasing
from quests_lmp.ase import QuestsMonitor
from quests_lmp.engine.calibration import ErrorMap, error_map_in_force
from quests_lmp.engine.reference_file import ReferenceFileError, checksum
from test_calibration import training_set
from test_cli import run
from test_lammps_versions import RELEASES, environment
from test_reference import write_archive

RNG = np.random.default_rng(11)


def pooled(values, weights):
    """Weighted isotonic (non-decreasing) regression by pooling adjacent violators, written out."""
    blocks = [[v, w, 1] for v, w in zip(values, weights)]
    merged = True
    while merged:
        merged = False
        for i in range(len(blocks) - 1):
            if blocks[i][0] > blocks[i + 1][0]:
                (a, wa, na), (b, wb, nb) = blocks[i], blocks[i + 1]
                blocks[i : i + 2] = [[(a * wa + b * wb) / (wa + wb), wa + wb, na + nb]]
                merged = True
                break
    return np.concatenate([[value] * count for value, _, count in blocks])


@pytest.mark.parametrize("trend", [0.5, -0.2])
def test_the_map_is_the_binned_errors_made_monotone(trend):
    """Increasing and decreasing noisy errors: knots at the means of 20 bins of equal count, the
    errors' bin means and 90% quantiles pooled where they decrease; linear between the knots,
    constant outside."""
    dh = RNG.uniform(-8, 4, 1000)
    errors = np.exp(trend * dh) * RNG.uniform(0.5, 1.5, dh.size)
    fitted = fit_error_map(np.append(dh, np.inf), np.append(errors, 1e6), 0.015, False, model="m")
    order = np.argsort(dh, kind="stable")
    bins = np.array_split(order, 20)
    assert fitted.atoms == 1000 and fitted.quantile == 0.9 and fitted.model == "m"
    np.testing.assert_allclose(fitted.dh, [dh[b].mean() for b in bins], rtol=1e-13)
    np.testing.assert_allclose(fitted.mean, pooled([errors[b].mean() for b in bins], [50] * 20), rtol=1e-12)
    np.testing.assert_allclose(fitted.upper, pooled([np.quantile(errors[b], 0.9) for b in bins], [50] * 20), rtol=1e-12)
    assert np.all(np.diff(fitted.mean) >= 0) and np.all(np.diff(fitted.upper) >= 0)
    if trend < 0:
        assert np.ptp(fitted.mean) < 1e-12  # a decreasing trend pools into one level
    middle = (fitted.dh[3] + fitted.dh[4]) / 2
    mean, upper = fitted.expected([fitted.dh[0] - 5, middle, np.inf])
    assert mean[0] == fitted.mean[0] and mean[2] == fitted.mean[-1] and upper[2] == fitted.upper[-1]
    assert mean[1] == pytest.approx((fitted.mean[3] + fitted.mean[4]) / 2, rel=1e-12)


def test_non_decreasing_is_the_weighted_isotonic_regression():
    for n in (1, 2, 5, 40):
        values, weights = RNG.normal(size=n), RNG.uniform(0.1, 5.0, n)
        np.testing.assert_allclose(non_decreasing(values, weights), pooled(values, weights), rtol=1e-12)
    np.testing.assert_array_equal(non_decreasing([3.0, 1.0, 2.0], [1, 1, 2]), [2.0, 2.0, 2.0])


def test_few_atoms_and_tied_dh_give_fewer_knots():
    assert len(fit_error_map(np.arange(120.0), np.arange(120.0), 0.015, False).dh) == 2  # 120 // 50 bins
    tied = fit_error_map(np.zeros(200), np.linspace(0, 1, 200), 0.015, False)
    assert tied.dh == [0.0] and tied.mean == [pytest.approx(0.5)]
    with pytest.raises(ValueError, match="an error map needs atoms of finite dH"):
        fit_error_map([np.inf], [1.0], 0.015, False)


def test_an_alarm_in_ev_per_angstrom_is_a_dh_threshold():
    error_map = ErrorMap([-4.0, -2.0, 0.0, 1.0], [0.1, 0.2, 0.2, 0.6], [0.2, 0.4, 0.4, 1.0], 0.9, 0.015, False, 200)
    for error in (0.1, 0.15, 0.2, 0.35, 0.59):
        threshold = error_map.threshold_for(error)
        assert error_map.expected(threshold)[0] <= error + 1e-15
        assert error_map.expected(threshold + 1e-9)[0] > error
    assert error_map.threshold_for(0.2) == 0.0  # the flat stretch at 0.2 lies below the threshold
    assert error_map.threshold_for(0.4) == pytest.approx(0.5, rel=1e-14)
    with pytest.raises(
        ValueError,
        match=r"no atom's expected force error exceeds 0.6 eV/A \(the map's largest is "
        r"0.6 eV/A\): choose a smaller alarm",
    ):
        error_map.threshold_for(0.6)
    with pytest.raises(ValueError, match=r"every atom's expected force error is above 0.05 eV/A"):
        error_map.threshold_for(0.05)
    with pytest.raises(ValueError, match="knots must increase and its errors must not decrease"):
        ErrorMap([0.0, 1.0], [0.2, 0.1], [0.2, 0.2], 0.9, 0.015, False, 10)


def test_reference_files_keep_the_error_map(tmp_path):
    reference = Reference.from_structures(training_set())
    assert Reference.load(reference.save(tmp_path / "plain.npz")).error_map is None
    reference.error_map = ErrorMap([-3.0, 0.5], [0.05, 0.3], [0.1, 0.7], 0.9, 0.015, False, 100, "SNAP")
    loaded = Reference.load(reference.save(tmp_path / "mapped.npz"))
    assert loaded.error_map == reference.error_map
    assert error_map_in_force(loaded.error_map, 0.015, False) is loaded.error_map
    with pytest.raises(ValueError, match=r"fitted at h = 0.015 1/A, this run uses h = 0.02 1/A, by centre"):
        error_map_in_force(loaded.error_map, 0.02, True)
    with pytest.raises(ValueError, match="the reference has no error map: fit one with quests-lmp errors"):
        error_map_in_force(None, 0.015, False)
    header = reference._header() | {"error_map": {**reference.error_map.as_dict(), "mean": [0.3, 0.05]}}
    header["sha256"] = checksum(reference.descriptors, header, reference.centres)
    write_archive(tmp_path / "bad.npz", reference.descriptors, header, reference.centres)
    with pytest.raises(ReferenceFileError, match=r"the error map is corrupted \(an error map's knots must increase"):
        Reference.load(tmp_path / "bad.npz")


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """ref.npz (cool and hot Cu, h = 0.015 1/A) with the error map of a 'model' whose error grows
    with dH, stored by `quests-lmp errors --store`; the test atoms' dH and errors; data.lmp."""
    folder = tmp_path_factory.mktemp("mapped")
    ase.io.write(folder / "train.extxyz", training_set())
    run("reference", "build", folder / "train.extxyz", "-o", folder / "ref.npz", folder=folder)
    test = [
        thermal(atoms, sigma, seed)
        for seed, sigma in enumerate([0.05, 0.1, 0.15, 0.2, 0.25] * 4)
        for atoms in [bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2)]
    ]
    ase.io.write(folder / "test.extxyz", test)
    test = ase.io.read(folder / "test.extxyz", ":")  # positions to the file's 8 decimals
    values = Reference.load(folder / "ref.npz").delta_entropy(test)
    errors = 0.05 * np.exp(0.25 * np.clip(values, -10, 12)) * RNG.uniform(0.5, 1.5, values.size)
    start = 0
    for atoms in test:
        atoms.arrays["model"] = np.repeat(errors[start : start + len(atoms), None], 3, axis=1) / np.sqrt(3)
        atoms.arrays["dft"] = np.zeros((len(atoms), 3))
        start += len(atoms)
    ase.io.write(folder / "test.extxyz", test)
    run(
        "errors",
        folder / "test.extxyz",
        "--reference",
        folder / "ref.npz",
        "--true",
        "dft",
        "--predicted",
        "model",
        "--store",
        "--json",
        folder / "e.json",
        "--plot",
        folder / "e.png",
        folder=folder,
    )
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.12, 5), folder / "data.lmp")
    return folder, values, errors


@pytest.mark.mpi
def test_errors_command_stores_the_apis_map_on_1_and_2_ranks(mapped, tmp_path):
    folder, values, errors = mapped
    stored = Reference.load(folder / "ref.npz").error_map
    expected = fit_error_map(values, errors, 0.015, False, model=f"model of {folder / 'test.extxyz'}")
    assert stored.model == expected.model and len(stored.dh) == 12  # 640 atoms: 12 bins of 53-54
    for name in ("dh", "mean", "upper"):
        np.testing.assert_allclose(getattr(stored, name), getattr(expected, name), rtol=1e-6)  # errors: 8 decimals
    assert json.loads((folder / "e.json").read_text())["error_map"] == stored.as_dict()
    (tmp_path / "ref.npz").write_bytes((folder / "ref.npz").read_bytes())
    run(
        "errors",
        folder / "test.extxyz",
        "--reference",
        tmp_path / "ref.npz",
        "--true",
        "dft",
        "--predicted",
        "model",
        "--store",
        folder=tmp_path,
        ranks=2,
    )
    assert Reference.load(tmp_path / "ref.npz").error_map == stored
    for extra, message in (
        (["--method", "approx"], "--store needs exact dH (--method exact)"),
        ([], "--store writes the error map into a reference file (.npz)"),
    ):
        reference = tmp_path / "ref.npz" if extra else folder / "train.extxyz"
        bad = run(
            "errors",
            folder / "test.extxyz",
            "--reference",
            reference,
            "--true",
            "dft",
            "--predicted",
            "model",
            "--store",
            *extra,
            folder=tmp_path,
            check=False,
        )
        assert bad.returncode == 1 and message in bad.stderr


@pytest.mark.mpi
def test_dh_command_and_ase_monitor_apply_the_map(mapped, tmp_path):
    folder, values, _ = mapped
    reference = Reference.load(folder / "ref.npz")
    mean, upper = reference.error_map.expected(values)
    for ranks in (1, 2):
        run(
            "dh",
            folder / "test.extxyz",
            "--reference",
            folder / "ref.npz",
            "--force-error",
            "-o",
            tmp_path / f"dh{ranks}.csv",
            folder=tmp_path,
            ranks=ranks,
        )
        rows = list(csv.DictReader(open(tmp_path / f"dh{ranks}.csv")))
        np.testing.assert_allclose([float(r["expected_force_error"]) for r in rows], mean, rtol=1e-10)
        np.testing.assert_allclose([float(r["force_error_upper"]) for r in rows], upper, rtol=1e-10)
    atoms = ase.io.read(folder / "test.extxyz", "3")
    monitor = QuestsMonitor(None, atoms, reference, force_error=True, log=tmp_path / "m.csv")
    monitor()
    np.testing.assert_allclose(atoms.arrays["expected_force_error"], mean[96:128], rtol=1e-10)
    np.testing.assert_allclose(atoms.arrays["force_error_upper"], upper[96:128], rtol=1e-10)
    assert monitor.statistics["max_force_error"] == atoms.arrays["expected_force_error"].max()
    assert open(tmp_path / "m.csv").readline().strip().endswith(",novel_count,max_force_error")
    alarm = QuestsMonitor(None, atoms, reference, force_alarm=float(np.median(mean)))
    alarm()
    assert alarm.threshold == reference.error_map.threshold_for(float(np.median(mean)))
    assert alarm.statistics["novel_count"] == np.sum(
        reference.error_map.expected(atoms.arrays["dH"])[0] > np.median(mean)
    )
    assert "where the expected force error exceeds" in alarm.alarm_source
    with pytest.raises(ValueError, match="threshold .nats. and force_alarm .eV/A. both set the alarm"):
        QuestsMonitor(None, atoms, reference, threshold=0.0, force_alarm=0.1)
    with pytest.raises(ValueError, match="fitted at h = 0.015 1/A, this run uses h = 0.02 1/A"):
        QuestsMonitor(None, atoms, reference, bandwidth=0.02, force_error=True)


FIX = cu_deck("""velocity all create 900 4 loop geom
fix nve all nve
fix q all quests 5 ref.npz {keywords}
thermo_style custom step f_q[1] f_q[4] f_q[8]
thermo_modify format float %.17g
thermo 5
dump d all custom 5 md.dump id type x y z f_q[1] f_q[2] f_q[3]
dump_modify d format float %.17g
run 10
""")


def assert_columns_follow_the_map(columns, rows, error_map, alarm):
    """Per evaluation: the dumped expected error and upper quantile (columns 2 and 3) are the
    map at the dumped dH (column 1), to 1e-10; the thermo row's last value is the largest, the one
    before counts the atoms whose expected error exceeds `alarm` (None: whose dH exceeds 0)."""
    assert len(columns) == len(rows) > 1
    for (dh, expected, upper), row in zip(columns, rows):
        mean, quantile = error_map.expected(dh)
        np.testing.assert_allclose(expected, mean, rtol=1e-10)
        np.testing.assert_allclose(upper, quantile, rtol=1e-10)
        assert row[3] == pytest.approx(mean.max(), rel=1e-12)
        assert row[2] == np.sum(dh > 0 if alarm is None else mean > alarm)


def run_folder(mapped, tmp_path):
    """(the mapped fixture's folder, its error map, an alarm at the median expected error, eV/A),
    with ref.npz and data.lmp linked into tmp_path."""
    folder, values, _ = mapped
    error_map = Reference.load(folder / "ref.npz").error_map
    for name in ("ref.npz", "data.lmp"):
        (tmp_path / name).symlink_to(folder / name)
    return folder, error_map, float(np.median(error_map.expected(values)[0]))


@pytest.mark.lammps
@pytest.mark.mpi
def test_fix_quests_gives_expected_force_errors_on_1_and_2_ranks(mapped, tmp_path):
    folder, error_map, alarm = run_folder(mapped, tmp_path)
    for ranks in (1, 2):
        output = assert_ran(
            run_lammps(FIX.format(keywords=f"force_error yes force_alarm {alarm!r}"), tmp_path, ranks=ranks)
        )
        threshold = error_map.threshold_for(alarm)
        assert f"Fix quests: alarm at threshold {threshold:.6g} nats, where the expected force error exceeds" in output
        columns = [[table[f"f_q[{i}]"] for i in (1, 2, 3)] for table in dump_columns(tmp_path / "md.dump")]
        assert_columns_follow_the_map(columns, thermo_rows(tmp_path / "log.lammps", 4), error_map, alarm)
    failed = run_lammps(FIX.format(keywords="force_alarm 0.2 threshold 0.0"), tmp_path)
    assert failed.returncode != 0 and "both set the alarm: give one of them" in failed.stdout
    failed = run_lammps(FIX.format(keywords="force_alarm -1"), tmp_path)
    assert failed.returncode != 0 and "force_alarm must be > 0 (eV/A, an expected force error), got -1" in failed.stdout
    failed = run_lammps(FIX.format(keywords="force_alarm 50"), tmp_path)
    assert failed.returncode != 0 and "no atom's expected force error exceeds 50 eV/A" in failed.stdout
    plain = Reference.load(folder / "ref.npz")
    plain.error_map = None
    plain.save(tmp_path / "nomap.npz")
    failed = run_lammps(FIX.format(keywords="force_error yes").replace("ref.npz", "nomap.npz"), tmp_path)
    assert failed.returncode != 0 and "Fix quests: the reference has no error map: fit one with" in failed.stdout


@pytest.mark.lammps
@pytest.mark.mpi
@pytest.mark.parametrize("release", list(RELEASES))
def test_fix_quests_gives_expected_force_errors_in_every_release(mapped, tmp_path, release):
    """The per-atom array migrates with its atoms on 2 ranks in each supported release."""
    bin_dir = environment(release)
    _, error_map, _ = run_folder(mapped, tmp_path)
    deck = FIX.format(keywords="force_error yes").replace("run 10", "run 100").replace("thermo 5", "thermo 50")
    assert_ran(
        run_lammps(
            deck.replace(" 5 ref.npz", " 50 ref.npz").replace("custom 5", "custom 50"),
            tmp_path,
            ranks=2,
            bin_dir=bin_dir,
        )
    )
    columns = [[table[f"f_q[{i}]"] for i in (1, 2, 3)] for table in dump_columns(tmp_path / "md.dump")]
    assert_columns_follow_the_map(columns, thermo_rows(tmp_path / "log.lammps", 4), error_map, None)


HOOK = hook_cu_deck(
    """variable quests_force_error string yes
variable quests_force_alarm equal {alarm}""",
    """thermo_style custom step v_quests_max v_quests_novel_count \
v_quests_max_force_error
thermo_modify format float %.17g
thermo 5
dump d all custom 5 md.dump id type x y z d_quests_dH d_quests_force_error d_quests_force_error_upper
dump_modify d format float %.17g
velocity all create 900 4 loop geom
fix nve all nve
run 10
""",
)


@pytest.mark.lammps
@pytest.mark.mpi
def test_hook_gives_expected_force_errors_on_1_and_2_ranks(mapped, tmp_path):
    if not (DEBIAN_ENV / "numba").is_dir():
        pytest.skip("Debian's LAMMPS is not set up (examples/python_invoke/install-debian.sh)")
    folder, error_map, alarm = run_folder(mapped, tmp_path)
    for ranks in (1, 2):
        assert_ran(run_debian_lammps(HOOK.format(alarm=repr(alarm)), tmp_path, ranks=ranks))
        names = ("d_quests_dH", "d_quests_force_error", "d_quests_force_error_upper")
        columns = [[table[name] for name in names] for table in dump_columns(tmp_path / "md.dump")]
        # the hook evaluates from step 5
        assert_columns_follow_the_map(columns[1:], thermo_rows(tmp_path / "log.lammps", 4)[1:], error_map, alarm)
