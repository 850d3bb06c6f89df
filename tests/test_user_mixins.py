""":class:`UserMixin`, the base of the app's user class, and
:class:`AnonymousUserMixin`, the default ``current_user`` of a request
without a login.
"""

from __future__ import annotations

import pytest

from flask_sessionauth import AnonymousUserMixin
from flask_sessionauth import UserMixin
from flask_sessionauth import UserProtocol
from helpers import User


class NumberedUser(UserMixin):
    def __init__(self, id: int) -> None:
        self.id = id


class NoIdUser(UserMixin):
    pass


@pytest.mark.parametrize(("active", "expected"), [(True, True), (False, False)])
def test_user_mixin_is_authenticated_follows_is_active(
    active: bool, expected: bool
) -> None:
    user = User("1", "alice", active=active)

    assert user.is_active is expected
    assert user.is_authenticated is expected
    assert user.is_anonymous is False


def test_user_mixin_defaults() -> None:
    user = NumberedUser(5)

    assert user.is_active is True
    assert user.is_authenticated is True
    assert user.is_anonymous is False


def test_user_mixin_get_id_is_str_of_id() -> None:
    assert NumberedUser(42).get_id() == "42"


def test_user_mixin_get_id_without_id_raises() -> None:
    with pytest.raises(NotImplementedError, match="get_id"):
        NoIdUser().get_id()


def test_user_mixin_equality_uses_get_id() -> None:
    assert User("1", "alice") == User("1", "someone else")
    assert User("1", "alice") != User("2", "alice")
    assert not (User("1", "a") != User("1", "b"))
    assert NumberedUser(1) == User("1", "alice")


def test_user_mixin_is_not_equal_to_other_types() -> None:
    user = User("1", "alice")

    assert user != "1"
    assert not (user == "1")
    assert user.__eq__("1") is NotImplemented
    assert user.__ne__("1") is NotImplemented


def test_user_mixin_is_hashable() -> None:
    user = User("1", "alice")

    assert hash(user) == hash(user)
    assert user in {user}
    assert {user: "x"}[user] == "x"


def test_anonymous_user_mixin() -> None:
    anonymous: UserProtocol = AnonymousUserMixin()

    assert anonymous.is_authenticated is False
    assert anonymous.is_active is False
    assert anonymous.is_anonymous is True
    assert anonymous.get_id() is None
