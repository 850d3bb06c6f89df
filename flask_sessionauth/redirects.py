"""Checking redirect targets, so that a ``next`` parameter cannot send a user
to another site (an "open redirect").

The threat model is the browser. A ``Location`` header or a link is read by a
parser that follows the WHATWG URL standard, which is far more forgiving than
:func:`urllib.parse.urlsplit`: it drops tabs and newlines anywhere, trims
leading control characters and spaces, treats ``\\`` like ``/`` for ``http``
and ``https``, and reads ``//host`` as "another site, same scheme". Servers,
proxies and later redirects may also percent-decode a path once more. So a
target is accepted only if every reading of it (as written, percent-decoded up
to three times, and NFKC-normalised) is plainly a path on this site or an
absolute ``http``/``https`` URL naming an allowed host.

.. versionadded:: 0.1.0
    flask-login has no helper for this; every application had to write its
    own check of ``next``.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import typing as t
import unicodedata
from collections.abc import Iterable
from urllib.parse import unquote
from urllib.parse import urlsplit

from flask import current_app
from flask import has_app_context
from flask import has_request_context
from flask import request
from flask import session

from .config import setting

logger = logging.getLogger("flask_sessionauth")

#: Targets longer than this are refused outright. Real ``next`` values are
#: short; a long one is either an attack or a mistake, and checking it costs
#: time on every view that redirects.
MAX_REDIRECT_LENGTH = 2048

# A payload encoded more deeply than this is refused rather than decoded
# further: no legitimate URL is percent-encoded four times over.
_DECODE_ROUNDS = 3

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Characters that look like, or are normalised by some software into, a slash
# or a backslash. NFKC already maps the fullwidth forms; the rest have no
# decomposition and have to be named.
_SLASH_LOOKALIKES = frozenset(
    "\u2044"  # FRACTION SLASH
    "\u2215"  # DIVISION SLASH
    "\u2216"  # SET MINUS
    "\u2571"  # BOX DRAWINGS LIGHT DIAGONAL UPPER RIGHT TO LOWER LEFT
    "\u2572"  # BOX DRAWINGS LIGHT DIAGONAL UPPER LEFT TO LOWER RIGHT
    "\u29f5"  # REVERSE SOLIDUS OPERATOR
    "\u29f8"  # BIG SOLIDUS
    "\u29f9"  # BIG REVERSE SOLIDUS
    "\ufe68"  # SMALL REVERSE SOLIDUS
    "\uff0f"  # FULLWIDTH SOLIDUS
    "\uff3c"  # FULLWIDTH REVERSE SOLIDUS
)

# Control, format (zero-width, bidi overrides), surrogate and line/paragraph
# separator characters. Browsers strip some of these silently, which is how
# "\t//evil.com" becomes "//evil.com"; none belongs in a redirect target.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

# A host name after IDNA encoding: dot-separated labels of letters, digits,
# hyphens and underscores (internal hosts use them). No empty label, so no
# leading, trailing or doubled dot.
_HOST_NAME_RE = re.compile(r"[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*")

# The part of a scheme-less reference before its path or query. A colon there
# makes browsers read a scheme (RFC 3986 section 4.2 requires "./" first).
_FIRST_SEGMENT_RE = re.compile(r"[^/?]*")

_Host: t.TypeAlias = "tuple[str, int | None]"


def is_safe_redirect_url(
    target: str | None,
    *,
    allowed_hosts: Iterable[str] | None = None,
    require_https: bool | None = None,
) -> bool:
    """Tell whether redirecting the current request to ``target`` keeps the
    user on this site (or on a host the application trusts).

    A target is safe when it is either

    - a reference on this site: an absolute path such as ``/profile?tab=1``
      (one ``/``, never ``//``), a relative path such as ``profile``, or a
      query or fragment such as ``?page=2`` or ``#top``; or
    - an absolute ``http`` or ``https`` URL whose host, and port, is the
      current request's :attr:`~flask.Request.host` or one of
      ``allowed_hosts``. A missing port means the scheme's default port.

    Everything else is refused: other schemes (``javascript:``, ``data:``,
    ...), ``//host`` and ``http:host`` forms, any backslash, any control,
    format or whitespace character, user information (``user@host``),
    non-numeric or out-of-range ports, malformed IPv6 literals, non-ASCII host
    names whose IDNA encoding is lossy, and targets longer than
    :data:`MAX_REDIRECT_LENGTH`. Each check is repeated on the target
    percent-decoded up to three times, and on its NFKC normal form, so
    ``/%2F%2Fevil.com`` and ``／／evil.com`` are refused like ``//evil.com``.

    The request's host comes from its ``Host`` header, which the client
    chooses. Set Flask's ``TRUSTED_HOSTS`` (or ``SERVER_NAME``) in production
    so that a forged header is refused before this check trusts it.

    The check is deliberately strict. A few unusual but harmless targets are
    refused too, such as a path containing ``%5C`` (an encoded backslash) or
    a scheme-less reference with a colon before its first ``/`` or ``?``
    (write ``./a:b``). A refused target is never an error: ``False`` is
    returned, and the caller redirects somewhere known instead.

    .. code-block:: python

        @app.post("/login")
        def login():
            ...
            target = request.args.get("next")
            if not is_safe_redirect_url(target):
                target = url_for("index")
            return redirect(target)

    The same checks, as they come out inside a request to ``localhost``:

    .. code-block:: python

        is_safe_redirect_url("/profile")  # True
        is_safe_redirect_url("http://localhost/profile")  # True
        is_safe_redirect_url("//evil.example/")  # False
        is_safe_redirect_url("/%2F%2Fevil.example/")  # False
        is_safe_redirect_url("javascript:alert(1)")  # False
        is_safe_redirect_url(
            "https://shop.example/cart", allowed_hosts=["shop.example"]
        )  # True

    Outside a request there is no request host, so ``allowed_hosts`` must be
    given; an empty list accepts references on this site only:

    .. code-block:: python

        is_safe_redirect_url("/profile", allowed_hosts=[])  # True

    :param target: The URL to check. ``None`` and ``""`` are not safe.
    :param allowed_hosts: Hosts, as ``name`` or ``name:port``, that absolute
        URLs may name besides the request's host. Non-ASCII names may be
        given in Unicode or in their ``xn--`` form. Defaults to the
        ``SESSIONAUTH_ALLOWED_REDIRECT_HOSTS`` config key. Giving it replaces the config
        value; the request's host is always allowed.
    :param require_https: Refuse absolute URLs that are not ``https``.
        References on this site keep the current scheme and are unaffected.
        Defaults to the ``SESSIONAUTH_REDIRECT_REQUIRE_HTTPS`` config key (``False``).
    :raises RuntimeError: If called outside a request without
        ``allowed_hosts``.
    :raises TypeError: If ``allowed_hosts`` is a single string or holds
        something other than strings, or ``SESSIONAUTH_REDIRECT_REQUIRE_HTTPS`` is not a
        bool.
    :raises ValueError: If an allowed host is not a host name or
        ``name:port``.

    .. versionadded:: 0.1.0
    """
    # Settings are resolved before the target is looked at, so that misuse
    # fails the same way whatever the target is.
    hosts = _trusted_hosts(allowed_hosts)
    https_only = _require_https() if require_https is None else require_https

    if not isinstance(target, str) or not target:
        return False

    if len(target) > MAX_REDIRECT_LENGTH:
        return False

    form = target

    for round_ in range(_DECODE_ROUNDS + 1):
        if not _is_safe_form(form, hosts, https_only, as_written=round_ == 0):
            return False

        decoded = unquote(form)

        if decoded == form:
            return True

        form = decoded

    # Still changing after the last allowed round: nested too deeply to judge.
    return False


def get_next_url(default: str = "/") -> str:
    """Return where to send the user after logging in: the request's ``next``
    target if there is one and it is safe, ``default`` otherwise.

    ``next`` is looked for in the query string, then in the form body, then,
    when the ``USE_SESSION_FOR_NEXT`` config key is set, in
    ``session["next"]`` (where :meth:`.LoginManager.unauthorized` leaves it).
    The first place that has a non-empty value decides; the others are not
    consulted. A value read from the session is removed from it, whether or
    not it was used, so it cannot steer a later login.

    The value is checked with :func:`is_safe_redirect_url`. An unsafe value,
    or one that is not a string, is logged at debug level on the
    ``flask_sessionauth`` logger and ``default`` is returned. ``default``
    itself is not checked: it comes from the application, not the user.

    .. code-block:: python

        @app.route("/login", methods=["GET", "POST"])
        def login():
            form = LoginForm()
            if form.validate_on_submit():
                login_user(form.user)
                return redirect(get_next_url(url_for("index")))
            return render_template("login.html", form=form)

    :param default: Where to go when there is no safe ``next``.
    :raises RuntimeError: If called outside a request.

    .. versionadded:: 0.1.0
    """
    if not has_request_context():
        raise RuntimeError(
            "get_next_url() reads the current request, but there is none."
            " Call it from a view function, or use is_safe_redirect_url()"
            " with allowed_hosts to check a URL outside a request."
        )

    source, value = _next_target()

    if value is None:
        return default

    if isinstance(value, str) and is_safe_redirect_url(value):
        return value

    logger.debug(
        "Ignoring unsafe 'next' redirect target from the %s: %s",
        source,
        _for_log(value),
    )
    return default


def _next_target() -> tuple[str, object]:
    """Find the request's ``next`` value and say where it came from."""
    value: object = request.args.get("next")

    if value:
        return "query string", value

    value = request.form.get("next")

    if value:
        return "form", value

    # flask-login reads this key by truthiness; a drop-in replacement must too.
    if setting(current_app.config, "USE_SESSION_FOR_NEXT") and "next" in session:
        value = session.pop("next")

        if value is not None and value != "":
            return "session", value

    return "", None


def _for_log(value: object) -> str:
    """``repr`` of an untrusted value, shortened for a log line. ``repr``
    keeps control characters from forging log lines.
    """
    text = repr(value)

    if len(text) > 200:
        return f"{text[:200]}... ({len(text)} characters)"

    return text


def _require_https() -> bool:
    if not has_app_context():
        return False

    value = setting(current_app.config, "SESSIONAUTH_REDIRECT_REQUIRE_HTTPS")

    if not isinstance(value, bool):
        raise TypeError(
            f"SESSIONAUTH_REDIRECT_REQUIRE_HTTPS must be True or False, not {value!r}."
        )

    return value


def _trusted_hosts(allowed_hosts: Iterable[str] | None) -> list[_Host]:
    """The hosts absolute targets may name: the request's host first, then
    ``allowed_hosts`` or, if that is ``None``, ``SESSIONAUTH_ALLOWED_REDIRECT_HOSTS``.
    """
    hosts: list[_Host] = []
    extra: object = allowed_hosts
    name = "allowed_hosts"

    if has_request_context():
        # An unparsable Host header matches nothing: only relative targets
        # and allowed hosts can then pass.
        own = _parse_host(request.host)

        if own is not None:
            hosts.append(own)

        if extra is None:
            extra = setting(current_app.config, "SESSIONAUTH_ALLOWED_REDIRECT_HOSTS")
            name = "SESSIONAUTH_ALLOWED_REDIRECT_HOSTS"
    elif extra is None:
        raise RuntimeError(
            "is_safe_redirect_url() was called outside a request, so there is"
            " no request host to compare with. Call it while handling a"
            " request, or pass allowed_hosts=[...] (an empty list accepts"
            " paths on this site only)."
        )

    if extra is None:
        return hosts

    if isinstance(extra, str | bytes) or not isinstance(extra, Iterable):
        raise TypeError(
            f"{name} must be a list of host names, not {extra!r}."
            f" For example: {name}=['example.com', 'example.com:8443']."
        )

    for entry in extra:
        if not isinstance(entry, str):
            raise TypeError(f"{name} must contain strings, not {entry!r}.")

        parsed = _parse_host(entry)

        if parsed is None:
            raise ValueError(
                f"{entry!r} in {name} is not a host name. Write the bare host,"
                " optionally with a port, without scheme or path: 'example.com',"
                " 'example.com:8443' or '[2001:db8::1]:443'. Write a name"
                " whose IDNA encoding changes it (such as 'ß') in its"
                " 'xn--' form."
            )

        hosts.append(parsed)

    return hosts


def _is_safe_form(
    form: str, hosts: list[_Host], https_only: bool, *, as_written: bool
) -> bool:
    """Check one reading of the target, and its NFKC normal form."""
    if any(char in _SLASH_LOOKALIKES for char in form):
        return False

    if not _has_safe_characters(form, as_written=as_written):
        return False

    if not _has_safe_structure(form, hosts, https_only):
        return False

    normal = unicodedata.normalize("NFKC", form)

    if normal == form:
        return True

    # Look-alikes are not searched for here: NFKC writes "½" as "1⁄2", with a
    # FRACTION SLASH that was not in the target. Nor is an inner space: NFKC
    # expands some ligatures into words.
    return _has_safe_characters(normal, as_written=False) and _has_safe_structure(
        normal, hosts, https_only
    )


def _has_safe_characters(form: str, *, as_written: bool) -> bool:
    # Browsers trim these ends; what is left might start with "//".
    if form != form.strip():
        return False

    for char in form:
        if char == "\\":
            return False

        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            return False

        # A literal space has no place in a URL as written, but "%20" in a
        # path is ordinary, so a decoded form may keep an inner plain space.
        if char.isspace() and (as_written or char != " "):
            return False

    return True


def _has_safe_structure(form: str, hosts: list[_Host], https_only: bool) -> bool:
    if form.startswith("//"):
        return False

    try:
        parts = urlsplit(form)
    except ValueError:
        # A malformed IPv6 literal, or a host that NFKC turns into a
        # delimiter: both refused.
        return False

    if not parts.scheme:
        if parts.netloc:
            return False

        first = _FIRST_SEGMENT_RE.match(form)

        if first is not None and ":" in first.group():
            return False

        return not _resolves_to_network_path(parts.path)

    if parts.scheme not in _DEFAULT_PORTS:
        return False

    if https_only and parts.scheme != "https":
        return False

    # An empty netloc is "http:evil.com", "https:/evil.com" or "http:///evil",
    # which browsers repair into a URL on evil.com.
    if not parts.netloc or "@" in parts.netloc:
        return False

    host = _parse_host(parts.netloc)

    if host is None:
        return False

    return _is_trusted(host, parts.scheme, hosts)


def _resolves_to_network_path(path: str) -> bool:
    """Whether removing dot segments, as a browser does, leaves a path that
    starts with ``//`` (``/a/..//evil.com``, ``.//evil.com``). A relative path
    is resolved as if against the root, the worst case.
    """
    segments = path.split("/")

    if path.startswith("/"):
        segments = segments[1:]

    kept: list[str] = []

    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)

    return len(kept) > 1 and kept[0] == ""


def _is_trusted(host: _Host, scheme: str, hosts: list[_Host]) -> bool:
    name, port = host
    default = _DEFAULT_PORTS[scheme]
    effective = default if port is None else port

    for trusted_name, trusted_port in hosts:
        if trusted_name != name:
            continue

        # A trusted entry without a port stands for the target scheme's
        # default port, as the request's own Host header does.
        if (default if trusted_port is None else trusted_port) == effective:
            return True

    return False


def _parse_host(value: str) -> _Host | None:
    """Split ``name[:port]`` into a canonical name and a port, or return
    ``None`` if it is not a valid host.
    """
    if value.startswith("["):
        end = value.find("]")

        if end == -1:
            return None

        literal, rest = value[1:end], value[end + 1 :]

        # ipaddress accepts zone ids ("fe80::1%eth0"); URLs may not carry them.
        if "%" in literal:
            return None

        try:
            address = ipaddress.IPv6Address(literal)
        except ValueError:
            return None

        name = f"[{address.compressed}]"
    else:
        raw_name, colon, port_text = value.partition(":")
        rest = colon + port_text
        canonical = _canonical_name(raw_name)

        if canonical is None:
            return None

        name = canonical

    if not rest:
        return name, None

    port_text = rest[1:]

    if (
        not rest.startswith(":")
        or not port_text.isascii()
        or not port_text.isdigit()
        or len(port_text) > 5
    ):
        return None

    port = int(port_text)

    if not 0 < port < 65536:
        return None

    return name, port


def _canonical_name(name: str) -> str | None:
    """Lower-case an ASCII host name, or IDNA-encode a non-ASCII one, and
    check that the result is a well-formed host name.

    A non-ASCII name is accepted only if encoding it loses nothing. Python's
    IDNA 2003 codec maps characters that browsers (UTS 46, IDNA 2008) treat
    differently, such as ``ß`` or ``。``; comparing after a lossy mapping
    could call a foreign host ours.
    """
    lowered = name.lower()

    if not lowered.isascii():
        try:
            encoded = lowered.encode("idna")
            round_trip = encoded.decode("idna")
        except UnicodeError:
            return None

        if round_trip != lowered:
            return None

        lowered = encoded.decode("ascii")

    if len(lowered) > 253 or not _HOST_NAME_RE.fullmatch(lowered):
        return None

    return lowered
