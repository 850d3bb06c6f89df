"""Count the CPU instructions one request costs, for each backend and
scenario of ``inprocess.py``, with valgrind's callgrind.

Wall-clock timing needs a quiet machine; on a shared one the same code's
overhead moves by more than the budgets allow. The number of instructions a
request executes hardly moves at all, so this script measures that instead,
with the apps, requests and budgets of ``inprocess.py``:

- each (backend, scenario) case runs in a child process under
  ``valgrind --tool=callgrind``, once with ``WARMUP`` requests and once with
  ``WARMUP + N``, the garbage collector off, ``PYTHONHASHSEED=0``;
- the difference, divided by N, is the cost of one request, free of start-up
  and warm-up;
- a backend's overhead is its cost minus the floor's, and the budgets compare
  overheads, as ``inprocess.py`` does.

Instructions are not time (a cache miss costs more than an add), but between
two versions of this package, and between two libraries doing the same work
in CPython, they are a steady proxy for it.

Run ``python benchmarks/instructions.py --help`` for the options. It needs
``valgrind`` on the ``PATH``.
"""

from __future__ import annotations

import argparse
import collections.abc as cabc
import gc
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import inprocess
from inprocess import Backend
from inprocess import BACKENDS
from inprocess import BUDGETS
from inprocess import Scenario
from inprocess import SCENARIO_TITLES

HERE = Path(__file__).resolve().parent
#: Requests each child sends before the ones that are counted.
WARMUP = 300
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def child(backend: Backend, scenario: Scenario, count: int) -> None:
    """Send ``count`` requests of one case (run under callgrind)."""
    case = next(c for c in inprocess.prepare_cases([backend]) if c.scenario == scenario)
    gc.collect()
    gc.disable()
    case.run(count)


def _instructions(python: str, backend: str, scenario: str, count: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        python,
        str(Path(__file__).resolve()),
        "--child",
        backend,
        scenario,
        str(count),
    ]
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    found = _COLLECTED.search(done.stderr)

    if done.returncode != 0 or found is None:
        raise SystemExit(
            f"{backend}/{scenario}: the child failed (status {done.returncode}):\n"
            + done.stderr[-2000:]
        )

    return int(found.group(1))


def per_request(python: str, backend: str, scenario: str, requests: int) -> float:
    """Instructions of one request of a case."""
    with ThreadPoolExecutor(2) as pool:
        short, long = pool.map(
            lambda count: _instructions(python, backend, scenario, count),
            (WARMUP, WARMUP + requests),
        )

    return (long - short) / requests


def parse_args(argv: cabc.Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenarios",
        default="session,remember,lifetime,lifetime_write",
        help="comma-separated subset of: " + ", ".join(inprocess.ALL_SCENARIOS),
    )
    parser.add_argument(
        "--requests", type=int, default=4000, help="counted requests (default: 4000)"
    )
    parser.add_argument(
        "--no-check", action="store_true", help="report only; never exit 1"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: cabc.Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    if args.child:
        backend, scenario, count = args.child
        child(backend, scenario, int(count))
        return 0

    if shutil.which("valgrind") is None:
        print("instructions.py needs valgrind on the PATH.", file=sys.stderr)
        return 2

    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(inprocess.ALL_SCENARIOS)

    if unknown:
        print(f"unknown scenarios: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2

    print(
        f"Python {platform.python_version()},"
        f" Flask {importlib.metadata.version('flask')},"
        f" {args.requests} counted requests per case after {WARMUP}"
    )
    print()
    print(f"{'scenario':26}{'backend':20}{'instr/request':>15}{'overhead':>12}")
    failed = False
    python = sys.executable

    for scenario in scenarios:
        cost = {
            backend: per_request(python, backend, scenario, args.requests)
            for backend in BACKENDS
        }
        overhead = {b: cost[b] - cost["floor"] for b in BACKENDS}
        title = SCENARIO_TITLES[_scenario(scenario)]

        for backend in BACKENDS:
            shown = "-" if backend == "floor" else f"{overhead[backend]:,.0f}"
            print(f"{title:26}{backend:20}{cost[backend]:>15,.0f}{shown:>12}")
            title = ""

        ratio = overhead["flask_sessionauth"] / overhead["flask_login"]
        print(f"{'':26}overhead ours/flask_login: {ratio:.3f}")

        if scenario in BUDGETS:
            limit, rule = BUDGETS[_scenario(scenario)]
            verdict = "PASS" if ratio <= limit else "FAIL"
            failed = failed or verdict == "FAIL"
            print(f"{'':26}budget: {rule}: {ratio:.3f} (limit {limit:.2f}) {verdict}")

        print()

    return 1 if failed and not args.no_check else 0


def _scenario(name: str) -> Scenario:
    # main() has checked the name against inprocess.ALL_SCENARIOS.
    return t.cast("Scenario", name)


if __name__ == "__main__":
    sys.exit(main())
