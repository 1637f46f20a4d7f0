"""Secrets the portal must keep for a little while, sealed so a copy of the data shows none.

Two are kept: the links and codes of emails waiting in the outbox (until the worker sends
them), and a new customer's temporary password between Submit and the Setup info page.
A database backup, a read replica, the session table or the staff admin then hold only
ciphertext.

Fernet (AES-128-CBC with HMAC-SHA256, timestamped) under keys derived from SECRET_KEY,
one per purpose so a value sealed for one use can't be opened as another. Values sealed
under a key listed in SECRET_KEY_FALLBACKS still open: rotating SECRET_KEY doesn't strand
a queued email.
"""

import base64
import time
from datetime import datetime
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

OUTBOX = "outbox"
SESSION = "session"


class SealError(Exception):
    """Sealed data that can't be opened: altered, too old, or sealed under a key that is
    neither SECRET_KEY nor one of SECRET_KEY_FALLBACKS."""


def _derive(secret: str, purpose: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"partner-portal:{purpose}".encode()
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


@cache
def _fernet(secrets: tuple[str, ...], purpose: str) -> MultiFernet:
    return MultiFernet([_derive(secret, purpose) for secret in secrets])


def _keys(purpose: str) -> MultiFernet:
    # Read at each call: tests and key rotation change the settings under a running process.
    return _fernet((settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS), purpose)


def seal(value: str, *, purpose: str, at: datetime | None = None) -> str:
    """`value` encrypted and authenticated under the current SECRET_KEY, stamped `at` (now)."""
    moment = int(at.timestamp()) if at is not None else int(time.time())
    return _keys(purpose).encrypt_at_time(value.encode(), moment).decode()


def unseal(
    token: str, *, purpose: str, max_age: int | None = None, now: datetime | None = None
) -> str:
    """The sealed value; with `max_age` (seconds), only if it was sealed that recently."""
    moment = int(now.timestamp()) if now is not None else int(time.time())
    try:
        if max_age is None:
            return _keys(purpose).decrypt(token.encode()).decode()
        return _keys(purpose).decrypt_at_time(token.encode(), max_age, moment).decode()
    except (InvalidToken, ValueError, TypeError) as exc:
        raise SealError(str(exc) or type(exc).__name__) from exc


# ------------------------------------------------------------------------------
# One-time values in the session
# ------------------------------------------------------------------------------
# session[SESSION_KEY] = {name: [expires (epoch seconds), sealed value]}. The expiry is
# kept in clear beside the ciphertext so the middleware can drop what is past it without
# opening anything.
SESSION_KEY = "sealed"


def _epoch(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment is not None else int(time.time())


def _store(session, items: dict) -> None:
    if items:
        session[SESSION_KEY] = items
    else:
        session.pop(SESSION_KEY, None)


def stash_in_session(
    session, name: str, value: str, *, max_age: int, at: datetime | None = None
) -> None:
    """Keep `value` in the session, sealed, for `max_age` seconds or until it is taken."""
    items = dict(session.get(SESSION_KEY, {}))
    items[name] = [_epoch(at) + max_age, seal(value, purpose=SESSION, at=at)]
    _store(session, items)


def take_from_session(session, name: str, *, now: datetime | None = None) -> str | None:
    """The value stashed under `name`, at most once: reading removes it. None once expired."""
    moment = _epoch(now)
    items = {k: v for k, v in session.get(SESSION_KEY, {}).items() if v[0] > moment}
    item = items.pop(name, None)
    if SESSION_KEY in session:
        _store(session, items)
    if item is None:
        return None
    try:
        return unseal(item[1], purpose=SESSION)
    except SealError:
        return None


def drop_expired(session, *, now: datetime | None = None) -> None:
    """Forget every stashed value past its expiry (and the session key once none is left)."""
    items = session.get(SESSION_KEY)
    if not items:
        return
    moment = _epoch(now)
    kept = {name: item for name, item in items.items() if item[0] > moment}
    if len(kept) != len(items):
        _store(session, kept)
