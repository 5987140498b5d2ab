#!/usr/bin/env bash
# The tools of the style test (tests/test_style.py) that pip does not install: clang-format, from
# Debian's packages (as root; ruff comes with `pip install ".[test]"`). Where apt cannot install
# it, says so and exits 0: the C++ style test is then skipped, with this reason.
set -euo pipefail
if command -v clang-format > /dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get > /dev/null; then
    echo "install-tools.sh: clang-format is not installed; as root run 'apt-get install clang-format'." \
         "The C++ style test is skipped." >&2
    exit 0
fi
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        clang-format; } > /tmp/quests-lmp-apt-tools.log 2>&1; then
    echo "install-tools.sh: apt-get could not install clang-format (see /tmp/quests-lmp-apt-tools.log);" \
         "the C++ style test is skipped." >&2
    exit 0
fi
