"""The user protocol, and mixins that implement it."""

from __future__ import annotations

import typing as t


@t.runtime_checkable
class UserProtocol(t.Protocol):
    """What the extension needs of a user object, logged in or anonymous.

    A class may also offer ``get_session_token() -> str | None`` to make its
    sessions revocable; see :ref:`revocation`.
    """

    @property
    def is_authenticated(self) -> bool:
        """True for a logged-in user: :func:`login_required` lets only these
        through."""
        ...

    @property
    def is_active(self) -> bool:
        """False for an account that may not log in: :func:`login_user`
        refuses it unless ``force=True``."""
        ...

    @property
    def is_anonymous(self) -> bool:
        """True only for the anonymous user."""
        ...

    def get_id(self) -> str | None:
        """The id to store in the session, which the user loader accepts
        back: a :class:`str` (flask-login also allowed an int or a UUID); None
        for the anonymous user."""
        ...


class UserMixin:
    """Default implementations of :class:`UserProtocol` for a user model with
    an ``id`` attribute.

    Users compare equal when their :meth:`get_id` values are equal.
    """

    # Defining __eq__ would otherwise drop the default hash.
    __hash__ = object.__hash__

    @property
    def is_active(self) -> bool:
        return True

    @property
    def is_authenticated(self) -> bool:
        return self.is_active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        try:
            return str(self.id)  # type: ignore[attr-defined]
        except AttributeError:
            # Begins with flask-login's words, which tests match on.
            raise NotImplementedError(
                f"No `id` attribute - override `get_id`: {type(self).__name__}"
                " has no 'id' attribute. Add one, or override get_id() to"
                " return the user's id as a string."
            ) from None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UserMixin):
            return self.get_id() == other.get_id()

        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)

        if equal is NotImplemented:
            return NotImplemented

        return not equal


class AnonymousUserMixin:
    """The user when nobody is logged in."""

    @property
    def is_authenticated(self) -> bool:
        return False

    @property
    def is_active(self) -> bool:
        return False

    @property
    def is_anonymous(self) -> bool:
        return True

    def get_id(self) -> None:
        return None


def session_token(user: object) -> str | None:
    """The session token of ``user``: what its ``get_session_token()``
    returns, or None for a class without one.

    :raises TypeError: ``get_session_token()`` returned something other than
        a :class:`str` or None.
    """
    getter = getattr(user, "get_session_token", None)

    if getter is None:
        return None

    token = getter()

    if token is None or isinstance(token, str):
        return token

    raise TypeError(
        f"{type(user).__name__}.get_session_token() must return a str or"
        f" None, not {type(token).__name__}."
    )
