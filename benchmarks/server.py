"""Requests per second through a real server: the three apps of
``inprocess.py`` served by gunicorn on ``127.0.0.1``, loaded by ``wrk``.

``inprocess.py`` times the WSGI call alone. This script adds everything a
deployment adds: gunicorn's worker, the HTTP parser, the socket and a client
in another process. Each backend (``floor``, ``flask_login``,
``flask_sessionauth``) gets its own gunicorn server with the same settings;
the apps come from :func:`inprocess.create_app`, so they are the very apps
the in-process benchmark times.

The two scenarios are the same as in ``inprocess.py``: (a) every request
carries the session cookie a login issued; (b) every request carries only the
remember cookie, so the app restores the login and sets a new session cookie.

Rounds are interleaved: each round loads every (backend, scenario) pair for
``--duration`` seconds, in a new random order. The figure for a pair is the
median of its rounds. Every answer is checked: a run in which any request is
answered with anything but ``200`` and the user's id stops with status 2.

The load generator is ``wrk`` (Debian: ``apt-get install wrk``) with a Lua
script that checks each answer. Without wrk, or with ``--loadgen python``, a
pool of Python processes sends the requests instead; it is slower than wrk,
so the server may then not be the bottleneck, and the script says so.

Exit status: 0 if everything ran and the budget passed (or was skipped), 1 if
the budget failed (unless ``--no-check``), 2 if a server or a check failed.

Run ``python benchmarks/server.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import collections.abc as cabc
import concurrent.futures
import datetime
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from contextlib import ExitStack
from pathlib import Path

import inprocess
from inprocess import _backends
from inprocess import _positive
from inprocess import BACKENDS
from inprocess import SCENARIO_TITLES
from inprocess import SCENARIOS
from serving import fetch
from serving import Gunicorn
from serving import gunicorn_available
from serving import gunicorn_version
from serving import HOST
from serving import percentile
from serving import ServerFailed
from serving import unwind_on_sigterm
from serving import worker_args

if t.TYPE_CHECKING:
    from inprocess import Backend
    from inprocess import Scenario

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent

USER_AGENT = inprocess.CLIENT_ENVIRON["HTTP_USER_AGENT"]
EXPECTED_BODY = inprocess.USER_ID
RESULT_MARKER = "WRK_RESULT "

#: wrk calls ``response`` for every answer; answers that are not
#: "200 <expected body>" are counted, and ``done`` prints one JSON line.
WRK_SCRIPT = """\
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = args[1]
  unexpected = 0
end

function response(status, headers, body)
  if status ~= 200 or body ~= expected then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
  end
  local e = summary.errors
  io.write(string.format(
    "%s{\\"requests\\": %d, \\"duration_us\\": %d, \\"unexpected\\": %d, "
      .. "\\"connect_errors\\": %d, \\"read_errors\\": %d, \\"write_errors\\": %d, "
      .. "\\"status_errors\\": %d, \\"timeouts\\": %d, "
      .. "\\"p50_us\\": %d, \\"p90_us\\": %d, \\"p99_us\\": %d}\\n",
    "WRK_RESULT ", summary.requests, summary.duration, total, e.connect, e.read,
    e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99)))
end
"""


class CheckFailed(Exception):
    """A server did not answer the way the benchmark needs."""


class Sample(t.NamedTuple):
    """One load run of one (backend, scenario) pair."""

    requests: int
    seconds: float
    #: Answers other than "200 <user id>", and transport errors.
    bad: int
    p50_ms: float | None
    p99_ms: float | None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


class Case:
    """One (backend, scenario) pair: a server and the cookie to send it."""

    def __init__(
        self, backend: Backend, scenario: Scenario, port: int, cookie: str
    ) -> None:
        self.backend = backend
        self.scenario = scenario
        self.port = port
        self.cookie = cookie
        self.samples: list[Sample] = []

    @property
    def label(self) -> str:
        return f"{self.backend}/{self.scenario}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": self.cookie, "User-Agent": USER_AGENT}


# -- logging in and checking over HTTP -----------------------------------------------


def _get(
    port: int, path: str, headers: dict[str, str]
) -> tuple[int, bytes, dict[str, str]]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        reply = fetch(connection, "GET", path, headers=headers)
    finally:
        connection.close()
    return reply.status, reply.body, reply.set_cookies()


def prepare_cases(backend: Backend, port: int) -> list[Case]:
    """Log in over HTTP as the in-process benchmark does, and check that the
    request each scenario times is an authenticated 200."""
    agent = {"User-Agent": USER_AGENT}
    _, _, cookies = _get(port, "/login", agent)
    session = cookies.get("session")
    _, _, cookies = _get(port, "/login?remember=1", agent)
    remember = cookies.get(inprocess.REMEMBER_COOKIE)
    if session is None or remember is None:
        raise CheckFailed(f"{backend}: the logins did not set both cookies")

    status, body, _ = _get(port, "/me", agent)
    if status == 200:
        raise CheckFailed(f"{backend}: an anonymous /me answered 200")

    cases = [
        Case(backend, "session", port, session),
        Case(backend, "remember", port, remember),
    ]
    for case in cases:
        status, body, cookies = _get(port, "/me", case.headers)
        if status != 200 or body.decode(errors="replace") != EXPECTED_BODY:
            raise CheckFailed(
                f"{case.label}: /me answered {status} {body[:80]!r}; the benchmark"
                " would measure a refusal"
            )
        if case.scenario == "remember" and "session" not in cookies:
            raise CheckFailed(f"{case.label}: the answer set no session cookie")
    return cases


# -- load generators -------------------------------------------------------------


class Wrk:
    """``wrk`` with a Lua script that checks every answer."""

    def __init__(self, executable: str, script: Path, threads: int, connections: int):
        self.executable = executable
        self.script = script
        self.threads = threads
        self.connections = connections

    @property
    def description(self) -> str:
        return f"wrk -t{self.threads} -c{self.connections}"

    def version(self) -> str:
        done = subprocess.run(
            [self.executable, "--version"], capture_output=True, text=True, check=False
        )
        return (done.stdout or done.stderr).split("\n", 1)[0].strip()

    def run(self, case: Case, seconds: int) -> Sample:
        command = [
            self.executable,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(self.script),
        ]
        for name, value in case.headers.items():
            command += ["-H", f"{name}: {value}"]
        command += [f"http://{HOST}:{case.port}/me", "--", EXPECTED_BODY]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=False,
        )
        for line in done.stdout.splitlines():
            if line.startswith(RESULT_MARKER):
                data = json.loads(line[len(RESULT_MARKER) :])
                break
        else:
            raise CheckFailed(
                f"{case.label}: wrk exited {done.returncode} without a result:"
                f"\n{done.stdout}\n{done.stderr}"
            )
        errors = sum(
            data[key]
            for key in ("connect_errors", "read_errors", "write_errors", "timeouts")
        )
        return Sample(
            requests=data["requests"],
            seconds=data["duration_us"] / 1e6,
            bad=data["unexpected"] + errors,
            p50_ms=data["p50_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
        )


class ClientResult(t.NamedTuple):
    done: int
    bad: int
    seconds: float
    latencies: list[float]


def _python_client(port: int, headers: dict[str, str], seconds: float) -> ClientResult:
    """One client process: send requests back to back for ``seconds``."""
    expected = EXPECTED_BODY.encode()
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    done = bad = 0
    latencies: list[float] = []
    clock = time.perf_counter
    first = clock()
    deadline = first + seconds
    try:
        while (started := clock()) < deadline:
            try:
                reply = fetch(connection, "GET", "/me", headers=headers)
            except (OSError, http.client.HTTPException):
                connection.close()
                bad += 1
                continue
            latencies.append(clock() - started)
            done += 1
            if reply.status != 200 or reply.body != expected:
                bad += 1
    finally:
        connection.close()
    return ClientResult(done, bad, clock() - first, latencies)


def _nothing() -> None:
    return None


class PythonLoad:
    """Client processes written in Python: the fallback when wrk is missing."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.pool = concurrent.futures.ProcessPoolExecutor(processes)
        # Start the processes now, so that no timed run waits for them.
        for future in [self.pool.submit(_nothing) for _ in range(processes)]:
            future.result()

    @property
    def description(self) -> str:
        return f"python, {self.processes} client processes"

    def version(self) -> str:
        return f"python {sys.version.split()[0]}"

    def run(self, case: Case, seconds: int) -> Sample:
        futures = [
            self.pool.submit(_python_client, case.port, case.headers, seconds)
            for _ in range(self.processes)
        ]
        results = [future.result(timeout=seconds + 30) for future in futures]
        requests = sum(r.done for r in results)
        # Each process timed itself; their rates add up.
        rate = sum(r.done / r.seconds for r in results if r.seconds > 0)
        latencies = sorted(x for r in results for x in r.latencies)
        p50 = percentile(latencies, 0.50)
        p99 = percentile(latencies, 0.99)
        return Sample(
            requests=requests,
            seconds=requests / rate if rate > 0 else 0.0,
            bad=sum(r.bad for r in results),
            p50_ms=None if p50 is None else p50 * 1000,
            p99_ms=None if p99 is None else p99 * 1000,
        )

    def close(self) -> None:
        self.pool.shutdown()


LoadGenerator: t.TypeAlias = "Wrk | PythonLoad"


# -- measuring and summing up --------------------------------------------------------


def measure(
    cases: list[Case],
    load: LoadGenerator,
    *,
    rounds: int,
    duration: int,
    warmup: int,
    rng: random.Random,
    progress: bool,
) -> None:
    if warmup > 0:
        for case in cases:
            _check(case, load.run(case, warmup), "warm-up")
    order = list(cases)
    for number in range(1, rounds + 1):
        rng.shuffle(order)
        for case in order:
            if progress:
                print(
                    f"\r  round {number}/{rounds}: {case.label:<28}",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
            sample = load.run(case, duration)
            _check(case, sample, f"round {number}")
            case.samples.append(sample)
    if progress:
        print(file=sys.stderr)


def _check(case: Case, sample: Sample, when: str) -> None:
    if sample.bad:
        raise CheckFailed(
            f"{case.label}, {when}: {sample.bad} of {sample.requests} requests were"
            " not answered 200 with the user's id (or failed in transport)"
        )
    if sample.requests == 0:
        raise CheckFailed(f"{case.label}, {when}: no request completed")


class Figures(t.NamedTuple):
    median_rps: float
    min_rps: float
    max_rps: float
    median_p50_ms: float | None
    median_p99_ms: float | None


def _median_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarise(cases: list[Case]) -> dict[Scenario, dict[Backend, Figures]]:
    out: dict[Scenario, dict[Backend, Figures]] = {}
    for case in cases:
        rates = [s.rate for s in case.samples]
        out.setdefault(case.scenario, {})[case.backend] = Figures(
            median_rps=statistics.median(rates),
            min_rps=min(rates),
            max_rps=max(rates),
            median_p50_ms=_median_or_none([s.p50_ms for s in case.samples]),
            median_p99_ms=_median_or_none([s.p99_ms for s in case.samples]),
        )
    # Keep the canonical order whatever order the cases came in.
    return {
        scenario: {b: out[scenario][b] for b in BACKENDS if b in out[scenario]}
        for scenario in SCENARIOS
        if scenario in out
    }


class Ratio(t.NamedTuple):
    scenario: Scenario
    #: flask_sessionauth's median req/s over flask_login's.
    median: float
    #: Median over the rounds of the two backends' ratio in the same round.
    paired: float


def ratios(cases: list[Case]) -> list[Ratio]:
    found: list[Ratio] = []
    by_key = {(c.scenario, c.backend): c for c in cases}
    for scenario in SCENARIOS:
        ours = by_key.get((scenario, "flask_sessionauth"))
        theirs = by_key.get((scenario, "flask_login"))
        if ours is None or theirs is None:
            continue
        ours_rates = [s.rate for s in ours.samples]
        their_rates = [s.rate for s in theirs.samples]
        found.append(
            Ratio(
                scenario,
                statistics.median(ours_rates) / statistics.median(their_rates),
                statistics.median(
                    a / b for a, b in zip(ours_rates, their_rates, strict=True)
                ),
            )
        )
    return found


def print_table(
    summary: dict[Scenario, dict[Backend, Figures]], found: list[Ratio]
) -> None:
    header = (
        f"{'scenario':<26}{'backend':<19}{'req/s':>9}{'min':>9}{'max':>9}"
        f"{'p50 ms':>9}{'p99 ms':>9}"
    )
    print(header)
    print("-" * len(header))
    by_scenario = {r.scenario: r for r in found}
    for scenario, row in summary.items():
        title = SCENARIO_TITLES[scenario]
        for backend, fig in row.items():
            p50 = "-" if fig.median_p50_ms is None else f"{fig.median_p50_ms:.2f}"
            p99 = "-" if fig.median_p99_ms is None else f"{fig.median_p99_ms:.2f}"
            print(
                f"{title:<26}{backend:<19}{fig.median_rps:>9.0f}{fig.min_rps:>9.0f}"
                f"{fig.max_rps:>9.0f}{p50:>9}{p99:>9}"
            )
            title = ""
        ratio = by_scenario.get(scenario)
        if ratio is not None:
            print(
                f"{'':<26}req/s ours/flask_login: {ratio.median:.3f}"
                f" (paired {ratio.paired:.3f})"
            )
        print()


# -- command line ----------------------------------------------------------------


def parse_args(argv: cabc.Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Requests per second of flask_sessionauth, flask_login and a"
        " bare Flask floor, each served by gunicorn on 127.0.0.1 and loaded by wrk,"
        " in interleaved rounds.",
    )
    parser.add_argument("--rounds", type=_positive, default=5, help="default: 5")
    parser.add_argument(
        "--duration",
        type=_positive,
        default=10,
        help="seconds of load per pair per round (default: 10)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="seconds of untimed load per pair before the first round (default: 2)",
    )
    parser.add_argument(
        "--backends",
        type=_backends,
        default=list(BACKENDS),
        help="comma-separated subset of: " + ", ".join(BACKENDS),
    )
    parser.add_argument(
        "--workers", type=_positive, default=1, help="gunicorn workers (default: 1)"
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=1,
        help="threads per worker; 1 means the sync worker (default: 1)",
    )
    parser.add_argument(
        "--connections",
        type=_positive,
        default=4,
        help="connections the load generator keeps open (default: 4)",
    )
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="wrk, the Python fallback, or wrk if installed (default: auto)",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the servers to the first CPU and the load generator to"
        " the others (pinning needs Linux and two CPUs)",
    )
    parser.add_argument(
        "--short",
        action="store_true",
        help="a smoke test: 1 round of 1 s, no warm-up, budget not checked",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--no-check", action="store_true", help="report only; never exit 1"
    )
    parser.add_argument("--seed", type=int, help="seed for the round order")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    if args.short:
        args.rounds, args.duration, args.warmup, args.no_check = 1, 1, 0, True
    return args


def _cpus(cpus: set[int]) -> str:
    return ",".join(map(str, sorted(cpus)))


def _load_generator(args: argparse.Namespace, work: Path) -> LoadGenerator:
    executable = shutil.which("wrk")
    if args.loadgen == "wrk" and executable is None:
        raise CheckFailed("wrk is not installed (Debian: apt-get install wrk)")
    if args.loadgen == "python" or executable is None:
        return PythonLoad(args.connections)
    script = work / "check.lua"
    script.write_text(WRK_SCRIPT)
    return Wrk(executable, script, threads=1, connections=args.connections)


def cpu_split(enabled: bool) -> tuple[set[int], set[int]] | None:
    """(server CPUs, load generator CPUs), or None when not pinning."""
    if not enabled or not hasattr(os, "sched_getaffinity"):
        return None
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None
    return {available[0]}, set(available[1:])


def main(argv: cabc.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    unwind_on_sigterm()
    # Measure the checkout this script lives in, as inprocess.py does.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if not gunicorn_available():
        print("error: gunicorn is not installed", file=sys.stderr)
        return 2

    backends: list[Backend] = args.backends
    seed: int = args.seed if args.seed is not None else random.randrange(2**32)
    options = worker_args(args.workers, args.threads)
    # One core serves and the others load, so that the server and the load
    # generator never compete for the same core.
    pinning = cpu_split(not args.no_pin)

    try:
        # The same checks inprocess.py makes, on the apps in this process.
        for backend in backends:
            inprocess.sanity_check(backend, inprocess.create_app(backend))
    except inprocess.CheckFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    with (
        tempfile.TemporaryDirectory(prefix="sessionauth-server-") as tmp,
        ExitStack() as stack,
    ):
        work = Path(tmp)
        try:
            servers: dict[Backend, Gunicorn] = {}
            for backend in backends:
                server = Gunicorn(
                    f"inprocess:create_app({backend!r})",
                    options=options,
                    log_path=work / f"{backend}.log",
                    path_front=[ROOT, HERE],
                    report_modules=[inprocess.EXTENSION_MODULES.get(backend, "flask")],
                    cwd=work,
                    cpus=() if pinning is None else pinning[0],
                )
                servers[backend] = stack.enter_context(server)
            if pinning is not None:
                # wrk, or the Python clients, inherit this.
                os.sched_setaffinity(0, pinning[1])
            load = _load_generator(args, work)
            if isinstance(load, PythonLoad):
                stack.callback(load.close)
            cases: list[Case] = []
            for backend, server in servers.items():
                server.wait_ready("/me")
                cases += prepare_cases(backend, server.port)
        except (ServerFailed, CheckFailed) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

        info = {
            **inprocess.machine_info(ROOT),
            "gunicorn": gunicorn_version(),
            "load_generator": load.version(),
        }
        any_server = next(iter(servers.values()))
        print(f"Python {info['python']} on {info['platform']}; CPU: {info['cpu']}")
        settings = " ".join(any_server.command[:-1])
        print(f"server: {settings} APP (gunicorn {info['gunicorn']})")
        for backend, server in servers.items():
            for module, path in server.module_files.items():
                print(f"  {backend}: {module} from {path}")
        print(f"load: {load.description} ({info['load_generator']})")
        if pinning is not None:
            print(
                f"pinned: servers to CPU {_cpus(pinning[0])}, load generator to"
                f" CPU {_cpus(pinning[1])}"
            )
        print(
            f"{args.rounds} rounds x {args.duration} s per pair, warm-up"
            f" {args.warmup} s, seed {seed}"
        )
        if isinstance(load, PythonLoad):
            print(
                "note: the Python load generator may be slower than the servers;"
                " install wrk for figures that measure the server"
            )
        print()

        try:
            measure(
                cases,
                load,
                rounds=args.rounds,
                duration=args.duration,
                warmup=args.warmup,
                rng=random.Random(seed),
                progress=not args.quiet,
            )
            for server in servers.values():
                server.check_running()
        except (ServerFailed, CheckFailed) as exc:
            print(f"\nerror: {exc}", file=sys.stderr)
            return 2

    summary = summarise(cases)
    found = ratios(cases)
    print_table(summary, found)

    failed = False
    verdicts: list[dict[str, t.Any]] = []
    for scenario in SCENARIOS:
        ratio = next((r for r in found if r.scenario == scenario), None)
        rule = "flask_sessionauth req/s >= flask_login's"
        if ratio is None:
            verdict = "SKIP (needs flask_login and flask_sessionauth)"
            passed = None
        else:
            passed = ratio.median >= 1.0
            verdict = "PASS" if passed else "FAIL"
            failed = failed or not passed
        shown = "-" if ratio is None else f"{ratio.median:.3f}"
        print(f"budget {SCENARIO_TITLES[scenario]}: {rule}: ratio {shown} {verdict}")
        verdicts.append(
            {
                "scenario": scenario,
                "rule": rule,
                "limit": 1.0,
                "ratio": None if ratio is None else ratio.median,
                "passed": passed,
            }
        )

    if args.json is not None:
        write_json(
            args, info, options, pinning, seed, load, cases, summary, found, verdicts
        )
        print(f"wrote {args.json}")

    if failed and not args.no_check:
        return 1
    return 0


def write_json(
    args: argparse.Namespace,
    info: dict[str, t.Any],
    options: list[str],
    pinning: tuple[set[int], set[int]] | None,
    seed: int,
    load: LoadGenerator,
    cases: list[Case],
    summary: dict[Scenario, dict[Backend, Figures]],
    found: list[Ratio],
    verdicts: list[dict[str, t.Any]],
) -> None:
    results: dict[str, dict[str, t.Any]] = {}
    for case in cases:
        fig = summary[case.scenario][case.backend]
        results.setdefault(case.scenario, {})[case.backend] = {
            **fig._asdict(),
            "samples": [{**s._asdict(), "rate": s.rate} for s in case.samples],
        }
    document = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "kind": "server",
        "unit": "requests per second",
        "machine": info,
        "settings": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "seed": seed,
            "backends": args.backends,
            "gunicorn": options,
            "load_generator": load.description,
            "pinned": None
            if pinning is None
            else {"server": sorted(pinning[0]), "load": sorted(pinning[1])},
            "command": [Path(sys.executable).name, *sys.argv],
        },
        "results": {s: results[s] for s in SCENARIOS if s in results},
        "ratios": [r._asdict() for r in found],
        "budgets": verdicts,
    }
    args.json.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
