"""`fix quests` under MD protocols that move the box or the atoms outside plain time integration:
fix deform (every style of step, tilt flips, 1 and 3 ranks) and minimization. Dumped dH must belong
to the dumped positions (equal to the offline engine), or LAMMPS must stop with a clear error."""

from __future__ import annotations

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from lammps_runner import assert_ran, cu_deck, cu_reference, dump_columns, run_lammps, thermo_rows, write_data
from quests_lmp import Reference

pytestmark = pytest.mark.lammps

DECK = cu_deck("""velocity all create 600 4 loop geom
fix nve all nve
{fixes}
dump d all custom 5 out.dump id type x y z f_q
dump_modify d format float %.17g
run 40
""")


def tilted(atoms, xy):
    cell = atoms.cell.array.copy()
    cell[1, 0] = xy
    atoms.set_cell(cell, scale_atoms=True)
    return atoms


def assert_dumps_equal_the_offline_engine(folder, frames_expected):
    reference = Reference.load(folder / "ref.npz")
    frames = ase.io.read(folder / "out.dump", index=":", format="lammps-dump-text")
    columns = dump_columns(folder / "out.dump")
    assert len(frames) == frames_expected
    for atoms, table in zip(frames, columns):
        np.testing.assert_allclose(table["f_q"], reference.delta_entropy(atoms), rtol=1e-10, atol=1e-10)
    return frames


@pytest.mark.parametrize("ranks", [1, 3])
@pytest.mark.parametrize("order", ["box first", "quests first"])
@pytest.mark.parametrize(
    "deform",
    [
        "deform 1 x erate 0.5 remap x",
        "deform 10 y erate -0.5 remap x",
        "deform 1 z trate 0.3 remap v",
        "deform 1 xy erate 2.0 remap x flip yes",
        "press/berendsen iso 50000 50000 0.05 modulus 1400000",
    ],
)
def test_fix_deform_in_either_order(tmp_path, deform, order, ranks):
    """Deform (or a barostat acting at the end of a step) changes the box at the end of a step; in
    either order of definition, fix quests evaluates the box and positions that the dump writes."""
    cu_reference(tmp_path)
    structure = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 3)
    if "xy" in deform:  # start near the tilt limit (half the box length) so that the run flips the box
        structure = tilted(structure, 0.48 * structure.cell[0, 0])
    write_data(structure, tmp_path / "data.lmp")
    fixes = [f"fix d all {deform}", "fix q all quests 5 ref.npz"]
    deck = DECK.format(fixes="\n".join(fixes if order == "box first" else fixes[::-1]))
    assert "WARNING" not in assert_ran(run_lammps(deck, tmp_path, ranks=ranks))
    frames = assert_dumps_equal_the_offline_engine(tmp_path, 9)
    assert abs(frames[-1].get_volume() - frames[0].get_volume()) > 1e-3 or "xy" in deform  # the box changed
    if "flip" in deform:
        tilts = [atoms.cell[1, 0] for atoms in frames]
        assert tilts[0] > 0 > tilts[-1], tilts  # the box flipped during the run


def test_end_of_step_fix_between_fix_quests_and_deform_is_warned(tmp_path):
    """fix halt defined between fix quests and a later fix deform runs before the evaluation moved
    behind fix deform, so it reads the previous one: a warning names it and the remedy."""
    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, 3), tmp_path / "data.lmp")
    deck = DECK.format(
        fixes="""fix q all quests 5 ref.npz
variable max_dH equal f_q[1]
fix stop all halt 5 v_max_dH > 1.0e9 error soft
fix d all deform 1 x erate 0.5 remap x"""
    )
    output = assert_ran(run_lammps(deck, tmp_path))
    assert (
        "WARNING: Fix q quests evaluates after fix d (deform), which changes the box at the end of a step; "
        "fix stop (halt) in between sees the previous evaluation of f_q: define it after the box-changing fix"
        in output.replace("\n", " ")
    ), output[-2000:]
    assert_dumps_equal_the_offline_engine(tmp_path, 9)


MINIMIZE = cu_deck("""fix q all quests 5 ref.npz
variable max_dH equal f_q[1]
{halt}
thermo_style custom step pe f_q[1] f_q[2] f_q[5]
thermo_modify format float %.15g
thermo 1
dump d all custom 1 out.dump id type x y z f_q
dump_modify d format float %.17g
minimize 0 0 17 1000
""")


def test_minimize_dumps_thermo_and_fix_halt_see_current_values(tmp_path):
    """Every iteration's dump equals the offline engine (not zeros), the thermo columns match the
    dump, and fix halt stops the minimization at the first iteration its condition holds. 17
    iterations: the last is not a multiple of N, and the crystal is not yet so perfect that
    distance ties at the k-th neighbor make the descriptor depend on the order of images."""
    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.12, 5), tmp_path / "data.lmp")
    assert_ran(run_lammps(MINIMIZE.format(halt=""), tmp_path))
    frames = assert_dumps_equal_the_offline_engine(tmp_path, 18)
    values = np.array([table["f_q"] for table in dump_columns(tmp_path / "out.dump")])
    rows = thermo_rows(tmp_path / "log.lammps", 5)
    assert len(rows) == len(frames) and list(rows[:, 0]) == list(range(18))
    np.testing.assert_allclose(rows[:, 2], values.max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(rows[:, 3], values.mean(axis=1), rtol=1e-12)
    assert np.all(rows[:, 4] == len(frames[0])) and rows[-1, 2] < rows[0, 2] - 1  # relaxed: dH dropped

    threshold = float(0.5 * (rows[0, 2] + rows[-1, 2]))
    first = int(np.flatnonzero(rows[:, 2] < threshold)[0])
    folder = tmp_path / "halt"
    folder.mkdir()
    for name in ("ref.npz", "data.lmp"):
        (folder / name).symlink_to(tmp_path / name)
    assert_ran(run_lammps(MINIMIZE.format(halt=f"fix stop all halt 1 v_max_dH < {threshold!r} error soft"), folder))
    halted = thermo_rows(folder / "log.lammps", 5)
    assert halted[-1, 0] == first and "Fix halt condition for fix-id stop met" in (folder / "log.lammps").read_text()


def test_minimize_with_box_relax_and_change_box_between_runs(tmp_path):
    """fix box/relax changes the box during the minimization, change_box between two runs: every
    dump still equals the offline engine on its own box and positions."""
    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.70, cubic=True).repeat(3), 0.08, 6), tmp_path / "data.lmp")
    deck = MINIMIZE.format(halt="fix relax all box/relax iso 0.0 vmax 0.002").replace(
        "minimize 0 0 17 1000",
        "minimize 0 0 12 1000\nunfix relax\n"
        "change_box all x scale 1.01 y scale 0.99 remap\nundump d\nreset_timestep 0\n"
        "dump d all custom 5 out.dump id type x y z f_q\n"
        "dump_modify d format float %.17g append yes\nthermo 5\nfix nve all nve\nrun 10",
    )
    assert_ran(run_lammps(deck, tmp_path))
    frames = assert_dumps_equal_the_offline_engine(tmp_path, 13 + 3)
    volumes = [atoms.get_volume() for atoms in frames]
    assert volumes[12] < volumes[0] - 1.0 and abs(volumes[13] - volumes[12]) > 1e-3  # relaxed, then changed


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("order", ["box first", "quests first"])
@pytest.mark.parametrize("deform", ["deform 1 x erate 0.05 remap x", "deform 1 xy erate 0.5 remap v"])
def test_bias_under_fix_deform(tmp_path, deform, order, ranks):
    """With a bias, dH drives forces where they are computed; a fix that changes the box at the end
    of the step then moves the atoms, and dH is evaluated again there: dumped dH belongs to the
    dumped positions, as without a bias."""
    cu_reference(tmp_path)
    structure = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 3)
    write_data(tilted(structure, 0.1) if "xy" in deform else structure, tmp_path / "data.lmp")  # triclinic for xy
    fixes = [f"fix d all {deform}", "fix q all quests 1 ref.npz bias explore 0.01 2.0"]
    deck = DECK.format(fixes="\n".join(fixes if order == "box first" else fixes[::-1]))
    assert "WARNING" not in assert_ran(run_lammps(deck, tmp_path, ranks=ranks))
    assert_dumps_equal_the_offline_engine(tmp_path, 9)


RESPA = cu_deck("""fix nve all nve
fix q all quests 1 ref.npz {bias}
run_style respa 2 2
dump d all custom 5 out.dump id type x y z f_q
dump_modify d format float %.17g
velocity all create 600 4 loop geom
run 10
""")


def test_respa_runs_without_bias_and_refuses_bias(tmp_path):
    """rRESPA calls no post_force: without a bias dH is right at every dump, with one LAMMPS stops
    at the start of the run instead of running without the bias forces."""
    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, 3), tmp_path / "data.lmp")
    assert_ran(run_lammps(RESPA.format(bias=""), tmp_path))
    assert_dumps_equal_the_offline_engine(tmp_path, 3)
    result = run_lammps(RESPA.format(bias="bias wall 0.2 -3.5"), tmp_path)
    assert (
        result.returncode != 0
        and (
            "ERROR: Fix quests: bias does not support run_style respa: its forces would "
            "not be applied; use run_style verlet"
        )
        in result.stdout
    ), result.stdout[-2000:]
