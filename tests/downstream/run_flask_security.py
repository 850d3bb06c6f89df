"""Run Flask-Security-Too's own test suite with flask-sessionauth installed as
``flask_login``, and compare the outcome of every test with the baseline
measured on the real flask-login 0.6.3.

The ``downstream`` tox env runs it (see ``tests/downstream/README.md``). It

1. downloads Flask-Security-Too's sdist (published as the distribution
   ``flask-security``; it ships the ``tests/`` folder), unpacks it and
   installs it without its dependencies, which are pinned in
   ``requirements/downstream.txt`` and do not include flask-login;
2. runs the suite (SQLite and mongomock, the suite's defaults) with the
   ``sessionauth_as_flask_login`` pytest plugin, which calls
   :func:`flask_sessionauth.install_as_flask_login` before the suite's
   ``conftest.py`` is imported;
3. runs the tested examples of ``docs/downstream.rst``;
4. fails unless every test that passed on flask-login passed, as many tests
   ran, and at least as many passed.

``--on-flask-login`` runs the same suite on the real flask-login 0.6.3
instead (installed into a folder of its own), and ``--record`` writes the
outcome as the new baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

#: The Flask-Security-Too release whose suite is run. Change it together with
#: the baseline file and requirements/downstream.txt.
VERSION = "5.9.2"
#: The distribution name pip downloads Flask-Security-Too's sdist under.
DISTRIBUTION = "flask-security"
FLASK_LOGIN = "flask-login==0.6.3"
HERE = Path(__file__).resolve().parent
BASELINE = HERE / f"flask-security-{VERSION}.baseline"
EXAMPLES = [
    HERE / "examples" / "flask_security_example.py",
    HERE / "examples" / "flask_appbuilder_example.py",
]


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def fetch(workdir: Path) -> Path:
    """Download, unpack and install the sdist; return its folder."""
    sdists = workdir / "sdist"
    shutil.rmtree(sdists, ignore_errors=True)
    pip(
        "download",
        "--no-deps",
        "--no-binary=:all:",
        "--dest",
        str(sdists),
        f"{DISTRIBUTION}=={VERSION}",
    )
    (archive,) = sdists.glob("*.tar.gz")
    source = workdir / "src"
    shutil.rmtree(source, ignore_errors=True)

    with tarfile.open(archive) as tar:
        tar.extractall(source, filter="data")

    (tree,) = source.iterdir()

    if not (tree / "tests" / "conftest.py").is_file():
        sys.exit(f"downstream: {archive.name} ships no tests/conftest.py")

    pip("install", "--no-deps", "--force-reinstall", str(tree))
    return tree


def outcomes(junit: Path) -> dict[str, str]:
    """Each test's outcome in a JUnit XML report: passed, failed, error or
    skipped.
    """
    found: dict[str, str] = {}

    for case in ET.parse(junit).iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        outcome = "passed"

        for child in case:
            if child.tag == "failure":
                outcome = "failed"
            elif child.tag == "error":
                outcome = "error"
            elif child.tag == "skipped":
                outcome = "skipped"

        # A test that passed and then errored in teardown counts as an error.
        if found.get(test) not in (None, "passed"):
            continue

        found[test] = outcome

    return found


def summary(found: dict[str, str]) -> str:
    counts = {o: 0 for o in ("passed", "failed", "error", "skipped")}

    for outcome in found.values():
        counts[outcome] += 1

    return f"{len(found)} tests: " + ", ".join(f"{n} {o}" for o, n in counts.items())


def read_baseline() -> tuple[int, int, dict[str, str]]:
    """The baseline's number of tests, of passes, and the tests that did not
    pass on flask-login with their outcome.
    """
    total = passed = -1
    others: dict[str, str] = {}

    for line in BASELINE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue

        key, _, value = line.partition(" ")

        if key == "tests":
            total = int(value)
        elif key == "passed":
            passed = int(value)
        else:
            others[value] = key

    return total, passed, others


def write_baseline(found: dict[str, str], seconds: float) -> None:
    lines = [
        f"# Flask-Security-Too {VERSION} (sdist of {DISTRIBUTION}) on the real"
        f" {FLASK_LOGIN},",
        "# SQLite and mongomock, dependencies of requirements/downstream.txt,",
        f"# Python {sys.version.split()[0]}, pytest -n 2: {summary(found)};"
        f" {seconds:.0f} s.",
        "# Written by run_flask_security.py --on-flask-login --record. Every test",
        "# not listed below passed on flask-login and must pass on",
        "# flask-sessionauth.",
        f"tests {len(found)}",
        f"passed {sum(o == 'passed' for o in found.values())}",
    ]
    lines += [f"{o} {t}" for t, o in sorted(found.items()) if o != "passed"]
    BASELINE.write_text("\n".join(lines) + "\n")


def compare(found: dict[str, str]) -> list[str]:
    """What breaks the budget: tests that passed on flask-login and not here,
    tests that ran on one and not the other, fewer passes.
    """
    total, passed, others = read_baseline()
    problems = [
        f"{test}: passed on flask-login, {outcome} here"
        for test, outcome in sorted(found.items())
        if outcome != "passed" and test not in others
    ]
    problems += [
        f"{test}: ran on flask-login ({others.get(test, 'passed')}), not here"
        for test in sorted(set(others) - set(found))
    ]

    if len(found) != total:
        problems.append(f"{len(found)} tests ran, the baseline ran {total}")

    here = sum(o == "passed" for o in found.values())

    if here < passed:
        problems.append(f"{here} tests passed, the baseline passed {passed}")

    for test, outcome in sorted(others.items()):
        if found.get(test) == "passed":
            print(f"downstream: {test}: {outcome} on flask-login, passed here")

    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--on-flask-login", action="store_true")
    parser.add_argument("--record", action="store_true")
    options = parser.parse_args()
    # Keep this script's lines in order with the output of its subprocesses.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    workdir: Path = options.workdir.resolve()
    tree = fetch(workdir)
    env = dict(os.environ)

    if options.on_flask_login:
        target = workdir / "flask-login"
        shutil.rmtree(target, ignore_errors=True)
        pip("install", "--no-deps", "--target", str(target), FLASK_LOGIN)
        env["PYTHONPATH"] = str(target)
        plugin: list[str] = []
    else:
        env["PYTHONPATH"] = str(HERE)
        plugin = ["-p", "sessionauth_as_flask_login"]
        # flask-login must come from nowhere but the plugin.
        check = "import importlib.util as u; assert u.find_spec('flask_login') is None"
        subprocess.run([sys.executable, "-c", check], check=True, env=env)

    junit = workdir / "flask-security.xml"
    junit.unlink(missing_ok=True)
    command = [
        *(sys.executable, "-m", "pytest", *plugin, "-n", options.workers),
        *("-p", "no:cacheprovider", "-o", "addopts=-rs --strict-markers"),
        *("--junitxml", str(junit), "tests"),
    ]
    started = time.monotonic()
    # The suite's exit status is judged by the comparison below: one test
    # fails on flask-login too.
    subprocess.run(command, cwd=tree, env=env)
    seconds = time.monotonic() - started

    if not junit.is_file():
        sys.exit("downstream: the suite wrote no report; see its output above")

    found = outcomes(junit)
    where = "flask-login" if options.on_flask_login else "flask-sessionauth"
    print(f"downstream: Flask-Security-Too {VERSION} on {where}: {summary(found)}")
    print(f"downstream: {seconds:.0f} s")

    if options.record:
        write_baseline(found, seconds)
        print(f"downstream: wrote {BASELINE}")
        return

    problems = compare(found)

    for problem in problems:
        print(f"downstream: {problem}")

    if problems:
        sys.exit(f"downstream: {len(problems)} differences from the baseline")

    print("downstream: every test that passed on flask-login passed")

    if not options.on_flask_login:
        subprocess.run(
            [sys.executable, "-m", "pytest", *plugin, "-p", "no:cacheprovider"]
            + [str(example) for example in EXAMPLES],
            cwd=HERE,
            env=env,
            check=True,
        )


if __name__ == "__main__":
    main()
