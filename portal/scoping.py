"""Tenant scoping: the one place that decides which rows a request may touch.

The acting tenant (an organization today, a customer later) lives in a context
variable set by `partners.middleware.OrganizationMiddleware` for the length of a
request. Every model holding tenant data uses `ScopedManager` as its default
manager: its querysets are filtered by the model's own `visible_to(tenant)` rule,
and building one with no scope active raises, so a forgotten filter fails loudly
instead of leaking another company's data.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

_NOT_SET = object()
_UNSCOPED = object()
_scope: ContextVar[object] = ContextVar("tenant_scope", default=_NOT_SET)


class ScopeError(RuntimeError):
    """A tenant model was queried with no tenant scope active."""


@contextmanager
def org_scope(tenant: object) -> Iterator[None]:
    """Run the block as `tenant`: scoped managers show only what it may see."""
    if tenant is None:
        raise ScopeError("org_scope() needs a tenant")
    token = _scope.set(tenant)
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def unscoped(reason: str) -> Iterator[None]:
    """Explicit, greppable escape hatch for code that spans tenants (admin, commands, outbox)."""
    if not reason:
        raise ValueError("unscoped() needs a reason")
    token = _scope.set(_UNSCOPED)
    try:
        yield
    finally:
        _scope.reset(token)


class ScopedManager(models.Manager):
    """Default manager of every tenant model. The model defines `visible_to(tenant) -> Q`."""

    def get_queryset(self) -> models.QuerySet:
        tenant = _scope.get()
        if tenant is _NOT_SET:
            raise ScopeError(f"{self.model.__name__} queried outside a tenant scope")
        queryset = super().get_queryset()
        if tenant is _UNSCOPED:
            return queryset
        return queryset.filter(self.model.visible_to(tenant))


def activate(tenant: object):
    """Enter a tenant scope without a `with` block; pass the result to `deactivate`.

    For middleware whose scope spans process_view to the end of the response.
    """
    if tenant is None:
        raise ScopeError("activate() needs a tenant")
    return _scope.set(tenant)


def deactivate(token) -> None:
    _scope.reset(token)
