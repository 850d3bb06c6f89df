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

The children run under ``--python`` (default: the interpreter running this
script), so one checkout can be measured on several venvs, and they import
``flask_sessionauth`` from ``--root`` (default: the checkout this script
lives in), put at the front of ``sys.path`` ahead of any installed or
editable copy. The harness, ``inprocess.py``, is always the one beside this
script. This script itself needs only the standard library.

Instructions are not time (a cache miss costs more than an add), but between
two versions of this package, and between two libraries doing the same work
in CPython, they are a steady proxy for it.

Run ``python benchmarks/instructions.py --help`` for the options. It needs
``valgrind`` on the ``PATH``.
"""

from __future__ import annotations

import argparse
import collections.abc as cabc
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Requests each child sends before the ones that are counted.
WARMUP = 300
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
#: Marks the line of JSON a child prints, among whatever else it prints.
_REPORT = "instructions.py report: "


# -- in the children: the chosen interpreter, importing the chosen checkout ----


def _import_harness(root: Path) -> t.Any:
    """Import ``inprocess`` with ``root`` first on ``sys.path``, and check that
    ``flask_sessionauth`` comes from it.
    """
    sys.path.insert(0, str(root))
    import inprocess

    import flask_sessionauth

    where = Path(flask_sessionauth.__file__ or "").resolve()

    if not where.is_relative_to(root):
        raise SystemExit(
            f"flask_sessionauth was imported from {where}, not from {root}"
        )

    return inprocess


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _modules() -> dict[str, str | None]:
    """Where the two extensions were imported from."""
    import flask_login

    import flask_sessionauth

    return {
        "flask_sessionauth": flask_sessionauth.__file__,
        "flask_login": flask_login.__file__,
    }


def _environment(root: Path) -> dict[str, t.Any]:
    """What the children measure with: interpreter, packages and checkout."""
    import importlib.metadata
    import platform

    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "packages": {
            name: importlib.metadata.version(name)
            for name in ("flask", "werkzeug", "itsdangerous", "flask-login")
        },
        "modules": _modules(),
        "root": str(root),
        "revision": _git(root, "rev-parse", "--short", "HEAD"),
        "changed_files": None if status is None else len(status.splitlines()),
    }


def probe(root: Path) -> None:
    """Build every case once and check each answers as its scenario needs,
    then print what the parent needs to know, as one line of JSON.
    """
    inprocess = _import_harness(root)

    try:
        cases = inprocess.prepare_cases(inprocess.BACKENDS)
    except inprocess.CheckFailed as exc:
        raise SystemExit(f"check failed: {exc}") from exc

    report = {
        "environment": _environment(root),
        "scenarios": list(inprocess.ALL_SCENARIOS),
        "backends": list(inprocess.BACKENDS),
        "titles": inprocess.SCENARIO_TITLES,
        "budgets": {s: list(b) for s, b in inprocess.BUDGETS.items()},
        "realms_limit": inprocess.REALMS_LIMIT,
        "registry_limit": inprocess.REGISTRY_LIMIT,
        "cases": {
            case.label: {
                "describe": case.describe(),
                "notes": case.notes,
                "sent_as": inprocess.sent_as(case.backend, case.scenario),
            }
            for case in cases
        },
    }
    print(_REPORT + json.dumps(report))


def child(root: Path, backend: str, scenario: str, count: int) -> None:
    """Send ``count`` requests of one case (run under callgrind)."""
    import gc

    inprocess = _import_harness(root)
    case = next(c for c in inprocess.prepare_cases([backend]) if c.scenario == scenario)
    gc.collect()
    gc.disable()
    case.run(count)
    gc.enable()
    # The same for both counts of a case, so it cancels out of the difference.
    print(_REPORT + json.dumps(_modules()))


# -- in the parent: standard library only ---------------------------------------


def _report(stdout: str) -> t.Any:
    for line in stdout.splitlines():
        if line.startswith(_REPORT):
            return json.loads(line[len(_REPORT) :])
    return None


def _child_command(python: str, root: Path, *args: str) -> list[str]:
    return [python, str(Path(__file__).resolve()), "--root", str(root), *args]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONHASHSEED="0")


def run_probe(python: str, root: Path) -> t.Any:
    done = subprocess.run(
        _child_command(python, root, "--probe"),
        capture_output=True,
        text=True,
        env=_env(),
    )
    report = _report(done.stdout)

    if done.returncode != 0 or report is None:
        raise SystemExit(
            f"the checks before counting failed (status {done.returncode}):\n"
            + (done.stderr or done.stdout)[-3000:]
        )

    return report


class Task(t.NamedTuple):
    backend: str
    scenario: str
    requests: int


def _instructions(python: str, root: Path, task: Task, expected: t.Any) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        *_child_command(
            python, root, "--child", task.backend, task.scenario, str(task.requests)
        ),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=_env())
    found = _COLLECTED.search(done.stderr)

    if done.returncode != 0 or found is None:
        raise SystemExit(
            f"{task.backend}/{task.scenario}: the child failed"
            f" (status {done.returncode}):\n" + done.stderr[-2000:]
        )

    modules = _report(done.stdout)

    if modules != expected:
        raise SystemExit(
            f"{task.backend}/{task.scenario}: under valgrind the child imported"
            f" {modules}, not {expected} as without it"
        )

    return int(found.group(1))


def count_all(
    python: str,
    root: Path,
    tasks: list[Task],
    *,
    jobs: int,
    expected: t.Any,
    progress: bool,
) -> dict[Task, int]:
    """Run every task under callgrind, ``jobs`` at a time, the longest first
    so that the short ones fill in at the end.
    """
    started = time.monotonic()
    done: dict[Task, int] = {}

    def one(task: Task) -> tuple[Task, int]:
        collected = _instructions(python, root, task, expected)
        done[task] = collected

        if progress:
            print(
                f"  [{len(done)}/{len(tasks)}] {task.backend}/{task.scenario}"
                f" x{task.requests}: {collected:,} instructions"
                f" ({time.monotonic() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )

        return task, collected

    ordered = sorted(tasks, key=lambda task: -task.requests)

    with ThreadPoolExecutor(jobs) as pool:
        return dict(pool.map(one, ordered))


def _positive(value: str) -> int:
    number = int(value)

    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")

    return number


def parse_args(argv: cabc.Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog="Example: python3 benchmarks/instructions.py --python"
        " /path/to/venv/bin/python --root /path/to/checkout --json out.json",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter the measured children run, e.g. a venv's bin/python"
        " (default: the one running this script)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=HERE.parent,
        help="checkout whose flask_sessionauth is measured; it goes first on"
        " the children's sys.path (default: the checkout of this script)",
    )
    parser.add_argument(
        "--scenarios",
        default="all",
        help="comma-separated scenarios, or 'all' (default): session, remember,"
        " lifetime, lifetime_write, anonymous",
    )
    parser.add_argument(
        "--requests",
        type=_positive,
        default=4000,
        help="counted requests per case (default: 4000); a multiple of 10"
        " gives each of the lifetime cases' logins the same share",
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=2,
        help="valgrind processes at a time (default: 2)",
    )
    parser.add_argument("--json", type=Path, help="also write the counts here")
    parser.add_argument(
        "--no-check", action="store_true", help="report only; never exit 1"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def judge(
    verdicts: list[dict[str, t.Any]],
    scenario: str,
    rule: str,
    limit: float,
    ratio: float,
) -> str:
    """``"PASS"`` or ``"FAIL"`` for ``ratio`` against ``limit``, recorded in
    ``verdicts`` for the JSON report."""
    verdict = "PASS" if ratio <= limit else "FAIL"
    verdicts.append(
        {
            "scenario": scenario,
            "rule": rule,
            "limit": limit,
            "ratio": ratio,
            "verdict": verdict,
        }
    )
    return verdict


def main(argv: cabc.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root: Path = args.root.resolve()

    if args.probe:
        probe(root)
        return 0

    if args.child:
        backend, scenario, count = args.child
        child(root, backend, scenario, int(count))
        return 0

    if shutil.which("valgrind") is None:
        print("instructions.py needs valgrind on the PATH.", file=sys.stderr)
        return 2

    python = shutil.which(args.python) or args.python
    started = time.monotonic()
    probed = run_probe(python, root)
    scenarios: list[str] = (
        probed["scenarios"]
        if args.scenarios == "all"
        else [s.strip() for s in args.scenarios.split(",") if s.strip()]
    )
    unknown = set(scenarios) - set(probed["scenarios"])

    if unknown:
        print(f"unknown scenarios: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2

    backends: list[str] = probed["backends"]
    titles: dict[str, str] = probed["titles"]
    budgets: dict[str, list[t.Any]] = probed["budgets"]
    env = probed["environment"]
    packages = env["packages"]
    changed = env["changed_files"]
    state = "" if not changed else f" with {changed} changed files"

    print(
        f"Python {env['python']} ({python}), Flask {packages['flask']},"
        f" Werkzeug {packages['werkzeug']}, flask-login {packages['flask-login']}"
    )
    print(f"flask_sessionauth from {env['modules']['flask_sessionauth']}")
    print(f"  checkout {root} at {env['revision']}{state}")
    print(
        f"{args.requests} counted requests per case after {WARMUP};"
        " every case checked before counting"
    )

    cases: dict[str, t.Any] = probed["cases"]

    def sent_as(backend: str, scenario: str) -> str:
        return str(cases[f"{backend}/{scenario}"]["sent_as"])

    for label, case in cases.items():
        backend, scenario = label.split("/")
        if scenario in scenarios:
            notes = "".join(f"; note: {note}" for note in case["notes"])
            same = case["sent_as"]
            if same != scenario:
                notes += f"; the {same} request, counted once"
            print(f"  {label}: {case['describe']}{notes}")

    print()
    # A case that sends another scenario's request is counted once for both.
    tasks = list(
        dict.fromkeys(
            Task(backend, sent_as(backend, scenario), count)
            for scenario in scenarios
            for backend in backends
            for count in (WARMUP, WARMUP + args.requests)
        )
    )
    counts = count_all(
        python,
        root,
        tasks,
        jobs=args.jobs,
        expected=env["modules"],
        progress=not args.quiet,
    )

    print(f"{'scenario':26}{'backend':20}{'instr/request':>15}{'overhead':>12}")
    failed = False
    results: dict[str, dict[str, t.Any]] = {}
    verdicts: list[dict[str, t.Any]] = []

    for scenario in scenarios:
        short = {b: counts[Task(b, sent_as(b, scenario), WARMUP)] for b in backends}
        long = {
            b: counts[Task(b, sent_as(b, scenario), WARMUP + args.requests)]
            for b in backends
        }
        cost = {b: (long[b] - short[b]) / args.requests for b in backends}
        overhead = {b: cost[b] - cost["floor"] for b in backends}
        title = titles[scenario]

        for backend in backends:
            shown = "-" if backend == "floor" else f"{overhead[backend]:,.0f}"
            print(f"{title:26}{backend:20}{cost[backend]:>15,.0f}{shown:>12}")
            title = ""

        ratio = overhead["flask_sessionauth"] / overhead["flask_login"]
        print(f"{'':26}overhead ours/flask_login: {ratio:.3f}")
        results[scenario] = {
            backend: {
                "instructions_short": short[backend],
                "instructions_long": long[backend],
                "per_request": cost[backend],
                "overhead": None if backend == "floor" else overhead[backend],
                "case": probed["cases"][f"{backend}/{scenario}"],
            }
            for backend in backends
        }
        results[scenario]["ratio"] = ratio

        if scenario in budgets:
            limit, rule = budgets[scenario]
            verdict = judge(verdicts, scenario, rule, limit, ratio)
            failed = failed or verdict == "FAIL"
            print(f"{'':26}budget: {rule}: {ratio:.3f} (limit {limit:.2f}) {verdict}")

        print()

    # Budgets that are not "ours / flask_login's overhead" of one scenario.
    extra_budgets: list[tuple[str, str, float, float | None, str]] = []

    if "session" in results and "realms" in results:
        # flask_sessionauth against itself: the same session request on an
        # app with a second realm and on one without.
        one = results["session"]["flask_sessionauth"]
        two = results["realms"]["flask_sessionauth"]
        extra = two["overhead"] - one["overhead"]
        extra_budgets.append(
            (
                "realms",
                "instructions per request, two realms / one realm",
                probed["realms_limit"],
                two["per_request"] / one["per_request"],
                f"two realms vs one: {two['per_request']:,.0f} vs"
                f" {one['per_request']:,.0f} instructions per request,"
                f" overhead {extra:+,.0f}",
            )
        )

    if "registry" in results:
        extra_budgets.append(
            (
                "registry",
                "overhead, in-memory registry / flask_login",
                probed["registry_limit"],
                results["registry"]["ratio"],
                "in-memory registry: overhead of flask_login's",
            )
        )

    if "bearer" in results:
        extra_budgets.append(
            (
                "bearer",
                "overhead, Bearer token / flask_login request_loader",
                1.0,
                results["bearer"]["ratio"],
                "API token: overhead of flask_login's request_loader",
            )
        )

    for scenario, rule, limit, ratio, what in extra_budgets:
        assert ratio is not None
        verdict = judge(verdicts, scenario, rule, limit, ratio)
        failed = failed or verdict == "FAIL"
        print(f"{what}: {ratio:.3f} (limit {limit:.2f}) {verdict}")

    if extra_budgets:
        print()

    elapsed = time.monotonic() - started
    print(f"{len(tasks)} callgrind runs in {elapsed / 60:.1f} minutes")

    if args.json is not None:
        document = {
            "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "unit": "instructions per request (callgrind)",
            "command": [sys.executable, *sys.argv],
            "interpreter": python,
            "environment": env,
            "requests": args.requests,
            "warmup": WARMUP,
            "results": results,
            "budgets": verdicts,
            "elapsed_seconds": round(elapsed),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")

    return 1 if failed and not args.no_check else 0


if __name__ == "__main__":
    sys.exit(main())
