"""``flask_login.mixins``: the user mixins."""

from __future__ import annotations

from ...mixins import AnonymousUserMixin as AnonymousUserMixin
from ...mixins import UserMixin as UserMixin
