"""Tenant scoping: the one place that decides which rows a request may touch.

The acting tenant (an organization, or a customer in its own area) lives in a context
variable set by a `ScopeMiddleware` (partners' OrganizationMiddleware, customers'
CustomerAreaMiddleware) for the length of a request; views never enter one by hand.
Every model holding tenant data uses `ScopedManager` as its default manager: its
querysets are filtered by the model's own `visible_to(tenant)` rule, and building one
with no scope active raises, so a forgotten filter fails loudly instead of leaking
another company's data. `unscoped(reason)` is the one way out."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models
from django.db.models.lookups import In

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
    """The one way out of the scope, explicit and greppable, for code that spans tenants
    (admin, commands, outbox, uniqueness checks, tests). Querysets built inside the block
    stay unfiltered wherever they are evaluated, so keep the block to the query that needs
    it. Migrations need none: historical models carry plain managers."""
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


class InSubquery(In):
    """`column IN (sub-select)` for a visibility rule whose sub-select finds the rows.

    PostgreSQL gets `column = ANY(ARRAY(sub-select))`: the sub-select runs once, first,
    and its ids are an index condition on the outer table. An IN is planned as a semi-join
    instead, and on a list page's query (a dozen relations with select_related, past
    `join_collapse_limit`) the planner may join everything before applying it, reading
    every row of the table. Other databases get the plain IN."""

    def get_rhs_op(self, connection, rhs):
        if connection.vendor == "postgresql":
            return f"= ANY(ARRAY{rhs})"
        return super().get_rhs_op(connection, rhs)


def activate(tenant: object):
    """Enter a tenant scope without a `with` block; pass the result to `deactivate`.

    For middleware whose scope spans process_view to the end of the response.
    """
    if tenant is None:
        raise ScopeError("activate() needs a tenant")
    return _scope.set(tenant)


def deactivate(token) -> None:
    _scope.reset(token)


class ScopeMiddleware:
    """Base of the middlewares that resolve a request's tenant. A subclass's process_view
    calls `enter(request, tenant)`; the scope then lasts until the response, a lazily
    rendered TemplateResponse included, is complete. At most one of them enters per
    request, and whichever finishes first leaves the scope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            token = request.__dict__.pop("_scope_token", None)
            if token is not None:
                deactivate(token)

    @staticmethod
    def enter(request, tenant: object) -> None:
        request._scope_token = activate(tenant)
