"""The "remember me" cookie: reading, writing and deleting it.

Two formats are read:

-   The current one: ``[user_id, seconds, token_signature]`` serialized and
    signed with a timestamp by itsdangerous, under a salt of this extension.
    Its age is checked on the server against the duration it was issued for,
    so a cookie a browser keeps too long is still refused.
-   flask-login's ``user_id|hmac-sha512`` (:func:`encode_cookie`). It is
    accepted unless ``REMEMBER_COOKIE_ACCEPT_LEGACY`` is false, and replaced by
    the current format when it is used.
"""

from __future__ import annotations

import enum
import functools
import hmac
import logging
import typing as t
from datetime import datetime
from datetime import timezone
from hashlib import sha256
from hashlib import sha512

from flask import current_app
from itsdangerous import BadData
from itsdangerous import BadSignature
from itsdangerous import BadTimeSignature
from itsdangerous import Signer
from itsdangerous import TimestampSigner
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import want_bytes

from .config import MAX_REMEMBER_SECONDS
from .config import MAX_USER_ID_LENGTH
from .config import remember_seconds
from .config import setting

if t.TYPE_CHECKING:
    from flask import Config
    from werkzeug.wrappers import Response

logger = logging.getLogger("flask_sessionauth")

#: The itsdangerous salt of remember cookies.
REMEMBER_SALT = "flask-sessionauth.remember"
#: The itsdangerous salt of session token signatures.
TOKEN_SALT = "flask-sessionauth.session-token"
#: Cookies longer than this are refused unread. Browsers cap a cookie at 4096
#: bytes, so a longer one was not set by this extension.
MAX_COOKIE_LENGTH = 4096
#: A cookie signed this many seconds in the future is still accepted, to
#: allow for clocks that differ a little between app servers.
CLOCK_SKEW = 60.0


class CookieAction(enum.Enum):
    """Remember-cookie work that the ``after_request`` hook will do."""

    #: Issue a cookie for the login in the session.
    SET = enum.auto()
    #: Delete the cookie.
    CLEAR = enum.auto()
    #: Renew the cookie the client sent, if it is still valid
    #: (``REMEMBER_COOKIE_REFRESH_EACH_REQUEST``).
    REFRESH = enum.auto()


class RememberCookie(t.NamedTuple):
    """What a valid remember cookie says. A named tuple, as cheap to make
    as a value can be: one is made on every request that sends the cookie.
    """

    #: The user id, as the user's id attribute returned it.
    user_id: str
    #: How long the cookie was issued for, or None for a legacy cookie.
    seconds: float | None
    #: The signature of the session token the login was bound to, if any.
    token_signature: str | None
    #: Whether the cookie is in flask-login's format.
    legacy: bool = False
    #: Whether it was signed with a key that is now a fallback.
    stale: bool = False


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


class _RememberSigner(_KeyCachingSigner, TimestampSigner):
    """The remember cookie's timestamp signer, on the login manager's clock."""

    def __init__(
        self, *args: t.Any, clock: t.Callable[[], float], **kwargs: t.Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


class _RememberSerializer(URLSafeTimedSerializer):
    """Makes its signer once, not for every cookie, so that the signer's
    derived keys are kept too.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._signer = super().make_signer()

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        if salt is None or want_bytes(salt) == self.salt:
            return self._signer

        return super().make_signer(salt)


class KeyMatch(enum.Enum):
    """Which key a signature was made with."""

    NONE = enum.auto()
    #: The current ``SECRET_KEY``.
    CURRENT = enum.auto()
    #: A key in ``SECRET_KEY_FALLBACKS``: valid, but worth signing again so
    #: that it outlives the key.
    FALLBACK = enum.auto()


def _remember_serializer(
    keys: list[t.Any], clock: t.Callable[[], float]
) -> URLSafeTimedSerializer:
    return _RememberSerializer(
        keys,
        salt=REMEMBER_SALT,
        signer=_RememberSigner,
        signer_kwargs={"digest_method": sha256, "clock": clock},
    )


def _token_signer(keys: list[t.Any]) -> Signer:
    return _KeyCachingSigner(keys, salt=TOKEN_SALT, digest_method=sha256)


class Keyring:
    """The itsdangerous objects for one set of keys.

    Signatures are checked with the current key first, and with the fallback
    keys only when that fails, so the caller learns which one matched.
    """

    def __init__(self, keys: list[t.Any], clock: t.Callable[[], float]) -> None:
        current, old = keys[-1:], keys[:-1]
        self._remember = _remember_serializer(current, clock)
        self._token = _token_signer(current)
        self._old_remember = _remember_serializer(old, clock) if old else None
        self._old_token = _token_signer(old) if old else None

    def dump_remember(self, data: list[t.Any]) -> str:
        """Sign and serialize a remember cookie's data, timestamped now."""
        return self._remember.dumps(data)

    def load_remember(self, value: str) -> tuple[t.Any, float, KeyMatch]:
        """Verify a remember cookie and return its data, when it was signed
        (seconds since the epoch) and the key that signed it.

        :raises itsdangerous.BadData: The cookie is not valid.
        """
        try:
            data, signed_at = self._load(self._remember, value)
            match = KeyMatch.CURRENT
        except BadSignature:
            if self._old_remember is None:
                raise

            data, signed_at = self._load(self._old_remember, value)
            match = KeyMatch.FALLBACK

        return data, signed_at.timestamp(), match

    @staticmethod
    def _load(serializer: URLSafeTimedSerializer, value: str) -> tuple[t.Any, t.Any]:
        try:
            return serializer.loads(value, return_timestamp=True)  # type: ignore[no-any-return]
        except (ValueError, OverflowError, OSError) as exc:
            # A correctly signed timestamp too large for a datetime escapes
            # itsdangerous as the error datetime raised; only a key holder
            # can send one, but it is still bad data, not a server error.
            raise BadTimeSignature("Malformed timestamp") from exc

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


@functools.lru_cache(maxsize=32)
def _cached_keyring(keys: tuple[t.Any, ...], clock: t.Callable[[], float]) -> Keyring:
    return Keyring(list(keys), clock)


def keyring(config: Config, clock: t.Callable[[], float]) -> Keyring:
    """The :class:`Keyring` for the app's current keys and ``clock``.

    Keyrings hold nothing but what their keys and clock determine, so one is
    made per set of keys and reused: building the signers again on every
    request would cost more than using them.

    :raises RuntimeError: ``SECRET_KEY`` is not set.
    """
    keys = tuple(secret_keys(config))

    try:
        return _cached_keyring(keys, clock)
    except TypeError:  # an unhashable key or clock
        return Keyring(list(keys), clock)


def _legacy_key(key: str | bytes) -> bytes:
    if isinstance(key, bytes):
        return key

    # flask-login encodes a str key as latin-1; keys it could not encode
    # never produced a cookie, so utf-8 is only a fallback.
    try:
        return key.encode("latin-1")
    except UnicodeEncodeError:
        return key.encode("utf-8")


def _legacy_digest(payload: str, key: str | bytes) -> str:
    return hmac.new(_legacy_key(key), payload.encode("utf-8"), sha512).hexdigest()


def encode_cookie(payload: str, key: str | bytes | None = None) -> str:
    """Sign ``payload`` in flask-login's remember-cookie format,
    ``payload|hmac-sha512-hex``, with ``key`` or the app's ``SECRET_KEY``.

    This extension writes its own, timestamped format; this function exists
    for code that used flask-login's.
    """
    signing_key = secret_keys(current_app.config)[-1] if key is None else key
    return f"{payload}|{_legacy_digest(payload, signing_key)}"


def decode_cookie(cookie: str, key: str | bytes | None = None) -> str | None:
    """Return the payload of a cookie made by :func:`encode_cookie`, or None
    if it is malformed or its signature does not match.

    Without ``key`` the app's ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` are
    tried.
    """
    try:
        payload, digest = cookie.rsplit("|", 1)
    except (AttributeError, ValueError):
        return None

    keys = [key] if key is not None else secret_keys(current_app.config)

    try:
        for candidate in keys:
            if hmac.compare_digest(_legacy_digest(payload, candidate), digest):
                return payload
    except (TypeError, UnicodeError):
        # compare_digest refuses non-ASCII str; no digest is non-ASCII.
        return None

    return None


def _is_legacy(value: str) -> bool:
    _, sep, digest = value.rpartition("|")
    return bool(sep) and len(digest) == 128


def load(
    value: str,
    config: Config,
    keyring: Keyring,
    now: float,
) -> RememberCookie | None:
    """Check a remember cookie and return what it says, or None if it is
    malformed, tampered with, expired or in a format that is refused.
    """
    if not value or len(value) > MAX_COOKIE_LENGTH:
        logger.debug("Refused a remember cookie: empty or too long.")
        return None

    if _is_legacy(value):
        if not setting(config, "REMEMBER_COOKIE_ACCEPT_LEGACY"):
            logger.debug("Refused a flask-login remember cookie (legacy off).")
            return None

        user_id = decode_cookie(value)

        if not user_id or len(user_id) > MAX_USER_ID_LENGTH:
            logger.debug("Refused a flask-login remember cookie: bad digest.")
            return None

        return RememberCookie(user_id, None, None, legacy=True)

    try:
        data, signed_at, match = keyring.load_remember(value)
    except BadData as exc:
        logger.debug("Refused a remember cookie: %s", exc)
        return None

    if not (
        isinstance(data, list)
        and len(data) == 3
        and isinstance(data[0], str)
        and 0 < len(data[0]) <= MAX_USER_ID_LENGTH
        and isinstance(data[1], int | float)
        and not isinstance(data[1], bool)
        and 0 < data[1] <= MAX_REMEMBER_SECONDS
        and (data[2] is None or isinstance(data[2], str))
    ):
        logger.debug("Refused a remember cookie: unexpected contents.")
        return None

    user_id, duration, signature = data
    age = now - signed_at

    if age > duration or age < -CLOCK_SKEW:
        logger.debug("Refused a remember cookie: %d seconds old.", age)
        return None

    stale = match is KeyMatch.FALLBACK
    return RememberCookie(user_id, float(duration), signature, stale=stale)


def read(
    config: Config, clock: t.Callable[[], float], value: str | None
) -> RememberCookie | None:
    """What the remember cookie ``value`` says, or None if there is none, it
    is not valid, or the app has no secret key to check it with.
    """
    if value is None:
        return None

    if not config.get("SECRET_KEY"):
        # A cookie is client input: without a key to check it, it is ignored
        # rather than allowed to raise.
        logger.debug("Ignored a remember cookie: SECRET_KEY is not set.")
        return None

    return load(value, config, keyring(config, clock), clock())


def set_cookie(
    response: Response,
    config: Config,
    keyring: Keyring,
    now: float,
    user_id: str,
    duration: float,
    token_signature: str | None,
) -> None:
    """Issue a remember cookie valid for ``duration`` seconds."""
    value = keyring.dump_remember([user_id, _compact(duration), token_signature])
    response.set_cookie(
        setting(config, "REMEMBER_COOKIE_NAME"),
        value=value,
        max_age=int(duration),
        expires=datetime.fromtimestamp(now + duration, tz=timezone.utc),
        domain=setting(config, "REMEMBER_COOKIE_DOMAIN"),
        path=setting(config, "REMEMBER_COOKIE_PATH"),
        secure=setting(config, "REMEMBER_COOKIE_SECURE"),
        httponly=setting(config, "REMEMBER_COOKIE_HTTPONLY"),
        samesite=setting(config, "REMEMBER_COOKIE_SAMESITE"),
    )


def set_login_cookie(
    response: Response, config: Config, clock: t.Callable[[], float], sess: t.Any
) -> None:
    """Issue the remember cookie of the login ``sess`` holds, with the
    duration it asked for and its token binding; nothing if it holds none.
    """
    user_id = sess.get("_user_id")

    if user_id is not None:
        set_cookie(
            response,
            config,
            keyring(config, clock),
            clock(),
            str(user_id),
            duration(config, sess.get("_remember_seconds")),
            sess.get("_token_sig"),
        )


def _compact(duration: float) -> float | int:
    return int(duration) if duration == int(duration) else duration


def clear_cookie(response: Response, config: Config) -> None:
    """Delete the remember cookie, with the attributes it was set with, so
    that the browser matches and drops it.
    """
    response.delete_cookie(
        setting(config, "REMEMBER_COOKIE_NAME"),
        domain=setting(config, "REMEMBER_COOKIE_DOMAIN"),
        path=setting(config, "REMEMBER_COOKIE_PATH"),
        secure=setting(config, "REMEMBER_COOKIE_SECURE"),
        httponly=setting(config, "REMEMBER_COOKIE_HTTPONLY"),
        samesite=setting(config, "REMEMBER_COOKIE_SAMESITE"),
    )


def duration(config: Config, session_seconds: object) -> float:
    """How long a new remember cookie lasts: the ``duration`` given to
    :func:`login_user`, else ``REMEMBER_COOKIE_DURATION``.
    """
    if isinstance(session_seconds, int | float) and not isinstance(
        session_seconds, bool
    ):
        if 0 < session_seconds <= MAX_REMEMBER_SECONDS:
            return float(session_seconds)

    return remember_seconds(
        setting(config, "REMEMBER_COOKIE_DURATION"), "REMEMBER_COOKIE_DURATION"
    )
