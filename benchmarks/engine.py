"""Engine speed against the reference `quests` package, side by side in one run.

    python benchmarks/engine.py [--threads 2] [--repeats 3]

Cases (issue #2): descriptors of a 32,000-atom noisy FCC Cu cell; exact dH of 32,000 test vs
4,224 reference environments; H of 16,000 environments. JIT compilation is timed separately
(first call on a small input, with whatever on-disk cache exists) and excluded from the ratios,
which are best-of-repeats reference time / quests_lmp time. Targets: descriptors >= 3x,
dH >= 2x, H >= 2x, first call <= 10 s with a warm cache.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="numba threads for both packages")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per case (best is kept)")
    args = parser.parse_args()
    os.environ["NUMBA_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

    jit = {name: _first_call_seconds(name) for name in ("quests_lmp", "quests")}
    rows = _timed_cases(args.repeats)

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{args.threads} threads, Python {platform.python_version()}"
    )
    print(f"{'case':<42}{'quests (s)':>12}{'quests_lmp (s)':>16}{'speed-up':>10}{'target':>8}")
    for case, reference, ours, target in rows:
        flag = "ok" if reference / ours >= target else "MISSED"
        print(f"{case:<42}{reference:>12.3f}{ours:>16.3f}{reference / ours:>9.1f}x{target:>6.0f}x {flag}")
    print(
        f"{'first call incl. JIT, warm cache (s)':<42}{jit['quests']:>12.2f}{jit['quests_lmp']:>16.2f}"
        f"{'':>10}{'<=10 s':>8} {'ok' if jit['quests_lmp'] <= 10 else 'MISSED'}"
    )


def _first_call_seconds(package: str) -> float:
    """Seconds for a fresh interpreter to import `package` and compute descriptors, H and dH once."""
    if package == "quests_lmp":
        body = (
            "from quests_lmp import Descriptor, entropy, delta_entropy\n"
            "x = Descriptor().compute(atoms); entropy(x, 0.015); delta_entropy(x, x, 0.015)\n"
        )
    else:
        body = (
            "from quests.descriptor import get_descriptors\n"
            "from quests.entropy import entropy, delta_entropy\n"
            "x = get_descriptors([atoms]); entropy(x, 0.015); delta_entropy(x, x, 0.015)\n"
        )
    script = (
        "import time; t = time.perf_counter()\n"
        "from ase.build import bulk\n"
        "atoms = bulk('Cu', 'fcc', a=3.61, cubic=True).repeat(3); atoms.rattle(0.05, seed=1)\n"
        + body
        + "print(time.perf_counter() - t)\n"
    )
    output = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    return float(output.stdout.strip().splitlines()[-1])


def _timed_cases(repeats: int):
    import numpy as np
    from ase.build import bulk
    from quests.descriptor import get_descriptors
    from quests.entropy import delta_entropy as reference_delta_entropy
    from quests.entropy import entropy as reference_entropy
    from quests_lmp import Descriptor, delta_entropy, entropy

    rng = np.random.default_rng(0)
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(20)
    atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
    x = Descriptor().compute(atoms)
    reference_set = x[rng.choice(len(x), 4224, replace=False)]
    h = 0.015
    cases = [
        ("descriptors, 32,000-atom FCC Cu", 3.0, lambda: get_descriptors([atoms]), lambda: Descriptor().compute(atoms)),
        (
            "dH, 32,000 test vs 4,224 reference",
            2.0,
            lambda: reference_delta_entropy(x, reference_set, h),
            lambda: delta_entropy(x, reference_set, h),
        ),
        ("H, 16,000 environments", 2.0, lambda: reference_entropy(x[:16000], h), lambda: entropy(x[:16000], h)),
    ]
    rows = []
    for name, target, reference_call, our_call in cases:
        reference_call(), our_call()  # compile outside the timing
        rows.append((name, _best(reference_call, repeats), _best(our_call, repeats), target))
    return rows


def _best(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


if __name__ == "__main__":
    main()
