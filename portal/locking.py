"""Row locks that give up after a bounded wait (pretix's `lock_objects`, with row locks).

Every `select_for_update()` in the services goes through here. Inside the transaction it
first runs `SET LOCAL lock_timeout`, so a request stuck behind another one's lock fails
after `settings.LOCK_TIMEOUT` instead of hanging, and PostgreSQL's "lock not available"
(SQLSTATE 55P03) becomes `Busy`: a ValidationError the views already show as a message.
"""

from contextlib import contextmanager
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

LOCK_NOT_AVAILABLE = "55P03"


class Busy(ValidationError):
    def __init__(self):
        super().__init__(
            _(
                "Someone else is changing this right now. Nothing was saved; "
                "please try again in a moment."
            ),
            code="busy",
        )


def set_lock_timeout() -> None:
    """Bound every lock wait of the current transaction: `SET LOCAL lock_timeout`, written
    as set_config(..., is_local=true) so the value can be a bound parameter."""
    if not connection.in_atomic_block:
        raise RuntimeError("set_lock_timeout() must run inside transaction.atomic()")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [settings.LOCK_TIMEOUT])


def is_lock_timeout(exc: BaseException) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE


@contextmanager
def bounded_wait():
    """Set the lock timeout and turn a timed-out lock wait into `Busy`."""
    set_lock_timeout()
    try:
        yield
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise Busy() from exc
        raise


def lock_one(queryset: QuerySet, **lookup) -> Model:
    """`select_for_update(of=("self",)).get(...)`: the row itself, never the joined ones
    (select_related must not lock the provider or the offer for everyone else)."""
    with bounded_wait():
        return queryset.select_for_update(of=("self",)).get(**lookup)


def lock_all(queryset: QuerySet) -> list:
    with bounded_wait():
        return list(queryset.select_for_update(of=("self",)))


def share_lock(model, pks) -> None:
    """FOR SHARE on these rows until the transaction ends: holders don't wait for each
    other (two orders of one offer), but a writer of the rows (a catalog change) waits
    for them, and they for it. Django's select_for_update has no shared mode."""
    table = connection.ops.quote_name(model._meta.db_table)
    with bounded_wait(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = ANY(%s) FOR SHARE", [list(pks)])  # noqa: S608


def share_lock_matching(queryset: QuerySet) -> bool:
    """FOR SHARE on the rows `queryset` matches, until the transaction ends; whether any
    matched. Use it to rely on a row staying as read ("this partnership is active"):
    readers don't wait for each other, a writer that has locked the row to change it
    (ending the partnership) is waited for, and PostgreSQL then checks the condition again
    on the row as that writer committed it, so a row that stopped matching is not found."""
    if connection.vendor != "postgresql":
        return queryset.exists()  # SQLite (make run) writes one transaction at a time
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with bounded_wait(), connection.cursor() as cursor:
        cursor.execute(f"{sql} FOR SHARE", params)
        return cursor.fetchone() is not None


def key_lock(*parts) -> None:
    """A PostgreSQL advisory lock on a key (pretix's lock_objects), held until the
    transaction ends: requests working on the same key (one form submitted twice at once)
    go one after the other; different keys never wait. Bounded like row locks."""
    if connection.vendor != "postgresql":
        return  # SQLite (make run) writes one transaction at a time anyway
    key = ":".join(str(p) for p in parts)
    with bounded_wait(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def bounded_atomic(func):
    """`@transaction.atomic` for services that lock: every lock wait in the transaction
    (row locks, and inserts waiting on another request's uncommitted unique key) is
    bounded, and a timeout comes back as `Busy`."""

    @wraps(func)
    def inner(*args, **kwargs):
        with transaction.atomic(), bounded_wait():
            return func(*args, **kwargs)

    return inner
