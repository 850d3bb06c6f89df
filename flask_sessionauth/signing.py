"""Keys and signatures: the itsdangerous objects that sign remember cookies
and session tokens with the app's keys, current key first, and the rule by
which a login or a cookie stays bound to a user's session token.
"""

from __future__ import annotations

import enum
import functools
import typing as t
from hashlib import sha256

from itsdangerous import BadSignature
from itsdangerous import Signer

from .config import setting

if t.TYPE_CHECKING:
    from .config import Config

#: The itsdangerous salt of remember cookies; a named realm's cookies are
#: signed with this salt followed by ``.<realm>``.
REMEMBER_SALT = "flask-sessionauth.remember"
#: The itsdangerous salt of session token signatures.
TOKEN_SALT = "flask-sessionauth.session-token"


def secret_keys(config: Config) -> list[t.Any]:
    """The keys to verify with, oldest first, so that the last one, the
    current ``SECRET_KEY``, is the one itsdangerous signs with.
    """
    key = config.get("SECRET_KEY")

    if not key:
        raise RuntimeError(
            "The remember cookie and session tokens are signed with the app's"
            " secret key, and SECRET_KEY is not set. Set app.secret_key or"
            " app.config['SECRET_KEY'] to a long random value."
        )

    fallbacks = config.get("SECRET_KEY_FALLBACKS") or ()

    if isinstance(fallbacks, str | bytes):
        raise TypeError(
            "SECRET_KEY_FALLBACKS must be a list of keys, not a single key."
            " For example: app.config['SECRET_KEY_FALLBACKS'] = [old_key]."
        )

    return [*fallbacks, key]


class _KeyCachingSigner(Signer):
    """A signer that derives each key once rather than for every signature:
    keyrings are kept for as long as their keys stay the same.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[str | bytes | None, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        try:
            return self._derived[secret_key]
        except KeyError:
            key = self._derived[secret_key] = super().derive_key(secret_key)
            return key


class KeyMatch(enum.Enum):
    """Which key a signature was made with."""

    NONE = enum.auto()
    #: The current ``SECRET_KEY``.
    CURRENT = enum.auto()
    #: A key in ``SECRET_KEY_FALLBACKS``: valid, but worth signing again so
    #: that it outlives the key.
    FALLBACK = enum.auto()


def _remember_signer(keys: list[t.Any], realm: str | None = None) -> Signer:
    salt = REMEMBER_SALT if realm is None else f"{REMEMBER_SALT}.{realm}"
    return _KeyCachingSigner(keys, salt=salt, digest_method=sha256)


def _token_signer(keys: list[t.Any]) -> Signer:
    return _KeyCachingSigner(keys, salt=TOKEN_SALT, digest_method=sha256)


class Keyring:
    """The itsdangerous objects for one set of keys.

    Signatures are checked with the current key first, and with the fallback
    keys only when that fails, so the caller learns which one matched.
    """

    def __init__(self, keys: list[t.Any]) -> None:
        self._keys = keys
        current, old = keys[-1:], keys[:-1]
        self._remember = _remember_signer(current)
        self._token = _token_signer(current)
        self._old_remember = _remember_signer(old) if old else None
        self._old_token = _token_signer(old) if old else None
        # A named realm's remember cookies are signed with a salt of their
        # own; their signers are made on first use.
        self._realm_remember: dict[str, tuple[Signer, Signer | None]] = {}

    def _remember_signers(self, realm: str | None) -> tuple[Signer, Signer | None]:
        if realm is None:
            return self._remember, self._old_remember

        try:
            return self._realm_remember[realm]
        except KeyError:
            current, old = self._keys[-1:], self._keys[:-1]
            signers = self._realm_remember[realm] = (
                _remember_signer(current, realm),
                _remember_signer(old, realm) if old else None,
            )
            return signers

    def sign_remember(self, payload: str, realm: str | None = None) -> str:
        """Sign a remember cookie's payload of ``realm`` (by default the
        default realm) with the current key.
        """
        return self._remember_signers(realm)[0].sign(payload).decode("ascii")

    def unsign_remember(
        self, value: str, realm: str | None = None
    ) -> tuple[bytes, KeyMatch]:
        """Verify a remember cookie of ``realm`` (by default the default
        realm); return its payload and the key that signed it.

        :raises itsdangerous.BadSignature: The cookie is not valid.
        """
        current, old = self._remember_signers(realm)

        try:
            return current.unsign(value), KeyMatch.CURRENT
        except BadSignature:
            if old is None:
                raise

            return old.unsign(value), KeyMatch.FALLBACK

    def sign_token(self, token: str) -> str:
        """The signature of a session token, as stored in the session."""
        return self._token.get_signature(token).decode("ascii")

    def verify_token(self, token: str, signature: object) -> KeyMatch:
        """Which key, if any, ``signature`` of ``token`` was made with."""
        if not isinstance(signature, str) or len(signature) > 256:
            return KeyMatch.NONE

        try:
            raw = signature.encode("ascii")
        except UnicodeError:
            return KeyMatch.NONE

        if self._token.verify_signature(token, raw):
            return KeyMatch.CURRENT

        if self._old_token is not None and self._old_token.verify_signature(token, raw):
            return KeyMatch.FALLBACK

        return KeyMatch.NONE

    def binding(
        self, token: str, signature: object, *, accept_unbound: bool
    ) -> str | None:
        """The token signature that a login or cookie bound by ``signature``
        carries from now on, or None when it is revoked.

        - A signature of ``token`` made with the current key holds as it is.
        - One made with a key in ``SECRET_KEY_FALLBACKS`` holds, signed again
          with the current key so that it outlives the old key.
        - No signature at all (a login from before the user had a token, or
          from flask-login) is bound now when ``accept_unbound``
          (``SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS``), so that the next change
          of the token revokes it.
        - Anything else is revoked.
        """
        if signature is None:
            return self.sign_token(token) if accept_unbound else None

        match = self.verify_token(token, signature)

        if match is KeyMatch.CURRENT:
            return signature  # type: ignore[return-value]

        if match is KeyMatch.FALLBACK:
            return self.sign_token(token)

        return None


@functools.lru_cache(maxsize=32)
def _cached_keyring(keys: tuple[t.Any, ...]) -> Keyring:
    return Keyring(list(keys))


def keyring(config: Config) -> Keyring:
    """The :class:`Keyring` for the app's current keys.

    Keyrings hold nothing but what their keys determine, so one is
    made per set of keys and reused: building the signers again on every
    request would cost more than using them.

    :raises RuntimeError: ``SECRET_KEY`` is not set.
    """
    keys = tuple(secret_keys(config))

    try:
        return _cached_keyring(keys)
    except TypeError:  # an unhashable key
        return Keyring(list(keys))


def binding(config: Config, token: str, signature: object) -> str | None:
    """:meth:`Keyring.binding` with the app's keys, accepting an unbound
    login or cookie as ``SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS`` says: the
    token signature ``signature`` carries from now on, or None when revoked.
    """
    return keyring(config).binding(
        token,
        signature,
        accept_unbound=setting(config, "SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS"),
    )
