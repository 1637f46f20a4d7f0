"""The lean table renderer (portal/tables.py) writes exactly what django-tables2 writes.

`LeanRow` re-implements tables2's cell rendering with its internals, for speed. For every
table of the portal, each row of a real page is rendered both ways, the lean `<tr>` and
tables2's own template loop over `BoundRow.items()`, and the two must be the same HTML.
A table this test does not render fails it by name, so a new table is covered the day it
is written, and an upgrade of django-tables2 (pinned exactly) that changes the internals
fails here first.
"""

import re
from functools import partial
from itertools import count

import django_tables2 as tables
import pytest
from django.template import RequestContext, Template
from django.urls import reverse
from django_tables2.rows import BoundRow

from partners.models import AuditEvent, Membership, Partnership
from partners.services.partnerships import request_partnership
from partners.services.team import invite_member
from portal.scoping import org_scope, unscoped
from portal.tables import LeanRow, LeanTemplateColumn, PortalTable
from tests.factories import CustomerFactory, OfferFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

# tables2's own row markup (django_tables2/table.html, block table.tbody.row).
UPSTREAM_ROW = Template(
    "{% load l10n %}<tr {{ row.attrs.as_html }}>{% for column, cell in row.items %}"
    "<td {{ column.attrs.td.as_html }}>{% if column.localize == None %}{{ cell }}"
    "{% else %}{% if column.localize %}{{ cell|localize }}{% else %}{{ cell|unlocalize }}"
    "{% endif %}{% endif %}</td>{% endfor %}</tr>"
)

# (who looks, URL name, the table's name in the page's context)
PAGES = [
    ("provider_admin", "team:list", "table"),
    ("provider_admin", "team:list", "invitation_table"),
    ("provider_admin", "partners:reseller-list", "table"),
    ("provider_admin", "partners:reseller-list", "request_table"),
    ("reseller_admin", "partners:provider-list", "table"),
    ("provider_admin", "activity", "table"),
    ("reseller_admin", "activity", "table"),
    ("provider_admin", "customers:list", "table"),
    ("reseller_admin", "customers:list", "table"),
    ("provider_admin", "subscriptions:list", "table"),
    ("reseller_admin", "subscriptions:list", "table"),
    ("provider_admin", "customers:detail", "subscriptions"),
]


def every_table_class(base=PortalTable) -> set[type]:
    found = set()
    for cls in base.__subclasses__():
        found |= {cls} | every_table_class(cls)
    return found


class UpstreamRow(BoundRow):
    """tables2's BoundRow, with template cells rendered the way tables2 renders them
    (a flattened context per cell) rather than by LeanTemplateColumn."""

    def _call_render(self, bound_column, value=None):
        column = bound_column.column
        if isinstance(column, LeanTemplateColumn):
            bound_column = _Rebound(bound_column, partial(tables.TemplateColumn.render, column))
        return super()._call_render(bound_column, value)


class _Rebound:
    def __init__(self, bound_column, render):
        self._bound_column, self.render = bound_column, render

    def __getattr__(self, name):
        return getattr(self._bound_column, name)


def normalized(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(html))).strip()


@pytest.fixture
def populated(world):
    """At least one row in every table, with values of every kind: choices (roles,
    states), dates, links, template cells, empty cells."""
    with unscoped("test setup"):
        p1, r1 = world.provider, world.reseller
        Partnership.objects.create(provider=p1, reseller=r1)
        request_partnership(provider=p1, actor=world.provider_admin, email="new@example.test")
        invite_member(
            org=p1,
            actor=world.provider_admin,
            email="colleague@example.test",
            role=Membership.Role.SALES_AGENT,
        )
        offer = OfferFactory()
        delegated = CustomerFactory(provider=p1, reseller=r1, company_name="Litware <b>&")
        direct = CustomerFactory(provider=p1)
        SubscriptionFactory(customer=delegated, offer=offer, reseller=r1, support_contact=r1)
        SubscriptionFactory(customer=direct, offer=offer, status="suspended")
        AuditEvent.objects.create(
            organization=p1,
            actor=world.provider_admin,
            provider=p1,
            reseller=r1,
            verb="customer.created",
            target="Litware",
            data={"licenses": 5},
        )
    return delegated


def rendered_both_ways(response, table):
    request = response.wsgi_request
    # The page's context, context processors included, as {% lean_table %} gives it.
    context = RequestContext(request, {})
    table.context = context
    lean, upstream = [], []
    with org_scope(request.org), context.bind_template(UPSTREAM_ROW):
        records = []
        for row in table.paginated_rows:
            assert isinstance(row, LeanRow)
            lean.append(normalized(row.html))
            records.append(row.record)
        table._counter = count()  # each row takes the next odd/even class, as on the page
        for record in records:
            with context.push(table=table, row=UpstreamRow(record, table=table)):
                upstream.append(normalized(UPSTREAM_ROW.nodelist.render(context)))
    return lean, upstream


def test_lean_rows_equal_tables2_rows_for_every_table(world, populated, client_for):
    covered = set()
    for role, name, key in PAGES:
        org = world.provider if role.startswith("provider") else world.reseller
        kwargs = {"org_slug": org.slug}
        if name == "customers:detail":
            kwargs["pk"] = populated.pk
        response = client_for(getattr(world, role)).get(reverse(name, kwargs=kwargs))
        assert response.status_code == 200, name
        table = response.context[key]
        lean, upstream = rendered_both_ways(response, table)
        assert lean, f"{name} {key}: no rows to compare"
        assert lean == upstream, f"{type(table).__name__} on {name} as {role}"
        covered.add(type(table))
    missing = every_table_class() - covered
    assert not missing, f"tables this test does not render: {sorted(c.__name__ for c in missing)}"


def test_a_pending_invitations_role_reads_as_its_label(world, populated, client_for):
    response = client_for(world.provider_admin).get(
        reverse("team:list", kwargs={"org_slug": world.provider.slug})
    )
    rows = [normalized(row.html) for row in response.context["invitation_table"].paginated_rows]
    assert len(rows) == 1
    assert "colleague@example.test" in rows[0]
    assert "<td >Sales agent</td>" in rows[0]
    assert "sales_agent" not in rows[0]
