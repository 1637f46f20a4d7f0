"""The baseline of the lean-rendering budget: each list page's 25 rows, from the same
selector in the same order, rendered by a plain Django template loop inside the same
layout (navigation, messages, context processors). Mounted by `bench.urls` only."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template import engines
from django.utils import timezone

from customers.selectors import customer_detail
from partners.audit import changes, describe
from partners.selectors import activity_list, partner_reseller_list
from subscriptions.selectors import (
    customer_table,
    renews_within_q,
    reseller_counts,
    scheduled_change,
    subscription_list,
    subscription_table,
)

ROWS = 25


def _template(body: str):
    return engines["django"].from_string(
        '{% extends "layouts/org.html" %}{% load i18n %}{% block content %}'
        f'<table class="table"><tbody>{body}</tbody></table>'
        "{% endblock %}"
    )


CUSTOMERS = _template(
    '{% for c in rows %}<tr id="customer-{{ c.pk }}">'
    "<td><a href=\"{% url 'customers:row' org_slug=request.org.slug pk=c.pk %}\">▾</a></td>"
    "<td><a href=\"{% url 'customers:detail' org_slug=request.org.slug pk=c.pk %}\">"
    "{{ c.company_name }}</a></td><td>{{ c.domain }}</td>"
    '<td>{{ c.reseller.name|default:"—" }}</td><td>{{ c.subscription_count }}</td>'
    '<td>{{ c.created_at|date:"N j, Y" }}</td></tr>{% endfor %}'
)
RESELLERS = _template(
    "{% for p in rows %}<tr><td>{{ p.reseller.name }}</td><td>{{ p.reseller.partner_id }}</td>"
    "<td>{{ p.customers }}</td><td>{{ p.subscriptions }}</td>"
    '<td>{{ p.started_at|date:"N j, Y" }}</td>'
    "<td><a href=\"{% url 'customers:list' org_slug=request.org.slug %}?reseller="
    '{{ p.reseller_id }}">Customers</a></td></tr>{% endfor %}'
)
ACTIVITY = _template(
    '{% for e in rows %}<tr><td>{{ e.created_at|date:"SHORT_DATETIME_FORMAT" }}</td>'
    "<td>{{ e.actor.email|default:'—' }}</td><td>{{ e.organization.name }}</td>"
    "<td>{{ e.what }}</td><td>{{ e.target }}</td><td>{{ e.changes }}</td></tr>{% endfor %}"
)
SUBSCRIPTIONS = _template(
    "{% for s in rows %}<tr><td><a href=\"{% url 'subscriptions:detail' "
    'org_slug=request.org.slug pk=s.pk %}">{{ s.offer.name }}</a></td>'
    "<td>{{ s.quantity }}</td><td>{{ s.get_status_display }}</td>"
    "<td>{{ s.get_term_display }} · {{ s.get_billing_frequency_display }}</td>"
    '<td>{{ s.renewal_date|date:"SHORT_DATE_FORMAT" }}</td></tr>{% endfor %}'
)

ORG_SUBSCRIPTIONS = _template(
    "{% for s in rows %}<tr><td>{{ s.customer.company_name }}</td>"
    "<td><a href=\"{% url 'subscriptions:detail' "
    'org_slug=request.org.slug pk=s.pk %}">{{ s.offer.name }}</a></td>'
    "<td>{{ s.quantity }}</td><td>{{ s.get_status_display }}</td>"
    '<td>{{ s.renewal_date|date:"SHORT_DATE_FORMAT" }}</td><td>{{ s.scheduled }}</td>'
    '<td>{{ s.reseller.name|default:"—" }}</td>'
    "<td>{{ s.support_contact.name|default:s.customer.provider.name }}</td></tr>{% endfor %}"
)


def _page(template, rows, request):
    return HttpResponse(template.render({"rows": rows}, request))


def customers(request, org_slug):
    rows = customer_table(org=request.org).order_by("company_name", "pk")[:ROWS]
    return _page(CUSTOMERS, list(rows), request)


def resellers(request, org_slug):
    rows = list(partner_reseller_list(org=request.org)[:ROWS])
    counts = reseller_counts(provider=request.org, reseller_ids=[p.reseller_id for p in rows])
    for p in rows:
        p.customers, p.subscriptions = counts.get(p.reseller_id, (0, 0))
    return _page(RESELLERS, rows, request)


def activity(request, org_slug):
    rows = list(activity_list(org=request.org)[:ROWS])
    for e in rows:  # the same words as the Activity table's cells
        e.what, e.changes = describe(e.verb), changes(e.data or {})
    return _page(ACTIVITY, rows, request)


def customer_subscriptions(request, org_slug, pk):
    customer = get_object_or_404(customer_detail(org=request.org), pk=pk)
    return _page(SUBSCRIPTIONS, list(subscription_list(customer=customer)[:ROWS]), request)


def subscriptions(request, org_slug):
    """The Subscriptions page's rows; `?renews_within=N` as its filter."""
    rows = subscription_table(org=request.org).order_by("customer__company_name", "pk")
    if days := request.GET.get("renews_within"):
        rows = rows.filter(renews_within_q(today=timezone.localdate(), days=int(days)))
    rows = list(rows[:ROWS])
    for s in rows:  # the same words as the table's "Change scheduled" cell
        s.scheduled = "Yes" if scheduled_change(s) is not None else "—"
    return _page(ORG_SUBSCRIPTIONS, rows, request)
