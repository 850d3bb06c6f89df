"""A short run of ``benchmarks/loadtest.py``: the example app under gunicorn,
50 users logged in, 1,000 concurrent requests with session cookies, remember
cookies and HTTP Basic, each answered for exactly the right user.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "loadtest.py"
USERS = 50
REQUESTS = 1000


@pytest.fixture
def gunicorn() -> None:
    if importlib.util.find_spec("gunicorn") is not None:
        return
    message = "gunicorn is not installed (pip install -r example_app/requirements.txt)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI=true, so this is an error, not a skip")
    pytest.skip(message)


def test_concurrent_requests_are_answered_for_the_right_user(
    tmp_path: Path, gunicorn: None
) -> None:
    report_path = tmp_path / "loadtest.json"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--users",
            str(USERS),
            "--requests",
            str(REQUESTS),
            "--concurrency",
            "16",
            "--mix",
            "session=45,remember=45,basic=10",
            # Basic requests check the password each time; a cheap hash keeps
            # the run short. The server still checks it with werkzeug.
            "--hash-method",
            "pbkdf2:sha256:1000",
            "--seed",
            "5",
            "--max-seconds",
            "90",
            "--json",
            str(report_path),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert report_path.exists(), output
    report = json.loads(report_path.read_text())
    results = report["results"]
    total = results["all"]

    assert total["wrong_user"] == 0, output
    assert total["wrong_session_cookie"] == 0, output
    assert total["server_errors"] == 0, output
    assert total["other_status"] == {}, output
    assert total["transport_errors"] == {}, output
    assert total["sent"] == total["ok"] == REQUESTS, output
    assert report["settings"]["users"] == USERS
    # Each kind of credential really was exercised.
    for method in ("session cookie", "remember cookie", "HTTP Basic"):
        assert results[method]["ok"] > 0, output
    assert done.returncode == 0, output
