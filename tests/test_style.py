"""The code style CI enforces: ruff (lint and format, configured in pyproject.toml) on the Python,
clang-format (.clang-format) on the plugin's C++. To fix what these report:

    .venv/bin/ruff format . && .venv/bin/ruff check --fix .
    clang-format -i lammps_plugin/*.cpp lammps_plugin/*.h
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


def check(command: list[str]) -> None:
    result = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_python_passes_ruff_lint_and_format():
    check([str(RUFF), "check", "."])
    check([str(RUFF), "format", "--check", "."])


def test_cpp_passes_clang_format():
    if shutil.which("clang-format") is None:
        pytest.skip("clang-format is not installed (tests/install-tools.sh installs it)")
    sources = sorted(str(path) for path in (REPOSITORY / "lammps_plugin").glob("*.[ch]*"))
    check(["clang-format", "--dry-run", "--Werror", *sources])
