"""Runtime facts the type annotations rely on, and mypy run over
``typing_samples.py`` (code that must type-check) and over code that must not.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import typing as t
from pathlib import Path

import pytest
from flask import Flask

import flask_sessionauth
from flask_sessionauth import AnonymousUserMixin
from flask_sessionauth import current_user
from flask_sessionauth import fresh_login_required
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import UserProtocol
from helpers import TokenUser
from helpers import User

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "typing_samples.py"

Decorator = t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]
DECORATORS = pytest.mark.parametrize(
    "decorator",
    [login_required, fresh_login_required],
    ids=["login_required", "fresh_login_required"],
)


def transfer(amount: int, to: str, *, note: str | None = None) -> dict[str, int]:
    return {to: amount}


async def fetch(item_id: int, /, *tags: str, **extra: float) -> list[str]:
    return [str(item_id), *tags, *extra]


# decorators keep what the types promise ------------------------------------


@DECORATORS
@pytest.mark.parametrize("func", [transfer, fetch], ids=["sync", "async"])
def test_decorator_preserves_signature(
    decorator: Decorator, func: t.Callable[..., t.Any]
) -> None:
    guarded = decorator(func)

    assert inspect.signature(guarded) == inspect.signature(func)
    assert t.get_type_hints(guarded) == t.get_type_hints(func)


@DECORATORS
@pytest.mark.parametrize(
    ("func", "is_coroutine"), [(transfer, False), (fetch, True)], ids=["sync", "async"]
)
def test_decorator_keeps_coroutine_functions_coroutine_functions(
    decorator: Decorator, func: t.Callable[..., t.Any], is_coroutine: bool
) -> None:
    # Callable[P, R] -> Callable[P, R]: an async view must still return an
    # awaitable, or its declared return type would be a lie.
    assert inspect.iscoroutinefunction(decorator(func)) is is_coroutine


@DECORATORS
def test_decorated_coroutine_can_be_awaited_directly(
    app: Flask, users: dict[str, User], decorator: Decorator
) -> None:
    guarded = decorator(fetch)

    with app.test_request_context():
        login_user(users["1"])
        result = asyncio.run(guarded(7, "a", "b", weight=1.5))

    assert result == ["7", "a", "b", "weight"]


# UserProtocol --------------------------------------------------------------


class DuckUser:
    """A user that uses no mixin but has everything the protocol needs."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return "duck"


class NoGetId:
    is_authenticated = True
    is_active = True
    is_anonymous = False


def test_user_protocol_is_runtime_checkable() -> None:
    assert getattr(UserProtocol, "_is_runtime_protocol", False) is True


@pytest.mark.parametrize(
    "user",
    [User("1", "alice"), TokenUser("2", "bob", token="x"), AnonymousUserMixin()],
    ids=["User", "TokenUser", "AnonymousUserMixin"],
)
def test_mixin_users_satisfy_user_protocol(user: object) -> None:
    assert isinstance(user, UserProtocol)


def test_duck_typed_user_satisfies_user_protocol() -> None:
    assert isinstance(DuckUser(), UserProtocol)


@pytest.mark.parametrize("value", [object(), NoGetId(), "1"])
def test_non_users_do_not_satisfy_user_protocol(value: object) -> None:
    assert not isinstance(value, UserProtocol)


def test_current_user_object_satisfies_user_protocol(
    app: Flask, users: dict[str, User]
) -> None:
    with app.test_request_context():
        assert isinstance(current_user._get_current_object(), UserProtocol)
        login_user(users["1"])
        user = current_user._get_current_object()
        assert isinstance(user, UserProtocol)
        assert user is users["1"]


def test_package_ships_py_typed() -> None:
    assert (Path(flask_sessionauth.__file__).parent / "py.typed").is_file()


# the samples run -----------------------------------------------------------


def test_typing_samples_are_working_code() -> None:
    samples = importlib.import_module("typing_samples")
    client = samples.app.test_client()

    assert client.get("/").text == "hello stranger"
    assert client.get("/me").status_code == 401
    assert client.get("/close").status_code == 401
    assert client.get("/login/1").text == "ok"
    assert client.get("/").text == "hello 1"
    assert client.get("/me").text == "ada@example.com ada@example.com"
    assert client.get("/invoice/5").text == "5 USD"
    assert client.get("/close").text == "True"
    assert client.get("/logout").text == "True"


# mypy ----------------------------------------------------------------------

BAD_SAMPLE = """\
from __future__ import annotations

from flask_sessionauth import current_user
from flask_sessionauth import fresh_login_required
from flask_sessionauth import login_required


@login_required
def invoice(number: int, *, currency: str = "EUR") -> str:
    return f"{number} {currency}"


@fresh_login_required
async def close_account(reason: str) -> bool:
    return bool(reason)


def misuse() -> None:
    invoice("one")
    invoice(1, colour="red")
    total: int = invoice(1)
    flag: bool = close_account("why")
    current_user.email
"""

#: Line of ``BAD_SAMPLE`` -> what mypy must say about it.
BAD_LINES = {
    19: 'Argument 1 to "invoice" has incompatible type "str"; expected "int"',
    20: 'Unexpected keyword argument "colour" for "invoice"',
    21: 'Incompatible types in assignment (expression has type "str"',
    22: "Coroutine[Any, Any, bool]",
    23: 'has no attribute "email"',
}


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    import mypy.api as api

    work = tmp_path_factory.mktemp("mypy")
    bad = work / "bad_sample.py"
    bad.write_text(BAD_SAMPLE)
    # The package is found from the project root, as when running mypy there.
    args = [
        "--strict",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--cache-dir",
        str(work / "cache"),
        "--show-error-codes",
        "--no-pretty",
        str(SAMPLES),
        str(bad),
    ]
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(ROOT)
        stdout, stderr, status = api.run(args)

    return stdout + stderr, status


@pytest.mark.slow
def test_mypy_accepts_typing_samples(mypy_output: tuple[str, int]) -> None:
    output, _ = mypy_output
    sample_errors = [line for line in output.splitlines() if "typing_samples" in line]

    assert sample_errors == []
    assert "bad_sample.py" in output, output


@pytest.mark.slow
@pytest.mark.parametrize("line", sorted(BAD_LINES))
def test_mypy_rejects_misuse(mypy_output: tuple[str, int], line: int) -> None:
    output, status = mypy_output
    errors = [
        entry
        for entry in output.splitlines()
        if f"bad_sample.py:{line}: error" in entry
    ]

    assert status == 1
    assert any(BAD_LINES[line] in entry for entry in errors), output


@pytest.mark.slow
def test_mypy_flags_only_the_misuse(mypy_output: tuple[str, int]) -> None:
    output, _ = mypy_output
    lines = {
        int(entry.split(":")[1])
        for entry in output.splitlines()
        if "bad_sample.py:" in entry and ": error:" in entry
    }

    assert lines == set(BAD_LINES)
