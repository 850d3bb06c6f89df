"""A short run of ``benchmarks/loadtest_registry.py``: the example app under
gunicorn with its login registry off, in memory and on a real Redis; 50
users on two devices each, 1,000 requests per configuration, ten devices
signed out while the load runs. No answer may name the wrong user, be a 5xx,
or serve a device after its sign-out returned.

It takes a while, so it runs once per CI run: in tox's py312 env, which sets
``SESSIONAUTH_REGISTRY_LOADTEST=1``. Set it yourself to run it elsewhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import redis_server_binary

pytestmark = [pytest.mark.slow, pytest.mark.redis]

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "loadtest_registry.py"
USERS = 50
REQUESTS = 1000
REVOKE = 10
#: registry:workers. The in-memory registry is per process: one worker.
CONFIGS = ("off:4", "memory:1", "redis:4")


def test_registry_under_load_never_serves_a_revoked_device(tmp_path: Path) -> None:
    if os.environ.get("SESSIONAUTH_REGISTRY_LOADTEST") != "1":
        pytest.skip(
            "runs once per CI run, in tox's py312 env; set"
            " SESSIONAUTH_REGISTRY_LOADTEST=1 to run it here"
        )

    binary = redis_server_binary()

    if importlib.util.find_spec("gunicorn") is None:
        message = "gunicorn is not installed (pip install -r requirements/tests.txt)"

        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true, so this is an error, not a skip")

        pytest.skip(message)

    report_path = tmp_path / "loadtest_registry.json"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--configs",
            ",".join(CONFIGS),
            "--users",
            str(USERS),
            "--devices",
            "2",
            "--requests",
            str(REQUESTS),
            "--revoke",
            str(REVOKE),
            "--concurrency",
            "16",
            "--seed",
            "16",
            "--max-seconds",
            "120",
            "--json",
            str(report_path),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "REDIS_SERVER": binary},
    )
    output = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert report_path.exists(), output
    report = json.loads(report_path.read_text())
    runs = {run["config"]: run for run in report["runs"]}
    assert sorted(runs) == sorted(CONFIGS), output

    for name, run in runs.items():
        results = run["results"]
        assert results["wrong_user"] == 0, output
        assert results["wrong_session_cookie"] == 0, output
        assert results["server_errors"] == 0, output
        assert results["served_after_revocation"] == 0, output
        assert results["refused_while_not_revoked"] == 0, output
        assert results["other_status"] == {}, output
        assert results["transport_errors"] == {}, output
        assert run["server_tracebacks"] == 0, output
        assert results["sent"] == REQUESTS, output
        assert run["requests_per_second"] > 0, output

        if name.startswith("off"):
            assert run["revoked"] == 0, output
            assert results["ok"] == REQUESTS, output
        else:
            # Every planned sign-out happened while the load ran, and the
            # signed-out devices' later requests were refused.
            assert run["revoked"] == REVOKE, output
            assert run["revoke_errors"] == [], output
            assert results["refused_after_revocation"] > 0, output
            assert (
                results["ok"]
                + results["refused_after_revocation"]
                + results["refused_while_revoking"]
                == REQUESTS
            ), output

    assert report["verdict"] == "PASS", output
    assert done.returncode == 0, output
