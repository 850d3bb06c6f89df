"""Draw the benchmark results for the docs.

Reads the JSON that ``inprocess.py --json``, ``server.py --json`` and
``loadtest.py --json`` wrote (by default the files in ``benchmarks/results/``)
and writes:

- ``docs/_static/benchmarks.svg``: two bar charts, the time each extension
  adds to a request in process, and requests per second through gunicorn;
- ``docs/benchmarks-results.inc``: the machine, the tables and the load test
  summary as reStructuredText, which ``docs/benchmarks.rst`` includes.

The SVG is written by hand: no plotting library is needed.

Run ``python benchmarks/chart.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import collections.abc as cabc
import json
import math
import os
import sys
import textwrap
import typing as t
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"

BACKENDS = ("floor", "flask_login", "flask_sessionauth")
SCENARIOS = ("session", "remember")
#: Every scenario's title, for the budget lines: the chart shows only
#: SCENARIOS, but inprocess.py has budgets for others too.
SCENARIO_TITLES = {
    "session": "(a) session cookie",
    "remember": "(b) remember cookie only",
    "lifetime": "(c) timeouts, no write",
    "lifetime_write": "(d) timeouts, writing",
    "anonymous": "(e) anonymous, 401",
}
COLOURS = {
    "floor": "#9aa0a6",
    "flask_login": "#e8912d",
    "flask_sessionauth": "#1f6fd1",
}
LABELS = {
    "floor": "plain Flask (floor)",
    "flask_login": "Flask-Login 0.6.3",
    "flask_sessionauth": "flask-sessionauth",
}

WIDTH = 760
LABEL_RIGHT = 200  # bar labels end here
BAR_LEFT = 210
BAR_SPACE = 440  # the longest bar
BAR_HEIGHT = 18
BAR_GAP = 5
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\""


class Bar(t.NamedTuple):
    backend: str
    value: float | None


class Panel(t.NamedTuple):
    title: str
    subtitle: str
    unit: str
    groups: list[tuple[str, list[Bar]]]
    decimals: int


def _nice_step(top: float) -> float:
    """A round tick step giving about four to eight ticks up to ``top``."""
    if top <= 0:
        return 1.0
    raw = top / 5
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _text(x: float, y: float, content: str, **attributes: str) -> str:
    extra = "".join(
        f' {name.replace("_", "-")}="{v}"' for name, v in attributes.items()
    )
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(content)}</text>'


def render_panel(panel: Panel, top: float) -> tuple[list[str], float]:
    """SVG elements for one chart starting at ``top``; returns them and the
    height used."""
    parts: list[str] = []
    y = top + 18
    parts.append(_text(20, y, panel.title, font_size="16", font_weight="600"))
    y += 18
    parts.append(_text(20, y, panel.subtitle, font_size="12", fill="#555"))
    y += 14

    values = [b.value for _, bars in panel.groups for b in bars if b.value is not None]
    highest = max([v for v in values if v > 0], default=1.0)
    step = _nice_step(highest)
    axis_top = step * math.ceil(highest / step)
    scale = BAR_SPACE / axis_top

    chart_top = y + 6
    y = chart_top
    for title, bars in panel.groups:
        y += 18
        parts.append(_text(20, y, title, font_size="13", font_weight="600"))
        y += 6
        for bar in bars:
            middle = y + BAR_HEIGHT / 2 + 4
            parts.append(
                _text(
                    LABEL_RIGHT,
                    middle,
                    LABELS.get(bar.backend, bar.backend),
                    font_size="12",
                    text_anchor="end",
                )
            )
            if bar.value is None:
                parts.append(
                    _text(BAR_LEFT + 4, middle, "not measured", font_size="12")
                )
            else:
                length = max(0.0, bar.value) * scale
                parts.append(
                    f'<rect x="{BAR_LEFT}" y="{y:.1f}" width="{length:.1f}"'
                    f' height="{BAR_HEIGHT}" rx="2"'
                    f' fill="{COLOURS.get(bar.backend, "#666")}"/>'
                )
                shown = f"{bar.value:,.{panel.decimals}f} {panel.unit}"
                parts.append(
                    _text(BAR_LEFT + length + 6, middle, shown, font_size="12")
                )
            y += BAR_HEIGHT + BAR_GAP
    chart_bottom = y + 4

    # Light vertical grid lines with their values below the bars.
    grid: list[str] = []
    tick = 0.0
    while tick <= axis_top + step / 1000:
        x = BAR_LEFT + tick * scale
        grid.append(
            f'<line x1="{x:.1f}" y1="{chart_top:.1f}" x2="{x:.1f}"'
            f' y2="{chart_bottom:.1f}" stroke="#e3e3e3" stroke-width="1"/>'
        )
        label = f"{tick:,.{panel.decimals if step < 1 else 0}f}"
        grid.append(
            _text(
                x,
                chart_bottom + 14,
                label,
                font_size="11",
                fill="#777",
                text_anchor="middle",
            )
        )
        tick += step
    return grid + parts, chart_bottom + 24 - top


def render_svg(panels: list[Panel], footer: list[str], note: str | None) -> str:
    body: list[str] = []
    y = 10.0
    # SVG text does not wrap; about 95 characters of 13 px text fit a line.
    for line in textwrap.wrap(note or "", 95):
        y += 18
        body.append(
            _text(20, y, line, font_size="13", font_weight="600", fill="#b00020")
        )
    if note:
        y += 10
    for panel in panels:
        parts, height = render_panel(panel, y)
        body += parts
        y += height + 16
    for line in footer:
        y += 15
        body.append(_text(20, y, line, font_size="11", fill="#555"))
    height = math.ceil(y + 14)
    description = "; ".join(p.title for p in panels)
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}"'
            f' height="{height}" viewBox="0 0 {WIDTH} {height}" role="img"'
            f' aria-label="{escape(description)}">',
            f"<title>{escape(description)}</title>",
            f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>',
            f'<g {FONT} fill="#222">',
            *body,
            "</g>",
            "</svg>",
            "",
        ]
    )


# -- reading the results ---------------------------------------------------------


def load(path: Path) -> dict[str, t.Any] | None:
    if not path.exists():
        return None
    data: dict[str, t.Any] = json.loads(path.read_text())
    return data


def inprocess_panel(data: dict[str, t.Any]) -> Panel:
    groups: list[tuple[str, list[Bar]]] = []
    for scenario in SCENARIOS:
        row = data["results"].get(scenario, {})
        bars = []
        for backend in ("flask_login", "flask_sessionauth"):
            fig = row.get(backend)
            value = None if fig is None else fig.get("overhead_median_ns")
            bars.append(Bar(backend, None if value is None else value / 1000))
        groups.append((SCENARIO_TITLES[scenario], bars))
    return Panel(
        "In process: time added to each request",
        "Median µs per request above plain Flask, WSGI call only. Lower is better.",
        "µs",
        groups,
        decimals=1,
    )


def server_panel(data: dict[str, t.Any]) -> Panel:
    groups: list[tuple[str, list[Bar]]] = []
    for scenario in SCENARIOS:
        row = data["results"].get(scenario, {})
        bars = [
            Bar(backend, row[backend]["median_rps"] if backend in row else None)
            for backend in BACKENDS
        ]
        groups.append((SCENARIO_TITLES[scenario], bars))
    settings = data["settings"]
    return Panel(
        "Through gunicorn: requests per second",
        f"gunicorn {' '.join(settings['gunicorn'])}, load from"
        f" {settings['load_generator']}, median of {settings['rounds']} rounds"
        f" of {settings['duration_s']} s. Higher is better.",
        "req/s",
        groups,
        decimals=0,
    )


def describe_machine(data: dict[str, t.Any]) -> str:
    machine = data["machine"]
    packages = machine.get("packages", {})
    return (
        f"{machine.get('cpu', '?')} ({machine.get('cpu_count', '?')} cores),"
        f" {machine.get('implementation', 'Python')} {machine.get('python', '?')},"
        f" Flask {packages.get('flask', '?')}, Werkzeug {packages.get('werkzeug', '?')}"
    )


# -- the reStructuredText include ------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A reST ``list-table``: unlike a simple table, an empty first cell
    does not join a row to the one above."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in [header, *rows]:
        first, *rest = cells
        lines.append(f"   * - {first}".rstrip())
        lines += [f"     - {cell}".rstrip() for cell in rest]
    return lines


def _us(ns: float | None) -> str:
    return "–" if ns is None else f"{ns / 1000:.2f}"


def _source(data: dict[str, t.Any]) -> str:
    machine = data["machine"]
    revision = machine.get("git_revision") or "unknown revision"
    when = str(data.get("generated", "?"))[:10]
    command = " ".join(data["settings"].get("command", []))
    return f"Run on {when} at {revision}: ``{command}``."


def inprocess_rst(data: dict[str, t.Any]) -> list[str]:
    rows: list[list[str]] = []
    for scenario in SCENARIOS:
        row = data["results"].get(scenario, {})
        title = SCENARIO_TITLES[scenario]
        for backend in BACKENDS:
            fig = row.get(backend)
            if fig is None:
                continue
            rows.append(
                [
                    title,
                    LABELS[backend],
                    _us(fig["median_ns"]),
                    _us(fig["min_ns"]),
                    _us(fig.get("overhead_median_ns")),
                    _us(fig.get("overhead_paired_ns")),
                ]
            )
            title = ""
    header = ["Scenario", "Backend", "median µs", "min µs", "added µs", "paired µs"]
    lines = _table(header, rows)
    lines += ["", _source(data), ""]
    budgets = data.get("budgets", [])
    for budget in budgets:
        verdict = budget.get("verdict")
        if verdict is None:
            passed = budget.get("passed")
            verdict = "SKIP" if passed is None else ("PASS" if passed else "FAIL")
        ratio = budget.get("ratio")
        shown = "–" if ratio is None else f"{ratio:.2f}"
        lines += [
            f"Budget {SCENARIO_TITLES[budget['scenario']]}: {budget['rule']}:"
            f" ratio {shown}, **{verdict}**.",
            "",
        ]
    return lines


def server_rst(data: dict[str, t.Any]) -> list[str]:
    rows: list[list[str]] = []
    ratios = {r["scenario"]: r for r in data.get("ratios", [])}
    for scenario in SCENARIOS:
        row = data["results"].get(scenario, {})
        title = SCENARIO_TITLES[scenario]
        login = row.get("flask_login")
        for backend in BACKENDS:
            fig = row.get(backend)
            if fig is None:
                continue
            against = (
                f"{fig['median_rps'] / login['median_rps']:.3f}"
                if login is not None and login["median_rps"] > 0
                else "–"
            )
            rows.append(
                [
                    title,
                    LABELS[backend],
                    f"{fig['median_rps']:.0f}",
                    f"{fig['min_rps']:.0f}–{fig['max_rps']:.0f}",
                    against,
                    "–"
                    if fig["median_p99_ms"] is None
                    else f"{fig['median_p99_ms']:.2f}",
                ]
            )
            title = ""
    header = ["Scenario", "Backend", "req/s", "range", "× Flask-Login", "p99 ms"]
    lines = _table(header, rows)
    lines += ["", _source(data), ""]
    for scenario in SCENARIOS:
        ratio = ratios.get(scenario)
        if ratio is not None:
            lines += [
                f"{SCENARIO_TITLES[scenario]}: flask-sessionauth serves"
                f" {ratio['median']:.3f}× Flask-Login's requests per second"
                f" (paired per round: {ratio['paired']:.3f}×).",
                "",
            ]
    return lines


def loadtest_rst(data: dict[str, t.Any]) -> list[str]:
    rows: list[list[str]] = []
    for name, row in data["results"].items():
        latency = row["latency_ms"]
        other = sum(row["other_status"].values()) + sum(
            row["transport_errors"].values()
        )
        rows.append(
            [
                name,
                str(row["sent"]),
                str(row["wrong_user"] + row["wrong_session_cookie"]),
                str(row["server_errors"]),
                str(other),
                "–" if latency["p50"] is None else f"{latency['p50']:.1f}",
                "–" if latency["p99"] is None else f"{latency['p99']:.1f}",
            ]
        )
    settings = data["settings"]
    header = [
        "Credentials",
        "requests",
        "wrong user",
        "5xx",
        "other",
        "p50 ms",
        "p99 ms",
    ]
    lines = _table(header, rows)
    lines += [
        "",
        f"{settings['users']} users, {settings['concurrency']} client threads,"
        f" ``gunicorn {' '.join(settings['gunicorn'])}``, password hash"
        f" {settings.get('hash_method') or 'werkzeug default (scrypt)'}:"
        f" {data.get('requests_per_second')} requests/s, verdict"
        f" **{data.get('verdict')}**.",
        "",
        _source(data),
    ]
    return lines


def render_rst(
    inprocess: dict[str, t.Any] | None,
    server: dict[str, t.Any] | None,
    loadtest: dict[str, t.Any] | None,
    note: str | None,
    image: str,
) -> str:
    lines = [
        ".. This file is written by benchmarks/chart.py; edit that, not this.",
        "",
    ]
    if note:
        lines += [
            ".. warning::",
            "",
            *textwrap.wrap(note, 76, initial_indent="   ", subsequent_indent="   "),
            "",
        ]
    lines += [
        f".. image:: {image}",
        "   :alt: Bar charts: the microseconds each extension adds to a request in",
        "         process, and the requests per second each backend serves through",
        "         gunicorn, for the session cookie and the remember cookie.",
        "",
    ]
    any_data = inprocess or server or loadtest
    if any_data is not None:
        lines += [
            "Machine",
            "~~~~~~~",
            "",
            describe_machine(any_data) + ".",
            "",
        ]
    sections = [
        ("In process", inprocess, inprocess_rst),
        ("Through gunicorn", server, server_rst),
        ("Load test of the example app", loadtest, loadtest_rst),
    ]
    for title, data, render in sections:
        lines += [title, "~" * len(title), ""]
        lines += ["Not measured yet.", ""] if data is None else [*render(data), ""]
    return "\n".join(lines).rstrip() + "\n"


# -- command line ----------------------------------------------------------------


def parse_args(argv: cabc.Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Draw the benchmark results as an SVG chart and write the"
        " tables the docs include.",
    )
    parser.add_argument(
        "--inprocess", type=Path, default=RESULTS / "inprocess.json", help="%(default)s"
    )
    parser.add_argument(
        "--server", type=Path, default=RESULTS / "server.json", help="%(default)s"
    )
    parser.add_argument(
        "--loadtest", type=Path, default=RESULTS / "loadtest.json", help="%(default)s"
    )
    parser.add_argument(
        "--svg",
        type=Path,
        default=ROOT / "docs" / "_static" / "benchmarks.svg",
        help="%(default)s",
    )
    parser.add_argument(
        "--rst",
        type=Path,
        default=ROOT / "docs" / "benchmarks-results.inc",
        help="%(default)s",
    )
    parser.add_argument(
        "--note",
        help="a warning shown above the chart and the tables, such as"
        " 'Preliminary: ...'",
    )
    return parser.parse_args(argv)


def main(argv: cabc.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    inprocess = load(args.inprocess)
    server = load(args.server)
    loadtest = load(args.loadtest)
    if inprocess is None and server is None:
        print(
            f"error: neither {args.inprocess} nor {args.server} exists;"
            " run inprocess.py and server.py with --json first",
            file=sys.stderr,
        )
        return 2

    panels: list[Panel] = []
    footer: list[str] = []
    if inprocess is not None:
        panels.append(inprocess_panel(inprocess))
    if server is not None:
        panels.append(server_panel(server))
    source = inprocess if inprocess is not None else server
    assert source is not None
    footer.append(describe_machine(source))
    footer.append(
        f"Generated {str(source.get('generated', '?'))[:10]} from"
        f" {source['machine'].get('git_revision') or 'unknown revision'};"
        " see benchmarks/README.md for the method."
    )

    args.svg.parent.mkdir(parents=True, exist_ok=True)
    args.svg.write_text(render_svg(panels, footer, args.note))
    # A leading slash makes Sphinx resolve the image from the source folder,
    # whichever document includes the file.
    image = "/" + os.path.relpath(args.svg, args.rst.parent).replace(os.sep, "/")
    args.rst.write_text(render_rst(inprocess, server, loadtest, args.note, image))
    print(f"wrote {args.svg} and {args.rst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
